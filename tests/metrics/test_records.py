"""The records behind a number give the number back: every metric, total and by a dimension.

Each metric is recomputed here from ``ws.metrics.records`` with plain Python (counts, sums,
medians, numerators over denominators, formulas over recomputed parts) and compared with
``ws.metrics.query`` for the same request. ``n`` must equal the number of denominator records.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from typing import Any

import pyarrow as pa
import pytest

from revteam.exceptions import MetricQueryError
from revteam.metrics import MetricSpec, shipped_catalogue
from revteam.metrics.derived import evaluate
from revteam.workspace import Workspace

START, END = "2025-01-01", "2025-12-31"
LATER = ("2026-01-01", "2026-09-30")
"""For renewals: the generated company's first customers come up for renewal a year on."""
CATALOGUE = shipped_catalogue()
METRICS = CATALOGUE.ids
Key = tuple[dt.date, tuple[Any, ...]]


def dimension_of(metric: str) -> str:
    dims = CATALOGUE.dimensions(metric)
    for d in ("channel", "segment", "network", "keyword_group", "team"):
        if d in dims:
            return d
    return dims[0]


def grouped(table: pa.Table, by: tuple[str, ...]) -> dict[Key, list[dict[str, Any]]]:
    out: dict[Key, list[dict[str, Any]]] = defaultdict(list)
    for r in table.to_pylist():
        out[(r["period"], tuple(r[d] for d in by))].append(r)
    return out


def part_total(rows: list[dict[str, Any]], sums: bool, column: str = "value") -> float:
    return float(sum(r[column] or 0.0 for r in rows)) if sums else float(len(rows))


def part_sums(spec: MetricSpec, role: str) -> bool:
    """Whether a ratio's part sums a measure (else it counts records)."""
    part = spec.numerator if role == "numerator" else spec.denominator
    assert part is not None
    if part.metric:
        return CATALOGUE[part.metric].kind == "sum"
    return part.aggregate == "sum"


def recompute(ws: Workspace, metric: str, by: tuple[str, ...], **opts: Any) -> dict[Key, Any]:
    """(value, numerator, denominator, n) per period and group, from records alone."""
    spec = CATALOGUE[metric]
    if spec.kind == "derived":
        return recompute_derived(ws, spec, by, **opts)
    if (
        spec.kind in ("ratio", "cohort_rate")
        or spec.kind == "mean"
        or (spec.kind == "snapshot" and spec.aggregate == "mean")
    ):
        num = grouped(ws.metrics.records(metric, part="numerator", by=by, **opts), by)
        den = grouped(ws.metrics.records(metric, part="denominator", by=by, **opts), by)
        if spec.kind == "ratio":
            sums = part_sums(spec, "numerator"), part_sums(spec, "denominator")
        else:
            sums = spec.kind != "cohort_rate", False
        out = {}
        for key in set(num) | set(den):
            n = part_total(num.get(key, []), sums[0])
            d = part_total(den.get(key, []), sums[1])
            out[key] = (n / d if d else None, n, d, len(den.get(key, [])))
        return out
    recs = grouped(ws.metrics.records(metric, by=by, **opts), by)
    out = {}
    agg = spec.aggregate if spec.kind == "snapshot" else spec.kind
    for key, rows in recs.items():
        values = [r["value"] for r in rows if "value" in r and r["value"] is not None]
        if agg == "count":
            value: float | None = float(len(rows))
        elif agg == "sum":
            value = float(sum(values))
        else:
            value = statistics.median(values) if values else None
        out[key] = (value, None, None, len(rows))
    return out


def recompute_derived(
    ws: Workspace, spec: MetricSpec, by: tuple[str, ...], **opts: Any
) -> dict[Key, Any]:
    """A derived metric's parts from its references' records, over a year more for shifts."""
    assert spec.formula is not None
    wide = {k: v for k, v in opts.items() if k != "_keys"} | {"start": "2024-01-01"}
    parts = {ref: recompute(ws, ref, by, **wide) for ref in spec.references()}
    keys = {k for values in parts.values() for k in values if str(k[0]) >= opts["start"]}
    keys |= set(opts.pop("_keys", ()))

    def lookup_for(key: Key) -> Any:
        def lookup(name: str, shift: str | None) -> float | None:
            if name == "gross_margin":
                return ws.settings.gross_margin
            period = key[0]
            if shift == "previous":
                period = dt.date(period.year - (period.month == 1), (period.month - 2) % 12 + 1, 1)
            elif shift == "year_ago":
                period = period.replace(year=period.year - 1)
            found = parts[name].get((period, key[1]))
            additive = CATALOGUE[name].kind in ("count", "sum")
            return found[0] if found else (0.0 if additive else None)

        return lookup

    out = {}
    for key in keys:
        lookup = lookup_for(key)
        num = evaluate(spec.formula.numerator, lookup)
        den = evaluate(spec.formula.denominator, lookup) if spec.formula.denominator else None
        out[key] = (None, num, den, None)
    return out


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


