"""Incentive plans: payout curves, plan checks, and factors computed from the goals' pacing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import revteam
from revteam.cli import app as cli
from revteam.exceptions import GoalError
from revteam.generate import GeneratorConfig, generate_company
from revteam.goals import GoalSpec
from revteam.goals.incentives import INCENTIVES_FILE, Measure, parse_incentives
from revteam.metrics import periods as P
from revteam.workspace import Workspace


def test_the_payout_curve() -> None:
    m = Measure("sqls", "2026-Q4", (), 1.0, threshold=0.8, cap=1.5, accelerator=2.0)
    assert [m.payout(a) for a in (0.5, 0.79, 0.8, 0.95, 1.0, 1.1, 1.3, 2.0)] == pytest.approx(
        [0.0, 0.0, 0.8, 0.95, 1.0, 1.2, 1.5, 1.5]
    )
    assert m.payout(None) is None


def plan(measure: str, head: str = "team: sales") -> str:
    return f"plans:\n- {{name: A, {head}, measures: [{{{measure}}}]}}\n"


SQLS = "metric: sqls, period: 2026-Q4"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (plan(f"{SQLS}, weight: 0.5"), "add up to 0.5"),
        (plan(f"{SQLS}, weight: 1", head="variable_share: 1"), "applies to nobody"),
        (plan("metric: sqlz, period: 2026-Q4, weight: 1"), "no metric 'sqlz'"),
        (plan(f"{SQLS}, weight: yes"), "must be a number"),
        (plan(f"{SQLS}, weight: 1, segment: {{region: no}}"), "quote them"),
        (plan(f"{SQLS}, weight: 1, cap: 0.9"), "threshold ≤ 1 ≤ cap"),
    ],
)
def test_bad_plans_are_refused(goals_ws: Workspace, text: str, words: str) -> None:
    with pytest.raises(GoalError, match=words):
        parse_incentives(text, goals_ws.metrics.catalogue)


@pytest.fixture
def planned(goals_ws: Workspace) -> Iterator[tuple[Workspace, str]]:
    """Goals for the running quarter and a Sales plan over them (removed afterwards)."""
    quarter = P.label(P.floor(goals_ws.metrics.as_of().date(), "quarter"), "quarter")
    made = [
        goals_ws.goals.set(GoalSpec("sqls", quarter, 700)),
        goals_ws.goals.set(GoalSpec("win_rate", quarter, 0.3)),
        goals_ws.goals.set(GoalSpec("sales_qualification_rate", quarter, 0.6)),
    ]
    (goals_ws.root / INCENTIVES_FILE).write_text(
        f"""plans:
- name: Sales reps
  team: sales
  variable_share: 0.3
  measures:
  - {{metric: sqls, period: {quarter}, weight: 0.3, threshold: 0.5, cap: 2, accelerator: 2}}
  - {{metric: win_rate, period: {quarter}, weight: 0.3}}
  - {{metric: sales_qualification_rate, period: {quarter}, weight: 0.4}}
""",
        encoding="utf-8",
    )
    yield goals_ws, quarter
    (goals_ws.root / INCENTIVES_FILE).unlink()
    for g in made:
        goals_ws.goals.delete(g.id)


def test_factors_follow_the_goals_pacing(planned: tuple[Workspace, str]) -> None:
    ws, _ = planned
    (result,) = ws.goals.incentives()
    paced = {p.goal.metric: p for p in ws.goals.pacing()}
    expected = 0.0
    for m in result.measures:
        p, goal = paced[m.measure.metric], m.goal
        assert goal is not None and p.projected is not None
        attainment = p.projected / goal.target
        assert m.attainment_projected == pytest.approx(attainment, rel=1e-5)
        assert m.payout_projected == pytest.approx(m.measure.payout(attainment), rel=1e-5)
        expected += m.measure.weight * m.measure.payout(attainment)  # type: ignore[operator]
    assert result.payout_projected == pytest.approx(expected, rel=1e-5)
    assert result.shared_share == pytest.approx(0.7)  # sqls and SQR are shared; win rate is Sales'
    # "If SQR reaches 60%": that measure pays its target, whatever the projection says.
    (what_if,) = ws.goals.incentives(what_if={"sales_qualification_rate": 0.6})
    sqr = next(m for m in what_if.measures if m.measure.metric == "sales_qualification_rate")
    assert sqr.attainment_projected == pytest.approx(1.0) and sqr.note == "what-if"


def test_the_cli_shows_plans_and_what_ifs(tmp_path: Path) -> None:
    """On its own workspace: the CLI opens the warehouse read-only, another process's way."""
    company = generate_company(GeneratorConfig(n_leads=2000, seed=3))
    company.write(tmp_path / "data")
    with revteam.init(tmp_path / "ws") as ws:
        ws.ingest.load_directory(tmp_path / "data")
        quarter = P.label(P.floor(ws.metrics.as_of().date(), "quarter"), "quarter")
    runner = CliRunner()
    w = ["-w", str(tmp_path / "ws")]
    for metric, target in (("sqls", "80"), ("sales_qualification_rate", "60%")):
        done = runner.invoke(cli, [*w, "goals", "set", metric, quarter, target])
        assert done.exit_code == 0, done.output
    (tmp_path / "ws" / INCENTIVES_FILE).write_text(
        f"plans:\n- name: SDRs\n  team: sales\n  variable_share: 0.3\n  measures:\n"
        f"  - {{metric: sqls, period: {quarter}, weight: 0.5}}\n"
        f"  - {{metric: sales_qualification_rate, period: {quarter}, weight: 0.5}}\n",
        encoding="utf-8",
    )
    args = [*w, "incentives", "--format", "json"]
    base = runner.invoke(cli, args)
    assert base.exit_code == 0, base.output
    (plan_,) = json.loads(base.stdout)
    assert plan_["plan"] == "SDRs" and plan_["shared_share_of_pay"] == pytest.approx(0.3)
    raised = runner.invoke(cli, [*args, "--what-if", "sales_qualification_rate=90%"])
    (better,) = json.loads(raised.stdout)
    assert better["payout_projected"] > plan_["payout_projected"]
    bad = runner.invoke(cli, [*w, "incentives", "--what-if", "sqr"])
    assert bad.exit_code == 2 and "METRIC=VALUE" in bad.output
    table = runner.invoke(cli, [*w, "incentives"])
    assert table.exit_code == 0 and "rides on shared KPIs" in " ".join(table.output.split())
