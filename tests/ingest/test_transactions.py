"""Loads are idempotent upserts, and a failed load leaves the warehouse exactly as it was."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import write
from tests.ingest.conftest import PEOPLE_HEADER, rows

import revteam
from revteam.exceptions import IngestError
from revteam.workspace import Workspace

BODY = (
    "P1,a@x.com,email,A1,2024-02-01,,\n"
    "P2,b@x.com,webinar,A2,2024-02-02,2024-02-03,\n"
    "P3,c@x.com,nope,A2,2024-02-02,,\n"
)


def _snapshot(ws: Workspace) -> tuple[object, ...]:
    """Everything a load may touch, for before/after comparisons."""
    return (
        rows(ws, "SELECT * FROM people ORDER BY person_id"),
        rows(ws, "SELECT table_name, line, reasons, record FROM quarantine ORDER BY 1, 2"),
        ws.data_version,
    )


def test_loading_the_same_file_twice_changes_nothing(accounts_loaded: Workspace, tmp_path: Path):
    path = write(tmp_path / "p.csv", PEOPLE_HEADER + BODY)
    [first] = accounts_loaded.ingest.load("people", path)
    before = _snapshot(accounts_loaded)
    [second] = accounts_loaded.ingest.load("people", path)
    assert (first.inserted, first.quarantined) == (2, 1)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 2)
    assert _snapshot(accounts_loaded) == before  # includes _loaded_at and the data version
    runs = accounts_loaded.ingest.runs().to_pylist()
    assert [r["table_name"] for r in runs[:2]] == ["people", "people"]
    assert runs[0]["file_hash"] == runs[1]["file_hash"]


def test_changed_rows_are_updated_and_new_rows_added(accounts_loaded: Workspace, tmp_path: Path):
    accounts_loaded.ingest.load("people", write(tmp_path / "p.csv", PEOPLE_HEADER + BODY))
    version = accounts_loaded.data_version
    changed = BODY.replace("a@x.com", "a2@x.com") + "P4,d@x.com,email,A1,2024-02-05,,\n"
    [res] = accounts_loaded.ingest.load(
        "people", write(tmp_path / "p2.csv", PEOPLE_HEADER + changed)
    )
    assert (res.inserted, res.updated, res.unchanged) == (1, 1, 1)
    assert accounts_loaded.data_version == version + 1
    got = rows(accounts_loaded, "SELECT person_id, email FROM people ORDER BY 1")
    assert got == [("P1", "a2@x.com"), ("P2", "b@x.com"), ("P4", "d@x.com")]


@pytest.mark.parametrize("point", ["after_delete", "after_insert", "before_commit"])
def test_a_failure_inside_the_load_rolls_everything_back(
    accounts_loaded: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, point: str
):
    accounts_loaded.ingest.load("people", write(tmp_path / "p.csv", PEOPLE_HEADER + BODY))
    before = _snapshot(accounts_loaded)
    changed = BODY.replace("a@x.com", "zz@x.com").replace("nope", "nada")
    monkeypatch.setenv("REVTEAM_FAILPOINT", point)
    with pytest.raises(IngestError, match="rolled back; the warehouse is unchanged"):
        accounts_loaded.ingest.load("people", write(tmp_path / "p2.csv", PEOPLE_HEADER + changed))
    monkeypatch.delenv("REVTEAM_FAILPOINT")
    assert _snapshot(accounts_loaded) == before
    [failed] = [r for r in accounts_loaded.ingest.runs().to_pylist() if r["status"] == "failed"]
    assert "injected failure" in failed["error"]
    assert accounts_loaded.warehouse.con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE temporary"
    ).fetchall() == [(0,)]


_KILLED_LOAD = """
import sys, revteam
ws = revteam.open(sys.argv[1])
ws.ingest.load("people", sys.argv[2])
"""


def test_a_killed_load_leaves_the_warehouse_as_before(tmp_path: Path):
    ws = revteam.init(tmp_path / "ws")
    ws.ingest.load(
        "accounts",
        write(tmp_path / "a.csv", "account_id,name,created_at\nA1,x,2024-01-01\nA2,y,2024-01-01\n"),
    )
    ws.ingest.load("people", write(tmp_path / "p.csv", PEOPLE_HEADER + BODY))
    before = _snapshot(ws)
    ws.close()
    changed = write(
        tmp_path / "p2.csv",
        PEOPLE_HEADER
        + BODY.replace("b@x.com", "killed@x.com")
        + "P9,n@x.com,email,A1,2024-03-01,,\n",
    )
    env = {**os.environ, "REVTEAM_FAILPOINT": "kill:after_insert"}
    proc = subprocess.run(
        [sys.executable, "-c", _KILLED_LOAD, str(tmp_path / "ws"), str(changed)],
        env=env,
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == -9, proc.stderr.decode()
    with revteam.open(tmp_path / "ws") as again:
        assert _snapshot(again) == before
        [killed] = [r for r in again.status().last_runs if r["source"] == str(changed)]
        assert killed["status"] == "interrupted" and "nothing of it was written" in killed["error"]
        [res] = again.ingest.load("people", changed)  # and the warehouse still works
        assert (res.inserted, res.updated) == (1, 1)
        runs = again.ingest.runs().to_pylist()
        assert [r["status"] for r in runs if r["source"] == str(changed)] == ["ok", "interrupted"]


def test_a_file_with_an_exact_repeat_loads_twice_without_change(
    accounts_loaded: Workspace, tmp_path: Path
):
    body = "P1,a@x.com,email,A1,2024-02-01,,\nP1,a@x.com,email,A1,2024-02-01,,\n"
    path = write(tmp_path / "p.csv", PEOPLE_HEADER + body)
    [first] = accounts_loaded.ingest.load("people", path)
    before = _snapshot(accounts_loaded)
    [second] = accounts_loaded.ingest.load("people", path)
    assert (first.inserted, first.unchanged, first.quarantined) == (1, 0, 1)
    # The repeat is refused again, even though its key is already in the warehouse.
    assert (second.inserted, second.updated, second.unchanged, second.quarantined) == (0, 0, 1, 1)
    assert before[1] == [("people", 3, ["exact duplicate of line 2"], before[1][0][3])]
    assert _snapshot(accounts_loaded) == before


def test_rows_that_disagree_are_refused_even_if_one_matches_the_warehouse(
    accounts_loaded: Workspace, tmp_path: Path
):
    accounts_loaded.ingest.load("people", write(tmp_path / "p.csv", PEOPLE_HEADER + BODY))
    people = rows(accounts_loaded, "SELECT * FROM people ORDER BY person_id")
    version = accounts_loaded.data_version
    body = "P1,a@x.com,email,A1,2024-02-01,,\nP1,z@x.com,email,A1,2024-02-01,,\n"
    [res] = accounts_loaded.ingest.load("people", write(tmp_path / "p2.csv", PEOPLE_HEADER + body))
    assert (res.inserted, res.updated, res.unchanged, res.quarantined) == (0, 0, 0, 2)
    reasons = {
        r["line"]: r["reasons"]
        for r in accounts_loaded.ingest.quarantine(table="people").to_pylist()
        if r["source"].endswith("p2.csv")
    }
    assert sorted(reasons) == [2, 3]
    assert all("appears on several lines" in r[0] for r in reasons.values())
    assert rows(accounts_loaded, "SELECT * FROM people ORDER BY person_id") == people
    assert accounts_loaded.data_version == version
