"""Customer-value models on a generated company: its orders summarised as plain SQL says, its
planted repeat-purchase, spend and churn parameters recovered, its holdout purchases predicted.

The generator plants BG/NBD add-on purchases (time in weeks: the win is the first purchase)
with Gamma-Gamma order values, and yearly renewals lost at a fixed rate per segment
(``truth['customers']``). Weakly identified parameters are checked through what the data
determines: the mean purchase rate r/α, the mean dropout a/(a+b), the mean churn α/(α+β).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pytest
from typer.testing import CliRunner

import revteam
from revteam.cli import app as cli
from revteam.clv.component import ClvComponent
from revteam.clv.models import RepeatData, bg_nbd_expected
from revteam.exceptions import ClvError
from revteam.generate import Company, GeneratorConfig, generate_company
from revteam.generate.params import ADD_ON_PRODUCTS
from revteam.settings import ClvSettings
from revteam.workspace import Workspace


@pytest.fixture(scope="module")
def company() -> Company:
    return generate_company(GeneratorConfig(n_leads=100_000, seed=17))


@pytest.fixture(scope="module")
def ws_path(company: Company, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("clv")
    company.write(root / "data")
    with revteam.init(root / "ws", clv={"repeat_products": list(ADD_ON_PRODUCTS)}) as ws:
        ws.ingest.load_directory(root / "data")
    return root / "ws"


@pytest.fixture(scope="module")
def ws(ws_path: Path) -> Iterator[Workspace]:
    with revteam.open(ws_path, read_only=True) as opened:
        yield opened


def by_sql(company: Company, end: dt.date) -> dict[str, tuple[int, float, float, float]]:
    """(x, t_x, T, z̄) per account acquired by ``end``, from the generated orders by SQL."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("orders", company.tables["orders"])
    products = ", ".join(f"'{p}'" for p in ADD_ON_PRODUCTS)
    rows = con.execute(
        f"""
        WITH o AS (SELECT account_id, CAST(ordered_at AS DATE) AS day, amount, product
                   FROM orders WHERE CAST(ordered_at AS DATE) <= DATE '{end}'),
        first AS (SELECT account_id, min(day) AS first FROM o GROUP BY 1),
        repeat AS (SELECT o.account_id, o.day, sum(o.amount) AS spent
                   FROM o JOIN first f USING (account_id)
                   WHERE o.day > f.first AND o.product IN ({products}) GROUP BY 1, 2)
        SELECT f.account_id, count(r.day), coalesce(max(r.day) - f.first, 0),
               DATE '{end}' - f.first, avg(r.spent)
        FROM first f LEFT JOIN repeat r USING (account_id) GROUP BY f.account_id, f.first"""
    ).fetchall()
    return {a: (int(x), tx / 7, T / 7, z) for a, x, tx, T, z in rows}


def test_the_summary_is_plain_sql(ws: Workspace, company: Company) -> None:
    end = ws.metrics.as_of().date()
    summary = ws.clv.summary()
    want = by_sql(company, end)
    ids = summary.customers.to_pylist()
    assert sorted(ids) == sorted(want)
    for i, account in enumerate(ids):
        x, tx, T, z = want[account]
        assert summary.data.x[i] == x
        assert summary.data.t_x[i] == pytest.approx(tx, abs=1e-9)
        assert summary.data.T[i] == pytest.approx(T, abs=1e-9)
        if x:
            assert summary.data.zbar[i] == pytest.approx(z, rel=1e-9)


def ratio(fit, top: str, other: str, *, share: bool) -> tuple[float, float]:
    """top / other (or top / (top + other) when ``share``) and its delta-method error."""
    p, c = fit.params, np.array(fit.cov)
    names = list(p)
    i, j = names.index(top), names.index(other)
    a, b = p[top], p[other]
    if share:
        value, grad = a / (a + b), (b / (a + b) ** 2, -a / (a + b) ** 2)
    else:
        value, grad = a / b, (1 / b, -a / b**2)
    g = np.zeros(len(names))
    g[i], g[j] = grad
    return value, float(np.sqrt(g @ c @ g))


