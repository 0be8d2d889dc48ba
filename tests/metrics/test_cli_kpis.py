"""``revteam kpis`` and ``revteam metrics``: thin commands, checked on exit code and output."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import revteam
from revteam.cli import app
from revteam.cli._common import OutputFormat
from revteam.cli.kpis import parse_where, result_rows
from revteam.exceptions import MetricQueryError
from revteam.generate import GeneratorConfig, generate_company
from revteam.metrics.format import display

runner = CliRunner()


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small company in a closed workspace (the CLI opens it read-only, like a user would)."""
    root = tmp_path_factory.mktemp("cli")
    generate_company(GeneratorConfig(n_leads=3_000, seed=3)).write(root / "data")
    with revteam.init(root / "ws") as ws:
        ws.ingest.load_directory(root / "data")
    return root / "ws"


def run(ws: Path, *args: str):
    return runner.invoke(app, ["-w", str(ws), *args])


def test_kpis_json_matches_the_library(loaded: Path) -> None:
    result = run(
        loaded,
        "kpis",
        "leads",
        "mql_rate",
        "--by",
        "channel",
        "--start",
        "2026-01-01",
        "--end",
        "2026-03-31",
        "--where",
        "channel=email,webinar",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    with revteam.open(loaded, read_only=True) as ws:
        lib = ws.metrics.query(
            ["leads", "mql_rate"],
            by="channel",
            start="2026-01-01",
            end="2026-03-31",
            where={"channel": ["email", "webinar"]},
        )
    assert len(rows) == len(lib)
    assert {r["channel"] for r in rows} == {"email", "webinar", None}
    assert {r["owners"] for r in rows} == {"marketing"}
    first = lib.to_pylist()[0]
    assert rows[0]["value"] == first["value"] and rows[0]["period"] == "2026-01"


def test_kpis_table_shows_owners_and_flags(loaded: Path) -> None:
    result = run(loaded, "kpis", "mql_rate", "cac", "--grain", "quarter", "--start", "2026-04-01")
    assert result.exit_code == 0, result.output
    assert "marketing" in result.stdout and "shared" in result.stdout
    assert "immature" in result.stdout and "2026-Q3" in result.stdout


def test_kpis_table_writes_numbers_like_the_dashboards(loaded: Path) -> None:
    with revteam.open(loaded, read_only=True) as ws:
        lib = ws.metrics.query(["marketing_cost", "speed_to_lead_hours"], grain="year")
    rows = result_rows(lib, OutputFormat.table, currency="EUR")
    expected = [display(r["value"], r["unit"], currency="EUR") for r in lib.to_pylist()]
    assert [r["value"] for r in rows] == expected
    assert any(v.startswith("€") for v in expected) and any(v.endswith(" h") for v in expected)
    result = run(loaded, "kpis", "marketing_cost", "--grain", "year")
    assert result.exit_code == 0, result.output
    assert "$" in result.stdout  # the workspace's currency (USD)


def test_kpis_csv_and_default_metrics(loaded: Path) -> None:
    result = run(loaded, "kpis", "--by", "network", "--grain", "year", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {r["metric"] for r in rows} == {
        "social_engagements",
        "social_likes",
        "social_shares",
        "social_comments",
        "social_engagement_rate",
    }


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (("kpis", "leeds"), 2, "Did you mean leads"),
        (("kpis", "leads", "--by", "network"), 2, "It supports"),
        (("kpis", "leads", "--where", "channel"), 2, "DIMENSION=VALUE"),
        (("kpis", "leads", "--grain", "fortnight"), 2, "day, week, month"),
        (("metrics", "show", "nope"), 2, "Known metrics"),
        (
            ("kpis", "leads", "--defined-on", "1900-01-01"),
            2,
            "Invalid defined_on '1900-01-01'; expected a date in the years 1970 to 2100",
        ),
    ],
)
def test_errors_exit_with_a_message(
    loaded: Path, args: tuple[str, ...], code: int, words: str
) -> None:
    result = run(loaded, *args)
    assert result.exit_code == code
    assert words in " ".join(result.output.split())


def test_metrics_list_and_show(loaded: Path) -> None:
    listed = run(loaded, "metrics", "list", "--owners", "sales", "--format", "json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert rows and {r["owners"] for r in rows} == {"sales"}
    assert {"id", "label", "kind", "unit", "source"} <= set(rows[0])

    shown = run(loaded, "metrics", "show", "sales_qualification_rate", "--sql")
    assert shown.exit_code == 0, shown.output
    out = " ".join(shown.stdout.split())
    assert "owners: shared" in out and "window: 60 days" in out
    assert "dimensions: channel, campaign" in out and "SELECT" in out


def test_parse_where() -> None:
    assert parse_where(["channel=email, webinar", "segment=(none)", "channel=direct"]) == {
        "channel": ["email", "webinar", "direct"],
        "segment": ["(none)"],
    }
    with pytest.raises(MetricQueryError):
        parse_where(["=x"])
    with pytest.raises(MetricQueryError, match=r"\(none\) for records without one"):
        parse_where(["segment="])  # a blank is not silently "no filter" or "is null"
