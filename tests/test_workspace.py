from __future__ import annotations

from pathlib import Path

import pytest

import revteam
from revteam.exceptions import ConfigError, WorkspaceNotFoundError
from revteam.settings import CONFIG_FILE, DEFAULT_WINDOWS


def test_init_writes_settings_and_creates_every_table(tmp_path: Path):
    ws = revteam.init(tmp_path / "ws", currency="EUR", fiscal_year_start_month=4)
    try:
        text = (tmp_path / "ws" / CONFIG_FILE).read_text()
        assert 'currency = "EUR"' in text and "fiscal_year_start_month = 4" in text
        assert (tmp_path / "ws" / "warehouse.duckdb").exists()
        assert {t.name for t in ws.status().tables} >= {"people", "opportunities", "orders"}
        assert ws.data_version == 0
    finally:
        ws.close()
    with pytest.raises(ConfigError, match="already a revteam workspace"):
        revteam.init(tmp_path / "ws")


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    revteam.init(tmp_path / "ws", gross_margin=0.7).close()
    monkeypatch.setenv("REVTEAM_GROSS_MARGIN", "0.65")
    monkeypatch.setenv("REVTEAM_CONVERSION_WINDOWS__MQL_RATE", "30")
    with revteam.open(tmp_path / "ws") as ws:
        assert ws.settings.gross_margin == 0.65
        assert ws.settings.conversion_windows["mql_rate"] == 30
        assert ws.settings.conversion_windows["lead_conversion_rate"] == 180
    # the environment at init time is not written into the file
    assert "0.65" not in (tmp_path / "ws" / CONFIG_FILE).read_text()


def test_identity_engine_is_set_in_the_file_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    ws = revteam.init(tmp_path / "ws")
    assert ws.settings.identity.engine == "duckdb"
    ws.close()
    text = (tmp_path / "ws" / CONFIG_FILE).read_text()
    assert "[identity]" in text and 'engine = "duckdb"' in text  # the written defaults
    (tmp_path / "ws" / CONFIG_FILE).write_text(
        '[identity]\nengine = "spark"\nspark_master = "local[4]"\n'
        'spark_conf = {"spark.driver.memory" = "8g"}\n'
    )
    with revteam.open(tmp_path / "ws") as ws:
        assert ws.settings.identity.spark_master == "local[4]"
        assert ws.settings.identity.spark_conf == {"spark.driver.memory": "8g"}
    monkeypatch.setenv("REVTEAM_IDENTITY__ENGINE", "duckdb")
    with revteam.open(tmp_path / "ws") as ws:
        assert ws.settings.identity.engine == "duckdb"
        assert ws.settings.identity.spark_master == "local[4]"  # the file's other values stay


def test_open_finds_the_workspace_from_a_subfolder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    revteam.init(tmp_path / "ws").close()
    monkeypatch.chdir(tmp_path / "ws" / "metrics")
    with revteam.open() as ws:
        assert ws.root == (tmp_path / "ws").resolve()


def test_missing_workspace_says_how_to_make_one(tmp_path: Path):
    with pytest.raises(WorkspaceNotFoundError, match="revteam init"):
        revteam.open(tmp_path / "nothing")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("gross_margin = 1.5\n", "gross_margin"),
        ('timezone = "Mars/Olympus"\n', "unknown time zone"),
        ('channel_mapping = {"Google" = "search"}\n', "unknown channels"),
        ("colour = 3\n", "colour"),
        ("gross_margin = \n", "not valid TOML"),
        ('[identity]\nengine = "hadoop"\n', "identity.engine"),
        ("[identity]\nspark_cores = 4\n", "identity.spark_cores"),
    ],
)
def test_bad_settings_name_the_field(tmp_path: Path, text: str, problem: str):
    revteam.init(tmp_path / "ws").close()
    (tmp_path / "ws" / CONFIG_FILE).write_text(text)
    with pytest.raises(ConfigError, match=problem):
        revteam.open(tmp_path / "ws")


def test_default_windows_follow_the_kpi_spec():
    assert DEFAULT_WINDOWS == {
        "mql_rate": 90,
        "lead_conversion_rate": 180,
        "lead_to_customer_rate": 365,
        "sales_qualification_rate": 60,
        "disqualification_rate": 60,
        "sql_to_opportunity_rate": 90,
        "opportunity_to_customer_rate": 180,  # the funnel's last step (not in KPIS.md)
        "lead_to_sql_rate": 90,  # what a lead score predicts (not in KPIS.md)
    }
