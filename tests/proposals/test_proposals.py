"""Defining a KPI together: a proposal, its impact, and two owners' sign-off.

The impact preview is checked against the metric computed with each definition by hand (plain
DuckDB SQL over the generated tables): SQR within 60 days today, within 30 days proposed.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

import revteam
from revteam.app import CLI, open_app
from revteam.cli import app as cli
from revteam.exceptions import (
    PermissionDeniedError,
    ProposalConflictError,
    ProposalError,
)
from revteam.generate import GeneratorConfig, generate_company
from revteam.workspace import Workspace

PASSWORD = "correct horse battery staple 42"
SQR = "sales_qualification_rate"


def sqr_yaml(window: int, label: str = "Sales qualification rate (SQR)") -> str:
    return f"""id: {SQR}
label: {label}
description: MQLs of the period that Sales qualified within {window} days.
owners: shared
kind: cohort_rate
unit: percent
table: people
time: mql_at
reached: [sql_at]
window_days: {window}
"""


@pytest.fixture(scope="module")
def company_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("proposals")
    generate_company(GeneratorConfig(n_leads=4000, seed=11)).write(root / "data")
    return root / "data"


@pytest.fixture
def shop(company_dir: Path, tmp_path: Path) -> Iterator[Workspace]:
    ws = revteam.init(tmp_path / "ws")
    ws.ingest.load_directory(company_dir)
    with open_app(ws.root) as state:
        for name, role, team in (
            ("sales.lead", "editor", "sales"),
            ("marketing.lead", "editor", "marketing"),
            ("sales.rep", "viewer", "sales"),
            ("ops", "editor", "revops"),
        ):
            state.users.add(
                f"{name}@example.com", name=name, role=role, team=team, password=PASSWORD
            )
    yield ws
    ws.close()


def by_hand(company_dir: Path, window: int, as_of: dt.datetime) -> dict[str, float]:
    """SQR per month of mql_at: reached sql_at within ``window`` days (and by the as-of)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    rows = con.execute(
        f"""SELECT strftime(mql_at, '%Y-%m') AS m,
                   count(*) FILTER (WHERE sql_at IS NOT NULL
                       AND sql_at <= mql_at + INTERVAL {window} DAY AND sql_at <= ?) * 1.0
                   / count(*) AS v
            FROM read_parquet('{company_dir}/people.parquet') WHERE mql_at IS NOT NULL
            GROUP BY 1""",
        [as_of],
    ).fetchall()
    return dict(rows)


def test_a_window_change_needs_both_teams_and_shows_its_impact_first(
    shop: Workspace, company_dir: Path
) -> None:
    before_window = shop.metrics.get(SQR).window_days
    assert before_window == 60
    proposal = shop.proposals.propose(sqr_yaml(30), reason="Sales works MQLs within a month")
    assert proposal.needs == ("marketing", "sales") and proposal.status == "open"
    # the preview: today's numbers and the proposal's, each as the metric layer computes them
    impact = shop.proposals.impact(proposal.id)
    assert "-window_days: 60" in impact.diff and "+window_days: 30" in impact.diff
    as_of = shop.metrics.as_of()
    old, new = by_hand(company_dir, 60, as_of), by_hand(company_dir, 30, as_of)
    assert len(impact.periods) == 12
    for row in impact.periods:
        assert row["before"] == pytest.approx(old[row["period"]], abs=1e-12), row
        assert row["after"] == pytest.approx(new[row["period"]], abs=1e-12), row
    assert any(r["change"] and r["change"] < 0 for r in impact.periods)
    assert impact.dimension == "channel" and impact.by_dimension
    changes = [abs(r["change"] or 0) for r in impact.by_dimension]
    assert changes == sorted(changes, reverse=True)
    # one team's approval is not enough
    after_one = shop.proposals.vote(proposal.id, "approve", voter="sales.lead@example.com")
    assert after_one.status == "open" and after_one.missing == ("marketing",)
    assert shop.metrics.get(SQR).window_days == 60
    # the other team's makes it the agreed definition, written and versioned
    done = shop.proposals.vote(proposal.id, "approve", voter="marketing.lead@example.com")
    assert done.status == "approved"
    assert shop.metrics.get(SQR).window_days == 30
    (version,) = shop.proposals.versions(SQR)
    assert version.version == 1 and set(version.approved_by) == {
        "sales.lead@example.com",
        "marketing.lead@example.com",
    }
    # numbers as defined on an earlier day are the old definition's
    yesterday = dt.date.today() - dt.timedelta(days=1)
    month = dt.date(2026, 3, 1)
    then = shop.proposals.query_as_defined_on(yesterday, SQR, grain="month", start=month, end=month)
    now = shop.metrics.query(SQR, grain="month", start=month, end=month)
    total = [r["value"] for r in then.to_pylist() if r["is_total"]]
    assert total[0] == pytest.approx(old["2026-03"], abs=1e-12)
    assert next(r["value"] for r in now.to_pylist() if r["is_total"]) == pytest.approx(
        new["2026-03"], abs=1e-12
    )
    with open_app(shop.root) as state:
        actions = [e.action for e in state.audit.list(limit=5)]
    assert actions[:3] == ["definition.approved", "definition.approve", "definition.approve"]