def test_planted_repeat_purchases_are_recovered(ws: Workspace, company: Company) -> None:
    truth = company.truth["customers"]["repeat_purchases"]
    bg, gg = truth["bg_nbd"], truth["gamma_gamma"]
    fit = ws.clv.fit("bg_nbd").fit
    assert fit.converged
    rate, se = ratio(fit, "r", "alpha", share=False)
    assert abs(rate - bg["r"] / bg["alpha"]) <= 3 * se, (rate, se)
    dropout, se = ratio(fit, "a", "b", share=True)
    assert abs(dropout - bg["a"] / (bg["a"] + bg["b"])) <= 3 * se, (dropout, se)
    spend = ws.clv.fit("gamma_gamma").fit
    for name, value in gg.items():
        assert abs(spend.params[name] - value) <= 3 * spend.se[name], (name, spend.params)


def test_holdout_purchases_are_predicted(ws: Workspace, company: Company) -> None:
    """Calibrate to half a year before the data ends; predict each customer's add-on
    transactions in the half year after; compare with what they did (the papers' check)."""
    as_of = ws.metrics.as_of().date()
    cut = as_of - dt.timedelta(weeks=26)
    summary = ws.clv.summary(end=cut)
    params = list(ws.clv.fit("bg_nbd", end=cut).fit.params.values())
    expected = bg_nbd_expected(params, summary.data, 26.0)
    later = by_sql(company, as_of)
    done = np.array(
        [
            later[a][0] - x
            for a, x in zip(summary.customers.to_pylist(), summary.data.x, strict=True)
        ]
    )
    assert expected.sum() == pytest.approx(done.sum(), rel=0.1)
    # the same check as ws.clv.holdout (and revteam clv holdout, the page) makes it
    check = ws.clv.holdout(weeks=26)
    assert check["calibration_end"] == cut.isoformat()
    assert check["total"]["predicted"] == pytest.approx(expected.sum(), rel=1e-12)
    assert check["total"]["actual"] == done.sum()
    zero = next(r for r in check["rows"] if r["repeat_purchases"] == "0")
    assert zero["actual"] == pytest.approx(done[summary.data.x == 0].mean(), rel=1e-12)
    # each prediction within its interval from the parameters' uncertainty
    total = check["total"]
    assert total["predicted_low"] < total["predicted"] < total["predicted_high"]
    for row in check["rows"]:
        if row["customers"]:
            assert row["predicted_low"] < row["predicted"] < row["predicted_high"]
    for x in (0, 1, 2):
        group = summary.data.x == x
        assert expected[group].mean() == pytest.approx(done[group].mean(), rel=0.25, abs=0.05)


def test_planted_churn_is_recovered_per_segment(ws: Workspace, company: Company) -> None:
    churn = company.truth["customers"]["annual_churn"]
    for segment, planted in churn.items():
        found = ws.clv.fit("sbg", segment=segment)
        value, se = found.fit.derived["churn"], found.fit.derived_se["churn"]
        assert (value, se) == pytest.approx(ratio(found.fit, "alpha", "beta", share=True))
        assert abs(value - planted) <= 3 * se, (segment, value, se, planted)
        assert found.customers > 50


def test_the_renewal_fit_gives_a_new_customers_discounted_lifetime(ws: Workspace) -> None:
    """DERL by its sum: Σ_{t≥1} S(t) / (1+d)^(t−1), d the yearly rate for yearly contracts."""
    from revteam.clv.models import sbg_survival

    found = ws.clv.fit("sbg")
    d = ws.settings.clv.discount_rate
    t = np.arange(1, 3_000)
    brute = float((sbg_survival(found.fit.vector(), t) / (1 + d) ** (t - 1)).sum())
    assert found.expected_lifetime == pytest.approx(brute, rel=1e-6)
    assert found.as_dict()["expected_lifetime"] == found.expected_lifetime
    # every renewal decision, kept or lost, once
    assert found.transactions == int(ws.clv.lifetimes()[0].period.sum())


