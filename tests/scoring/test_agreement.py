"""The MQL threshold both teams sign off: one approval is not enough, both are."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import revteam
from revteam.app import open_app
from revteam.cli import app as cli
from revteam.exceptions import PermissionDeniedError, ScoringError

PASSWORD = "correct horse battery staple 42"


@pytest.fixture()
def shop(scoring_ws_path: Path, tmp_path: Path) -> Path:
    """A copy of the scoring company with an editor of each team (and a viewer, an ops)."""
    root = tmp_path / "ws"
    shutil.copytree(scoring_ws_path, root)
    with open_app(root) as state:
        for name, role, team in (
            ("sales.lead", "editor", "sales"),
            ("marketing.lead", "editor", "marketing"),
            ("sales.rep", "viewer", "sales"),
            ("ops", "editor", "revops"),
        ):
            state.users.add(f"{name}@example.com", name=name, role=role, team=team,
                            password=PASSWORD)  # fmt: skip
    return root


def test_a_threshold_is_in_force_only_once_both_teams_approve(shop: Path) -> None:
    with revteam.open(shop, read_only=True) as ws:
        store = ws.scoring.agreements
        assert store.current() is None
        made = ws.scoring.propose_threshold(0.21, note="SQR at 40%", objective="sqr")
        assert made.needs == ("marketing", "sales") and made.status == "open"
        with pytest.raises(ScoringError, match="still open"):
            ws.scoring.propose_threshold(0.3)
        one = store.vote(made.id, "approve", voter="sales.lead@example.com")
        assert one.status == "open" and one.missing == ("marketing",)
        assert store.current() is None  # one team is not enough
        with pytest.raises(ScoringError, match="already voted"):
            store.vote(made.id, "approve", voter="sales.lead@example.com")
        with pytest.raises(ScoringError, match="needs the sign-off of marketing and sales"):
            store.vote(made.id, "approve", voter="ops@example.com")
        with pytest.raises(PermissionDeniedError):
            store.vote(made.id, "approve", voter="sales.rep@example.com")
        done = store.vote(made.id, "approve", voter="marketing.lead@example.com")
        assert done.status == "agreed" and store.current().threshold == 0.21
        assert "marketing.lead@example.com (marketing)" in done.decision
        # the nurture list now uses the agreed threshold
        nurture = ws.scoring.nurture()
        assert (nurture.column("score").to_numpy() < 0.21).all()
        assert ws.scoring.threshold()["agreed"]["threshold"] == 0.21
        # a later agreement supersedes it; a rejection needs a reason and ends a proposal
        later = ws.scoring.propose_threshold(0.25)
        with pytest.raises(ScoringError, match="needs a reason"):
            store.vote(later.id, "reject", voter="sales.lead@example.com")
        gone = store.vote(later.id, "reject", voter="sales.lead@example.com", reason="too few")
        assert gone.status == "rejected" and store.current().threshold == 0.21
        last = ws.scoring.propose_threshold(0.18)
        store.vote(last.id, "approve", voter="sales.lead@example.com")
        store.vote(last.id, "approve", voter="marketing.lead@example.com")
        history = {a.id: a.status for a in store.list()}
        assert history == {made.id: "superseded", later.id: "rejected", last.id: "agreed"}
        with pytest.raises(ScoringError, match="out of range"):
            ws.scoring.propose_threshold(1.5)
    # who did what and when is in the audit log
    with open_app(shop) as state:
        actions = [e.action for e in state.audit.list(limit=50)]
    assert actions.count("threshold.approve") == 4 and actions.count("threshold.reject") == 1


def test_the_cli_proposes_votes_and_lists(shop: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(
        cli, ["-w", str(shop), "score", "agree", "propose", "0.2", "--format", "json"]
    )
    assert made.exit_code == 0, made.output
    pid = str(json.loads(made.stdout)[0]["id"])
    for voter in ("sales.lead@example.com", "marketing.lead@example.com"):
        voted = runner.invoke(
            cli, ["-w", str(shop), "score", "agree", "vote", pid, "approve", "--as", voter]
        )
        assert voted.exit_code == 0, voted.output
    listed = runner.invoke(cli, ["-w", str(shop), "score", "agree", "list", "--format", "json"])
    assert json.loads(listed.stdout)[0]["status"] == "agreed"
    wrong = runner.invoke(
        cli, ["-w", str(shop), "score", "agree", "vote", pid, "approve", "--as", "ops@example.com"]
    )
    assert wrong.exit_code == 2 and "already agreed" in wrong.output