def test_concurrent_proposals_are_rebased_not_lost(shop: Workspace) -> None:
    first = shop.proposals.propose(sqr_yaml(30), reason="a month")
    second = shop.proposals.propose(sqr_yaml(45), reason="six weeks")
    for p in (first,):
        shop.proposals.vote(p.id, "approve", voter="sales.lead@example.com")
        shop.proposals.vote(p.id, "approve", voter="marketing.lead@example.com")
    shop.proposals.vote(second.id, "approve", voter="sales.lead@example.com")
    with pytest.raises(ProposalConflictError, match="rebase"):
        shop.proposals.vote(second.id, "approve", voter="marketing.lead@example.com")
    assert shop.metrics.get(SQR).window_days == 30
    rebased = shop.proposals.rebase(second.id)
    # the approval given before the rebase stays in the history, and no longer counts
    assert rebased.base_version == 1 and rebased.approved_by == {}
    assert rebased.missing == ("marketing", "sales")
    (earlier,) = rebased.as_dict()["votes"]
    assert earlier["voter"] == "sales.lead@example.com" and earlier["base_version"] == 0
    assert earlier["counts"] is False
    shop.proposals.vote(second.id, "approve", voter="marketing.lead@example.com")
    assert shop.metrics.get(SQR).window_days == 30  # one approval on the new base: not yet
    done = shop.proposals.vote(second.id, "approve", voter="sales.lead@example.com")
    assert done.status == "approved" and shop.metrics.get(SQR).window_days == 45
    assert [(v.voter, v.base_version) for v in done.votes] == [
        ("sales.lead@example.com", 0),
        ("marketing.lead@example.com", 1),
        ("sales.lead@example.com", 1),
    ]
    assert [v.version for v in shop.proposals.versions(SQR)] == [2, 1]
    assert {p.id for p in shop.proposals.list(status=None)} == {first.id, second.id}
    with open_app(shop.root) as state:
        rebase = next(e for e in state.audit.list(limit=20) if e.action == "definition.rebase")
    assert rebase.detail["previous"] == 0 and rebase.detail["to"] == 1


def test_who_may_vote_and_what_is_refused(shop: Workspace) -> None:
    p = shop.proposals.propose(sqr_yaml(30), reason="a month")
    with pytest.raises(ProposalError, match="needs the sign-off of marketing and sales"):
        shop.proposals.vote(p.id, "approve", voter="ops@example.com")
    with pytest.raises(PermissionDeniedError):
        shop.proposals.vote(p.id, "approve", voter="sales.rep@example.com")
    shop.proposals.vote(p.id, "approve", voter="sales.lead@example.com")
    with pytest.raises(ProposalConflictError, match="already voted"):
        shop.proposals.vote(p.id, "approve", voter="sales.lead@example.com")
    with pytest.raises(ProposalError, match="needs a reason"):
        shop.proposals.vote(p.id, "reject", voter="marketing.lead@example.com")
    rejected = shop.proposals.vote(
        p.id, "reject", voter="marketing.lead@example.com", reason="30 days cuts enterprise MQLs"
    )
    assert rejected.status == "rejected" and "enterprise" in rejected.decision
    assert shop.metrics.get(SQR).window_days == 60
    with pytest.raises(ProposalError, match="does not work"):
        shop.proposals.propose(sqr_yaml(30).replace("kind: cohort_rate", "kind: magic"), reason="x")
    with pytest.raises(ProposalError, match="one metric"):
        shop.proposals.propose("just text", reason="x")
    with pytest.raises(PermissionDeniedError):
        shop.proposals.propose(sqr_yaml(30), reason="x", role="viewer")


