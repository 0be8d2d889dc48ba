"""Loading again: stages moved back or cleared are noted and kept, refusals resolve once loaded."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from tests.conftest import write
from tests.ingest.conftest import PEOPLE_HEADER, rows
from typer.testing import CliRunner

from revteam.cli import app
from revteam.exceptions import IngestError
from revteam.ingest import IngestResult
from revteam.storage import Warehouse
from revteam.workspace import Workspace

OPPORTUNITIES = "opportunity_id,account_id,type,created_at,stage,is_closed,is_won,closed_at\n"


def load(
    ws: Workspace, table: str, path: Path, text: str, mapping: Path | None = None
) -> IngestResult:
    [result] = ws.ingest.load(table, write(path, text), mapping=mapping)
    return result


def history(
    ws: Workspace, *, table: str | None = None, key: str | None = None
) -> list[tuple[object, ...]]:
    got = ws.ingest.stage_history(table=table, key=key).to_pylist()
    return [(h["key"], h["column_name"], h["old_value"], h["new_value"]) for h in got]


def test_a_cleared_stage_is_noted_and_its_value_kept(accounts_loaded: Workspace, tmp_path: Path):
    ws = accounts_loaded
    person = "P1,a@x.com,email,A1,2024-02-01,2024-02-02,"
    load(ws, "people", tmp_path / "p.csv", PEOPLE_HEADER + person + "2024-02-03\n")
    again = load(ws, "people", tmp_path / "p.csv", PEOPLE_HEADER + person + "\n")
    assert (again.updated, again.quarantined) == (1, 0)
    [note] = [n for n in again.notes if "sql_at" in n]
    assert note.startswith("sql_at cleared on 1 replaced row(s) (e.g. P1)")
    assert not any("mql_at" in n for n in again.notes)
    assert rows(ws, "SELECT sql_at FROM people") == [(None,)]
    assert ws.ingest.quarantine().num_rows == 0
    assert ('{"person_id":"P1"}', "sql_at", "2024-02-03 00:00:00", None) in history(
        ws, table="people", key="P1"
    )
    # the note is in the run log too, with the run that changed it
    [run] = [r for r in ws.ingest.runs().to_pylist() if r["run_id"] == again.run_id]
    assert note in run["notes"]
    assert {h["run_id"] for h in ws.ingest.stage_history().to_pylist()} == {again.run_id}


def test_stages_moved_earlier_are_counted_with_five_samples(
    accounts_loaded: Workspace, tmp_path: Path
):
    ws = accounts_loaded
    ids = [f"P{i}" for i in range(1, 8)]
    before = "".join(f"{p},{p}@x.com,email,A1,2024-02-01,2024-02-05,2024-02-09\n" for p in ids)
    load(ws, "people", tmp_path / "p.csv", PEOPLE_HEADER + before)
    # six MQL dates move earlier, one moves later; no SQL date changes
    after = before.replace("2024-02-05", "2024-02-02", 6).replace("2024-02-05", "2024-02-07")
    again = load(ws, "people", tmp_path / "p.csv", PEOPLE_HEADER + after)
    [note] = [n for n in again.notes if "mql_at" in n]
    assert note.startswith("mql_at moved earlier on 6 replaced row(s) (e.g. P1, P2, P3, P4, P5)")
    assert not any("sql_at" in n for n in again.notes)
    # the history keeps every replaced value, the later one too
    kept = history(ws, table="people")
    assert len(kept) == 7 and {h[1] for h in kept} == {"mql_at"}
    assert ('{"person_id":"P7"}', "mql_at", "2024-02-05 00:00:00", "2024-02-07 00:00:00") in kept


def test_a_reopened_deal_notes_its_stage_and_close(accounts_loaded: Workspace, tmp_path: Path):
    ws = accounts_loaded
    won = "O1,A1,new_business,2024-03-01,closed_won,true,true,2024-04-01\n"
    proposal = "O2,A1,new_business,2024-03-01,proposal,false,false,\n"
    load(ws, "opportunities", tmp_path / "o.csv", OPPORTUNITIES + won + proposal)
    reopened = "O1,A1,new_business,2024-03-01,negotiation,false,false,\n"
    back = "O2,A1,new_business,2024-03-01,discovery,false,false,\n"
    again = load(ws, "opportunities", tmp_path / "o.csv", OPPORTUNITIES + reopened + back)
    assert again.updated == 2
    assert any(
        n.startswith("closed_at cleared on 1 replaced row(s) (e.g. O1)") for n in again.notes
    )
    assert any(
        n.startswith("stage moved to an earlier stage on 2 replaced row(s) (e.g. O1, O2)")
        for n in again.notes
    )
    assert sorted(history(ws, table="opportunities")) == [
        ('{"opportunity_id":"O1"}', "closed_at", "2024-04-01 00:00:00", None),
        ('{"opportunity_id":"O1"}', "stage", "closed_won", "negotiation"),
        ('{"opportunity_id":"O2"}', "stage", "proposal", "discovery"),
    ]
    # moving forward is history too, but not a note
    forward = load(ws, "opportunities", tmp_path / "o.csv", OPPORTUNITIES + reopened + proposal)
    assert not any("stage" in n for n in forward.notes)
    assert history(ws, key="O2")[0] == ('{"opportunity_id":"O2"}', "stage", "discovery", "proposal")


def test_a_person_under_a_new_id_with_a_known_email_is_noted(
    accounts_loaded: Workspace, tmp_path: Path
):
    ws = accounts_loaded
    load(ws, "people", tmp_path / "a.csv", PEOPLE_HEADER + "P1,Ana@X.com,email,A1,2024-02-01,,\n")
    moved = "P9,ana@x.com ,email,A1,2024-02-01,,\nP10,new@x.com,email,A1,2024-02-01,,\n"
    again = load(ws, "people", tmp_path / "b.csv", PEOPLE_HEADER + moved)
    assert again.inserted == 2
    [note] = [n for n in again.notes if "person_id" in n]
    assert note.startswith("1 new person_id value(s) carry the email of a row loaded before")
    assert "P9 (was P1)" in note
    assert rows(ws, "SELECT person_id FROM people ORDER BY 1") == [("P1",), ("P10",), ("P9",)]
    # loading it again changes nothing and says nothing
    assert load(ws, "people", tmp_path / "b.csv", PEOPLE_HEADER + moved).notes == ()


def test_a_refused_row_resolves_when_its_key_loads_from_another_file(
    accounts_loaded: Workspace, tmp_path: Path
):
    ws = accounts_loaded
    first = load(
        ws,
        "people",
        tmp_path / "a.csv",
        PEOPLE_HEADER + "P1,a@x.com,email,A1,2024-02-01,,\nP2,b@x.com,email,A9,2024-02-01,,\n",
    )
    assert first.quarantined == 1
    [entry] = ws.ingest.quarantine().to_pylist()
    assert entry["key"] == '{"person_id":"P2"}' and entry["resolved_at"] is None
    assert ws.status().quarantine_counts == {"people": 1}

    fixed = load(
        ws, "people", tmp_path / "b.csv", PEOPLE_HEADER + "P2,b@x.com,email,A1,2024-02-01,,\n"
    )
    assert any(n.startswith("1 quarantine entry of earlier loads resolved") for n in fixed.notes)
    assert ws.ingest.quarantine().num_rows == 0
    [entry] = ws.ingest.quarantine(include_resolved=True).to_pylist()
    assert entry["resolved_by_run"] == fixed.run_id and entry["resolved_at"] is not None
    assert entry["source"] == str(tmp_path / "a.csv")
    assert ws.status().quarantine_counts == {}
    assert ws.status().top_reasons == ()


def test_a_refused_update_stays_open_while_the_old_row_stands(
    accounts_loaded: Workspace, tmp_path: Path
):
    ws = accounts_loaded
    load(ws, "people", tmp_path / "a.csv", PEOPLE_HEADER + "P1,a@x.com,email,A1,2024-02-01,,\n")
    # a new version of P1 that is refused: the old P1 stays, and so does the refusal
    bad = load(
        ws, "people", tmp_path / "b.csv", PEOPLE_HEADER + "P1,a@x.com,nope,A1,2024-02-01,,\n"
    )
    assert bad.quarantined == 1
    # a file that refuses a key and loads it on another line resolves nothing of its own
    twice = "P3,c@x.com,nope,A1,2024-02-01,,\nP3,c@x.com,email,A1,2024-02-01,,\n"
    load(ws, "people", tmp_path / "c.csv", PEOPLE_HEADER + twice)
    # a load of another table resolves nothing here
    load(
        ws, "accounts", tmp_path / "acc.csv", "account_id,name,created_at\nP1,Named P1,2024-01-01\n"
    )
    open_ = ws.ingest.quarantine(table="people").to_pylist()
    assert sorted(e["key"] for e in open_) == ['{"person_id":"P1"}', '{"person_id":"P3"}']
    assert all(e["resolved_at"] is None for e in open_)


def test_loading_the_same_path_again_still_replaces_its_entries(
    accounts_loaded: Workspace, tmp_path: Path
):
    ws = accounts_loaded
    path = tmp_path / "a.csv"
    load(ws, "people", path, PEOPLE_HEADER + "P2,b@x.com,email,A9,2024-02-01,,\n")
    load(ws, "people", tmp_path / "b.csv", PEOPLE_HEADER + "P2,b@x.com,email,A1,2024-02-01,,\n")
    assert ws.ingest.quarantine(include_resolved=True).num_rows == 1
    # the corrected export at the same path replaces its refusals, resolved or not
    fixed = load(ws, "people", path, PEOPLE_HEADER + "P2,b@x.com,email,A2,2024-02-01,,\n")
    assert fixed.quarantined == 0
    assert ws.ingest.quarantine(include_resolved=True).num_rows == 0


def test_keys_with_several_columns_and_nulls_resolve(ws: Workspace, tmp_path: Path):
    header = "date,team,category,campaign_id,amount\n"
    load(ws, "costs", tmp_path / "a.csv", header + "2024-01-05,marketing,media,,-5\n")
    [entry] = ws.ingest.quarantine().to_pylist()
    assert json.loads(entry["key"]) == {
        "date": "2024-01-05",
        "team": "marketing",
        "category": "media",
        "campaign_id": None,
    }
    other = load(ws, "costs", tmp_path / "b.csv", header + "2024-01-06,marketing,media,,5\n")
    assert other.notes == () and ws.ingest.quarantine().num_rows == 1
    load(ws, "costs", tmp_path / "c.csv", header + "2024-01-05,marketing,media,,5\n")
    assert ws.ingest.quarantine().num_rows == 0


def test_a_mapped_file_is_resolved_by_its_canonical_key(accounts_loaded: Workspace, tmp_path: Path):
    """The key is kept as validation read it: a record names it in the source's own words."""
    ws = accounts_loaded
    mapping = write(tmp_path / "m.yaml", "columns: {Contact ID: person_id, Mail: email}\n")
    text = "Contact ID,Mail,channel,account_id,created_at\nP2,b@x.com,email,A9,2024-02-01\n"
    load(ws, "people", tmp_path / "a.csv", text, mapping=mapping)
    [entry] = ws.ingest.quarantine().to_pylist()
    assert '"Contact ID":"P2"' in entry["record"] and entry["key"] == '{"person_id":"P2"}'
    load(ws, "people", tmp_path / "b.csv", PEOPLE_HEADER + "P2,b@x.com,email,A1,2024-02-01,,\n")
    assert ws.ingest.quarantine().num_rows == 0


