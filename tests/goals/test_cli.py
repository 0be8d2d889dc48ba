"""``revteam goals``: set, list with pacing, show with history, delete, goals.yaml in and out.

A small generated company (400 leads, data through 2026-10-31) in its own workspace; every test
starts without goals.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import revteam
from revteam.app import open_app
from revteam.cli import app
from revteam.cli.goals import change_text
from revteam.generate import GeneratorConfig, generate_company
from revteam.goals import GoalBook
from revteam.metrics import Definitions
from revteam.settings import load_settings

runner = CliRunner()
FIXED = {
    "metric",
    "period",
    "segment",
    "target",
    "owners",
    "actual",
    "projected",
    "projected_low",
    "projected_high",
    "status",
}
"""The fields ``goals list --format json`` gives every goal (the issue fixes them)."""


@pytest.fixture(scope="module")
def ws_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("goals-cli")
    generate_company(GeneratorConfig(n_leads=400, seed=3)).write(root / "data")
    with revteam.init(root / "ws") as ws:
        ws.ingest.load_directory(root / "data")
    return root / "ws"


@pytest.fixture(autouse=True)
def _no_goals_left(ws_dir: Path) -> Iterator[None]:
    yield
    with open_app(ws_dir) as state:
        book = GoalBook(state.db, Definitions(ws_dir / "metrics", load_settings(ws_dir)))
        for goal in book.list():
            book.delete(goal.id)


def run(ws: Path, *args: str) -> Any:
    return runner.invoke(app, ["-w", str(ws), "goals", *args])


def ok(ws: Path, *args: str) -> Any:
    result = run(ws, *args)
    assert result.exit_code == 0, result.output
    return result


def set_json(ws: Path, *args: str) -> dict[str, Any]:
    return json.loads(ok(ws, "set", *args, "--format", "json").stdout)


def since_created(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The changes since the goal was created: SQLite hands a deleted goal's id to the next
    goal (no AUTOINCREMENT), whose history then starts with the old one's."""
    starts = [i for i, h in enumerate(history) if h["action"] == "created"]
    return history[starts[-1] :]


def test_set_list_show_delete(ws_dir: Path):
    leads = set_json(ws_dir, "leads", "2026-Q4", "120", "--note", "push")
    assert (leads["version"], leads["target"], leads["owners"]) == (1, 120.0, ["marketing"])
    assert (leads["updated_by"], leads["note"]) == ("cli", "push")
    rate = set_json(
        ws_dir,
        "lead_conversion_rate",
        "2026-Q4",
        "20%",
        "--segment",
        "channel=email",
        "--owner",
        "sales",
        "--owner",
        "marketing",
        "--stretch",
        "0.25",
    )
    assert (rate["target"], rate["stretch"], rate["segment"]) == (0.2, 0.25, {"channel": "email"})

    listed = json.loads(ok(ws_dir, "list", "--format", "json").stdout)
    assert {g["id"] for g in listed} == {leads["id"], rate["id"]}
    for g in listed:
        assert set(g) >= FIXED, g
        assert g["status"] in {"on_track", "at_risk", "off_track"}
        low, mid, high = g["projected_low"], g["projected"], g["projected_high"]
        if None not in (low, mid, high):
            assert low <= mid <= high, g
        assert g["as_of"] == "2026-10-31"
    [mine] = json.loads(ok(ws_dir, "list", "--metric", "leads", "--format", "json").stdout)
    assert (mine["id"], mine["state"], mine["target"]) == (leads["id"], "running", 120.0)

    assert "Goals, as of 2026-10-31" in ok(ws_dir, "list").stdout
    csv_lines = ok(ws_dir, "list", "--format", "csv").stdout.splitlines()
    assert len(csv_lines) == 3 and set(csv_lines[0].split(",")) >= FIXED

    shown = json.loads(ok(ws_dir, "show", str(leads["id"]), "--format", "json").stdout)
    assert set(shown) >= FIXED | {"history", "version", "note"}
    [created] = since_created(shown["history"])
    assert (created["action"], created["actor"], created["after"]["target"]) == (
        "created",
        "cli",
        120,
    )
    assert "History" in ok(ws_dir, "show", str(leads["id"])).stdout

    deleted = ok(ws_dir, "delete", str(leads["id"]))
    assert f"Deleted goal {leads['id']}: leads for 2026-Q4" in deleted.stdout
    gone = run(ws_dir, "show", str(leads["id"]))
    assert gone.exit_code == 2 and f"There is no goal {leads['id']}" in gone.output