def test_the_cli_proposes_and_votes(shop: Workspace, tmp_path: Path, company_dir: Path) -> None:
    as_of = shop.metrics.as_of()
    shop.close()  # the commands open the workspace themselves
    runner = CliRunner()
    root = ["--workspace", str(shop.root)]
    path = tmp_path / "sqr.yaml"
    path.write_text(sqr_yaml(30), encoding="utf-8")
    r = runner.invoke(cli, [*root, "metrics", "propose", str(path), "--reason", "a month"])
    assert r.exit_code == 0, r.output
    assert "+window_days: 30" in r.output
    r = runner.invoke(cli, [*root, "metrics", "proposals", "--format", "json"])
    assert '"missing": [' in r.output
    for voter in ("sales.lead@example.com", "marketing.lead@example.com"):
        r = runner.invoke(cli, [*root, "metrics", "vote", "1", "approve", "--as", voter])
        assert r.exit_code == 0, r.output
    r = runner.invoke(cli, [*root, "metrics", "history", SQR, "--format", "csv"])
    assert "sales.lead@example.com" in r.output and r.exit_code == 0
    r = runner.invoke(cli, [*root, "metrics", "vote", "1", "approve", "--as", "ops@example.com"])
    assert r.exit_code == 2 and "already approved" in r.output
    # `kpis --defined-on` answers with the definitions as they stood that day
    march = [SQR, "--start", "2026-03-01", "--end", "2026-03-31", "--format", "json"]
    now = json.loads(runner.invoke(cli, [*root, "kpis", *march]).output)[0]["value"]
    then = runner.invoke(cli, [*root, "kpis", *march, "--defined-on", "2020-01-01"]).output
    assert now == pytest.approx(by_hand(company_dir, 30, as_of)["2026-03"], abs=1e-12)
    assert json.loads(then)[0]["value"] == pytest.approx(
        by_hand(company_dir, 60, as_of)["2026-03"], abs=1e-12
    )


def test_the_api_answers_as_defined_on_a_day(shop: Workspace) -> None:
    from tests.web.conftest import TestClient

    from revteam.web import WebOptions, create_app

    p = shop.proposals.propose(sqr_yaml(30), reason="a month")
    shop.proposals.vote(p.id, "approve", voter="sales.lead@example.com")
    shop.proposals.vote(p.id, "approve", voter="marketing.lead@example.com")
    with open_app(shop.root) as state:
        _, token = state.tokens.create(state.users.get("ops@example.com").id, "t", actor=CLI)
    shop.close()
    app = create_app(shop.root, options=WebOptions(warm=False, idle_seconds=30))
    params = {"metrics": SQR, "start": "2026-03-01", "end": "2026-03-31"}
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        now = client.get("/api/v1/query", params=params).json()["rows"][0]["value"]
        then = client.get("/api/v1/query", params={**params, "defined_on": "2020-01-01"}).json()[
            "rows"
        ][0]["value"]
    assert then > now  # 60 days to qualify, then; 30 now


SCORECARD_YAML = """scorecard:
  sections:
    - title: The hand-off
      metrics: [sales_qualification_rate, {metric: mqls, owner: marketing}, sqls]
    - title: Money
      metrics: [marketing_sourced_revenue, cac]
"""