@pytest.mark.slow
@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("grouping", ["total", "dimension"])
def test_records_give_the_number_back(loaded: Workspace, metric: str, grouping: str) -> None:
    by = (dimension_of(metric),) if grouping == "dimension" else ()
    start, end = LATER if CATALOGUE[metric].table == "renewal_decisions" else (START, END)
    opts = {"start": start, "end": end}
    result = ws_rows(loaded, metric, by, opts)
    extra = {"_keys": list(result)} if CATALOGUE[metric].kind == "derived" else {}
    again = recompute(loaded, metric, by, **opts, **extra)
    spec = CATALOGUE[metric]
    checked = 0
    for key, row in result.items():
        value, num, den, n = again.get(key, (None, None, None, 0))
        if spec.kind == "derived":
            assert close(row["numerator"], num), (key, row, num)
            if spec.formula and spec.formula.denominator:
                assert close(row["denominator"], den), (key, row, den)
            checked += 1
            continue
        if row["numerator"] is not None:
            assert close(row["numerator"], num or 0.0), (key, row, num)
            assert close(row["denominator"], den or 0.0), (key, row, den)
        else:
            expected = value if value is not None else (0.0 if spec.kind != "median" else None)
            if spec.kind == "snapshot" and value is None:
                expected = None if spec.aggregate == "mean" else 0.0
            assert close(row["value"], expected), (key, row, value)
        if row["n"] is not None:
            assert row["n"] == n, (key, row, n)
        checked += 1
    # every group the records saw is in the result too (no records outside the number)
    assert set(again) <= set(result) | {k for k, v in again.items() if not v[3]}
    assert checked > 0


def ws_rows(
    ws: Workspace, metric: str, by: tuple[str, ...], opts: dict[str, Any]
) -> dict[Key, Any]:
    result = ws.metrics.query(metric, by=by, **opts)
    rows = result.to_pylist()
    return {
        (r["period"], tuple(r[d] for d in by)): r
        for r in rows
        if (not by and r["is_total"]) or (by and not r["is_total"])
    }


def test_records_of_a_cohort_are_its_members(loaded: Workspace) -> None:
    t = loaded.metrics.records("sales_qualification_rate", start=START, end=END)
    rows = t.to_pylist()
    assert rows and all(r["in_denominator"] for r in rows)
    window = dt.timedelta(days=CATALOGUE["sales_qualification_rate"].window_days or 0)
    for r in rows:
        converted = r["sql_at"] is not None and r["sql_at"] <= r["mql_at"] + window
        assert r["in_numerator"] == converted


def test_a_derived_metric_names_its_parts(loaded: Workspace) -> None:
    with pytest.raises(MetricQueryError, match=r"pipeline_velocity.*opportunities_created"):
        loaded.metrics.records("pipeline_velocity", part="numerator")
    with pytest.raises(MetricQueryError, match="derived from"):
        loaded.metrics.records("clv_to_cac")
    growth = loaded.metrics.records("revenue_growth_rate", part="denominator", start=START)
    revenue = loaded.metrics.records("revenue", start="2024-12-01", end="2024-12-31")
    assert growth.filter(pa.compute.equal(growth["period"], dt.date(2025, 1, 1))).num_rows == (
        revenue.num_rows
    )


def test_parts_on_different_records_are_asked_for_one_by_one(loaded: Workspace) -> None:
    with pytest.raises(MetricQueryError, match="different records"):
        loaded.metrics.records("cost_per_lead")
    costs = loaded.metrics.records("cost_per_lead", part="numerator", start=START, end=END)
    assert "amount" in costs.column_names and "value" in costs.column_names


def test_paging_and_counting_agree(loaded: Workspace) -> None:
    total = loaded.metrics.count_records("leads", start=START, end=END, where={"channel": "email"})
    first = loaded.metrics.records(
        "leads", start=START, end=END, where={"channel": "email"}, limit=10
    )
    second = loaded.metrics.records(
        "leads", start=START, end=END, where={"channel": "email"}, limit=10, offset=10
    )
    assert total > 20 and first.num_rows == second.num_rows == 10
    assert not set(first["person_id"].to_pylist()) & set(second["person_id"].to_pylist())
    assert set(first["channel"].to_pylist()) == {"email"}
    stamps = first["created_at"].to_pylist() + second["created_at"].to_pylist()
    assert stamps == sorted(stamps, reverse=True)


def test_unknown_part_and_columns_are_refused(loaded: Workspace) -> None:
    with pytest.raises(MetricQueryError, match="one of numerator, denominator, all"):
        loaded.metrics.records("leads", part="both")
    with pytest.raises(MetricQueryError, match="columns of people"):
        loaded.metrics.records("leads", columns=["nope"])
    only = loaded.metrics.records("leads", columns=["person_id"], limit=1)
    assert only.column_names == ["period", "person_id"]