def test_the_component_refuses_what_it_cannot_fit(ws: Workspace) -> None:
    with pytest.raises(ClvError, match="smb"):
        ws.clv.fit("sbg", segment="nonprofit")
    with pytest.raises(ClvError, match="bg_nbd, gamma_gamma, sbg"):
        ws.clv.fit("pareto_nbd")
    with pytest.raises(ClvError, match="after the as-of day"):
        ws.clv.fit("bg_nbd", end=ws.metrics.as_of().date() + dt.timedelta(days=2))
    with pytest.raises(ClvError, match="bought again"):
        ws.clv.fit("bg_nbd", start=ws.metrics.as_of().date())
    lonely = RepeatData.of([0, 0], [0, 0], [5, 5])
    with pytest.raises(ClvError, match="--model sbg"):
        from revteam.clv import fit_bg_nbd

        fit_bg_nbd(lonely)


def test_every_order_counts_without_repeat_products(ws: Workspace) -> None:
    plain = ClvComponent(
        metrics=ws.metrics, settings=ws.settings.model_copy(update={"clv": ClvSettings()})
    )
    every, add_ons = plain.summary(), ws.clv.summary()
    assert every.n == add_ons.n  # the same customers: their first order starts their clock
    assert every.data.x.sum() > add_ons.data.x.sum()  # invoices are repeat purchases too
    # and then spend per purchase mixes invoices of every size: refused, saying what to set
    with pytest.raises(ClvError, match=r"\[clv\] repeat_products"):
        plain.predict()


def test_the_cli_prints_the_fit(ws_path: Path) -> None:
    run = CliRunner().invoke(
        cli, ["-w", str(ws_path), "clv", "fit", "--model", "gamma_gamma", "--format", "json"]
    )
    assert run.exit_code == 0, run.output
    out = json.loads(run.stdout)
    assert set(out["params"]) == set(out["se"]) == {"p", "q", "gamma"}
    assert out["log_likelihood"] < 0 and out["customers"] >= out["repeat_customers"] > 100
    bad = CliRunner().invoke(cli, ["-w", str(ws_path), "clv", "fit", "--segment", "nope"])
    assert bad.exit_code == 2 and "segment" in bad.output


def test_predictions_per_customer_and_segment(ws: Workspace, ws_path: Path) -> None:
    from revteam.clv.models import bg_nbd_discounted, gamma_gamma_mean

    table = ws.clv.predict()
    summary = ws.clv.summary()
    assert table.column("account_id").to_pylist() == summary.customers.to_pylist()
    p_alive = table.column("p_alive").to_numpy()
    assert ((p_alive > 0) & (p_alive <= 1)).all()
    assert (p_alive[summary.data.x == 0] == 1).all()  # never bought again: cannot have left
    # the value, by hand from the fitted parameters: months discounted, x spend x margin
    cfg, margin = ws.settings.clv, ws.settings.gross_margin
    month = 365.25 / 12 / 7
    bg = ws.clv.fit("bg_nbd").fit.vector()
    spend = gamma_gamma_mean(ws.clv.fit("gamma_gamma").fit.vector(), summary.data)
    monthly = (1 + cfg.discount_rate) ** (1 / 12) - 1
    value = 0.0
    for k in range(1, cfg.horizon_months + 1):
        step = bg_nbd_discounted(bg, summary.data, horizon=k * month, step=k * month, discount=0)
        before = (
            bg_nbd_discounted(bg, summary.data, horizon=(k - 1) * month, step=(k - 1) * month,
                              discount=0)
            if k > 1 else 0.0
        )  # fmt: skip
        value = value + (step - before) / (1 + monthly) ** k
    assert np.allclose(table.column("predicted_value").to_numpy(), value * spend * margin)
    rows = ws.clv.by_segment(table)
    everyone = rows[-1]
    assert everyone["segment"] == "(all)" and everyone["customers"] == table.num_rows
    assert sum(r["customers"] for r in rows[:-1]) == table.num_rows
    assert sum(r["predicted_value_total"] for r in rows[:-1]) == pytest.approx(
        everyone["predicted_value_total"], rel=1e-12
    )
    run = CliRunner().invoke(cli, ["-w", str(ws_path), "clv", "show", "--format", "json"])
    assert run.exit_code == 0, run.output
    printed = json.loads(run.stdout)
    assert [r["segment"] for r in printed] == [r["segment"] for r in rows]
    for got, want in zip(printed, rows, strict=True):
        assert got["customers"] == want["customers"]
        assert got["predicted_value_total"] == pytest.approx(want["predicted_value_total"])
    top = CliRunner().invoke(
        cli, ["-w", str(ws_path), "clv", "show", "--by", "customer", "--limit", "3",
              "--format", "json"],
    )  # fmt: skip
    shown = json.loads(top.stdout)
    assert len(shown) == 3
    assert shown[0]["predicted_value"] == pytest.approx(
        float(table.column("predicted_value").to_numpy().max())
    )


