"""Loading into a PostgreSQL warehouse: the same validation, quarantine and idempotence as on
DuckDB, one transaction per file on both sides, bulk COPY, and nothing changed by a failure.
"""

from __future__ import annotations

import csv
import json
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from tests.engines.test_same_numbers import _compare
from typer.testing import CliRunner

import revteam
from revteam.cli import app as cli
from revteam.exceptions import IngestError
from revteam.storage.postgres import PostgresWarehouse
from revteam.workspace import Workspace

pytestmark = pytest.mark.engines


def _url(pg_url: str) -> str:
    sep = "&" if "?" in pg_url else "?"
    return f"{pg_url}{sep}schema=load_{uuid.uuid4().hex[:8]}"


def _counts(url: str) -> dict[str, Any]:
    pg = PostgresWarehouse(url, read_only=True)
    try:
        found = {
            t: pg.arrow(f'SELECT count(*) AS n FROM "{t}"').to_pylist()[0]["n"]
            for t in ("people", "opportunities", "touchpoints")
        }
        return found | {"version": pg.data_version}
    finally:
        pg.close()


@pytest.fixture(scope="module")
def loaded(pg_url: str, engines_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace on Postgres, loaded from the company's files as any workspace is."""
    root = tmp_path_factory.mktemp("pg-load") / "ws"
    with revteam.init(root, warehouse=_url(pg_url)) as ws:
        ws.ingest.load_directory(engines_root / "data")
    return root


def test_a_loaded_postgres_workspace_has_the_same_kpis(loaded: Path, duck_ws: Workspace) -> None:
    with revteam.open(loaded, read_only=True) as ws:
        assert ws.warehouse.dialect == "postgres"
        assert _compare(duck_ws, ws) == []


def test_loading_the_same_files_again_changes_nothing(loaded: Path, engines_root: Path) -> None:
    with revteam.open(loaded) as ws:
        url = ws.settings.warehouse
        before = _counts(url)
        results = ws.ingest.load_directory(engines_root / "data")
    assert all(r.inserted == r.updated == 0 for r in results)
    assert _counts(url) == before


def _people_file(folder: Path, duck_ws: Workspace, rows: list[dict[str, Any]]) -> Path:
    template = duck_ws.warehouse.arrow("SELECT * FROM people LIMIT 1").to_pylist()[0]
    columns = [c for c in template if not c.startswith("_")]
    path = folder / f"people-{uuid.uuid4().hex[:6]}.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    c: "" if row.get(c, template[c]) is None else row.get(c, template[c])
                    for c in columns
                }
            )
    return path


def test_bad_rows_are_quarantined_and_good_ones_reach_postgres(
    loaded: Path, duck_ws: Workspace, tmp_path: Path
) -> None:
    good, bad = f"P-{uuid.uuid4().hex[:8]}", f"P-{uuid.uuid4().hex[:8]}"
    path = _people_file(
        tmp_path, duck_ws, [{"person_id": good}, {"person_id": bad, "created_at": "someday"}]
    )
    with revteam.open(loaded) as ws:
        [result] = ws.ingest.load("people", path)
        assert (result.inserted, result.quarantined) == (1, 1)
        refused = ws.ingest.quarantine(table="people").to_pylist()
        assert any(bad in (r["record"] or "") for r in refused)
        found = ws.warehouse.arrow(
            f"SELECT person_id FROM people WHERE person_id IN ('{good}', '{bad}')"
        ).to_pylist()
    assert found == [{"person_id": good}]


def test_a_failure_in_postgres_changes_nothing_on_either_side(
    loaded: Path, duck_ws: Workspace, tmp_path: Path
) -> None:
    with revteam.open(loaded) as ws:
        url = ws.settings.warehouse
    pg = PostgresWarehouse(url, read_only=True)
    pg.con.execute(b"ALTER TABLE people ADD CONSTRAINT no_rejects CHECK (person_id NOT LIKE 'X-%')")
    try:
        before = _counts(url)
        path = _people_file(tmp_path, duck_ws, [{"person_id": "X-1"}, {"person_id": "Y-1"}])
        with revteam.open(loaded) as ws, pytest.raises(IngestError, match="nothing changed"):
            ws.ingest.load("people", path)
        assert _counts(url) == before
        with revteam.open(loaded, read_only=True) as ws:
            staged = ws.duckdb("test").arrow(
                "SELECT count(*) AS n FROM people WHERE person_id IN ('X-1', 'Y-1')"
            )
            assert staged.to_pylist() == [{"n": 0}]  # the staging file rolled back too
            assert ws.ingest.runs(limit=1).to_pylist()[0]["status"] == "failed"
    finally:
        pg.con.execute(b"ALTER TABLE people DROP CONSTRAINT no_rejects")
        pg.close()


def test_a_schema_loaded_by_others_is_not_overwritten(
    pg_url: str, engines_root: Path, duck_ws: Workspace, tmp_path: Path
) -> None:
    url = _url(pg_url)
    pg = PostgresWarehouse(url)
    pg.load("people", duck_ws.warehouse.arrow("SELECT * FROM people LIMIT 5"))
    pg.close()
    with revteam.init(tmp_path / "ws", warehouse=url) as ws:
        with pytest.raises(IngestError, match="did not load"):
            ws.ingest.load("accounts", engines_root / "data" / "accounts.parquet")
        assert ws.metrics.query(["leads"], grain="all").to_pylist()[0]["value"] == 5
    assert _counts(url)["people"] == 5