def test_a_failed_reload_keeps_no_history(
    accounts_loaded: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    ws = accounts_loaded
    load(
        ws,
        "people",
        tmp_path / "a.csv",
        PEOPLE_HEADER + "P1,a@x.com,email,A1,2024-02-01,,2024-02-03\n",
    )
    load(ws, "people", tmp_path / "q.csv", PEOPLE_HEADER + "P2,b@x.com,email,A9,2024-02-01,,\n")
    monkeypatch.setenv("REVTEAM_FAILPOINT", "before_commit")
    with pytest.raises(IngestError):
        load(
            ws,
            "people",
            tmp_path / "b.csv",
            PEOPLE_HEADER + "P1,a@x.com,email,A1,2024-02-01,,\nP2,b@x.com,email,A1,2024-02-01,,\n",
        )
    assert ws.ingest.stage_history().num_rows == 0
    assert [e["resolved_at"] for e in ws.ingest.quarantine().to_pylist()] == [None]


_OLD_QUARANTINE = """CREATE TABLE quarantine (
    run_id VARCHAR, table_name VARCHAR, source VARCHAR, file_hash VARCHAR, line BIGINT,
    record VARCHAR, reasons VARCHAR[], quarantined_at TIMESTAMP)"""


def test_a_warehouse_written_before_is_migrated(tmp_path: Path):
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(_OLD_QUARANTINE)
        con.execute(
            "INSERT INTO quarantine VALUES "
            """('r', 'people', 'p.csv', 'h', 2, '{"person_id":"P2"}', ['bad'], now()), """
            """('r', 'people', 'p.csv', 'h', 3, 'P3,"cut', ['malformed'], now())"""
        )
    # read-only, it cannot be migrated: the new columns read as empty
    old = Warehouse(path, read_only=True)
    try:
        shown = old.arrow(f"SELECT key, resolved_at FROM {old.system_table('quarantine')}")
        assert shown.to_pylist() == [{"key": None, "resolved_at": None}] * 2
        assert old.arrow(f"SELECT * FROM {old.system_table('stage_history')}").num_rows == 0
    finally:
        old.close()
    migrated = Warehouse(path)
    try:
        got = migrated.con.execute("SELECT line, key FROM quarantine ORDER BY 1").fetchall()
        assert got == [(2, '{"person_id":"P2"}'), (3, None)]
        assert migrated.con.execute("SELECT count(*) FROM stage_history").fetchall() == [(0,)]
    finally:
        migrated.close()


def test_the_cli_lists_open_entries_and_all_with_all(accounts_loaded: Workspace, tmp_path: Path):
    ws = accounts_loaded
    load(ws, "people", tmp_path / "a.csv", PEOPLE_HEADER + "P2,b@x.com,email,A9,2024-02-01,,\n")
    load(ws, "people", tmp_path / "b.csv", PEOPLE_HEADER + "P2,b@x.com,email,A1,2024-02-01,,\n")
    root = ws.root
    ws.close()
    runner = CliRunner()
    shown = runner.invoke(app, ["-w", str(root), "quarantine", "--format", "json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout) == []
    every = runner.invoke(app, ["-w", str(root), "quarantine", "--all", "--format", "json"])
    assert every.exit_code == 0, every.output
    [entry] = json.loads(every.stdout)
    assert entry["line"] == 2 and entry["resolved_at"]
