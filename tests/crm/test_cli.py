"""``revteam crm …`` and ``revteam resolve``: thin commands, parseable output, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import write
from tests.crm.test_hubspot_exports import COMPANIES, DEALS, OLD
from typer.testing import CliRunner

from revteam.cli import app

runner = CliRunner()


@pytest.fixture
def ws_dir(tmp_path: Path) -> Path:
    assert runner.invoke(app, ["init", str(tmp_path / "ws")]).exit_code == 0
    return tmp_path / "ws"


def run(ws: Path, *args: str):
    return runner.invoke(app, ["-w", str(ws), *args])


def _json(text: str) -> list[dict]:
    return json.loads(text[text.index("[") : text.rindex("]") + 1])


def test_crm_ingest_loads_and_strict_reports_refusals(ws_dir: Path, tmp_path: Path):
    write(tmp_path / "hs" / "companies.csv", COMPANIES) if (
        tmp_path / "hs"
    ).mkdir() is None else None
    write(tmp_path / "hs" / "deals.csv", DEALS)
    result = run(ws_dir, "crm", "ingest", "hubspot", str(tmp_path / "hs"), "--format", "json")
    assert result.exit_code == 0, result.output
    tables = {r["table"]: r for r in _json(result.stdout)}
    assert tables["opportunities"]["inserted"] == 1 and tables["opportunities"]["quarantined"] == 1
    strict = run(ws_dir, "crm", "ingest", "hubspot", str(tmp_path / "hs"), "--strict")
    assert strict.exit_code == 5


def test_crm_unmapped_lists_values_and_where_to_map_them(ws_dir: Path, tmp_path: Path):
    write(tmp_path / "deals.csv", DEALS)
    result = run(
        ws_dir, "crm", "unmapped", "hubspot", str(tmp_path / "deals.csv"), "--format", "json"
    )
    assert result.exit_code == 0, result.output
    [row] = [r for r in _json(result.stdout) if r["field"] == "stage"]
    assert row["value"] == "Demo Booked" and "crm.yaml" in row["map it with"]


def test_a_missing_path_is_a_load_error(ws_dir: Path, tmp_path: Path):
    missing = run(ws_dir, "crm", "ingest", "hubspot", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 4 and "no such file or folder" in missing.output


def test_an_unknown_system_is_a_usage_error(ws_dir: Path, tmp_path: Path):
    assert run(ws_dir, "crm", "ingest", "pipedrive", str(tmp_path)).exit_code == 2


def test_a_bad_crm_yaml_names_the_file_and_the_allowed_values(ws_dir: Path, tmp_path: Path):
    bad = write(ws_dir / "crm.yaml", "deal_stages: {Demo: won}\n")
    write(tmp_path / "deals.csv", DEALS)
    result = run(ws_dir, "crm", "unmapped", "hubspot", str(tmp_path / "deals.csv"))
    assert result.exit_code == 2 and "'won' is not one of" in result.output
    assert str(bad) in result.output.replace("\n", "")


def test_sync_without_credentials_says_which_variables(
    ws_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    for name in ("HUBSPOT_ACCESS_TOKEN", "REVTEAM_HUBSPOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    result = run(ws_dir, "crm", "sync", "hubspot")
    assert result.exit_code == 2 and "HUBSPOT_ACCESS_TOKEN" in result.output


def test_resolve_prints_the_figures_and_extra_shows_kept_fields(ws_dir: Path, tmp_path: Path):
    text = OLD + "102,Ana,Lima,ana.lima+news@acme.com,2025-01-03 10:00,Lead,Direct Traffic,,,,\n"
    write(tmp_path / "contacts.csv", text)
    assert run(ws_dir, "crm", "ingest", "hubspot", str(tmp_path / "contacts.csv")).exit_code == 0
    result = run(ws_dir, "resolve", "--format", "json")
    assert result.exit_code == 0, result.output
    figures = {r["figure"]: r["value"] for r in _json(result.stdout)}
    assert figures["people"] == 2 and figures["unified people (clusters)"] == 1
    extra = run(ws_dir, "crm", "extra", "--format", "json")
    assert extra.exit_code == 0 and "Favorite Color" in extra.stdout
