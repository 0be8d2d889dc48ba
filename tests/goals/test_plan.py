"""The reverse funnel, checked against the rates the generator planted."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import revteam
from revteam.cli import app as cli
from revteam.exceptions import GoalError
from revteam.generate import Company, GeneratorConfig, generate_company
from revteam.goals.plan import NEW, STEPS, plan_revenue
from revteam.workspace import Workspace

BEFORE_THE_CHANGE = dt.date(2026, 2, 28)
"""The generator's planted SQR drop starts in March 2026: plan from the year before it."""


def test_the_plan_recovers_the_lead_volume_the_planted_rates_need(
    goals_ws: Workspace, goals_company: Company
) -> None:
    target = 3_000_000.0
    plan = plan_revenue(goals_ws.metrics, "2026-Q2", target, as_of=BEFORE_THE_CHANGE)
    steps = {s.metric: s for s in plan.steps}
    assert tuple(steps) == STEPS
    # The planted funnel, with the catalogue's windows, and the data's deal size and mix.
    rates = goals_company.truth["rates"]["overall"]
    first, last = plan.history
    revenue = goals_ws.metrics.query(
        "revenue", by="opportunity_type", grain="all", start=first, end=last
    ).to_pylist()
    total = next(r["value"] for r in revenue if r["is_total"])
    new = next(r["value"] for r in revenue if r.get("opportunity_type") == "new_business")
    deal = goals_ws.metrics.query(
        "avg_deal_size", grain="all", start=first, end=last, where=NEW
    ).to_pylist()[0]["value"]
    funnel = (
        rates["lead_to_mql_90d"]
        * rates["mql_to_sql_60d"]
        * rates["sql_to_opportunity_90d"]
        * rates["win_rate"]
    )
    needed = target * new / total / deal / funnel
    leads = steps["leads"]
    assert leads.low <= needed <= leads.high, (leads, needed)
    assert abs(leads.value / needed - 1) < 0.25
    # Each step asks for more than the one after it, and its interval holds its value.
    values = [steps[m].value for m in ("leads", "mqls", "sqls", "opportunities_created")]
    assert values == sorted(values, reverse=True)
    assert all(s.low <= s.value <= s.high for s in plan.steps)
    assert steps["leads"].lag_days > steps["opportunities_created"].lag_days > 0
    assert steps["leads"].period <= steps["opportunities_created"].period <= "2026-Q2"


def test_the_plan_scales_with_the_target_and_is_deterministic(goals_ws: Workspace) -> None:
    one = plan_revenue(goals_ws.metrics, "2026-Q2", 1_000_000, as_of=BEFORE_THE_CHANGE)
    two = plan_revenue(goals_ws.metrics, "2026-Q2", 2_000_000, as_of=BEFORE_THE_CHANGE)
    again = plan_revenue(goals_ws.metrics, "2026-Q2", 1_000_000, as_of=BEFORE_THE_CHANGE)
    assert again == one
    for a, b in zip(one.steps, two.steps, strict=True):
        assert b.value == pytest.approx(2 * a.value, rel=0.02)
    specs = one.goals()
    assert [g.metric for g in specs] == list(STEPS[1:])
    assert all(float(g.target) >= s.value for g, s in zip(specs, one.steps[1:], strict=True))
    with pytest.raises(GoalError, match="above 0"):
        plan_revenue(goals_ws.metrics, "2026-Q2", 0)


def test_the_cli_plans_and_applies_in_one_step(tmp_path: Path) -> None:
    company = generate_company(GeneratorConfig(n_leads=3000, seed=4))
    company.write(tmp_path / "data")
    with revteam.init(tmp_path / "ws") as ws:
        ws.ingest.load_directory(tmp_path / "data")
    runner = CliRunner()
    w = ["-w", str(tmp_path / "ws")]
    args = [*w, "goals", "plan", "revenue", "2027-Q1", "--target", "2000000", "--format", "json"]
    shown = runner.invoke(cli, args)
    assert shown.exit_code == 0, shown.output
    plan = json.loads(shown.stdout)
    assert {"leads", "mqls", "sqls", "opportunities", "new_customers"} <= set(plan)
    for step in plan.values():
        assert step["low"] <= step["value"] <= step["high"]
    applied = runner.invoke(cli, [*args, "--apply"])
    assert applied.exit_code == 0, applied.output
    listed = json.loads(runner.invoke(cli, [*w, "goals", "list", "--format", "json"]).stdout)
    by_metric = {g["metric"]: g for g in listed}
    assert by_metric["leads"]["target"] >= plan["leads"]["value"]
    assert by_metric["leads"]["period"] == plan["leads"]["period"]
    other = runner.invoke(cli, [*w, "goals", "plan", "leads", "2027-Q1", "--target", "5"])
    assert other.exit_code == 2 and "Only a revenue goal" in other.output
