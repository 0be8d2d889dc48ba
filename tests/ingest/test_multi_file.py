"""Loads of several files: what became of each, an honest error, and all or nothing."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from tests.conftest import write
from tests.ingest.conftest import ACCOUNTS, PEOPLE_HEADER, rows
from typer.testing import CliRunner

import revteam
from revteam.cli import app
from revteam.exceptions import IngestError, MissingColumnsError, PartialLoadError
from revteam.ingest import upsert
from revteam.workspace import Workspace

runner = CliRunner()


def _files(tmp_path: Path) -> list[Path]:
    """Four people files; the third lacks required columns, the others load."""
    return [
        # P2's channel is refused, so the first file also quarantines a row.
        write(
            tmp_path / "a.csv",
            PEOPLE_HEADER + "P1,a@x.com,email,A1,2024-02-01,,\nP2,b@x.com,nope,A2,2024-02-02,,\n",
        ),
        write(tmp_path / "b.csv", PEOPLE_HEADER + "P3,c@x.com,webinar,A2,2024-02-03,,\n"),
        write(tmp_path / "c.csv", "person_id,email\nP4,d@x.com\n"),
        write(tmp_path / "d.csv", PEOPLE_HEADER + "P5,e@x.com,email,A1,2024-02-05,,\n"),
    ]


def _snapshot(ws: Workspace) -> tuple[object, ...]:
    """Everything a load may change, for before/after comparisons."""
    return (
        rows(ws, "SELECT * FROM people ORDER BY person_id"),
        rows(ws, "SELECT table_name, source, line, reasons FROM quarantine ORDER BY 1, 2, 3"),
        rows(ws, "SELECT run_id FROM _ingest_runs WHERE status = 'ok' ORDER BY 1"),
        ws.data_version,
    )


def _statuses(ws: Workspace) -> dict[str, list[str]]:
    runs = ws.ingest.runs(limit=100).to_pylist()
    out: dict[str, list[str]] = {}
    for r in reversed(runs):
        out.setdefault(Path(r["source"]).name, []).append(r["status"])
    return out


def test_one_by_one_stops_at_the_failure_and_keeps_the_files_before(
    accounts_loaded: Workspace, tmp_path: Path
):
    ws = accounts_loaded
    a, b, c, d = _files(tmp_path)
    report = ws.ingest.load_report("people", [a, b, c, d])
    assert [f.status for f in report.files] == ["committed", "committed", "failed", "skipped"]
    assert [r.source for r in report.results] == [str(a), str(b)]
    assert (report.results[0].inserted, report.results[0].quarantined) == (1, 1)
    assert isinstance(report.error, MissingColumnsError)
    assert "needs column(s)" in (report.files[2].error or "")
    assert report.files[3].error == f"not attempted: {c} failed first"
    assert rows(ws, "SELECT person_id FROM people ORDER BY 1") == [("P1",), ("P3",)]
    assert _statuses(ws) == {
        "accounts.csv": ["ok"],
        "a.csv": ["ok"],
        "b.csv": ["ok"],
        "c.csv": ["failed"],
    }

    with pytest.raises(PartialLoadError) as raised:
        report.raise_for_failure()
    err = raised.value
    assert (err.failed, err.committed, err.skipped) == (str(c), (str(a), str(b)), (str(d),))
    assert f"still in the warehouse: {a}, {b}. Not attempted: {d}." in str(err)
    assert "unchanged" not in str(err) and isinstance(err.__cause__, MissingColumnsError)


def test_load_raises_the_files_own_error_when_nothing_was_committed(
    accounts_loaded: Workspace, tmp_path: Path
):
    a, b, c, _ = _files(tmp_path)
    with pytest.raises(MissingColumnsError) as raised:
        accounts_loaded.ingest.load("people", [c, a, b])
    assert raised.value.__notes__ == [f"Not loaded either: {a}, {b}."]
    assert rows(accounts_loaded, "SELECT count(*) FROM people") == [(0,)]


def test_all_or_nothing_leaves_the_warehouse_as_before_when_a_file_is_refused(
    accounts_loaded: Workspace, tmp_path: Path
):
    ws = accounts_loaded
    a, b, c, _ = _files(tmp_path)
    old = "P9,z@x.com,email,A1,2024-01-05,,\nP8,y@x.com,x,A1,2024-01-05,,\n"
    ws.ingest.load("people", write(tmp_path / "old.csv", PEOPLE_HEADER + old))
    before = _snapshot(ws)
    assert before[1] and before[3] >= 2  # there is a quarantine and a version to keep

    report = ws.ingest.load_report("people", [a, b, c], all_or_nothing=True)
    assert [f.status for f in report.files] == ["rolled_back", "rolled_back", "failed"]
    assert report.results == [] and isinstance(report.error, MissingColumnsError)
    assert _snapshot(ws) == before
    statuses = _statuses(ws)
    assert statuses["a.csv"] == statuses["b.csv"] == statuses["c.csv"] == ["failed"]
    [logged] = [r for r in ws.ingest.runs().to_pylist() if r["source"] == str(a)]
    assert logged["error"] == f"not loaded: {c} failed, and the load was all or nothing"

    with pytest.raises(MissingColumnsError):
        ws.ingest.load("people", [a, b, c], all_or_nothing=True)
    assert _snapshot(ws) == before


def test_all_or_nothing_rolls_back_the_files_written_when_a_later_write_fails(
    accounts_loaded: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    ws = accounts_loaded
    a, b, _, d = _files(tmp_path)
    before = _snapshot(ws)
    real, calls = upsert._failpoint, []

    def third_write_fails(name: str) -> None:
        calls.append(name)
        if name == "before_commit" and calls.count(name) == 3:
            raise RuntimeError("injected failure at before_commit")
        real(name)

    monkeypatch.setattr(upsert, "_failpoint", third_write_fails)
    report = ws.ingest.load_report("people", [a, b, d], all_or_nothing=True)
    assert calls.count("before_commit") == 3  # the first two files were written, then undone
    assert [f.status for f in report.files] == ["rolled_back", "rolled_back", "failed"]
    assert isinstance(report.error, IngestError)
    assert "rolled back; the warehouse is unchanged" in str(report.error)
    assert _snapshot(ws) == before
    assert rows(ws, "SELECT count(*) FROM duckdb_tables() WHERE temporary") == [(0,)]


def test_all_or_nothing_commits_every_file_and_refuses_repeated_keys(
    accounts_loaded: Workspace, tmp_path: Path
):
    ws = accounts_loaded
    version = ws.data_version
    # The first file repeats a key into an empty table; the second disagrees with itself on
    # a key the first one wrote: both writes are redone, inside the one transaction.
    repeats = write(tmp_path / "r.csv", PEOPLE_HEADER + "P1,a@x.com,email,A1,2024-02-01,,\n" * 2)
    disagree = write(
        tmp_path / "s.csv",
        PEOPLE_HEADER + "P1,a@x.com,email,A1,2024-02-01,,\nP1,other@x.com,email,A1,2024-02-01,,\n"
        "P3,c@x.com,webinar,A2,2024-02-03,,\n",
    )
    first, second = ws.ingest.load("people", [repeats, disagree], all_or_nothing=True)
    assert (first.inserted, first.quarantined) == (1, 1)
    assert (second.inserted, second.unchanged, second.quarantined) == (1, 0, 2)
    assert rows(ws, "SELECT person_id, email FROM people ORDER BY 1") == [
        ("P1", "a@x.com"),
        ("P3", "c@x.com"),
    ]
    assert ws.data_version == version + 2
    assert rows(ws, "SELECT count(*) FROM quarantine WHERE table_name = 'people'") == [(3,)]


def test_a_directory_all_or_nothing_loads_references_within_the_one_transaction(tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    write(data / "accounts.csv", ACCOUNTS)
    write(data / "people.csv", PEOPLE_HEADER + "P1,a@x.com,email,A1,2024-02-01,,\n")
    write(data / "opportunities.csv", "opportunity_id\nO1\n")  # lacks required columns
    with revteam.init(tmp_path / "ws") as ws:
        with pytest.raises(MissingColumnsError):
            ws.ingest.load_directory(data, all_or_nothing=True)
        assert rows(ws, "SELECT count(*) FROM accounts") == [(0,)] and ws.data_version == 0

        with pytest.raises(
            PartialLoadError, match=r"still in the warehouse: \S*accounts\.csv, \S*people\.csv\."
        ):
            ws.ingest.load_directory(data)
        assert rows(ws, "SELECT count(*) FROM people") == [(1,)]

        (data / "opportunities.csv").unlink()
        write(data / "accounts.csv", ACCOUNTS + "A3,New,smb,emea,2024-01-03\n")
        write(data / "people.csv", PEOPLE_HEADER + "P2,b@x.com,email,A3,2024-02-01,,\n")
        accounts, people = ws.ingest.load_directory(data, all_or_nothing=True)
        # A3 is written in the same transaction, before the people that point at it.
        assert (accounts.inserted, people.inserted, people.quarantined) == (1, 1, 0)


def _cli(ws: Path, *args: str):
    return runner.invoke(app, ["-w", str(ws), *args])


@pytest.fixture
def ws_dir(tmp_path: Path) -> Path:
    with revteam.init(tmp_path / "ws") as ws:
        ws.ingest.load("accounts", write(tmp_path / "accounts.csv", ACCOUNTS))
    return tmp_path / "ws"


def test_cli_partial_load_reports_every_file_and_exits_9(ws_dir: Path, tmp_path: Path):
    files = [str(f) for f in _files(tmp_path)]
    result = _cli(ws_dir, "ingest", "people", *files, "--format", "json")
    assert result.exit_code == 9, result.output
    doc = json.loads(result.stdout)
    assert [(r["file"], r["status"]) for r in doc] == [
        ("a.csv", "committed"),
        ("b.csv", "committed"),
        ("c.csv", "failed"),
        ("d.csv", "skipped"),
    ]
    assert (doc[0]["inserted"], doc[0]["quarantined"], doc[0]["error"]) == (1, 1, None)
    assert "needs column(s)" in doc[2]["error"] and doc[2]["inserted"] is None
    message = " ".join(result.stderr.split())
    assert f"still in the warehouse: {files[0]}, {files[1]}" in message
    assert "unchanged" not in message and "Traceback" not in result.output
    with revteam.open(ws_dir) as ws:
        assert rows(ws, "SELECT person_id FROM people ORDER BY 1") == [("P1",), ("P3",)]

    # The screen table has the same rows (CSV here: a table's wrapping depends on the terminal).
    table = runner.invoke(app, ["-w", str(ws_dir), "ingest", "people", *files, "--format", "csv"])
    assert table.exit_code == 9
    lines = list(csv.DictReader(io.StringIO(table.stdout)))
    assert [(r["file"], r["status"]) for r in lines] == [
        ("a.csv", "committed"),
        ("b.csv", "committed"),
        ("c.csv", "failed"),
        ("d.csv", "skipped"),
    ]


def test_cli_all_or_nothing_changes_nothing_and_exits_4(ws_dir: Path, tmp_path: Path):
    with revteam.open(ws_dir) as ws:
        version = ws.data_version
    a, b, c, _ = (str(f) for f in _files(tmp_path))
    result = _cli(ws_dir, "ingest", "people", a, b, c, "--all-or-nothing", "--format", "json")
    assert result.exit_code == 4, result.output
    assert [r["status"] for r in json.loads(result.stdout)] == [
        "rolled_back",
        "rolled_back",
        "failed",
    ]
    assert "Nothing was loaded: the warehouse is unchanged." in result.stderr
    assert "needs column(s)" in result.stderr
    with revteam.open(ws_dir) as ws:
        assert rows(ws, "SELECT count(*) FROM people") == [(0,)]
        assert rows(ws, "SELECT count(*) FROM quarantine") == [(0,)]
        assert ws.data_version == version

    ok = _cli(ws_dir, "ingest", "people", a, b, "--all-or-nothing", "--strict")
    assert ok.exit_code == 5  # loaded, but a.csv refused a row
    with revteam.open(ws_dir) as ws:
        assert rows(ws, "SELECT count(*) FROM people") == [(2,)]


def test_cli_crm_sources_refuse_all_or_nothing(ws_dir: Path, tmp_path: Path):
    result = _cli(ws_dir, "ingest", "hubspot", str(tmp_path), "--all-or-nothing")
    assert result.exit_code == 2 and "--all-or-nothing" in result.output