def test_the_cli_initialises_loads_and_answers_on_postgres(
    pg_url: str, engines_root: Path, duck_ws: Workspace, tmp_path: Path
) -> None:
    runner = CliRunner()
    folder = str(tmp_path / "ws")
    made = runner.invoke(cli, ["init", folder, "--warehouse", _url(pg_url)])
    assert made.exit_code == 0, made.output
    for table in ("accounts", "campaigns", "people"):
        done = runner.invoke(
            cli, ["-w", folder, "ingest", table, str(engines_root / "data" / f"{table}.parquet")]
        )
        assert done.exit_code == 0, done.output
    answer = runner.invoke(
        cli, ["-w", folder, "kpis", "leads", "--grain", "all", "--format", "json"]
    )
    assert answer.exit_code == 0, answer.output
    want = duck_ws.metrics.query(["leads"], grain="all").to_pylist()[0]["value"]
    assert json.loads(answer.stdout)[0]["value"] == want
    with psycopg.connect(pg_url) as con:  # the rows are in Postgres, where the KPI ran
        assert con.execute(
            b"SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'load_%'"
        ).fetchone()


def test_the_web_app_serves_kpis_from_postgres(
    loaded: Path, duck_ws: Workspace, engines_root: Path, tmp_path: Path
) -> None:
    from tests.web.conftest import TestClient, add_members, sign_in

    from revteam.web import WebOptions, create_app

    members = add_members(loaded)
    params = {"metrics": ["leads", "win_rate"], "by": "channel", "grain": "quarter"}
    with revteam.open(loaded, read_only=True) as ws:  # equal to DuckDB's: test_same_numbers
        want = ws.metrics.query(["leads", "win_rate"], by=["channel"], grain="quarter")
    app = create_app(loaded, options=WebOptions(warm=False, idle_seconds=1))
    with TestClient(app) as client:
        browser = TestClient(app)
        assert sign_in(browser, members["viewer"].email).status_code == 303
        assert browser.get("/").status_code == 200  # the Overview, computed on Postgres
        client.headers.update(members["viewer"].bearer)
        got = client.get("/api/v1/query", params=params).json()
        version = got["data_version"]
        values = {
            (
                r["metric"],
                r["period"],
                r["is_total"],
                (r.get("dimensions") or {}).get("channel"),
            ): r["value"]
            for r in got["rows"]
        }
        for row in want.to_pylist():
            key = (row["metric"], row["period"].isoformat(), row["is_total"], row["channel"])
            assert values[key] == pytest.approx(row["value"], rel=1e-9), key
        # a load through revteam shows at once: the gate watches the staging file (a load in
        # this process needs the gate's read handle closed first; another process's load
        # makes it let go by announcing itself)
        gate = app.state.runtime.gate
        for _ in range(100):
            if not gate.is_open:
                break
            time.sleep(0.1)
        path = _people_file(tmp_path, duck_ws, [{"person_id": f"P-{uuid.uuid4().hex[:8]}"}])
        with revteam.open(loaded) as ws:
            ws.ingest.load("people", path)
        again = client.get("/api/v1/query", params=params).json()
        assert again["data_version"] > version


def test_hubspot_exports_load_into_postgres_as_into_duckdb(
    pg_url: str, engines_root: Path, tmp_path: Path
) -> None:
    """The CRM path writes through the same staging: the KPIs match a DuckDB workspace's."""
    from revteam.crm import write_hubspot_exports
    from revteam.generate import GeneratorConfig, generate_company

    write_hubspot_exports(generate_company(GeneratorConfig(n_leads=400, seed=3)), tmp_path / "hs")
    kpis = ["leads", "mqls", "revenue", "win_rate"]
    found = []
    for name, settings in (("duck", {}), ("pg", {"warehouse": _url(pg_url)})):
        with revteam.init(tmp_path / name, **settings) as ws:
            ws.crm.load_exports_folder("hubspot", tmp_path / "hs")
            assert ws.warehouse.dialect == ("duckdb" if name == "duck" else "postgres")
            found.append(ws.metrics.query(kpis, grain="month").to_pylist())
    duck, pg = found
    assert duck and [(r["metric"], r["period"], r["value"]) for r in pg] == [
        (r["metric"], r["period"], r["value"]) for r in duck
    ]


def test_the_web_app_sees_data_changed_in_postgres_by_others(
    pg_ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No load file to watch for a schema loaded by others: the version is read again."""
    from tests.web.conftest import TestClient, add_members

    import revteam.web.gate as gate_module
    from revteam.web import WebOptions, create_app

    monkeypatch.setattr(gate_module, "RECHECK_SECONDS", 0.0)
    members = add_members(pg_ws.root)
    app = create_app(pg_ws.root, options=WebOptions(warm=False, idle_seconds=30))
    params = {"metrics": "leads", "grain": "year"}
    with TestClient(app, headers=members["viewer"].bearer) as client:
        answer = client.get("/api/v1/query", params=params)
        assert answer.status_code == 200, answer.text
        first = answer.json()["data_version"]
        other = PostgresWarehouse(pg_ws.settings.warehouse)
        try:
            bumped = other.bump_data_version()  # what another writer's load would do
        finally:
            other.close()
        assert client.get("/api/v1/query", params=params).json()["data_version"] == bumped > first