def test_shifted_records_are_the_previous_periods_labelled_as_compared(loaded: Workspace) -> None:
    opts = {"start": "2025-01-01", "end": "2025-12-31"}
    query = loaded.metrics.query("revenue_growth_rate", **opts).totals().to_pylist()
    recs = loaded.metrics.records("revenue_growth_rate", part="denominator", **opts)
    assert recs.schema.field("period").type == pa.date32()
    sums: dict[dt.date, float] = defaultdict(float)
    for r in recs.to_pylist():
        sums[r["period"]] += r["value"]
    for row in query:
        assert close(row["denominator"], sums.get(row["period"], 0.0)), row["period_label"]
    open_ended = loaded.metrics.records("revenue_growth_rate", part="denominator", start=START)
    last = max(r["period"] for r in loaded.metrics.query("revenue", start=START).to_pylist())
    assert max(open_ended["period"].to_pylist()) <= last


def test_a_group_that_fell_to_nothing_shows_its_fall(loaded: Workspace) -> None:
    opts = {"by": "channel", "start": "2025-01-01", "end": "2025-12-31"}
    revenue = {
        (r["period"], r["channel"]): r["value"]
        for r in loaded.metrics.query("revenue", **opts).to_pylist()
        if not r["is_total"]
    }
    growth = {
        (r["period"], r["channel"]): r["value"]
        for r in loaded.metrics.query("revenue_growth_rate", **opts).to_pylist()
        if not r["is_total"]
    }
    fell = [
        (p, c)
        for (p, c), v in revenue.items()
        if v and p.month < 12 and not revenue.get((p.replace(month=p.month + 1), c))
    ]
    assert fell  # the generated company has such months
    for p, c in fell:
        assert growth[(p.replace(month=p.month + 1), c)] == -1.0


def test_open_pipeline_records_follow_the_query_periods(loaded: Workspace) -> None:
    for opts in ({"end": "2025-06-30"}, {"grain": "all", "as_of": "2025-06-30"}):
        query = loaded.metrics.query("open_pipeline", **opts).totals().to_pylist()
        recs = loaded.metrics.records("open_pipeline", **opts)
        sums: dict[dt.date, float] = defaultdict(float)
        for r in recs.to_pylist():
            sums[r["period"]] += r["value"]
        shown = {r["period"]: r["value"] for r in query if r["value"]}
        assert shown and set(shown) == set(sums), opts
        for period, value in shown.items():
            assert close(value, sums[period]), (opts, period)


def test_a_breakdown_splits_only_the_numerator(loaded: Workspace) -> None:
    opts = {"by": "disqualification_reason", "grain": "quarter", "start": START, "end": END}
    plain = loaded.metrics.query("disqualification_rate", **opts).to_pylist()
    reason = next(r["disqualification_reason"] for r in plain if r["disqualification_reason"])
    one = loaded.metrics.query(
        "disqualification_rate", where={"disqualification_reason": reason}, **opts
    ).to_pylist()
    before = {(r["period"], r["disqualification_reason"]): r for r in plain}
    for r in one:
        if not r["is_total"]:
            assert r["disqualification_reason"] == reason
            assert r["denominator"] == before[(r["period"], reason)]["denominator"]
            assert r["numerator"] == before[(r["period"], reason)]["numerator"]
    with pytest.raises(MetricQueryError, match="together with by"):
        loaded.metrics.query("disqualification_rate", where={"disqualification_reason": reason})
    den = loaded.metrics.records(
        "disqualification_rate", part="denominator", columns=["mql_at"], **opts
    )
    assert set(den["disqualification_reason"].to_pylist()) == {None}  # shared by every reason
    totals = {r["period"]: r["denominator"] for r in plain if r["is_total"]}
    counted = defaultdict(int)
    for period in den["period"].to_pylist():
        counted[period] += 1
    assert {p: float(n) for p, n in counted.items()} == {p: v for p, v in totals.items() if v}


def test_headline_and_value_name_one_group(loaded: Workspace) -> None:
    result = loaded.metrics.query("revenue", by="campaign", start=START, end=END)
    none = result.headline(campaign=None)
    assert none is not None and not none["is_total"] and none["campaign"] is None
    assert result.headline()["is_total"]
    pair = loaded.metrics.query("leads", by=["channel", "segment"], start=START, end=END)
    with pytest.raises(MetricQueryError, match="a value for each of channel, segment"):
        pair.headline(channel="email")
    with pytest.raises(MetricQueryError, match="Invalid metric 'nope'"):
        pair.headline("nope")


def test_derived_tiles_drill_into_one_metric(loaded: Workspace) -> None:
    about = loaded.metrics.describe_records("clv_to_cac", part="auto")
    assert about.source == "clv"
    cac = loaded.metrics.describe_records("clv_to_cac", part="denominator")
    assert cac.source == "new_customers" and "CAC" in cac.description
    roi = loaded.metrics.describe_records("marketing_roi", part="auto")
    assert roi.source == "marketing_cost"
    assert loaded.metrics.count_records("clv_to_cac", part="auto", start=START, end=END) > 0


def test_snapshot_records_are_bounded(loaded: Workspace) -> None:
    with pytest.raises(MetricQueryError, match="at most 400 periods"):
        loaded.metrics.records("open_pipeline", grain="day", start="2024-01-01", end="2025-12-31")
    assert loaded.metrics.count_records("open_pipeline", grain="week", start=START, end=END) > 0