def retention_by_sql(company: Company, as_of: dt.datetime) -> dict[str, dict[str, float]]:
    """Per segment: renewals decided, renewed, and the GRR and NRR sums, by plain SQL."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("o", company.tables["opportunities"])
    con.register("a", company.tables["accounts"])
    rows = con.execute(
        """
        WITH known AS (SELECT * FROM o WHERE closed_at <= ? AND account_id IS NOT NULL),
        ren AS (SELECT *, coalesce(CAST(expected_close_date AS TIMESTAMP), closed_at) AS due
                FROM known WHERE type = 'renewal' AND is_closed),
        prior AS (SELECT r.opportunity_id, arg_max(c.amount, c.closed_at) AS prior
                  FROM ren r JOIN known c ON c.account_id = r.account_id AND c.is_won
                   AND c.type IN ('new_business', 'renewal') AND c.closed_at < r.created_at
                  GROUP BY 1),
        ups AS (SELECT r.opportunity_id, sum(u.amount) AS ups
                FROM ren r JOIN known u ON u.account_id = r.account_id AND u.is_won
                 AND u.type = 'upsell' AND u.closed_at <= r.due
                 AND u.closed_at > r.due - INTERVAL 365 DAY
                GROUP BY 1)
        SELECT a.segment, count(*), count(*) FILTER (WHERE r.is_won),
               sum(CASE WHEN r.is_won THEN least(r.amount, p.prior) ELSE 0 END)
                   FILTER (WHERE p.prior IS NOT NULL),
               sum(CASE WHEN r.is_won THEN r.amount + coalesce(u.ups, 0) ELSE 0 END)
                   FILTER (WHERE p.prior IS NOT NULL),
               sum(p.prior)
        FROM ren r JOIN a USING (account_id) LEFT JOIN prior p USING (opportunity_id)
        LEFT JOIN ups u USING (opportunity_id) GROUP BY 1""",
        [as_of],
    ).fetchall()
    return {
        s: {
            "decided": n,
            "renewed": k,
            "kept": float(kept),
            "net": float(net),
            "prior": float(prior),
        }
        for s, n, k, kept, net, prior in rows
    }


def test_retention_kpis_are_plain_sql_and_recover_the_planted_churn(
    ws: Workspace, company: Company
) -> None:
    kpis = ["renewals_due", "churn_rate", "gross_revenue_retention", "net_revenue_retention"]
    result = ws.metrics.query(kpis, grain="all", by=["segment"]).to_pylist()
    got = {(r["segment"], r["metric"]): r["value"] for r in result if not r["is_total"]}
    want = retention_by_sql(company, ws.metrics.as_of())
    planted = company.truth["customers"]["annual_churn"]
    for segment, w in want.items():
        assert got[(segment, "renewals_due")] == w["decided"]
        churn = 1 - w["renewed"] / w["decided"]
        assert got[(segment, "churn_rate")] == pytest.approx(churn, rel=1e-12)
        assert got[(segment, "gross_revenue_retention")] == pytest.approx(
            w["kept"] / w["prior"], rel=1e-9
        )
        assert got[(segment, "net_revenue_retention")] == pytest.approx(
            w["net"] / w["prior"], rel=1e-9
        )
        # the planted yearly churn of the segment, within three binomial standard errors
        p = planted[segment]
        assert abs(churn - p) <= 3 * np.sqrt(p * (1 - p) / w["decided"]), (segment, churn, p)
    # retention cannot exceed the base in gross terms; renewal uplift and upsells make net > gross
    for segment in want:
        assert got[(segment, "gross_revenue_retention")] <= 1
        assert got[(segment, "net_revenue_retention")] > got[(segment, "gross_revenue_retention")]


def test_intervals_of_predicted_value(ws: Workspace) -> None:
    from revteam.clv.models import draw_params

    rows = {r["segment"]: r for r in ws.clv.by_segment(ws.clv.predict())}
    found = ws.clv.intervals(level=0.9)
    assert set(found) == set(rows)
    for name, (low, high) in found.items():
        assert low < rows[name]["predicted_value"] < high, name
    assert ws.clv.intervals(level=0.9) == found  # the same data, the same interval
    wider = ws.clv.intervals(level=0.98)
    assert wider["(all)"][0] < found["(all)"][0] and wider["(all)"][1] > found["(all)"][1]
    # the draws follow the estimate's covariance (delta method over log-parameters)
    fit = ws.clv.fit("gamma_gamma").fit
    drawn = draw_params(fit, 20_000, seed=5)
    assert np.allclose(np.cov(drawn.T), np.array(fit.cov), rtol=0.25, atol=0)


def test_predicted_clv_is_to_date_plus_the_models_future(ws: Workspace, company: Company) -> None:
    """clv_predicted per cohort: the clv cohort's customers, each worth its revenue to date x
    margin (plain SQL over the orders) plus the BG/NBD value ws.clv.predict gives it."""
    kpis = ["clv", "clv_predicted", "cac", "clv_to_cac_predicted"]
    rows = ws.metrics.query(kpis, grain="quarter", start="2025-01-01", end="2026-06-30")
    got = {(r["period"], r["metric"]): r for r in rows.to_pylist() if r["is_total"]}
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("o", company.tables["opportunities"])
    con.register("orders", company.tables["orders"])
    as_of = ws.metrics.as_of()
    firsts = con.execute(
        """SELECT account_id, min(closed_at) FROM o WHERE is_won AND account_id IS NOT NULL
           AND closed_at <= ? GROUP BY 1""",
        [as_of],
    ).fetchall()
    paid = dict(
        con.execute(
            "SELECT account_id, sum(amount) FROM orders WHERE ordered_at <= ? GROUP BY 1",
            [as_of],
        ).fetchall()
    )
    table = ws.clv.predict()
    future = dict(
        zip(
            table.column("account_id").to_pylist(),
            table.column("predicted_value").to_pylist(),
            strict=True,
        )
    )
    margin = ws.settings.gross_margin
    checked = 0
    for (period, metric), row in got.items():
        if metric != "clv_predicted":
            continue
        end = (
            period.replace(month=period.month + 3)
            if period.month < 10
            else period.replace(year=period.year + 1, month=1)
        )
        members = [
            a for a, at in firsts if dt.datetime.combine(period, dt.time()) <= at
            and at < dt.datetime.combine(end, dt.time())
        ]  # fmt: skip
        values = [float(paid.get(a, 0)) * margin + future.get(a, 0.0) for a in members]
        assert row["value"] == pytest.approx(np.mean(values), rel=1e-9), period
        assert row["value"] > got[(period, "clv")]["value"]  # the future is worth something
        ratio = got[(period, "clv_to_cac_predicted")]["value"]
        assert ratio == pytest.approx(row["value"] / got[(period, "cac")]["value"], rel=1e-9)
        checked += 1
    assert checked == 6


def test_renewal_model_values_the_customers_still_under_contract(
    ws: Workspace, company: Company
) -> None:
    """By hand for living customers: each renewal due within the horizon (a year after the
    last one won, or the acquisition; now if overdue), its survival, discounted from its due
    date, times the contract and margin; nothing for those who churned."""
    from revteam.clv.models import sbg_survival

    as_of = ws.metrics.as_of()
    values = ws.clv.lifetime_values("sbg", as_of)
    future = dict(
        zip(
            values.column("account_id").to_pylist(),
            values.column("future_value").to_pylist(),
            strict=True,
        )
    )
    data, n, _, _ = ws.clv.lifetimes()
    assert n == len(future)
    ids = ws.clv._renewals(None, None, None, None)[1].to_pylist()
    fit = ws.clv.fit("sbg").fit.vector()
    cfg = ws.settings.clv
    churned = [a for a, alive in zip(ids, data.alive, strict=True) if not alive]
    assert churned and all(future[a] == 0 for a in churned)
    # when each account's current contract began: plain SQL over the generated deals
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("o", company.tables["opportunities"])
    began = dict(
        con.execute(
            """SELECT account_id, max(began) FROM (
                 SELECT account_id, min(closed_at) AS began FROM o WHERE is_won GROUP BY 1
                 UNION ALL
                 SELECT account_id, CAST(coalesce(expected_close_date, closed_at) AS TIMESTAMP)
                 FROM o WHERE type = 'renewal' AND is_won AND closed_at <= ?
                   AND CAST(coalesce(expected_close_date, closed_at) AS TIMESTAMP) <= ?)
               GROUP BY 1""",
            [as_of, as_of],
        ).fetchall()
    )
    contracts = ws.clv._contracts(ws.clv._renewals(None, None, None, None)[1], as_of)
    year, horizon = 365.25, cfg.horizon_months * 365.25 / 12
    checked = 0
    for i in np.flatnonzero(data.alive)[:40]:
        k, account = data.period[i], ids[i]
        first = max(year - (as_of - began[account]) / dt.timedelta(days=1), 0.0)
        factor, j = 0.0, 0
        while (due := first + j * year) <= horizon:
            factor += (
                sbg_survival(fit, k + 1 + j)
                / sbg_survival(fit, k)
                / (1 + cfg.discount_rate) ** (due / 365.25)
            )
            j += 1
        want = contracts[i] * ws.settings.gross_margin * factor
        assert future[account] == pytest.approx(want, rel=1e-9), account
        checked += 1
    assert checked == 40


def test_a_shorter_horizon_counts_only_the_renewals_due_in_it(ws_path: Path) -> None:
    """Six months ahead: only customers whose renewal falls due within them are worth more."""
    with revteam.open(ws_path, read_only=True) as ws:
        short = ClvComponent(
            metrics=ws.metrics,
            settings=ws.settings.model_copy(
                update={"clv": ws.settings.clv.model_copy(update={"horizon_months": 6})}
            ),
        )
        six = short.lifetime_values("sbg", ws.metrics.as_of()).column("future_value").to_numpy()
        three_years = ws.clv.lifetime_values("sbg", ws.metrics.as_of())
        full = three_years.column("future_value").to_numpy()
    assert (six <= full + 1e-9).all() and (six < full).any()
    assert 0 < (six > 0).sum() < (full > 0).sum()  # some renew within six months, not all


def test_every_kpi_still_answers_where_no_model_can_be_fitted(tmp_path: Path) -> None:
    """Default settings on a company whose orders mix invoices and add-ons: the list of every
    KPI leaves predicted CLV out (asked for by name), which is refused saying what to set."""
    generate_company(GeneratorConfig(n_leads=5_000, seed=2)).write(tmp_path / "data")
    with revteam.init(tmp_path / "ws") as fresh:
        fresh.ingest.load_directory(tmp_path / "data")
        # the metric layer knows which KPIs a fitted model backs, through any formula
        assert fresh.metrics.is_fitted("clv_to_cac_predicted") and not fresh.metrics.is_fitted(
            "clv"
        )
        unfitted = {s.id for s in fresh.metrics.list(fitted=False)}
        assert {s.id for s in fresh.metrics.list()} - unfitted == {
            "clv_predicted",
            "clv_to_cac_predicted",
        }
    every = CliRunner().invoke(
        cli, ["-w", str(tmp_path / "ws"), "kpis", "--grain", "all", "--format", "json"]
    )
    assert every.exit_code == 0, every.output
    shown = {r["metric"] for r in json.loads(every.stdout)}
    assert "clv" in shown and "clv_predicted" not in shown
    asked = CliRunner().invoke(cli, ["-w", str(tmp_path / "ws"), "kpis", "clv_predicted"])
    assert asked.exit_code == 2
    # verbatim: a setting's "[clv]" is not swallowed as terminal markup
    assert "[clv] repeat_products" in asked.output and '[clv] model = "sbg"' in asked.output


def test_the_retention_triangle_is_plain_sql(ws: Workspace, company: Company, ws_path: Path):
    """The first renewal of each quarterly cohort, by SQL over the generated deals: of the
    customers whose first renewal was decided, the share won."""
    rows = {r["cohort"]: r for r in ws.clv.triangle(grain="quarter")}
    as_of = ws.metrics.as_of()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("o", company.tables["opportunities"])
    want = con.execute(
        """
        WITH first AS (SELECT account_id, min(closed_at) AS won FROM o
                       WHERE is_won AND account_id IS NOT NULL AND closed_at <= $1
                         AND type <> 'renewal' GROUP BY 1),
        ren AS (SELECT account_id, arg_min(is_won, created_at) AS renewed
                FROM o WHERE type = 'renewal' AND is_closed AND closed_at <= $1
                  AND coalesce(CAST(expected_close_date AS TIMESTAMP), closed_at) <= $1
                GROUP BY 1)
        SELECT CAST(date_trunc('quarter', f.won) AS DATE), count(*),
               count(r.account_id), count(*) FILTER (WHERE r.renewed)
        FROM first f LEFT JOIN ren r USING (account_id)
        GROUP BY 1""",
        [as_of],
    ).fetchall()
    assert want
    for cohort, _, decided, renewed in want:
        row = rows[cohort.isoformat()]
        if decided:
            assert row["observed"][0] == decided, cohort
            assert row["retained"][0] == pytest.approx(renewed / decided, rel=1e-12), cohort
    run = CliRunner().invoke(cli, ["-w", str(ws_path), "clv", "retention", "--format", "json"])
    assert run.exit_code == 0 and json.loads(run.stdout) == list(rows.values())


def test_both_models_add_renewals_and_purchases_at_will(ws: Workspace) -> None:
    as_of = ws.metrics.as_of()
    each = {m: ws.clv.lifetime_values(m, as_of) for m in ("bg_nbd", "sbg", "both")}
    ids = each["both"].column("account_id").to_pylist()
    assert ids == each["bg_nbd"].column("account_id").to_pylist()
    both = each["both"].column("future_value").to_numpy()
    repeat = each["bg_nbd"].column("future_value").to_numpy()
    renewals = each["sbg"].column("future_value").to_numpy()
    # a customer who lost their contract buys no more add-ons
    data, _, _, _ = ws.clv.lifetimes()
    lost = set(np.array(ws.clv._renewals(None, None, None, None)[1].to_pylist())[~data.alive])
    churned = np.array([a in lost for a in ids])
    assert churned.any() and (repeat[churned] > 0).any()
    assert np.allclose(both, np.where(churned, 0.0, repeat) + renewals, rtol=1e-12)
    assert (both[churned] == 0).all() and (both[~churned] >= repeat[~churned]).all()
    with pytest.raises(ClvError, match="bg_nbd, sbg or both"):
        ws.clv.lifetime_values("pareto", as_of)


@pytest.fixture(scope="module")
def both_path(ws_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same company under ``[clv] model = "both"`` (renewals and add-ons)."""
    copy = tmp_path_factory.mktemp("both") / "ws"
    shutil.copytree(ws_path, copy)
    toml = copy / "revteam.toml"
    text = re.sub(r'(?m)^model = "bg_nbd"\n', "", toml.read_text())
    toml.write_text(text.replace("[clv]\n", '[clv]\nmodel = "both"\n', 1))
    return copy