def test_changes_are_versioned_and_kept(ws_dir: Path):
    goal = set_json(ws_dir, "mqls", "2026-11", "50")
    again = set_json(ws_dir, "mqls", "2026-11", "60", "--expected-version", "1")
    assert (again["id"], again["version"]) == (goal["id"], 2)
    stale = run(ws_dir, "set", "mqls", "2026-11", "70", "--expected-version", "1")
    assert stale.exit_code == 2 and "changed since it was read" in stale.output
    moved = set_json(ws_dir, "mqls", "2026-12", "55", "--id", str(goal["id"]))
    assert (moved["id"], moved["period"], moved["version"]) == (goal["id"], "2026-12", 3)

    shown = json.loads(ok(ws_dir, "show", str(goal["id"]), "--format", "json").stdout)
    changes = [
        (h["action"], h["before"] and h["before"]["target"], h["after"]["target"])
        for h in since_created(shown["history"])
    ]
    assert changes == [("created", None, 50), ("changed", 50, 60), ("changed", 60, 55)]
    last = shown["history"][-1]
    assert change_text(last["before"], last["after"]) == (
        "period: 2026-11 → 2026-12; target: 60 → 55"
    )

    refused = run(ws_dir, "delete", str(goal["id"]), "--expected-version", "1")
    assert refused.exit_code == 2 and "changed since it was read" in refused.output
    ok(ws_dir, "delete", str(goal["id"]), "--expected-version", "3")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["mql_rate", "2026-11", "45"], ["out of range", "0.45", "45%"]),
        (["leadz", "2026-11", "1"], ["no metric 'leadz'"]),
        (["leads", "2026-11", "many"], ["not a number"]),
        (["leads", "2026-11", "5", "--segment", "channel"], ["DIMENSION=VALUE"]),
        (["leads", "2026-11", "5", "--owner", "someone"], ["neither a team", "nor an e-mail"]),
        (["lead_conversion_rate", "2026-Q4", "0.2", "--owner", "sales"], ["shared KPI"]),
    ],
)
def test_bad_goals_exit_2_with_the_reason(ws_dir: Path, args: list[str], words: list[str]):
    result = run(ws_dir, "set", *args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.output
    assert json.loads(ok(ws_dir, "list", "--format", "json").stdout) == []


def test_overlapping_periods_and_bad_days(ws_dir: Path):
    goal = set_json(ws_dir, "leads", "2026-Q4", "120")
    overlap = run(ws_dir, "set", "leads", "2026-10", "40")
    assert overlap.exit_code == 2
    assert f"overlaps goal {goal['id']}" in overlap.output and "--id" in overlap.output
    far = run(ws_dir, "list", "--as-of", "0001-01-01")
    assert far.exit_code == 2 and "plausible_years" in far.output
    early = json.loads(ok(ws_dir, "list", "--as-of", "2026-08-15", "--format", "json").stdout)
    assert (early[0]["as_of"], early[0]["state"]) == ("2026-08-15", "upcoming")


def test_goals_yaml_round_trip(ws_dir: Path, tmp_path: Path):
    set_json(ws_dir, "leads", "2026-Q4", "120", "--stretch", "150", "--note", "push")
    set_json(ws_dir, "leads", "2026-Q4", "30", "--segment", "channel=email")
    set_json(ws_dir, "mql_rate", "2026-11", "42.5%")
    exported = ok(ws_dir, "export").stdout
    assert exported.startswith("goals:\n") and "0.425" in exported

    file = tmp_path / "goals.yaml"
    ok(ws_dir, "export", "--output", str(file))
    assert file.read_text(encoding="utf-8") == exported
    same = ok(ws_dir, "import", str(file))
    assert "3 goal(s) in the file, 0 changed" in same.stdout
    assert ok(ws_dir, "export").stdout == exported

    file.write_text(exported.replace("target: 120", "target: 125"), encoding="utf-8")
    assert "3 goal(s) in the file, 1 changed" in ok(ws_dir, "import", str(file)).stdout
    file.write_text(exported.replace("target: 30", "target: 30%"), encoding="utf-8")
    refused = run(ws_dir, "import", str(file))
    assert refused.exit_code == 2 and "nothing was changed" in refused.output
    assert "target: 125" in ok(ws_dir, "export").stdout

    file.write_text("goals:\n- metric: mqls\n  period: 2026-12\n  target: 40\n", encoding="utf-8")
    replaced = ok(ws_dir, "import", str(file), "--replace")
    assert "1 goal(s) in the file, 4 changed" in replaced.stdout
    assert ok(ws_dir, "export").stdout == file.read_text(encoding="utf-8")
    missing = run(ws_dir, "import", str(tmp_path / "nope.yaml"))
    assert missing.exit_code == 2 and "Cannot read" in missing.output


def test_writes_need_no_warehouse(ws_dir: Path, tmp_path: Path):
    """set, delete, import and export open only the application database: they work while
    another connection holds the warehouse for writing (here, in this very process)."""
    with revteam.open(ws_dir):
        goal = set_json(ws_dir, "leads", "2026-12", "30")
        ok(ws_dir, "export", "--output", str(tmp_path / "goals.yaml"))
        ok(ws_dir, "import", str(tmp_path / "goals.yaml"))
        ok(ws_dir, "delete", str(goal["id"]))


def test_a_change_is_described_field_by_field():
    after = {"metric": "leads", "segment": {"channel": "email"}, "target": 5.0, "note": ""}
    assert change_text(None, after) == "metric: leads; segment: channel=email; target: 5"
    assert change_text(after, after | {"note": "why", "segment": {}}) == (
        "segment: channel=email → (all); note: (none) → why"
    )
    assert change_text(after, None) == "deleted"


def test_goals_is_a_command_group():
    result = runner.invoke(app, ["goals", "--help"])
    assert result.exit_code == 0
    for command in ("set", "list", "show", "delete", "import", "export"):
        assert command in result.stdout
