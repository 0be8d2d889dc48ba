"""``ws.metrics``: options, filters, periods, errors, result formats and caching, on tiny data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

import revteam
from revteam.exceptions import (
    MetricQueryError,
    MissingDependencyError,
    RevteamError,
    UnknownMetricError,
    UnsupportedDimensionError,
)
from revteam.workspace import Workspace

TINY = [
    """INSERT INTO accounts (account_id, name, segment, region, created_at) VALUES
       ('A1', 'Acme', 'smb', 'emea', '2024-01-01'), ('A2', 'Beta', 'enterprise', 'apac',
       '2024-01-01')""",
    """INSERT INTO people (person_id, account_id, channel, persona, created_at, mql_at, sql_at,
       opportunity_at, customer_at, disqualified_at, disqualification_reason) VALUES
       ('P1', 'A1', 'paid_search', 'manager', '2024-01-05', '2024-01-20', '2024-02-01',
        '2024-02-03', '2024-03-01', NULL, NULL),
       ('P2', 'A2', 'email', 'executive', '2024-01-10', '2024-02-20', NULL, NULL, NULL,
        '2024-03-01', 'no_budget'),
       ('P3', 'A2', 'email', 'technical', '2024-02-10', NULL, NULL, NULL, NULL, NULL, NULL)""",
    """INSERT INTO opportunities (opportunity_id, account_id, person_id, type, channel,
       created_at, closed_at, stage, is_closed, is_won, amount) VALUES
       ('O1', 'A1', 'P1', 'new_business', 'paid_search', '2024-02-03', '2024-03-01',
        'closed_won', true, true, 1000),
       ('O2', 'A2', 'P2', 'new_business', 'email', '2024-02-10', '2024-03-15', 'closed_lost',
        true, false, 5000),
       ('O3', 'A2', 'P2', 'new_business', 'email', '2024-02-11', NULL, 'proposal', false,
        false, 7000),
       ('O4', 'A1', 'P1', 'upsell', 'paid_search', '2024-03-05', '2024-04-10', 'closed_won',
        true, true, 300)""",
    "INSERT INTO campaigns (campaign_id, name, channel, start_date) VALUES "
    "('C1', 'Search', 'paid_search', '2024-01-01')",
    """INSERT INTO costs (date, team, category, campaign_id, amount) VALUES
       ('2024-01-03', 'marketing', 'media', 'C1', 500),
       ('2024-01-04', 'sales', 'salaries', NULL, 800)""",
]


def tiny(path: Path, **settings: object) -> Workspace:
    ws = revteam.init(path, **settings)
    for sql in TINY:
        ws.warehouse.con.execute(sql)
    return ws


@pytest.fixture(scope="module")
def tws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = tiny(tmp_path_factory.mktemp("tiny") / "ws")
    yield ws
    ws.close()


def values(ws: Workspace, metric: str, **options: object) -> dict[tuple, float | None]:
    by = options.get("by", ())
    by = (by,) if isinstance(by, str) else tuple(by)
    return {
        (r["period_label"], *(r[d] for d in by), r["is_total"]): r["value"]
        for r in ws.metrics.query(metric, **options).to_pylist()
    }


def test_hand_computed_values(tws: Workspace) -> None:
    # periods run from the metric's first period with data to its last
    assert values(tws, "revenue") == {("2024-03", True): 1000, ("2024-04", True): 300}
    both = tws.metrics.query(["leads", "revenue"])
    assert both.value("revenue", "2024-01") == 0  # in a request, quiet periods show 0
    win = values(tws, "win_rate", by="channel")
    assert win[("2024-03", None, True)] == 0.5
    assert win[("2024-03", "email", False)] == 0.0
    assert values(tws, "open_pipeline")[("2024-02", True)] == 13_000  # O1, O2, O3 open
    # CAC: all costs (500 marketing + 800 sales) ÷ 1 new customer; 0 customers → no value
    cac = tws.metrics.query("cac", by="channel").to_pylist()
    jan = {(r["channel"], r["is_total"]): r for r in cac if r["period_label"] == "2024-01"}
    assert jan[(None, True)]["numerator"] == 1300 and jan[(None, True)]["value"] is None
    # sales cost has no campaign, so no channel: its own group, and groups add up to the total
    assert (
        jan[(None, False)]["numerator"] == 800 and jan[("paid_search", False)]["numerator"] == 500
    )
    march = next(r for r in cac if r["period_label"] == "2024-03" and r["is_total"])
    assert (march["numerator"], march["denominator"], march["value"]) == (0, 1, 0)
    clv = values(tws, "clv")
    assert clv[("2024-03", True)] == pytest.approx((1000 + 300) * 0.8)


def test_where_filters_by_dimension_values(tws: Workspace) -> None:
    by_channel = values(tws, "leads", by="channel")
    only = values(tws, "leads", where={"channel": "email"})
    assert only[("2024-01", True)] == by_channel[("2024-01", "email", False)] == 1
    both = values(tws, "leads", where={"channel": ["email", "paid_search"]})
    assert both[("2024-01", True)] == 2
    # segment is reached through the person's account
    assert values(tws, "leads", where={"segment": "enterprise"})[("2024-02", True)] == 1
    nothing = values(tws, "leads", where={"segment": [None]})
    assert all(v == 0 for v in nothing.values())


def test_grains_and_whole_periods(tws: Workspace) -> None:
    assert values(tws, "leads", grain="quarter") == {("2024-Q1", True): 3}
    assert values(tws, "leads", grain="year") == {("2024", True): 3}
    weeks = values(tws, "leads", grain="week", start="2024-01-03", end="2024-01-10")
    # start and end widen to whole ISO weeks: Mon 1 Jan … Sun 14 Jan
    assert weeks == {("2024-W01", True): 1, ("2024-W02", True): 1}
    days = values(tws, "leads", grain="day", start="2024-01-05", end="2024-01-05")
    assert days == {("2024-01-05", True): 1}


def test_fiscal_year_labels(tmp_path: Path) -> None:
    ws = tiny(tmp_path / "fy", fiscal_year_start_month=2)
    try:
        rows = ws.metrics.query("leads", grain="quarter").to_pylist()
        assert [(r["period"], r["period_label"], r["value"]) for r in rows] == [
            (dt.date(2023, 11, 1), "FY2024-Q4", 2),  # Nov-Jan: the last quarter of FY2024
            (dt.date(2024, 2, 1), "FY2025-Q1", 1),
        ]
        assert values(ws, "leads", grain="year") == {("FY2024", True): 2, ("FY2025", True): 1}
    finally:
        ws.close()


def test_cohorts_are_flagged_with_their_age(tws: Workspace) -> None:
    rows = tws.metrics.query("mql_rate", as_of="2024-04-30").to_pylist()
    by_label = {r["period_label"]: r for r in rows}
    jan = by_label["2024-01"]
    assert (jan["numerator"], jan["denominator"]) == (2, 2)
    assert jan["immature"] and jan["age_days"] == 89 and jan["window_days"] == 90
    later = tws.metrics.query("mql_rate", as_of="2024-05-01").to_pylist()
    assert not later[0]["immature"] and later[0]["age_days"] == 90
    # conversions after the as-of time do not count
    early = tws.metrics.query("mql_rate", as_of="2024-01-19").to_pylist()
    assert early[0]["numerator"] == 0


def test_conversion_window_comes_from_settings(tmp_path: Path) -> None:
    ws = tiny(tmp_path / "w", conversion_windows={"mql_rate": 10})
    try:
        assert ws.metrics.get("mql_rate").window_days == 10
        jan = ws.metrics.query("mql_rate").to_pylist()[0]
        assert (jan["numerator"], jan["denominator"], jan["window_days"]) == (0, 2, 10)
    finally:
        ws.close()


def test_totals_can_be_left_out(tws: Workspace) -> None:
    rows = tws.metrics.query("leads", by="channel", totals=False).to_pylist()
    assert rows and not any(r["is_total"] for r in rows)


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda m: m.query("leeds"), UnknownMetricError, "Did you mean leads"),
        (
            lambda m: m.query("leads", by="network"),
            UnsupportedDimensionError,
            "It supports: account, campaign, channel",
        ),
        (
            lambda m: m.query("cac", where={"segment": "smb"}),
            UnsupportedDimensionError,
            "supports: campaign, channel",
        ),
        (lambda m: m.query("leads", by="colour"), MetricQueryError, "channel, campaign"),
        (lambda m: m.query("leads", grain="fortnight"), MetricQueryError, "day, week, month"),
        (lambda m: m.query("leads", start="last tuesday"), MetricQueryError, "2025-01-31"),
        (
            lambda m: m.query("leads", start="2024-03-01", end="2024-01-01"),
            MetricQueryError,
            "start on or before end",
        ),
        (lambda m: m.query("leads", where={"channel": "emial"}), MetricQueryError, "paid_search"),
        (lambda m: m.query("leads", where={"channel": 3}), MetricQueryError, "a string"),
        (lambda m: m.query([]), MetricQueryError, "at least one"),
        # the whole text is parsed: a valid day before a broken time is not enough
        (lambda m: m.query("leads", start="2024-01-01T99:00"), MetricQueryError, "T99:00"),
        (lambda m: m.query("leads", end="2024-01-01xyz"), MetricQueryError, "2025-01-31"),
        (lambda m: m.query("leads", as_of="2024-02-30"), MetricQueryError, "2024-02-30"),
        (lambda m: m.query(["leads", None]), MetricQueryError, "Invalid metric None"),
        (lambda m: m.query(["leads", 3]), MetricQueryError, "a metric id (a string)"),
        (lambda m: m.get("nope"), KeyError, "Known metrics"),
    ],
)
def test_errors_name_what_is_allowed(tws: Workspace, call, error, words: str) -> None:
    with pytest.raises(error) as info:
        call(tws.metrics)
    assert isinstance(info.value, RevteamError)
    assert words in str(info.value)


def test_result_formats(tws: Workspace) -> None:
    result = tws.metrics.query(["leads", "win_rate"], by="channel")
    table = result.to_arrow()
    assert isinstance(table, pa.Table)
    assert table.column_names[:4] == ["period", "period_label", "channel", "is_total"]
    assert table.schema.field("value").type == pa.float64()
    frame = result.to_pandas()
    assert len(frame) == len(result) == table.num_rows
    html = result._repr_html_()
    assert "Win rate" in html and "marketing" in html and "<i>total</i>" in html
    assert "leads" in repr(result) and "channel" in repr(result)
    assert result.value("leads", "2024-01") == 2
    assert result.value("leads", "2024-01", channel="email") == 1
    assert len(result.totals()) == sum(1 for r in result.to_pylist() if r["is_total"])


def test_to_polars_names_the_missing_package(tws: Workspace) -> None:
    result = tws.metrics.query("leads")
    try:
        import polars  # noqa: F401
    except ImportError:
        with pytest.raises(MissingDependencyError, match="pip install polars"):
            result.to_polars()
    else:
        assert result.to_polars().height == len(result)


def test_immature_rows_are_marked_in_html(tws: Workspace) -> None:
    html = tws.metrics.query("mql_rate", as_of="2024-02-01").to_pylist()
    assert html[0]["immature"]
    assert "immature" in tws.metrics.query("mql_rate", as_of="2024-02-01")._repr_html_()


def test_results_are_cached_until_the_data_changes(tmp_path: Path) -> None:
    ws = tiny(tmp_path / "c")
    try:
        first = ws.metrics.query("leads")
        assert ws.metrics.query("leads") is first
        with ws.warehouse.transaction() as con:
            con.execute("INSERT INTO people (person_id, created_at) VALUES ('P9', '2024-01-02')")
            ws.warehouse.bump_data_version(con)
        again = ws.metrics.query("leads")
        assert again is not first
        assert again.value("leads", "2024-01") == 3
    finally:
        ws.close()


def test_sql_is_the_compiled_query(tws: Workspace) -> None:
    sql = tws.metrics.sql("cost_per_lead", by="channel", dialect="postgres")
    assert sql.count("SELECT") >= 2 and '"costs"' in sql and '"people"' in sql
    assert "-- costs by date" in sql
    assert "QUANTILE_CONT" in tws.metrics.sql("median_deal_size")
    assert "PERCENTILE_CONT" in tws.metrics.sql("median_deal_size", dialect="postgres")


def test_list_and_get(tws: Workspace) -> None:
    ids = [s.id for s in tws.metrics.list()]
    assert ids[0] == "revenue" and "leads" in ids and len(ids) == len(set(ids))
    assert {s.owners for s in tws.metrics.list(owners="shared")} == {"shared"}
    spec = tws.metrics.get("cac")
    assert spec.source == "shipped" and spec.unit == "money"
    assert tws.metrics.dimensions("disqualification_rate")[-1] == "disqualification_reason"


def test_full_timestamps_are_still_accepted_as_dates(tws: Workspace) -> None:
    # a timestamp's day is used, as before the strict parsing
    days = values(tws, "leads", grain="day", start="2024-01-05T23:59:59", end="2024-01-05T00:00")
    assert days == {("2024-01-05", True): 1}


def test_where_values_are_normalised(tws: Workspace, tmp_path: Path) -> None:
    from revteam.metrics.request import build_query

    cat = tws.metrics.catalogue
    spellings: list[object] = [
        ["email", "paid_search"],
        ["paid_search", "email"],
        ("email", "paid_search", "email"),
        {"paid_search", "email"},
        frozenset({"email", "paid_search"}),
    ]
    keys = {build_query(cat, "leads", {"where": {"channel": v}}) for v in spellings}
    assert len(keys) == 1
    assert next(iter(keys)).where == (("channel", ("email", "paid_search")),)
    with_none = build_query(cat, "leads", {"where": {"channel": [None, "email", None, "direct"]}})
    assert with_none.where == (("channel", ("direct", "email", None)),)
    # one cached result and one SQL text for every spelling
    first = tws.metrics.query("leads", where={"channel": ["paid_search", "email"]})
    assert tws.metrics.query("leads", where={"channel": {"email", "paid_search"}}) is first
    sqls = {tws.metrics.sql("leads", where={"channel": v}) for v in spellings}
    assert len(sqls) == 1
    # the values are the TINY people counted by hand: P1 paid_search and P2 email in January
    assert {r["period_label"]: r["value"] for r in first.to_pylist()} == {
        "2024-01": 2,
        "2024-02": 1,
    }


def test_context_is_what_queries_use(tws: Workspace) -> None:
    ctx = tws.metrics.context()
    # the latest event in TINY: O4 closed on 2024-04-10; TINY has no orders
    assert ctx.as_of == dt.datetime(2024, 4, 10) == tws.metrics.as_of()
    assert not ctx.orders_loaded
    assert ctx.gross_margin == tws.settings.gross_margin
    assert ctx.sourcing == tws.metrics.catalogue.sourcing
    assert tws.metrics.query("leads").as_of == ctx.as_of
    later = tws.metrics.context("2024-05-01")
    assert later.as_of == dt.datetime.combine(dt.date(2024, 5, 1), dt.time.max)
    assert tws.metrics.query("leads", as_of="2024-05-01").as_of == later.as_of
    assert tws.metrics.context() == ctx


def test_a_query_reads_the_catalogue_and_data_version_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from revteam.storage.warehouse import Warehouse

    ws = tiny(tmp_path / "io")
    (ws.root / "metrics" / "ours.yaml").write_text("metrics: []\n", encoding="utf-8")
    versions: list[int] = []
    stats: list[Path] = []
    read_version = Warehouse.data_version.fget
    real_stat = Path.stat

    def counted_version(self: Warehouse) -> int:
        versions.append(read_version(self))
        return versions[-1]

    def counted_stat(self: Path, **kwargs: bool) -> object:
        if self.suffix == ".yaml":
            stats.append(self)
        return real_stat(self, **kwargs)

    try:
        monkeypatch.setattr(Warehouse, "data_version", property(counted_version))
        monkeypatch.setattr(Path, "stat", counted_stat)
        first = ws.metrics.query("leads")  # loads the catalogue and the warehouse facts
        assert (len(versions), len(stats)) == (1, 1)
        versions.clear()
        stats.clear()
        assert ws.metrics.query("leads") is first
        assert (len(versions), len(stats)) == (1, 1)
    finally:
        monkeypatch.undo()
        ws.close()


def test_where_has_one_meaning_for_every_face(tws: Workspace) -> None:
    """None and "(none)" keep records without a value; blanks are "not given"; limits hold."""
    from revteam.metrics.request import MAX_VALUE_LENGTH, MAX_VALUES, check_where

    assert check_where({"segment": ["(none)"]}) == check_where({"segment": [None]})
    assert check_where({"segment": [" smb ", "", "  "]}) == (("segment", ("smb",)),)
    assert check_where({"segment": ["", " "]}) == ()
    assert check_where({"channel": ["email", "(none)"]}) == (("channel", ("email", None)),)
    with pytest.raises(MetricQueryError, match="at most 50"):
        check_where({"campaign": [f"c{i}" for i in range(MAX_VALUES + 1)]})
    with pytest.raises(MetricQueryError, match="characters"):
        check_where({"campaign": ["x" * (MAX_VALUE_LENGTH + 1)]})
    with pytest.raises(MetricQueryError, match="Invalid dimension 'colour'"):
        check_where({"colour": ["red"]})
    text = values(tws, "leads", where={"segment": ["(none)"]})
    assert text == values(tws, "leads", where={"segment": [None]})