def test_predicted_clv_by_channel_is_the_kpi_with_the_models_intervals(both_path: Path) -> None:
    with revteam.open(both_path, read_only=True) as ws:
        assert ws.settings.clv.model == "both"
        found = ws.clv.value_by("channel")
        rows = found["rows"]
        assert found["intervals_note"] is None
        kpis = ws.metrics.query(
            ["clv_predicted", "clv_to_cac_predicted"], by=["channel"], grain="all"
        ).to_pylist()
        values = ws.clv.lifetime_values("both", ws.metrics.as_of())
        with pytest.raises(ClvError, match="cannot be grouped by 'nope'"):
            ws.clv.value_by("nope")
        with pytest.raises(ClvError, match="intervals are for at most 500"):
            ws.clv.value_by("account")
    kpi = {(r["is_total"], r["channel"], r["metric"]): r["value"] for r in kpis}
    channel = np.array(values.column("channel").to_pylist(), dtype=object)
    to_date = values.column("value_to_date").to_numpy()
    future = values.column("future_value").to_numpy()
    *groups, everyone = rows
    assert [r["group"] for r in groups] == sorted({c for c in channel if c is not None}) + (
        [None] if None in channel else []
    )
    for r in groups:
        mine = channel == r["group"]
        assert r["customers"] == mine.sum()
        assert r["value_to_date"] == pytest.approx(to_date[mine].mean())
        assert r["future_value"] == pytest.approx(future[mine].mean())
        # the catalogue's KPI, and the sum of its parts
        assert r["clv_predicted"] == pytest.approx(kpi[(False, r["group"], "clv_predicted")])
        assert r["clv_predicted"] == pytest.approx(r["value_to_date"] + r["future_value"])
        assert r["low"] < r["clv_predicted"] < r["high"]
        ratio = kpi.get((False, r["group"], "clv_to_cac_predicted"))
        assert r["clv_to_cac_predicted"] == (pytest.approx(ratio) if ratio is not None else None)
        if ratio is not None:
            assert r["clv_to_cac_low"] / ratio == pytest.approx(r["low"] / r["clv_predicted"])
    assert everyone["group"] == "(all)" and everyone["customers"] == values.num_rows
    assert everyone["clv_predicted"] == pytest.approx(kpi[(True, None, "clv_predicted")])
    assert everyone["low"] < everyone["clv_predicted"] < everyone["high"]
    run = CliRunner().invoke(
        cli, ["-w", str(both_path), "clv", "value", "--by", "channel", "--format", "json"]
    )
    assert run.exit_code == 0, run.output
    assert [r["clv_predicted"] for r in json.loads(run.stdout)] == pytest.approx(
        [r["clv_predicted"] for r in rows]
    )


