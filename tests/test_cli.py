"""The command line: thin commands, messages instead of tracebacks, exit codes scripts can trust."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import write
from typer.testing import CliRunner

from revteam.cli import app

runner = CliRunner()

ACCOUNTS = "account_id,name,created_at\nA1,Acme,2024-01-01\nA2,,2024-01-01\nA3,Gamma,someday\n"


@pytest.fixture
def ws_dir(tmp_path: Path) -> Path:
    result = runner.invoke(app, ["init", str(tmp_path / "ws")])
    assert result.exit_code == 0, result.output
    return tmp_path / "ws"


def run(ws: Path, *args: str):
    return runner.invoke(app, ["-w", str(ws), *args])


def test_ingest_status_and_quarantine(ws_dir: Path, tmp_path: Path):
    src = write(tmp_path / "accounts.csv", ACCOUNTS)
    result = run(ws_dir, "ingest", "accounts", str(src), "--format", "json")
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout[: result.stdout.rindex("]") + 1])
    assert (row["inserted"], row["quarantined"]) == (1, 2)

    strict = run(ws_dir, "ingest", "accounts", str(src), "--strict")
    assert strict.exit_code == 5

    status = run(ws_dir, "status", "--format", "json")
    assert status.exit_code == 0, status.output
    doc = json.loads(status.stdout)
    tables = {t["table"]: t for t in doc["tables"]}
    assert tables["accounts"]["rows"] == 1 and tables["accounts"]["quarantined"] == 2
    assert tables["people"]["rows"] == 0
    assert doc["data_version"] >= 1 and doc["workspace"] == str(ws_dir)
    assert {r["status"] for r in doc["runs"]} == {"ok"} and len(doc["runs"]) == 2
    assert all("error" in r and "notes" in r for r in doc["runs"])
    assert sum(r["rows"] for r in doc["quarantine_reasons"]) == 2  # one reason for each row

    human = run(ws_dir, "status")
    assert "Top quarantine reasons" in human.stdout and "Last loads" in human.stdout

    listed = run(ws_dir, "quarantine", "--table", "accounts", "--format", "csv")
    assert listed.exit_code == 0
    assert "name: required value is missing" in listed.stdout
    assert "created_at: cannot read 'someday' as a timestamp" in listed.stdout

    out = tmp_path / "refused.csv"
    exported = run(ws_dir, "quarantine", "--export", str(out))
    assert exported.exit_code == 0
    assert out.read_text().count("\n") == 3  # header + 2 rows

    cleared = run(ws_dir, "quarantine", "--clear", "--table", "accounts")
    assert cleared.exit_code == 0 and "Cleared 2 refused rows" in cleared.stdout
    after = run(ws_dir, "quarantine", "--format", "csv")
    assert after.exit_code == 0 and after.stdout.strip() == ""


def test_errors_are_messages_with_exit_codes(ws_dir: Path, tmp_path: Path):
    missing = runner.invoke(app, ["-w", str(tmp_path / "nope"), "status"])
    assert missing.exit_code == 3
    assert "revteam init" in missing.output and "Traceback" not in missing.output

    bad_table = run(ws_dir, "ingest", "leads", str(write(tmp_path / "x.csv", "a\n1\n")))
    assert bad_table.exit_code == 2
    assert "Unknown table 'leads'" in bad_table.output

    no_cols = run(ws_dir, "ingest", "accounts", str(write(tmp_path / "y.csv", "id\n1\n")))
    assert no_cols.exit_code == 4
    assert "needs column(s) account_id, name, created_at" in no_cols.output


def test_debug_shows_the_traceback(tmp_path: Path):
    result = runner.invoke(app, ["--debug", "-w", str(tmp_path / "nope"), "status"])
    assert result.exit_code != 0
    assert result.exception is not None


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.startswith("revteam ")


def test_demo_builds_a_filled_workspace_and_refuses_to_overwrite(tmp_path: Path):
    target = tmp_path / "demo"
    result = runner.invoke(app, ["demo", str(target), "--leads", "2000", "--no-serve"])
    assert result.exit_code == 0, result.output
    assert "Demo workspace ready" in result.stdout
    status = run(target, "status", "--format", "json")
    tables = json.loads(status.stdout)["tables"]
    assert all(t["rows"] > 0 for t in tables), tables
    assert all(t["quarantined"] == 0 for t in tables)
    again = runner.invoke(app, ["demo", str(target), "--leads", "2000", "--no-serve"])
    assert again.exit_code == 2 and "--force" in again.output
    (target / "notes.txt").write_text("mine")
    forced = runner.invoke(app, ["demo", str(target), "--leads", "2000", "--force", "--no-serve"])
    assert forced.exit_code == 0, forced.output
    assert (target / "notes.txt").read_text() == "mine"  # --force removes only what demo made


def test_generate_writes_files_and_truth(tmp_path: Path):
    out = tmp_path / "gen"
    result = runner.invoke(
        app, ["generate", str(out), "--leads", "1000", "--months", "6", "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    assert (out / "truth.json").exists() and (out / "people.csv").exists()
    bad = runner.invoke(app, ["generate", str(out), "--format", "xml"])
    assert bad.exit_code == 2 and "parquet or csv" in bad.output


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["hubspot", "salesforce"])
def test_generate_crm_shape_and_load_reproduce_the_direct_load(tmp_path: Path, shape: str):
    direct, via = tmp_path / "direct", tmp_path / "via"
    for ws_dir in (direct, via):
        assert runner.invoke(app, ["init", str(ws_dir)]).exit_code == 0
    out = tmp_path / "gen"
    args = ["generate", str(out), "--leads", "800", "--months", "6", "--format", "csv"]
    made = run(via, *args, "--shape", shape, "--load")
    assert made.exit_code == 0, made.output
    loaded = run(direct, *args[:1], str(tmp_path / "gen2"), *args[2:], "--load")
    assert loaded.exit_code == 0, loaded.output
    kpis = ["kpis", "leads", "mqls", "revenue", "--format", "json"]
    assert json.loads(run(via, *kpis).stdout) == json.loads(run(direct, *kpis).stdout)


def test_ingest_dispatches_crm_sources(ws_dir: Path, tmp_path: Path):
    export = write(
        tmp_path / "contacts.csv",
        "Record ID,First Name,Last Name,Email,Create Date,Lifecycle Stage\n"
        "1,Ada,Lovelace,ada@example.com,2024-01-02 10:00,Lead\n",
    )
    result = run(ws_dir, "ingest", "hubspot", str(export), "--format", "json")
    assert result.exit_code == 0, result.output
    status = json.loads(run(ws_dir, "status", "--format", "json").stdout)
    assert {t["table"]: t["rows"] for t in status["tables"]}["people"] == 1
    bad = run(ws_dir, "ingest", "salesforce", str(export), "--mapping", str(export))
    assert bad.exit_code == 2 and "crm.yaml" in bad.output
