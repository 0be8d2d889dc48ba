"""Journeys at their edges, checked against plain SQL over the files that were loaded.

A generated company, changed where journeys are easy to get wrong: touches exactly at a
conversion, exactly one lookback before it and one microsecond outside either end; deals
without an account (their contact's journey) and touches without one; a person touched but
never converting. The expected touches of every journey come from one DuckDB query that
spells the rule out; the builder (sorted touches, a binary search per window) must match it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import revteam
from revteam.attribution import AttributionComponent, component
from revteam.attribution import journeys as J
from revteam.attribution.component import CREDITED, clear_shared_credit
from revteam.generate import GeneratorConfig, generate_company
from revteam.workspace import Workspace

LOOKBACK = dt.timedelta(days=365)
US = dt.timedelta(microseconds=1)


def _edge_touches(people: pa.Table, template: pa.Table) -> pa.Table:
    """Four touches around each of 40 MQLs: at it, at its lookback's start, 1 µs outside each."""
    rows = [r for r in people.to_pylist() if r["mql_at"] is not None][:40]
    out = []
    for i, person in enumerate(rows):
        mql = person["mql_at"]
        for k, at in enumerate((mql, mql - LOOKBACK, mql - LOOKBACK - US, mql + US)):
            out.append(
                {
                    "touch_id": f"EDGE-{i}-{k}",
                    "person_id": person["person_id"],
                    "account_id": person["account_id"],
                    "campaign_id": None,
                    "channel": ("webinar", "content", "events", "referral")[k],
                    "type": "web_visit",
                    "occurred_at": at,
                }
            )
    return pa.Table.from_pylist(out, schema=template.schema)


@pytest.fixture(scope="module")
def edged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, Path]]:
    root = tmp_path_factory.mktemp("edges")
    company = generate_company(GeneratorConfig(n_leads=1500, seed=11))
    tables = dict(company.tables)
    touches = tables["touchpoints"]
    tables["touchpoints"] = pa.concat_tables([touches, _edge_touches(tables["people"], touches)])
    # every 3rd deal, every 4th touch and every 5th person without an account
    for name, every in (("opportunities", 3), ("touchpoints", 4), ("people", 5)):
        t = tables[name]
        blank = pa.array(np.arange(t.num_rows) % every == 0)
        tables[name] = t.set_column(
            t.column_names.index("account_id"),
            "account_id",
            pc.if_else(blank, pa.scalar(None, pa.string()), t.column("account_id")),
        )
    data = root / "data"
    data.mkdir()
    for name, table in tables.items():
        pq.write_table(table, data / f"{name}.parquet")
    with revteam.init(root / "ws") as ws:
        ws.ingest.load_directory(data)
    with revteam.open(root / "ws", read_only=True) as ws:
        yield ws, data


