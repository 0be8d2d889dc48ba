"""CRM exports saved by Excel on Windows (windows-1252) load with `encoding:`, else are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import write
from tests.crm.conftest import crm, rows
from typer.testing import CliRunner

from revteam.cli import app
from revteam.exceptions import CrmConfigError, CrmSourceError
from revteam.workspace import Workspace

CONTACTS = (
    "Record ID,First Name,Last Name,Email,Create Date,Budget Note\n"
    "101,Renée,Lima,renee@acme.com,2025-01-02 10:00,5 000 €\n"
    "102,Bob,Ray,bob@acme.com,2025-01-03 10:00,none\n"
)


@pytest.fixture
def cp1252(tmp_path: Path) -> Path:
    return write(tmp_path / "contacts.csv", CONTACTS, encoding="cp1252")


def _loaded(ws: Workspace) -> None:
    assert rows(ws, "people", ("person_id", "first_name")) == [("101", "Renée"), ("102", "Bob")]
    fields = {e["record_id"]: e["fields"] for e in crm(ws).extra_fields().to_pylist()}
    assert fields["101"] == '{"Budget Note":"5 000 €"}'
    assert ws.ingest.quarantine().num_rows == 0


def test_a_cp1252_export_read_as_utf8_is_refused_naming_the_option(ws: Workspace, cp1252: Path):
    with pytest.raises(CrmSourceError) as caught:
        crm(ws).load_hubspot(cp1252)
    message = str(caught.value)
    assert "not UTF-8 text (byte 0xe9 on line 2" in message
    assert "`encoding: windows-1252`" in message and "crm.yaml" in message
    assert "--encoding" in message
    assert rows(ws, "people") == [] and ws.ingest.quarantine().num_rows == 0


@pytest.mark.parametrize("name", ["windows-1252", "cp1252", "CP1252"])
def test_crm_yaml_encoding_reads_the_export(ws: Workspace, cp1252: Path, name: str):
    write(ws.root / "crm.yaml", f"encoding: {name}\n")
    assert crm(ws).mapping("hubspot").encoding == "windows-1252"
    result = crm(ws).load_hubspot(cp1252)
    assert result.result("people").inserted == 2
    _loaded(ws)


def test_the_encoding_option_wins_over_crm_yaml(ws: Workspace, cp1252: Path):
    write(ws.root / "crm.yaml", "encoding: utf-8\n")
    crm(ws).load("hubspot", cp1252, encoding="cp1252")
    _loaded(ws)


def test_latin1_reads_what_it_holds(ws: Workspace, tmp_path: Path):
    text = CONTACTS.replace("5 000 €", "5 000 EUR")  # latin-1 has no euro sign
    path = write(tmp_path / "contacts.csv", text, encoding="latin-1")
    crm(ws).load("hubspot", path, encoding="latin-1")
    assert rows(ws, "people", ("person_id", "first_name"))[0] == ("101", "Renée")


def test_an_unknown_encoding_is_refused_with_the_choices(ws: Workspace, cp1252: Path):
    write(ws.root / "crm.yaml", "encoding: utf-32\n")
    with pytest.raises(CrmConfigError, match=r"encoding: .*'utf-32' is not supported.*cp1252"):
        crm(ws).mapping("hubspot")
    write(ws.root / "crm.yaml", "")
    with pytest.raises(CrmConfigError, match="--encoding: 'ebcdic' is not supported"):
        crm(ws).load("hubspot", cp1252, encoding="ebcdic")


def test_the_cli_takes_encoding(ws: Workspace, cp1252: Path):
    root = ws.root
    ws.close()
    runner = CliRunner()
    refused = runner.invoke(app, ["-w", str(root), "crm", "ingest", "hubspot", str(cp1252)])
    assert refused.exit_code != 0 and "encoding: windows-1252" in refused.output
    args = ["-w", str(root), "crm", "ingest", "hubspot", str(cp1252), "--encoding", "cp1252"]
    loaded = runner.invoke(app, [*args, "--format", "json"])
    assert loaded.exit_code == 0, loaded.output
    assert '"inserted": 2' in loaded.stdout