def test_the_scorecard_changes_only_when_both_teams_sign(shop: Workspace) -> None:
    shipped = shop.metrics.catalogue.scorecard_metrics()
    assert "clv" in shipped and "mqls" not in shipped
    p = shop.proposals.propose(SCORECARD_YAML, reason="fewer, sharper")
    assert p.needs == ("marketing", "sales")
    impact = shop.proposals.impact(p.id)
    moves = {m["metric"]: m for m in impact.moves}
    assert moves["mqls"]["change"] == "added" and moves["mqls"]["after"] == "#2 (marketing)"
    assert moves["clv"]["change"] == "removed" and moves["sqls"]["change"] == "moved"
    # the value shown for an added KPI is the metric layer's, last complete month
    first_of_month = shop.metrics.as_of().date().replace(day=1)
    month = (first_of_month - dt.timedelta(days=1)).replace(day=1)
    rows = shop.metrics.query("mqls", grain="month", start=month, end=month).to_pylist()
    last = next(r["value"] for r in rows if r["is_total"])
    assert moves["mqls"]["value"] == pytest.approx(last)
    assert "+- title: The hand-off" in impact.diff and "-- title: Unit economics" in impact.diff
    shop.proposals.vote(p.id, "approve", voter="marketing.lead@example.com")
    assert shop.metrics.catalogue.scorecard_metrics() == shipped
    shop.proposals.vote(p.id, "approve", voter="sales.lead@example.com")
    agreed = shop.metrics.catalogue
    assert agreed.scorecard_metrics() == (
        "sales_qualification_rate",
        "mqls",
        "sqls",
        "marketing_sourced_revenue",
        "cac",
    )
    assert agreed.scorecard_owner("mqls") == "marketing"
    assert agreed.scorecard_owner("sqls") == "shared"  # the metric's own owners
    assert shop.proposals.catalogue_on(dt.date(2020, 1, 1)).scorecard_metrics() == shipped
    (version,) = shop.proposals.versions("_scorecard")
    assert version.reason == "fewer, sharper"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("scorecard:\n  sections:\n    - title: X\n      metrics: [sqlz]\n", "did you mean sqls"),
        ("scorecard:\n  sections:\n    - title: X\n      metrics: [sqls, sqls]\n", "already on"),
        ("scorecard:\n  sections: []\n", "at least 1"),
        (
            "scorecard:\n  sections:\n    - title: X\n"
            "      metrics: [{metric: sqls, owner: ops}]\n",
            "marketing",
        ),
    ],
)
def test_a_broken_scorecard_is_refused_with_the_reason(
    shop: Workspace, text: str, words: str
) -> None:
    with pytest.raises(ProposalError, match=words):
        shop.proposals.propose(text, reason="x")


