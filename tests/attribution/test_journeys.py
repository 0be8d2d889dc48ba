"""Journeys from a generated company, checked against plain DuckDB SQL over the generated files,
and every model's credit adding up to the metric layer's conversions and amounts.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pytest
from typer.testing import CliRunner

import revteam
from revteam.attribution import MODELS
from revteam.cli import app as cli
from revteam.exceptions import AttributionError
from revteam.generate import Company, GeneratorConfig, generate_company
from revteam.workspace import Workspace

LOOKBACK = 365


@pytest.fixture(scope="module")
def company() -> Company:
    return generate_company(GeneratorConfig(n_leads=3000, seed=5))


@pytest.fixture(scope="module")
def ws(company: Company, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    root = tmp_path_factory.mktemp("attribution")
    company.write(root / "data")
    opened = revteam.init(root / "ws")
    opened.ingest.load_directory(root / "data")
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def sql(company: Company) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name, table in company.tables.items():
        con.register(f"g_{name}", table)
    return con


def by_hand(sql: duckdb.DuckDBPyConnection, conversion: str) -> Counter[tuple[str, str, str]]:
    """(conversion id, touch time, channel) of every journey touch, by plain SQL."""
    if conversion == "opportunity":  # the account's people, before the deal's creation
        query = f"""
            SELECT o.opportunity_id, t.occurred_at, t.channel
            FROM g_opportunities o JOIN g_people p ON p.account_id = o.account_id
            JOIN g_touchpoints t ON t.person_id = p.person_id
            WHERE t.occurred_at <= o.created_at
              AND t.occurred_at >= o.created_at - INTERVAL {LOOKBACK} DAY"""
    else:  # the person's own touches before becoming an MQL
        query = f"""
            SELECT p.person_id, t.occurred_at, t.channel
            FROM g_people p JOIN g_touchpoints t USING (person_id)
            WHERE p.mql_at IS NOT NULL AND t.occurred_at <= p.mql_at
              AND t.occurred_at >= p.mql_at - INTERVAL {LOOKBACK} DAY"""
    return Counter((str(i), str(at), str(ch)) for i, at, ch in sql.execute(query).fetchall())


def built_touches(ws: Workspace, conversion: str) -> Counter[tuple[str, str, str]]:
    b = ws.attribution.journeys(conversion)
    j = b.journeys
    keep = j.conversions[j.journey] > 0
    ids = b.conversion_id.to_pylist()
    return Counter(
        (
            ids[j.journey[i]],
            str(b.touch_at[i].astype(dt.datetime)),
            b.channel_names[b.channel_code[i]],
        )
        for i in np.flatnonzero(keep)
    )


@pytest.mark.parametrize("conversion", ["opportunity", "mql"])
def test_every_journey_touch_is_the_sql_one(ws: Workspace, sql, conversion: str) -> None:
    want, got = by_hand(sql, conversion), built_touches(ws, conversion)
    assert got == want
    # and in time order within each journey, ending at or before the conversion
    b = ws.attribution.journeys(conversion)
    j = b.journeys
    same = j.journey[1:] == j.journey[:-1]
    assert (b.touch_at[1:][same] >= b.touch_at[:-1][same]).all()
    assert (j.days_before >= 0).all()


def test_conversions_are_the_metric_layers_records(ws: Workspace) -> None:
    b = ws.attribution.journeys("won", start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31))
    total = ws.metrics.query(
        ["opportunities_won", "revenue"], grain="all", start="2025-01-01", end="2025-12-31"
    ).to_pylist()
    value = {r["metric"]: r["value"] for r in total if r["is_total"]}
    j = b.journeys
    assert j.conversions.sum() + b.dropped == value["opportunities_won"]
    if b.dropped == 0:
        assert j.value.sum() == pytest.approx(value["revenue"], rel=1e-9)


def test_non_converting_journeys_are_people_without_the_conversion(ws: Workspace, sql) -> None:
    start, end = dt.date(2025, 1, 1), dt.date(2025, 6, 30)
    b = ws.attribution.journeys("mql", start=start, end=end)
    j = b.journeys
    ids = b.conversion_id.to_pylist()
    nulls = {ids[i] for i in np.flatnonzero(j.conversions == 0)}
    want = {
        row[0]
        for row in sql.execute(
            """SELECT DISTINCT t.person_id FROM g_touchpoints t JOIN g_people p USING (person_id)
               WHERE t.occurred_at >= ? AND t.occurred_at < ?
                 AND NOT (p.mql_at IS NOT NULL AND p.mql_at >= ? AND p.mql_at < ?)""",
            [start, end + dt.timedelta(days=1), start, end + dt.timedelta(days=1)],
        ).fetchall()
    }
    assert nulls == want


def test_w_shaped_milestones_are_the_lead_and_deal_creation_touches(ws: Workspace, sql) -> None:
    b = ws.attribution.journeys("opportunity")
    j = b.journeys
    conv = j.conversions[j.journey] > 0
    # the opportunity-creation touch is each deal journey's last touch
    last = np.r_[j.journey[1:] != j.journey[:-1], True]
    assert (j.opportunity_touch[conv] == last[conv]).all()
    # one lead-creation touch per deal journey whose contact's creation falls in the window
    per = np.bincount(j.journey[j.lead_touch], minlength=j.n_journeys)
    assert per.max() == 1 and per[j.conversions > 0].sum() > 0.9 * (j.conversions > 0).sum()


@pytest.mark.parametrize("model", MODELS)
def test_every_model_adds_up_and_repeats(ws: Workspace, model: str) -> None:
    r = ws.attribution.run(model, conversion="opportunity", by="channel")
    assert sum(x["credit"] for x in r.rows) == pytest.approx(r.conversions, rel=1e-9)
    assert sum(x["amount"] for x in r.rows) == pytest.approx(r.amount, rel=1e-9)
    assert all(x["model"] == model for x in r.rows)
    audit = ws.attribution.audit([model], conversion="opportunity", limit=100_000)
    per = {}
    for row in audit.to_pylist():
        per[row["conversion_id"]] = per.get(row["conversion_id"], 0.0) + row[model]
    assert np.allclose(list(per.values()), 1.0, atol=1e-9)


def test_the_same_data_gives_the_same_credit(ws: Workspace) -> None:
    from revteam.attribution import AttributionComponent

    fresh = AttributionComponent(metrics=ws.metrics, settings=ws.settings)
    for model in ("markov", "shapley", "time_decay"):
        a = ws.attribution.run(model, conversion="won", by="campaign", intervals=True)
        b = fresh.run(model, conversion="won", by="campaign", intervals=True)
        assert a.rows == b.rows


def test_refusals_name_the_fix(ws: Workspace) -> None:
    with pytest.raises(AttributionError, match="first_touch"):
        ws.attribution.run("magic")
    with pytest.raises(AttributionError, match="lead, mql, sql, opportunity, won"):
        ws.attribution.run("linear", conversion="churn")
    with pytest.raises(AttributionError, match="1, 2 or 3"):
        ws.attribution.run("markov", order=4)
    with pytest.raises(AttributionError, match="after end"):
        ws.attribution.run("linear", start="2025-02-01", end="2025-01-01")


@pytest.fixture(scope="module")
def closed(company: Company, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """A workspace of its own, closed (the commands open it), and its opportunity conversions."""
    root = tmp_path_factory.mktemp("attribution-cli")
    company.write(root / "data")
    with revteam.init(root / "ws") as opened:
        opened.ingest.load_directory(root / "data")
        n = float(opened.attribution.journeys("opportunity").journeys.conversions.sum())
    return root / "ws", n


def test_the_command_line_interface(closed: tuple[Path, float]) -> None:
    runner = CliRunner()
    path, n = closed
    root = ["--workspace", str(path)]
    args = ["--conversion", "opportunity", "--by", "channel", "--format", "json"]
    r = runner.invoke(cli, [*root, "attribution", "--model", "markov", "--order", "2", *args])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert {"channel", "credit", "amount"} <= set(rows[0])
    assert sum(x["credit"] for x in rows) == pytest.approx(n)
    r = runner.invoke(
        cli, [*root, "attribution", "--compare-models", "--by", "campaign", "--format", "json"]
    )
    rows = json.loads(r.stdout)
    assert {x["model"] for x in rows} == set(MODELS) and "campaign" in rows[0]
    r = runner.invoke(cli, [*root, "attribution", "--model", "magic"])
    assert r.exit_code == 2
    r = runner.invoke(cli, [*root, "attribution", "--audit", "--limit", "5", "--format", "csv"])
    assert r.exit_code == 0 and len(r.output.strip().splitlines()) == 6


def test_bootstrap_intervals_hold_the_estimate(ws: Workspace) -> None:
    r = ws.attribution.run("linear", conversion="won", intervals=True, level=0.9)
    for row in r.rows:
        assert row["credit_low"] <= row["credit"] + 1e-9 <= row["credit_high"] + 2e-9
