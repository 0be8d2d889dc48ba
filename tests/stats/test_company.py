"""On a generated company, through the real metric layer: the planted change is found and named.

The planted change (see ``revteam.generate.truth``): from one month on, one paid-social
campaign's sales qualification rate drops to a third. The best campaign has the highest true
rate but too few MQLs to top a raw ranking reliably.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.proportion import proportion_confint

from revteam.exceptions import StatsOptionError, UnsupportedStatisticError
from revteam.generate import Company
from revteam.stats import meta_of

pytestmark = pytest.mark.slow

SQR = "sales_qualification_rate"


def planted_month(company: Company) -> str:
    return dt.date.fromisoformat(company.truth["planted_change"]["from"]).strftime("%Y-%m")


def test_anomalies_flag_the_planted_drop_with_its_campaign_and_month(stats, planted_company):
    truth = planted_company.truth["planted_change"]
    found = stats.anomalies(SQR, by="campaign").to_pylist()
    assert found, "the planted drop was not flagged"
    first = found[0]
    assert (first["segment"], first["period_label"]) == (
        truth["campaign_id"],
        planted_month(planted_company),
    )
    assert (first["kind"], first["direction"]) == ("shift", "down")
    assert first["expected"] == pytest.approx(truth["before"], abs=0.08)
    assert first["level"] == pytest.approx(truth["after"], abs=0.08)
    assert len(found) <= 2


def test_weekly_anomalies_find_the_first_week_of_the_drop(stats, planted_company):
    truth = planted_company.truth["planted_change"]
    start = dt.date.fromisoformat(truth["from"])
    found = stats.anomalies(SQR, by="campaign", grain="week").to_pylist()
    hits = [r for r in found if r["segment"] == truth["campaign_id"] and r["direction"] == "down"]
    assert hits and abs((hits[0]["period"] - start).days) <= 7


@pytest.mark.parametrize(
    ("by", "grain"),
    [
        ("campaign", "month"),
        ("channel", "month"),
        ((), "month"),
        ("campaign", "week"),
        ((), "week"),
    ],
)
def test_a_company_without_planted_change_flags_nothing(steady, by, grain):
    found = steady.stats.anomalies(SQR, by=by, grain=grain)
    assert found.num_rows == 0, found.to_pylist()


@pytest.mark.parametrize("metric", ["mql_rate", "win_rate", "lead_conversion_rate"])
def test_other_rates_of_the_steady_company_are_quiet(steady, metric):
    assert steady.stats.anomalies(metric, by="channel").num_rows <= 1


def test_drivers_name_the_planted_campaign_first(stats, planted_company):
    truth = planted_company.truth["planted_change"]
    month = stats.anomalies(SQR, by="campaign").to_pylist()[0]["period"]
    table = stats.drivers(SQR, by="campaign", period=month, window=6)
    first = table.to_pylist()[0]
    assert (first["segment"], first["effect"]) == (truth["campaign_id"], "rate")
    assert first["significant"] and first["contribution"] < 0
    meta = meta_of(table)
    assert sum(table["contribution"].to_pylist()) == pytest.approx(meta["change"], abs=1e-12)
    by_channel = stats.drivers(SQR, by="channel", period=month, window=6).to_pylist()[0]
    assert (by_channel["segment"], by_channel["effect"]) == (truth["channel"], "rate")


def test_driver_parts_agree_with_plain_duckdb(stats, planted, duck, planted_company):
    """The pooled windows, shares and rates recomputed from the generated tables directly."""
    truth = planted_company.truth["planted_change"]
    start = dt.date.fromisoformat(truth["from"])
    table = stats.drivers(SQR, by="campaign", period=start, window=3)
    as_of = planted.metrics.as_of()
    rows = duck.execute(
        """
        SELECT CASE WHEN mql_at >= ? THEN 'after' ELSE 'before' END AS side,
               first_campaign_id AS campaign, count(*) AS n,
               count(*) FILTER (WHERE sql_at <= ? AND sql_at <= mql_at + INTERVAL 60 DAY) AS k
        FROM people
        WHERE mql_at >= ? AND mql_at < ? AND mql_at <= ?
        GROUP BY ALL
        """,
        [
            start,
            as_of,
            start - dt.timedelta(days=90),
            dt.date(start.year, start.month + 3, 1),
            as_of,
        ],
    ).fetchall()
    windows = {"before": ("2025-12", "2026-02"), "after": ("2026-03", "2026-05")}
    assert meta_of(table)["baseline_period"] == "..".join(windows["before"])
    cells = {(side, campaign): (k, n) for side, campaign, n, k in rows}
    totals = {
        s: [sum(v[i] for (side, _), v in cells.items() if side == s) for i in (0, 1)]
        for s in windows
    }
    change = totals["after"][0] / totals["after"][1] - totals["before"][0] / totals["before"][1]
    assert meta_of(table)["change"] == pytest.approx(change, abs=1e-12)
    c = truth["campaign_id"]
    rate = next(r for r in table.to_pylist() if r["segment"] == c and r["effect"] == "rate")
    k0, n0 = cells[("before", c)]
    k1, n1 = cells[("after", c)]
    assert rate["value_before"] == pytest.approx(k0 / n0)
    assert rate["value_after"] == pytest.approx(k1 / n1)
    assert rate["share_after"] == pytest.approx(n1 / totals["after"][1])
    w0, w1 = n0 / totals["before"][1], n1 / totals["after"][1]
    assert rate["contribution"] == pytest.approx((k1 / n1 - k0 / n0) * (w0 + w1) / 2)


def test_shrinkage_ranks_the_best_campaign_in_the_top_three(stats, planted_company):
    best = planted_company.truth["best_campaign"]["campaign_id"]
    rows = stats.rank(SQR, by="campaign").to_pylist()
    ranked = {r["segment"]: r for r in rows}
    assert ranked[best]["rank"] <= 3
    # Raw rates reward luck: campaigns with a handful of MQLs sit above it.
    lucky = [r for r in rows if r["raw_rank"] < ranked[best]["raw_rank"]]
    assert lucky and all(r["denominator"] < 40 for r in lucky)
    assert all(r["ci_low"] <= r["shrunk_rate"] <= r["ci_high"] for r in rows)


def test_intervals_on_metric_results(stats, planted, duck):
    table = stats.intervals([SQR, "sales_cycle_days", "avg_deal_size", "leads"], grain="quarter")
    rows = [r for r in table.to_pylist() if r["is_total"] and r["n"]]
    sqr = [r for r in rows if r["metric"] == SQR]
    low, high = proportion_confint(
        [r["numerator"] for r in sqr], [r["denominator"] for r in sqr], method="wilson"
    )
    np.testing.assert_allclose([r["ci_low"] for r in sqr], low)
    np.testing.assert_allclose([r["ci_high"] for r in sqr], high)
    assert {r["ci_method"] for r in rows if r["metric"] == "leads"} == {None}
    cycles = [r for r in rows if r["metric"] == "sales_cycle_days" and r["n"] >= 20]
    assert cycles and all(r["ci_method"] == "bootstrap" for r in cycles)
    assert all(r["ci_low"] <= r["value"] <= r["ci_high"] for r in cycles)
    # The mean's t-interval from the won amounts of one quarter, straight from the tables.
    deal = next(r for r in rows if r["metric"] == "avg_deal_size" and r["n"] >= 50)
    start = deal["period"]
    end = dt.date(start.year + (start.month + 2) // 12, (start.month + 2) % 12 + 1, 1)
    amounts = np.array(
        [
            a
            for (a,) in duck.execute(
                "SELECT amount::DOUBLE FROM opportunities WHERE is_won AND closed_at >= ? AND "
                "closed_at < ? AND amount IS NOT NULL",
                [start, end],
            ).fetchall()
        ]
    )
    expected = sps.t.interval(0.95, amounts.size - 1, loc=amounts.mean(), scale=sps.sem(amounts))
    assert (deal["ci_low"], deal["ci_high"]) == pytest.approx(expected)


def test_cohort_projection_matches_the_metric_and_projects_young_cohorts(steady, steady_company):
    truth_rate = steady_company.truth["rates"]["overall"]["mql_to_sql_60d"]
    table = steady.stats.cohorts(SQR).to_pylist()
    metric = {r["period"]: r for r in steady.metrics.query(SQR).totals().to_pylist()}
    for row in table:
        assert row["observed_rate"] == pytest.approx(metric[row["cohort"]]["value"])
        assert row["mature"] == (not metric[row["cohort"]]["immature"])
    young = [r for r in table if not r["mature"]]
    assert young and young[-1]["observed_rate"] < truth_rate - 0.1
    for r in young:
        assert r["ci_low"] - 0.03 < truth_rate < r["ci_high"] + 0.03
    curves = steady.stats.cohort_curves(SQR, start="2026-01-01", step=10)
    assert curves.num_rows == 10 * 7


def test_compare_uses_the_right_tests(stats, planted_company):
    month = planted_month(planted_company)
    rows = stats.compare(SQR, by="channel", against="rest", period=month).to_pylist()
    assert {r["test"] for r in rows} <= {"z", "fisher"}
    total_n = sum(r["n"] for r in rows)
    assert all(r["n"] + r["baseline_n"] == total_n for r in rows)
    durations = stats.compare("sales_cycle_days", by="segment", against="last_year").to_pylist()
    assert {r["test"] for r in durations} == {"mann_whitney"}
    means = stats.compare("sales_cycle_days_mean", against="previous").to_pylist()
    assert [r["test"] for r in means] == ["welch"]


def test_velocity_levers_add_up_to_its_change(stats, planted):
    table = stats.drivers("pipeline_velocity", period="2026-03")
    values = {
        r["period"]: r["value"]
        for r in planted.metrics.query("pipeline_velocity", start="2026-02-01", end="2026-03-31")
        .totals()
        .to_pylist()
    }
    change = values[dt.date(2026, 3, 1)] - values[dt.date(2026, 2, 1)]
    assert sum(table["contribution"].to_pylist()) == pytest.approx(change, rel=1e-9)
    assert set(table["lever"].to_pylist()) == {
        "opportunities_created",
        "win_rate",
        "avg_deal_size",
        "sales_cycle_days",
    }


def test_refusals_name_what_would_work(stats):
    with pytest.raises(UnsupportedStatisticError, match="rates of records"):
        stats.rank("leads")
    with pytest.raises(UnsupportedStatisticError, match="rates of records"):
        stats.rank("win_rate_by_amount", by="channel")
    with pytest.raises(StatsOptionError, match="against"):
        stats.compare(SQR, against="rest")
    with pytest.raises(StatsOptionError, match="by"):
        stats.drivers(SQR)
    with pytest.raises(StatsOptionError, match="period"):
        stats.drivers(SQR, by="channel", period="March")


def test_fiscal_quarters_follow_the_workspace_fiscal_year(fiscal):
    """A year from February: Feb-Apr 2026 is FY2027-Q1, as the metric layer labels it."""
    stats = fiscal.stats
    quarters = {
        r["period"]: r for r in fiscal.metrics.query(SQR, grain="quarter").totals().to_pylist()
    }
    assert quarters[dt.date(2026, 2, 1)]["period_label"] == "FY2027-Q1"

    compared = meta_of(stats.compare(SQR, against="previous", grain="quarter", period="2026-03-15"))
    assert (compared["period"], compared["baseline_period"]) == ("FY2027-Q1", "FY2026-Q4")

    # An explicit baseline date floors to its fiscal quarter (Aug-Oct), not July.
    meta = meta_of(
        stats.drivers(SQR, by="channel", grain="quarter", period="2026-03-15", against="2025-08-20")
    )
    assert (meta["baseline_period"], meta["period"]) == ("FY2026-Q3", "FY2027-Q1")
    assert meta["value_before"] == pytest.approx(quarters[dt.date(2025, 8, 1)]["value"])
    assert meta["value_after"] == pytest.approx(quarters[dt.date(2026, 2, 1)]["value"])
    pooled = meta_of(stats.drivers(SQR, by="channel", grain="quarter", period="2026-02", window=2))
    assert pooled["baseline_period"] == "FY2026-Q3..FY2026-Q4"

    found = stats.anomalies(SQR, grain="quarter", all_periods=True).to_pylist()
    assert found and all(r["period_label"] == quarters[r["period"]]["period_label"] for r in found)
    levers = meta_of(stats.drivers("pipeline_velocity", grain="quarter", period="2026-03"))
    assert (levers["baseline_period"], levers["period"]) == ("FY2026-Q4", "FY2027-Q1")