def test_a_past_as_of_counts_only_what_was_known_then(ws: Workspace, company: Company) -> None:
    """A whole range without an end ends at the as-of day: customers acquired later are not in
    it (they used to count, worth nothing), nor leads created later."""
    day = dt.date(2026, 1, 1)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("o", company.tables["opportunities"])
    con.register("people", company.tables["people"])
    (acquired,) = con.execute(
        """SELECT count(*) FROM (SELECT account_id, min(closed_at) AS first FROM o
           WHERE is_won AND account_id IS NOT NULL GROUP BY 1) WHERE first < ?""",
        [day + dt.timedelta(days=1)],
    ).fetchone()
    (leads,) = con.execute(
        "SELECT count(*) FROM people WHERE created_at < ?", [day + dt.timedelta(days=1)]
    ).fetchone()
    got = {
        r["metric"]: r
        for r in ws.metrics.query(
            ["new_customers", "clv_predicted", "leads"], grain="all", as_of=day
        ).to_pylist()
        if r["is_total"]
    }
    assert got["new_customers"]["value"] == acquired
    assert got["clv_predicted"]["n"] == acquired
    assert got["leads"]["value"] == leads
    # and the models refuse an as-of after the data ends rather than read the gap as silence
    with pytest.raises(ClvError, match="after the data ends"):
        ws.clv.fit("bg_nbd", as_of=ws.metrics.as_of().date() + dt.timedelta(days=30))