def sql(data: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name in ("people", "opportunities", "touchpoints"):
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM '{data / name}.parquet'")
    return con


def got(ws: Workspace, conversion: str) -> Counter[tuple[str, str, str]]:
    """(conversion id, touch time, channel) of every converting journey's touch."""
    b = ws.attribution.journeys(conversion)
    j = b.journeys
    ids = b.conversion_id.to_pylist()
    keep = np.flatnonzero(j.conversions[j.journey] > 0)
    channels = b.touch_columns(["channel"], keep).column("channel").to_pylist()
    return Counter(
        (ids[j.journey[i]], b.touch_at[i].astype(dt.datetime).isoformat(), ch)
        for i, ch in zip(keep, channels, strict=True)
    )


def want(con: duckdb.DuckDBPyConnection, query: str) -> Counter[tuple[str, str, str]]:
    return Counter((str(i), at.isoformat(), str(ch)) for i, at, ch in con.execute(query).fetchall())


def test_windows_are_exact_to_the_microsecond(edged) -> None:
    ws, data = edged
    con = sql(data)
    found = got(ws, "mql")
    assert found == want(
        con,
        """SELECT p.person_id, t.occurred_at, t.channel
           FROM people p JOIN touchpoints t USING (person_id)
           WHERE p.mql_at IS NOT NULL AND t.occurred_at <= p.mql_at
             AND t.occurred_at >= p.mql_at - INTERVAL 365 DAY""",
    )
    # and the planted edges are there: in at both ends, out a microsecond beyond either
    edges = con.execute(
        "SELECT p.person_id, p.mql_at FROM people p WHERE person_id IN "
        "(SELECT person_id FROM touchpoints WHERE touch_id LIKE 'EDGE-%')"
    ).fetchall()
    assert len(edges) == 40
    for person, mql in edges:
        assert found[(person, mql.isoformat(), "webinar")] >= 1
        assert found[(person, (mql - LOOKBACK).isoformat(), "content")] >= 1
        assert (person, (mql - LOOKBACK - US).isoformat(), "events") not in found
        assert (person, (mql + US).isoformat(), "referral") not in found


def test_deals_and_touches_without_an_account_follow_their_people(edged) -> None:
    ws, data = edged
    found = got(ws, "opportunity")
    # a row's account: its own, else its person's, else the person alone
    subject = "coalesce({r}.account_id, {p}.account_id, 'person:' || {r}.person_id)"
    expected = want(
        sql(data),
        f"""SELECT o.opportunity_id, t.occurred_at, t.channel
            FROM opportunities o LEFT JOIN people op ON op.person_id = o.person_id
            JOIN (SELECT t.*, {subject.format(r="t", p="tp")} AS subject
                  FROM touchpoints t LEFT JOIN people tp ON tp.person_id = t.person_id) t
              ON t.subject = {subject.format(r="o", p="op")}
            WHERE t.occurred_at <= o.created_at
              AND t.occurred_at >= o.created_at - INTERVAL 365 DAY""",
    )
    assert found == expected
    # the data has each case: deals placed by their contact's account, and by the contact alone
    con = sql(data)
    by_contact = con.execute(
        """SELECT count(*) FILTER (WHERE p.account_id IS NOT NULL),
                  count(*) FILTER (WHERE p.account_id IS NULL)
           FROM opportunities o JOIN people p USING (person_id) WHERE o.account_id IS NULL"""
    ).fetchall()[0]
    assert min(by_contact) > 0
    alone = {i for i, _, _ in found} & {
        str(r[0])
        for r in con.execute(
            "SELECT o.opportunity_id FROM opportunities o JOIN people p USING (person_id) "
            "WHERE o.account_id IS NULL AND p.account_id IS NULL"
        ).fetchall()
    }
    assert alone


def test_sorted_touches_are_read_once_per_subject_kind(edged) -> None:
    ws, _ = edged
    fresh = AttributionComponent(metrics=ws.metrics, settings=ws.settings)
    calls: list[bool] = []
    real = J.sort_touches

    def counting(*args, **kwargs):
        calls.append(kwargs["accounts"])
        return real(*args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(J, "sort_touches", counting)
        for conversion in ("lead", "mql", "opportunity", "won", "customer"):
            fresh.journeys(conversion)
    assert sorted(calls) == [False, True]


def test_a_company_without_any_touch_gives_no_credit_and_no_error(tmp_path: Path) -> None:
    """No touchpoints at all (a CRM without marketing data): every conversion is unattributed."""
    import revteam

    people = tmp_path / "people.csv"
    people.write_text(
        "person_id,email,channel,created_at,mql_at\n"
        "p1,a@x.com,email,2025-01-02 10:00:00,2025-01-05 10:00:00\n"
        "p2,b@x.com,paid_search,2025-01-03 10:00:00,\n"
    )
    with revteam.init(tmp_path / "ws") as ws:
        ws.ingest.load("people", people)
        leads = ws.metrics.query(["leads", "attributed_leads"], grain="all").to_pylist()
    values = {r["metric"]: r["value"] for r in leads}
    assert values["leads"] == 2
    assert not values["attributed_leads"]  # nothing to attribute to, not an IndexError


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_touches_sort_by_subject_then_time_keeping_row_order_on_ties(seed: int) -> None:
    """The one-key sort gives lexsort's order: subject, time, then row (ties are common)."""
    rng = np.random.default_rng(seed)
    n = 5000
    people = rng.integers(0, 300, n)
    person = pa.array([f"p{i}" if i % 37 else None for i in people], pa.string())
    at = rng.integers(0, 50, n) * 1_000_000  # few distinct times: many ties
    table = pa.table({"person_id": person, "account_id": pa.nulls(n, pa.string())})
    read = J.Read(
        table=table,
        at=at,
        channel_code=np.zeros(n, dtype=np.int64),
        channel_names=("web",),
        campaign_code=np.full(n, -1, dtype=np.int64),
        campaign_names=(),
        by_time=np.argsort(at, kind="stable"),
    )
    found = J.sort_touches(None, None, dt.datetime(2030, 1, 1), accounts=False, read=read)  # type: ignore[arg-type]
    codes = pc.dictionary_encode(person).indices.fill_null(-1).to_numpy(zero_copy_only=False)
    known = np.flatnonzero(codes >= 0)
    want = known[np.lexsort((at[known], codes[known]))]
    assert np.array_equal(found.row, want)
    assert np.array_equal(found.at, at[want])
    assert np.array_equal(found.subject, codes[want])
    assert np.array_equal(np.diff(found.offsets), np.bincount(codes[known]))


@pytest.mark.parametrize("model", ["w_shaped", "linear", "markov"])
def test_credit_rows_keep_no_journeys_and_equal_the_cached_path(edged, model: str) -> None:
    """The attributed KPIs' credit, built one conversion at a time and dropped (10M leads do
    not fit four conversions' journeys at once), equals the credit of journeys built and kept
    by ``ws.attribution`` (W-shaped's milestones included)."""
    ws, _ = edged
    as_of = ws.metrics.as_of()

    def rows(component: AttributionComponent) -> list[tuple]:
        clear_shared_credit()
        table = component.credit_rows(model, as_of).to_pylist()
        keys = ("conversion", "conversion_id", "channel", "campaign_id")
        return sorted(
            (tuple(str(r[k]) for k in keys), round(r["credit"], 12), round(r["amount"], 6))
            for r in table
        )

    cold = AttributionComponent(metrics=ws.metrics, settings=ws.settings)
    with pytest.MonkeyPatch.context() as mp:  # as at 10M leads: nothing kept
        mp.setattr(component, "KEEP_TOUCHES", 0)
        cold_rows = rows(cold)
    assert not cold._cache.built and not cold._cache.touches and not cold._cache.credit
    kept = AttributionComponent(metrics=ws.metrics, settings=ws.settings)
    for conversion in CREDITED:
        kept.journeys(conversion, as_of=as_of)
    assert cold_rows and rows(kept) == cold_rows
    # small journeys are kept: another model's credit builds none (any model may read them)
    small = AttributionComponent(metrics=ws.metrics, settings=ws.settings)
    assert rows(small) == cold_rows and len(small._cache.built) == len(CREDITED)
    built: list[str] = []
    real = J.build
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(J, "build", lambda *a, **k: built.append(k["conversion"]) or real(*a, **k))
        clear_shared_credit()
        other = "u_shaped" if model != "u_shaped" else "linear"
        small.credit_rows(other, as_of)
        clear_shared_credit()
        assert built == []
    if model == "w_shaped":  # from journeys a linear credit kept: their milestones, too
        via = AttributionComponent(metrics=ws.metrics, settings=ws.settings)
        via.credit_rows("linear", as_of)
        assert rows(via) == cold_rows
