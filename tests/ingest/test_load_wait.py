"""Loads get in: they announce themselves, wait a bounded time, and say what holds the warehouse.

Other processes hold the warehouse here for real (DuckDB's lock is per process), each started
with a script that prints ``ready`` once it holds it and lets go when told on standard input.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from tests.ingest.conftest import ACCOUNTS
from typer.testing import CliRunner

import revteam
from revteam.cli import _common, app
from revteam.exceptions import WarehouseBusyError
from revteam.storage import announcement_path, current_load, load_announced

runner = CliRunner()

READER = """
import duckdb, sys
con = duckdb.connect(sys.argv[1], read_only=True)
print("ready", flush=True)
sys.stdin.readline()
"""

LOAD = """
import sys
import revteam

def pause(_file, _phase, _fraction, paused=[]):
    if not paused:  # the first progress report: the load has started and holds the warehouse
        paused.append(1)
        print("ready", flush=True)
        sys.stdin.readline()

with revteam.open(sys.argv[1]) as ws:
    ws.ingest.load("accounts", sys.argv[2], progress=pause)
print("loaded", flush=True)
"""


@pytest.fixture
def ws_dir(tmp_path: Path) -> Path:
    with revteam.init(tmp_path / "ws") as ws:
        first = tmp_path / "first.csv"
        first.write_text(ACCOUNTS)
        ws.ingest.load("accounts", first)
    return tmp_path / "ws"


@contextmanager
def holding(script: str, *args: object) -> Iterator[subprocess.Popen[str]]:
    """Run ``script`` in another process until it says ``ready``; tell it to finish at the end."""
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *map(str, args)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield proc
    finally:
        proc.communicate("\n", timeout=120)  # also closes the pipes of one that has ended


def release(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("\n")
    proc.stdin.flush()


def run(ws: Path, *args: str, **env: str):
    return runner.invoke(app, ["-w", str(ws), *args], env=env or None)


def test_a_load_that_cannot_get_the_warehouse_exits_8_naming_the_holder(ws_dir, tmp_path):
    src = tmp_path / "accounts.csv"
    src.write_text(ACCOUNTS)
    with holding(READER, ws_dir / "warehouse.duckdb") as reader:
        # Long enough that opening and announcing, slow on a busy machine, leave time to wait.
        result = run(ws_dir, "ingest", "accounts", str(src), "--wait", "3")
        assert result.exit_code == 8, result.output
        text = " ".join(result.output.split())
        assert f"still held by process {reader.pid}" in text
        assert "--wait SECONDS" in text and "load_wait_seconds" in text
        assert "Waiting up to" in text  # it did wait before giving up
        # The setting bounds the wait too, and a failed wait leaves no announcement behind.
        by_setting = run(ws_dir, "ingest", "accounts", str(src), REVTEAM_LOAD_WAIT_SECONDS="0.2")
        assert by_setting.exit_code == 8, by_setting.output
        assert not announcement_path(ws_dir / "warehouse.duckdb").exists()


def test_a_load_waits_for_a_reader_to_let_go(ws_dir, tmp_path, monkeypatch):
    src = tmp_path / "accounts.csv"
    src.write_text(ACCOUNTS.replace("Acme", "Acme Corp"))
    with holding(READER, ws_dir / "warehouse.duckdb") as reader:
        said = _common._waiting

        def waiting(holder: str, seconds: float) -> None:
            said(holder, seconds)
            release(reader)  # the reader lets go once the load waits
            reader.wait(60)

        monkeypatch.setattr(_common, "_waiting", waiting)
        result = run(ws_dir, "ingest", "accounts", str(src), "--wait", "120")
    assert result.exit_code == 0, result.output
    assert f"Waiting up to 120 s for process {reader.pid}" in " ".join(result.output.split())
    with revteam.open(ws_dir, read_only=True) as ws:
        names = ws.warehouse.con.execute("SELECT name FROM accounts ORDER BY 1").fetchall()
    assert ("Acme Corp",) in names


def test_status_during_a_load_says_what_is_loading(ws_dir, tmp_path):
    src = tmp_path / "more-accounts.csv"
    src.write_text(ACCOUNTS.replace("A1,", "A9,"))
    with holding(LOAD, ws_dir, src) as load:
        assert current_load(ws_dir / "warehouse.duckdb").pid == load.pid

        status = run(ws_dir, "status", "--format", "json")
        assert status.exit_code == 0, status.output
        doc = json.loads(status.stdout)
        assert doc["load"]["table"] == "accounts" and doc["load"]["pid"] == load.pid
        assert Path(doc["load"]["source"]).name == "more-accounts.csv"
        assert doc["as_of"] is not None  # the figures the last load left
        assert {t["table"]: t["rows"] for t in doc["tables"]}["accounts"] == 2
        human = " ".join(run(ws_dir, "status").output.split())
        assert "A load is running: a load into accounts from more-accounts.csv" in human

        # Commands that need the data say so and exit 8 instead of failing as misconfigured.
        for args in (["kpis", "leads"], ["quarantine"]):
            busy = run(ws_dir, *args)
            assert busy.exit_code == 8, busy.output
            text = " ".join(busy.output.split())
            assert "being written by a load into accounts" in text and "revteam status" in text

        release(load)
        assert load.stdout is not None and load.stdout.readline().strip() == "loaded"
    after = json.loads(run(ws_dir, "status", "--format", "json").stdout)
    assert after["load"] is None and after["as_of"] is None
    assert {t["table"]: t["rows"] for t in after["tables"]}["accounts"] == 3


def test_a_killed_load_leaves_nothing_that_keeps_others_out(ws_dir, tmp_path):
    warehouse = ws_dir / "warehouse.duckdb"
    src = tmp_path / "more-accounts.csv"
    src.write_text(ACCOUNTS)
    with holding(LOAD, ws_dir, src) as load:
        os.kill(load.pid, signal.SIGKILL)
        load.wait(30)
    assert announcement_path(warehouse).exists()  # left behind ...
    assert not load_announced(warehouse)  # ... but nobody holds it
    with revteam.open(ws_dir, wait=0):  # so a writer gets in at once
        assert load_announced(warehouse)
    assert not announcement_path(warehouse).exists()


def test_writers_queue_and_writers_of_one_process_share(ws_dir):
    warehouse = ws_dir / "warehouse.duckdb"
    with revteam.open(ws_dir, wait=0) as first, revteam.open(ws_dir, wait=0) as second:
        # DuckDB lets one process open a file twice; the announcement is shared likewise.
        assert first.data_version == second.data_version
    assert not announcement_path(warehouse).exists()
    script = "import revteam, sys\nws = revteam.open(sys.argv[1])\nprint('ready', flush=True)\n"
    with holding(script + "sys.stdin.readline()\n", ws_dir) as other:
        with pytest.raises(WarehouseBusyError) as caught:
            revteam.open(ws_dir, wait=0.2)
        assert caught.value.waited is not None and f"PID {other.pid}" in str(caught.value)