def test_csv_and_json_from_the_cli_are_data(ws_path: Path, capsys) -> None:
    """CSV carries the numbers as they are (no separators, no words), JSON is always valid."""
    runner = CliRunner()
    value = runner.invoke(
        cli, ["-w", str(ws_path), "clv", "value", "--by", "segment", "--format", "csv"]
    )
    assert value.exit_code == 0, value.output
    header, *lines = value.stdout.strip().splitlines()
    assert header.startswith("segment,customers,value_to_date,future_value,clv_predicted,low")
    first = dict(zip(header.split(","), lines[0].split(","), strict=True))
    assert float(first["low"]) <= float(first["clv_predicted"]) <= float(first["high"])
    triangle = runner.invoke(cli, ["-w", str(ws_path), "clv", "retention", "--format", "csv"])
    header, *lines = triangle.stdout.strip().splitlines()
    assert "renewal_1_retained" in header and "%" not in triangle.stdout
    from revteam.cli._common import write_json

    write_json({"se": {"r": float("nan"), "a": float("inf")}, "rows": [1.5, float("-inf")]})
    text = capsys.readouterr().out

    def strict(name: str) -> None:
        raise AssertionError(f"{name} is not JSON")

    assert json.loads(text, parse_constant=strict) == {
        "se": {"r": None, "a": None},
        "rows": [1.5, None],
    }