def test_the_cli_prints_the_scorecard_as_a_proposal_to_edit(
    shop: Workspace, tmp_path: Path
) -> None:
    shop.close()
    runner = CliRunner()
    root = ["--workspace", str(shop.root)]
    r = runner.invoke(cli, [*root, "metrics", "scorecard", "--yaml"])
    assert r.exit_code == 0 and r.output.startswith("scorecard:\n"), r.output
    path = tmp_path / "scorecard.yaml"
    path.write_text(r.output.replace("    - clv\n", ""), encoding="utf-8")
    r = runner.invoke(cli, [*root, "metrics", "propose", str(path), "--reason", "no CLV yet"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, [*root, "metrics", "impact", "1", "--format", "json"])
    moves = json.loads(r.output)["moves"]
    assert [m["metric"] for m in moves if m["change"] == "removed"] == ["clv"]
    r = runner.invoke(cli, [*root, "metrics", "scorecard", "--format", "csv"])
    assert "clv" in r.output  # not agreed yet
    for voter in ("sales.lead@example.com", "marketing.lead@example.com"):
        assert (
            runner.invoke(cli, [*root, "metrics", "vote", "1", "approve", "--as", voter]).exit_code
            == 0
        )
    r = runner.invoke(cli, [*root, "metrics", "scorecard", "--format", "csv"])
    assert "clv," not in r.output and "cac" in r.output
    r = runner.invoke(cli, [*root, "metrics", "history", "scorecard", "--format", "csv"])
    assert "no CLV yet" in r.output


def test_oversized_or_empty_input_is_refused_with_the_bound(shop: Workspace) -> None:
    huge = sqr_yaml(30) + "# " + "x" * 20_000 + "\n"
    with pytest.raises(ProposalError, match="at most 20,000"):
        shop.proposals.propose(huge, reason="x")
    with pytest.raises(ProposalError, match="needs a reason"):
        shop.proposals.propose(sqr_yaml(30), reason="   ")
    with pytest.raises(ProposalError, match="at most 2000"):
        shop.proposals.propose(sqr_yaml(30), reason="y" * 2001)
    with pytest.raises(ProposalError, match="not valid YAML"):
        shop.proposals.propose("id: [unclosed", reason="x")


def test_the_preview_lists_what_uses_the_metric(shop: Workspace) -> None:
    """Goals, incentive plans, pages and metrics: a shared KPI on a team's dashboard too."""
    from revteam.goals import GoalSpec
    from revteam.goals.incentives import INCENTIVES_FILE
    from revteam.proposals.impact import definition_text

    shop.goals.set(GoalSpec("speed_to_lead_hours", "2026-Q2", 4))
    shop.goals.set(GoalSpec("sqls", "2026-Q2", 300))
    (shop.root / INCENTIVES_FILE).write_text(
        "plans:\n- name: SDRs\n  team: sales\n  variable_share: 0.3\n  measures:\n"
        "  - {metric: speed_to_lead_hours, period: 2026-Q2, weight: 1}\n",
        encoding="utf-8",
    )
    speed = shop.proposals.used_by("speed_to_lead_hours")
    assert speed == {
        "goals": ["speed_to_lead_hours for 2026-Q2"],
        "incentives": ["SDRs"],
        "pages": [
            "Sales dashboard",  # shared, and in the Sales table of KPIS.md
            "Overview (shared scorecard)",
            "Review pack (scorecard)",
            "Marketing↔Sales SLA",
            "Insights (speed_to_lead_hours)",
        ],
        "metrics": [],
    }
    sqls = shop.proposals.used_by("sqls")
    assert sqls["goals"] == ["sqls for 2026-Q2"] and sqls["incentives"] == []
    assert sqls["pages"] == [
        "Overview (shared scorecard)",
        "Review pack (scorecard)",
        "Funnel",
        "Insights (sqls)",
    ]
    won = shop.proposals.used_by("opportunities_won")["pages"]
    assert won == ["Sales dashboard", "Account pages (KPIs)", "Insights (opportunities_won)"]
    assert "cac" in shop.proposals.used_by("total_cost")["metrics"]  # computed from it
    assert shop.proposals.used_by("no_such_metric")["pages"] == []  # a new metric: nothing yet
    # the impact preview carries the same list
    text = definition_text(shop.metrics.catalogue, "speed_to_lead_hours")
    found = shop.proposals.impact(text.replace("label: Speed to lead", "label: Speed"), months=2)
    assert found.used_by == speed


def test_the_cli_withdraws_and_rebases_as_a_person(shop: Workspace, tmp_path: Path) -> None:
    shop.close()
    runner = CliRunner()
    root = ["--workspace", str(shop.root)]

    def cli_run(*args: str) -> Any:
        return runner.invoke(cli, [*root, "metrics", *args])

    def proposal(number: int) -> dict[str, Any]:
        found = json.loads(cli_run("proposals", "--all", "--format", "json").output)
        return next(p for p in found if p["id"] == number)

    files = {}
    for window in (30, 45, 50):
        files[window] = tmp_path / f"sqr-{window}.yaml"
        files[window].write_text(sqr_yaml(window), encoding="utf-8")

    def propose(window: int, who: str) -> Any:
        return cli_run("propose", str(files[window]), "--reason", "why", "--as", who)

    assert propose(30, "sales.lead@example.com").exit_code == 0
    assert proposal(1)["created_by"] == "sales.lead@example.com"  # not "cli"
    r = propose(30, "sales.rep@example.com")
    assert r.exit_code == 6 and "editor" in r.output  # a viewer proposes nothing
    r = propose(30, "nobody@example.com")
    assert r.exit_code == 2 and "not an active user" in r.output
    assert propose(45, "marketing.lead@example.com").exit_code == 0
    assert propose(50, "marketing.lead@example.com").exit_code == 0
    # withdraw: its proposer only (the command line without --as acts as an admin)
    r = cli_run("withdraw", "3", "--as", "sales.lead@example.com")
    assert r.exit_code == 6 and "marketing.lead@example.com's proposal" in r.output
    r = cli_run("withdraw", "3", "--as", "marketing.lead@example.com")
    assert r.exit_code == 0 and proposal(3)["status"] == "withdrawn"
    r = cli_run("vote", "3", "approve", "--as", "sales.lead@example.com")
    assert r.exit_code == 2 and "already withdrawn" in r.output
    # rebase: 2 was made on the shipped definition; 1 is agreed first
    assert cli_run("vote", "2", "approve", "--as", "sales.lead@example.com").exit_code == 0
    for voter in ("sales.lead@example.com", "marketing.lead@example.com"):
        assert cli_run("vote", "1", "approve", "--as", voter).exit_code == 0
    r = cli_run("vote", "2", "approve", "--as", "marketing.lead@example.com")
    assert r.exit_code == 2 and "metrics rebase 2" in r.output
    r = cli_run("rebase", "2", "--as", "marketing.lead@example.com")
    assert r.exit_code == 0 and "rebased on version 1" in " ".join(r.output.split())
    rebased = proposal(2)
    assert rebased["base_version"] == 1 and rebased["missing"] == ["marketing", "sales"]
    assert [v["counts"] for v in rebased["votes"]] == [False]
    with open_app(shop.root) as state:
        entry = next(e for e in state.audit.list(limit=20) if e.action == "definition.rebase")
    assert entry.actor == "marketing.lead@example.com"
    # the impact writes rates as `kpis` does: 50.0%, changes in percentage points
    r = cli_run("impact", "2", "--months", "2")
    assert r.exit_code == 0, r.output
    assert re.search(r"\d+\.\d%", r.output) and re.search(r"[+-]\d+\.\d pp", r.output)
    assert not re.search(r"\b0\.\d{4,}", r.output)


def test_a_hand_edited_agreed_definition_is_refused_until_restored(shop: Workspace) -> None:
    """metrics/approved/ holds only what the application database records as agreed."""
    from tests.web.conftest import TestClient

    from revteam.exceptions import UnagreedDefinitionError
    from revteam.web import WebOptions, create_app

    p = shop.proposals.propose(sqr_yaml(30), reason="a month")
    for voter in ("sales.lead@example.com", "marketing.lead@example.com"):
        shop.proposals.vote(p.id, "approve", voter=voter)
    path = shop.root / "metrics" / "approved" / f"{SQR}.yaml"
    agreed = path.read_text(encoding="utf-8")
    month = {"grain": "month", "start": "2026-03-01", "end": "2026-03-31"}
    value = shop.metrics.query(SQR, **month).to_pylist()[0]["value"]
    path.write_text(agreed.replace("window_days: 30", "window_days: 7"), encoding="utf-8")
    with pytest.raises(UnagreedDefinitionError) as refused:
        shop.metrics.query(SQR, **month)
    text = str(refused.value)
    assert f"metrics/approved/{SQR}.yaml" in text and "differs from version 1" in text
    assert "sales.lead@example.com" in text and "revteam metrics restore" in text
    assert "revteam metrics propose" in text
    with pytest.raises(UnagreedDefinitionError):  # nothing is computed with it
        shop.proposals.preview(sqr_yaml(45))
    # a definition added by hand, or one removed, is refused the same way
    stray = shop.root / "metrics" / "approved" / "leads.yaml"
    stray.write_text("metrics:\n- id: leads\n  label: Leads\n", encoding="utf-8")
    path.unlink()
    with pytest.raises(UnagreedDefinitionError) as refused:
        shop.metrics.catalogue  # noqa: B018
    problems = {(p.file, p.message.split(":")[0]) for p in refused.value.problems}
    assert problems == {
        (
            "metrics/approved/leads.yaml",
            "no version of leads was agreed (the application database has none)",
        ),
        (f"metrics/approved/{SQR}.yaml", "missing"),
    }
    shop.close()
    runner = CliRunner()
    root = ["--workspace", str(shop.root)]
    r = runner.invoke(cli, [*root, "kpis", SQR, "--format", "json"])
    assert r.exit_code == 2 and "revteam metrics restore" in r.output
    with open_app(shop.root) as state:
        _, token = state.tokens.create(state.users.get("ops@example.com").id, "t", actor=CLI)
    app = create_app(shop.root, options=WebOptions(warm=False, idle_seconds=30))
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        answer = client.get("/api/v1/query", params={"metrics": SQR, **month})
        assert answer.status_code == 400 and "metrics/approved/leads.yaml" in answer.text
        r = runner.invoke(cli, [*root, "metrics", "restore"])
        assert r.exit_code == 0, r.output
        assert f"Restored metrics/approved/{SQR}.yaml" in r.output
        assert "leads.yaml was never agreed" in r.output
        assert path.read_text(encoding="utf-8") == agreed
        stray.unlink()
        answer = client.get("/api/v1/query", params={"metrics": SQR, **month})
        assert answer.status_code == 200, answer.text
        assert answer.json()["rows"][0]["value"] == pytest.approx(value, abs=1e-12)
    with open_app(shop.root) as state:
        assert state.audit.list(limit=1)[0].action == "definition.restore"
