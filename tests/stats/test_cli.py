"""The statistics commands: thin shells with JSON for scripts and exit codes for errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import revteam
from revteam.cli import app
from revteam.generate import GeneratorConfig, generate_company

runner = CliRunner()


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("cli")
    generate_company(GeneratorConfig(n_leads=4000, seed=3)).write(base / "data")
    with revteam.init(base / "ws") as ws:
        ws.ingest.load_directory(base / "data")
    return base / "ws"


def run(root: Path, *args: str):
    result = runner.invoke(app, ["-w", str(root), *args])
    return result


@pytest.mark.parametrize(
    "args",
    [
        ["compare", "sales_qualification_rate", "--by", "channel"],
        ["compare", "sales_cycle_days", "--against", "last_year"],
        ["anomalies", "sales_qualification_rate", "--by", "channel", "--all"],
        ["drivers", "sales_qualification_rate", "--by", "channel", "--window", "3"],
        ["drivers", "pipeline_velocity", "--period", "2026-03"],
        ["rank", "sales_qualification_rate", "--by", "channel"],
        ["cohorts", "sales_qualification_rate"],
    ],
)
def test_commands_print_tables_and_json(root, args):
    human = run(root, *args)
    assert human.exit_code == 0, human.output
    machine = run(root, *args, "--format", "json")
    assert machine.exit_code == 0, machine.output
    rows = json.loads(machine.stdout)
    assert isinstance(rows, list) and rows


def test_drivers_says_why_in_a_sentence(root):
    out = run(root, "drivers", "sales_qualification_rate", "--by", "channel", "--window", "3")
    assert "sales_qualification_rate" in out.stdout and (
        "rose" in out.stdout or "fell" in out.stdout
    )


def test_rank_csv_has_raw_and_shrunk_rates(root):
    out = run(root, "rank", "mql_rate", "--by", "channel", "--format", "csv")
    assert out.exit_code == 0, out.output
    header = out.stdout.splitlines()[0].split(",")
    assert {"raw_rate", "shrunk_rate", "ci_low", "ci_high"} <= set(header)


def test_errors_are_messages_with_exit_codes(root):
    out = run(root, "rank", "leads")
    assert out.exit_code == 2 and "rates of records" in out.output
    out = run(root, "compare", "sales_qualification_rate")
    assert out.exit_code == 2 and "against" in out.output
    out = run(root, "compare", "sales_qualification_rate", "--against", "sideways")
    assert out.exit_code == 2


@pytest.fixture
def opened(root: Path) -> Iterator[revteam.Workspace]:
    with revteam.open(root) as ws:
        yield ws


def test_query_intervals(opened):
    result = opened.metrics.query(
        ["mql_rate", "sales_cycle_days", "leads"], grain="quarter", intervals=True
    )
    raw = [r for r in result.to_pylist() if r["value"] is not None]
    methods = {r["metric"]: r["ci_method"] for r in raw}
    assert methods == {"mql_rate": "wilson", "sales_cycle_days": "bootstrap", "leads": None}
    bounded = [r for r in raw if r["ci_low"] is not None]
    assert bounded and all(r["ci_low"] <= r["value"] <= r["ci_high"] for r in bounded)


def test_kpis_ci(root: Path):
    human = run(root, "kpis", "mql_rate", "leads", "--grain", "quarter", "--ci")
    assert human.exit_code == 0, human.output
    assert "interval" in human.stdout and "% to " in human.stdout
    data = run(root, "kpis", "mql_rate", "--grain", "quarter", "--ci", "--format", "json")
    rows = json.loads(data.stdout)
    assert {r["ci_method"] for r in rows if r["value"] is not None} == {"wilson"}
