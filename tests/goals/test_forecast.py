"""The sales forecast, checked as a forecast is: freeze the data, predict, compare with what came.

The generated company's CRM probability belongs to the stage alone (10% … 60%), while the
generator decides wins by segment, deal type, channel and the rep's skill, so probabilities
learnt from the company's own history must score better (lower Brier score), renewals must
come out near the planted 1 - churn of their segment, and the period bands must hold the
realised wins about as often as they claim.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

import revteam
from revteam.exceptions import StatsError
from revteam.generate import Company, GeneratorConfig, generate_company
from revteam.goals.forecast import Forecaster, fit, open_at
from revteam.settings import GoalSettings
from revteam.workspace import Workspace

CUTS = [dt.datetime(2025, 12, 1)] + [dt.datetime(2026, m, 1) for m in range(1, 6)]
"""First days of months at least a forecast horizon (180 days) before the data's end."""
HORIZON = dt.timedelta(days=180)


@pytest.fixture(scope="module")
def forecaster(planted: Workspace) -> Forecaster:
    return planted.goals.forecaster


@pytest.fixture(scope="module")
def duck(planted_company: Company) -> Iterator[duckdb.DuckDBPyConnection]:
    """Plain DuckDB over the generated tables: the independent side of the checks."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name, table in planted_company.tables.items():
        con.register(name, table)
    yield con
    con.close()


def outcomes(duck: duckdb.DuckDBPyConnection, cut: dt.datetime) -> dict[str, bool]:
    """Won within the horizon after ``cut``, for every deal: straight from the raw table."""
    rows = duck.execute(
        "SELECT opportunity_id, coalesce(is_won AND closed_at <= ?, false) FROM opportunities",
        [cut + HORIZON],
    ).fetchall()
    return {r[0]: bool(r[1]) for r in rows}


def test_calibrated_probabilities_beat_the_crms_brier_score(
    forecaster: Forecaster, duck: duckdb.DuckDBPyConnection
) -> None:
    diffs: list[float] = []
    clusters: list[str] = []
    for cut in CUTS:
        deals = forecaster.open_deals(cut).frame
        won = deals["opportunity_id"].map(outcomes(duck, cut)).to_numpy(dtype=np.float64)
        p = deals["probability"].to_numpy()
        crm = deals["crm_probability"].to_numpy()
        assert len(deals) > 100 and ((p > 0) & (p < 1)).all()
        diffs += list((p - won) ** 2 - (crm - won) ** 2)
        clusters += list(deals["opportunity_id"])
    frame = pd.DataFrame({"diff": diffs, "deal": clusters})
    mean = frame["diff"].mean()
    # a deal open at several cuts is one cluster: its errors are not independent
    per_deal = frame.groupby("deal")["diff"].sum()
    se = per_deal.std() * np.sqrt(len(per_deal)) / len(frame)
    assert mean < -3 * se, (mean, se)

    # backtest() reports the same scores
    report = forecaster.backtest(CUTS)
    n = sum(r["deals"] for r in report)
    pooled = sum((r["brier_calibrated"] - r["brier_crm"]) * r["deals"] for r in report) / n
    assert pooled == pytest.approx(mean, abs=1e-9)
    assert sum(r["brier_calibrated"] < r["brier_crm"] for r in report) >= 5


def test_renewals_come_out_near_the_planted_retention(
    forecaster: Forecaster, planted_company: Company
) -> None:
    churn = planted_company.truth["customers"]["annual_churn"]
    model = forecaster.model()  # renewals start a year after the first wins: the latest fit
    cells = model.cells[2]  # stage x type x segment
    for segment, rate in churn.items():
        mine = cells[(cells["type"] == "renewal") & (cells["segment"] == segment)]
        n, wins = mine["n"].sum(), mine["wins"].sum()
        assert n >= 10, segment
        se = np.sqrt((1 - rate) * rate / n)
        assert wins / n == pytest.approx(1 - rate, abs=3 * se + 0.02), segment


def test_the_model_reads_nothing_after_its_as_of(planted: Workspace) -> None:
    cut = dt.datetime(2026, 2, 1)
    settings = GoalSettings()
    visits = planted.metrics.relation(
        "stage_visits",
        ["opportunity_id", "stage", "entered_at", "left_at", "amount", "probability"],
        as_of=cut,
    ).to_pandas()
    columns = ["opportunity_id", "name", "account_id", "owner_id", "type", "created_at"]
    columns += ["closed_at", "is_won", "stage", "amount", "probability", "expected_close_date"]
    columns += ["forecast_category"]
    deals = planted.metrics.relation("opportunities", columns).to_pandas()
    segments = planted.metrics.relation("accounts", ["account_id", "segment"]).to_pandas()
    deals = deals.merge(segments, how="left", on="account_id").fillna({"segment": "(none)"})
    base = fit(visits, deals, cut, settings)
    # rewrite every outcome after the cut: a lost deal won, a won one lost
    later = deals["closed_at"] > pd.Timestamp(cut)
    flipped = deals.copy()
    flipped.loc[later, "is_won"] = ~flipped.loc[later, "is_won"].astype(bool)
    again = fit(visits, flipped, cut, settings)
    for a, b in zip(base.cells, again.cells, strict=True):
        pd.testing.assert_frame_equal(a, b)
    # and the deals open at the cut are the same whatever came after
    pd.testing.assert_frame_equal(open_at(visits, deals, cut), open_at(visits, flipped, cut))


def test_a_period_forecast_is_the_sum_of_its_deals(
    planted: Workspace, forecaster: Forecaster, duck: duckdb.DuckDBPyConnection
) -> None:
    cut = dt.datetime(2026, 5, 10, 23, 59, 59)
    q2, q3 = forecaster.forecast(cut, grain="quarter", periods=2)
    assert (q2.label, q3.label) == ("2026-Q2", "2026-Q3")
    deals = forecaster.open_deals(cut)
    share = forecaster.shares(deals, [q2.end, q3.end])
    amount = deals.frame["amount"].to_numpy()
    assert q2.expected == pytest.approx(float(amount @ share[:, 0]))
    assert q3.expected == pytest.approx(float(amount @ share[:, 1]))
    assert q2.sd == pytest.approx(np.sqrt((amount**2 * share[:, 0] * (1 - share[:, 0])).sum()))
    assert (share.sum(axis=1) <= deals.frame["probability"].to_numpy() + 1e-12).all()
    assert q2.low < q2.expected < q2.high
    # the simulation's mean agrees with the expectation (4,000 draws)
    (won_to_date,) = duck.execute(
        "SELECT sum(amount) FROM opportunities WHERE is_won AND closed_at >= '2026-04-01' "
        "AND closed_at <= ?",
        [cut],
    ).fetchall()[0]
    assert q2.won_to_date == pytest.approx(float(won_to_date))
    assert q3.won_to_date == 0
    # the CRM's own view: amount x CRM probability of the deals it expects to close in Q2
    inside = (pd.to_datetime(deals.frame["expected_close_date"]) >= "2026-04-01") & (
        pd.to_datetime(deals.frame["expected_close_date"]) < "2026-07-01"
    )
    crm = (deals.frame["amount"] * deals.frame["crm_probability"])[inside].sum()
    assert q2.crm_weighted == pytest.approx(crm)


def test_open_deals_are_the_kpis_open_pipeline(
    planted: Workspace, forecaster: Forecaster, duck: duckdb.DuckDBPyConnection
) -> None:
    cut = dt.datetime(2026, 3, 15, 23, 59, 59)
    deals = forecaster.open_deals(cut).frame
    (expected,) = duck.execute(
        "SELECT count(*) FROM opportunities WHERE created_at <= ? "
        "AND (closed_at IS NULL OR closed_at > ?)",
        [cut, cut],
    ).fetchall()[0]
    assert len(deals) == expected
    # a segment is the metric layer's: the same deals as open_pipeline's records
    where = {"channel": ["paid_search"]}
    mine = forecaster.open_deals(cut, where=where).frame
    records = planted.metrics.records(
        "open_pipeline", grain="day", start=cut.date(), end=cut.date(), where=where, as_of=cut
    )
    assert set(mine["opportunity_id"]) == set(records.column("opportunity_id").to_pylist())
    assert 0 < len(mine) < len(deals)
    # the stage each deal was in then comes from its history, not today's stage
    (then,) = duck.execute(
        "SELECT count(*) FROM (SELECT opportunity_id, arg_max(stage, entered_at) AS s "
        "FROM opportunity_stages WHERE entered_at <= ? GROUP BY 1) h "
        "JOIN opportunities o USING (opportunity_id) "
        "WHERE o.created_at <= ? AND (o.closed_at IS NULL OR o.closed_at > ?) "
        "AND h.s = 'negotiation'",
        [cut, cut, cut],
    ).fetchall()[0]
    assert (deals["stage"] == "negotiation").sum() == then


def test_period_bands_hold_the_realised_wins(
    forecaster: Forecaster, duck: duckdb.DuckDBPyConnection
) -> None:
    covered = total = 0
    for month in range(1, 6):
        for day in (5, 20):
            cut = dt.datetime(2026, month, day, 23, 59, 59)
            for grain in ("month", "quarter"):
                (period,) = forecaster.forecast(cut, grain=grain, periods=1)
                duck.register("deals", forecaster.open_deals(cut).frame)
                (realised,) = duck.execute(
                    "SELECT coalesce(sum(d.amount), 0) FROM deals d "
                    "JOIN opportunities o USING (opportunity_id) "
                    "WHERE o.is_won AND o.closed_at > ? AND o.closed_at < ?",
                    [cut, dt.datetime.combine(period.end, dt.time())],
                ).fetchall()[0]
                covered += period.low <= float(realised) <= period.high
                total += 1
    assert total == 20
    assert covered / total >= 0.75, f"{covered}/{total}"


def test_without_history_the_forecast_says_what_to_load(ws: Workspace) -> None:
    with pytest.raises(StatsError, match="opportunity_stages"):
        ws.goals.forecaster.model(dt.datetime(2026, 1, 1))


def test_a_small_company_gets_its_pipeline_kpis_and_the_reason_for_no_forecast(
    tmp_path: Path,
) -> None:
    company = generate_company(GeneratorConfig(n_leads=400, seed=5))
    company.write(tmp_path / "data")
    with revteam.init(tmp_path / "ws") as ws:
        ws.ingest.load_directory(tmp_path / "data")
        report = ws.goals.forecast_report()
        assert report.problem is not None and "opportunity_stages" in report.problem
        assert report.periods == [] and report.deals == [] and report.expected_pipeline is None
        w = report.waterfall
        assert w.closing == pytest.approx(w.opening + w.created - w.won - w.lost)
        assert report.open_pipeline == pytest.approx(w.closing) and report.open_pipeline > 0
        with pytest.raises(StatsError, match="grain"):
            ws.goals.forecast_report(grain="week")


def test_open_deals_by_the_crms_forecast_category(
    planted: Workspace, duck: duckdb.DuckDBPyConnection
) -> None:
    report = planted.goals.forecast_report(deals=0)
    found = {c["category"]: c for c in report.categories}
    rows = duck.execute(
        "SELECT forecast_category, count(*), sum(amount) FROM opportunities "
        "WHERE NOT is_closed GROUP BY 1"
    ).fetchall()
    assert {r[0] for r in rows} == set(found) == {"pipeline", "best_case", "commit"}
    for category, n, _ in rows:
        assert found[category]["deals"] == n
    # commit deals are further along: the calibrated wins expect more of each of their dollars
    rate = {c: found[c]["expected_first_period"] / found[c]["amount"] for c in found}
    assert rate["commit"] > rate["best_case"] > rate["pipeline"]
    # a past as-of has no categories: the CRM keeps only today's
    assert planted.goals.forecast_report(as_of=dt.date(2026, 3, 1), deals=0).categories == []
