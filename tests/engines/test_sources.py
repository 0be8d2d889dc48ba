"""sources.yaml: canonical tables as views over a company's own Postgres tables, checked there.

The generated company is stored in Postgres the way a company's warehouse might hold it (other
table and column names, time zones, wider decimals); mapped by a sources.yaml, every KPI equals
the loaded DuckDB workspace's. Rows breaking the model's rules are reported by ``revteam check``
with the quarantine's reasons (checked against ingest of the same rows) and left out of KPIs.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from tests.engines.test_same_numbers import _rows, _same
from typer.testing import CliRunner

import revteam
from revteam.cli import app
from revteam.exceptions import ConfigError, IngestError, SourcesError
from revteam.ingest.sources import read_sources
from revteam.model import TABLES
from revteam.storage.postgres import _pg_type, copy_rows
from revteam.storage.sql import quote_ident
from revteam.workspace import Workspace

pytestmark = pytest.mark.engines

RENAMED = {"people": ("contacts", {"person_id": "lead_id", "created_at": "created_utc"})}
"""The canonical people stored as ``contacts`` with two columns named otherwise."""


def _url(pg_url: str, schema: str) -> str:
    return f"{pg_url}{'&' if '?' in pg_url else '?'}schema={schema}"


def _store(con: Any, schema: str, name: str, rows: pa.Table, types: dict[str, str]) -> None:
    """A table of the company's warehouse: ``types`` overrides a column's Postgres type."""
    cols = ", ".join(
        f"{quote_ident(f.name)} {types.get(f.name, _pg_type(f.type))}" for f in rows.schema
    )
    con.execute(f"CREATE TABLE {quote_ident(schema)}.{quote_ident(name)} ({cols})".encode())
    copy_rows(con, f"{quote_ident(schema)}.{quote_ident(name)}", rows)


@pytest.fixture(scope="module")
def company_schema(pg_url: str, duck_ws: Workspace) -> str:
    """The generated company in a schema of its own, as a company's warehouse holds it."""
    import psycopg

    schema = f"crm_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}".encode())
        con.execute("SET TimeZone = 'UTC'")
        for table in TABLES.values():
            rows = duck_ws.warehouse.arrow(
                f"SELECT {', '.join(quote_ident(c) for c in table.column_names)} "
                f"FROM {quote_ident(table.name)}"
            )
            name, renames = RENAMED.get(table.name, (table.name, {}))
            rows = rows.rename_columns([renames.get(c, c) for c in rows.column_names])
            types = {"created_utc": "TIMESTAMPTZ"} if table.name == "people" else {}
            if table.name == "opportunities":
                types = {"amount": "NUMERIC(14,4)", "probability": "NUMERIC"}
            _store(con, schema, name, rows, types)
    return schema


def _sources_yaml(schema: str) -> str:
    lines = ["tables:"]
    for table in TABLES:
        if table == "people":
            lines += [
                "  people:",
                f"    table: {schema}.contacts",
                "    columns:",
                *(
                    f"      {c}: {RENAMED['people'][1].get(c, c)}"
                    for c in TABLES["people"].column_names
                ),
            ]
        else:
            lines += [f"  {table}:", f"    table: {schema}.{table}"]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def sourced(pg_url: str, company_schema: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sourced")
    with revteam.init(root, warehouse=_url(pg_url, f"rt_{uuid.uuid4().hex[:8]}")) as ws:
        (root / "sources.yaml").write_text(_sources_yaml(company_schema), encoding="utf-8")
        before = ws.warehouse.data_version
        checked = ws.sources.check()
        assert checked.violations == [] and not checked.applied
        assert ws.warehouse.data_version == before  # a check changes nothing
        report = ws.sources.apply()
        assert report.applied and ws.warehouse.data_version == before + 1
        assert report.rows["people"] == report.kept["people"] > 1000
    return root


def test_every_kpi_over_the_sources_equals_the_loaded_workspace(
    sourced: Path, duck_ws: Workspace
) -> None:
    """Every KPI by quarter (the engines' own comparison covers the dimensions: views add no
    dialect of their own, and each query over them re-runs the rules, so this one is slow)."""
    ids = [spec.id for spec in duck_ws.metrics.list()]
    with revteam.open(sourced, read_only=True) as ws:
        want, got = _rows(duck_ws, ids, []), _rows(ws, ids, [])
    assert want.keys() == got.keys()
    compared = 0
    for key, row in want.items():
        for column in ("value", "numerator", "denominator", "n"):
            compared += row.get(column) is not None
            assert _same(row.get(column), got[key].get(column)), (key, column)
    assert compared > 1000 and {k[0] for k in want} == set(ids)


def test_a_change_in_the_warehouse_shows_after_the_next_apply(
    sourced: Path, company_schema: str, duck_ws: Workspace
) -> None:
    import psycopg

    with revteam.open(sourced) as ws:
        leads = ws.metrics.query(["leads"], grain="all").to_pylist()[0]["value"]
        url = ws.warehouse.url  # type: ignore[attr-defined]
        with psycopg.connect(url, autocommit=True) as con:
            row = con.execute(f"SELECT lead_id FROM {company_schema}.contacts LIMIT 1").fetchone()
            assert row is not None
            con.execute(
                f"UPDATE {company_schema}.contacts SET lead_id = lead_id || '-x' "
                "WHERE lead_id = %s",
                row,
            )
            try:
                ws.sources.apply()  # a new data version: caches see the change
                again = ws.metrics.query(["leads"], grain="all").to_pylist()[0]["value"]
                rows = ws.warehouse.arrow(
                    "SELECT count(*) AS n FROM people WHERE person_id = %s", [f"{row[0]}-x"]
                )
                assert rows.column("n")[0].as_py() == 1
            finally:
                con.execute(
                    f"UPDATE {company_schema}.contacts SET lead_id = %s WHERE lead_id = %s",
                    (row[0], f"{row[0]}-x"),
                )
                ws.sources.apply()
    assert again == leads  # the same lead under a new id


def test_loads_into_a_sourced_workspace_are_refused(sourced: Path, engines_root: Path) -> None:
    with revteam.open(sourced) as ws:
        version = ws.warehouse.data_version
        with pytest.raises(IngestError, match="views over the warehouse's own data"):
            ws.ingest.load("accounts", next((engines_root / "data").glob("accounts.*")))
        assert ws.warehouse.data_version == version


# -- rules, as ingest's quarantine would apply them -----------------------------------------

BAD_PEOPLE = [
    # person_id, email, channel, account_id, created_at, mql_at
    ("p1", "a@x.com", "email", "a1", "2025-01-02 10:00:00", None),  # good
    ("p2", "b@x.com", "carrier pigeon", "a1", "2025-01-02 10:00:00", None),  # enum
    ("p3", "c@x.com", "email", "a404", "2025-01-02 10:00:00", None),  # reference
    ("p4", "d@x.com", "email", "a1", "2025-01-05 10:00:00", "2025-01-03 10:00:00"),  # row rule
    ("p5", "e@x.com", "email", "a1", None, None),  # required
    ("p6", "f@x.com", "email", "a1", "2025-01-02 10:00:00", None),  # repeated key …
    ("p6", "g@x.com", "email", "a1", "2025-01-02 10:00:00", None),  # … with other values
    ("p7", "h@x.com", "email", "a1", "1701-01-02 10:00:00", None),  # implausible year
]


@pytest.fixture(scope="module")
def bad(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    import psycopg

    schema = f"bad_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}".encode())
        con.execute(
            f"CREATE TABLE {schema}.companies (id TEXT, name TEXT, created TIMESTAMP, "
            "revenue NUMERIC(12,3))".encode()
        )
        con.execute(
            f"INSERT INTO {schema}.companies VALUES ('a1', 'Acme', '2024-05-01', 100.5), "
            "('a2', 'Bolt', '2024-05-01', 10.125)".encode()
        )
        con.execute(
            f"CREATE TABLE {schema}.leads (id TEXT, email TEXT, channel TEXT, company TEXT, "
            "created TIMESTAMP, mql TIMESTAMP, created_text TEXT)".encode()
        )
        for p in BAD_PEOPLE:
            con.execute(
                f"INSERT INTO {schema}.leads VALUES (%s, %s, %s, %s, %s, %s, %s)".encode(),
                (*p, p[4]),
            )
    root = tmp_path_factory.mktemp("bad")
    revteam.init(root, warehouse=_url(pg_url, f"rt_{uuid.uuid4().hex[:8]}")).close()
    (root / "sources.yaml").write_text(
        f"""tables:
  accounts:
    table: {schema}.companies
    columns: {{account_id: id, name: name, created_at: created, annual_revenue: revenue}}
  people:
    sql: |
      SELECT id AS person_id, email, channel, company AS account_id,
             created AS created_at, mql AS mql_at
      FROM {schema}.leads
""",
        encoding="utf-8",
    )
    return root, schema


def _reasons_of_ingest(tmp_path: Path) -> dict[tuple[str, str], int]:
    """The quarantine of a DuckDB workspace loading the same rows from CSV files."""
    import re

    accounts = tmp_path / "accounts.csv"
    accounts.write_text(
        "account_id,name,created_at,annual_revenue\n"
        "a1,Acme,2024-05-01 00:00:00,100.5\na2,Bolt,2024-05-01 00:00:00,10.125\n"
    )
    people = tmp_path / "people.csv"
    people.write_text(
        "person_id,email,channel,account_id,created_at,mql_at\n"
        + "".join(",".join(v or "" for v in p) + "\n" for p in BAD_PEOPLE)
    )
    out: dict[tuple[str, str], int] = {}
    with revteam.init(tmp_path / "ws") as ws:
        ws.ingest.load("accounts", accounts)
        ws.ingest.load("people", people)
        for row in ws.ingest.quarantine().to_pylist():
            for reason in row["reasons"]:
                general = re.sub(r"'[^']*'", "…", reason).replace(" (load accounts first)", "")
                key = (row["table_name"], general)
                out[key] = out.get(key, 0) + 1
    return out


def test_check_reports_every_broken_rule_in_the_quarantine_vocabulary(
    bad: tuple[Path, str], tmp_path: Path
) -> None:
    root, _schema = bad
    with revteam.open(root) as ws:
        report = ws.sources.check(samples=3)
    got = {(v.table, v.reason): v.rows for v in report.violations}
    ingest = _reasons_of_ingest(tmp_path)
    # the rules both apply say the same, and count the same rows
    shared = {k: n for k, n in got.items() if k in ingest}
    assert shared == {k: ingest[k] for k in shared}
    assert {r for _t, r in shared} >= {
        "channel: … is not one of "
        + ", ".join(TABLES["people"].column("channel").enum or ())
        + " (map it under values: in a mapping file)",
        "account_id: … not found in accounts",
        "mql_at is before created_at",
        "created_at: required value is missing",
    }
    # what only a view over a warehouse can meet: money with more decimals than cents, keys
    # repeated across the source's rows, and years no file would have passed either
    assert got[("accounts", "annual_revenue: 10.125 has more than two decimals (round it in "
                "sources.yaml)")] == 1  # fmt: skip
    repeated = [k for k in got if k[1].startswith("key person_id=p6 appears on 2 rows")]
    assert len(repeated) == 1 and got[repeated[0]] == 2
    assert got[("people", "created_at: … is outside the plausible years 1970 to 2100 "
                "(plausible_years in revteam.toml)")] == 1  # fmt: skip
    assert report.kept == {"accounts": 1, "people": 1}
    samples = {v.reason: v.samples for v in report.violations}
    assert samples["account_id: … not found in accounts"] == [
        {"person_id": "p3", "reason": "account_id: 'a404' not found in accounts"}
    ]


def _relations(ws: Workspace) -> list[tuple[str, str]]:
    return [
        (r["relname"], r["relkind"])
        for r in ws.warehouse.arrow(
            "SELECT c.relname, CAST(c.relkind AS TEXT) AS relkind FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relname LIKE '%people%' ORDER BY 1"
        ).to_pylist()
    ]


@pytest.mark.parametrize("materialize", [True, False])
def test_applied_views_keep_only_the_rows_that_pass(
    bad: tuple[Path, str], materialize: bool
) -> None:
    root, _schema = bad
    good = (root / "sources.yaml").read_text()
    try:
        (root / "sources.yaml").write_text(f"materialize: {str(materialize).lower()}\n{good}")
        with revteam.open(root) as ws:
            ws.sources.apply()
            ws.sources.apply()  # the second apply replaces the first one's rows
            version = ws.warehouse.data_version
            people = ws.warehouse.arrow("SELECT person_id FROM people").column(0).to_pylist()
            accounts = ws.warehouse.arrow("SELECT account_id FROM accounts").column(0).to_pylist()
            leads = ws.metrics.query(["leads"], grain="all").to_pylist()[0]["value"]
            relations = _relations(ws)
    finally:
        (root / "sources.yaml").write_text(good)
    assert people == ["p1"] and accounts == ["a1"] and leads == 1
    # the canonical table is a view; the checked rows one relation, stored or not
    assert relations == [(f"_rows_people_v{version}", "m" if materialize else "v"), ("people", "v")]


def test_text_where_a_timestamp_belongs_is_refused_and_nothing_changes(
    bad: tuple[Path, str],
) -> None:
    root, _schema = bad
    good = (root / "sources.yaml").read_text()
    try:
        (root / "sources.yaml").write_text(
            good.replace("created AS created_at", "created_text AS created_at")
        )
        with revteam.open(root) as ws:
            version = ws.warehouse.data_version
            kinds = ws.warehouse.arrow(
                "SELECT table_name, table_type FROM information_schema.tables "
                "WHERE table_schema = current_schema() ORDER BY 1"
            ).to_pylist()
            with pytest.raises(SourcesError, match=r"created_at is text .* to_timestamp"):
                ws.sources.apply()
            assert ws.warehouse.data_version == version
            assert (
                ws.warehouse.arrow(
                    "SELECT table_name, table_type FROM information_schema.tables "
                    "WHERE table_schema = current_schema() ORDER BY 1"
                ).to_pylist()
                == kinds
            )
    finally:
        (root / "sources.yaml").write_text(good)


def test_the_cli_checks_and_applies(bad: tuple[Path, str]) -> None:
    root, _schema = bad
    runner = CliRunner()
    out = runner.invoke(app, ["-w", str(root), "check", "--format", "json", "--samples", "1"])
    assert out.exit_code == 5, out.output
    report = json.loads(out.stdout)
    assert report["tables"]["people"] == {"rows": 8, "kept": 1, "refused": 7}
    assert all(len(v["samples"]) <= 1 for v in report["violations"])
    table = runner.invoke(app, ["-w", str(root), "check", "--apply"])
    assert table.exit_code == 5 and "Applied" in table.stdout
    bounded = runner.invoke(app, ["-w", str(root), "check", "--samples", "51"])
    assert bounded.exit_code != 0 and "samples must be 0 to 50" in bounded.output


# -- the file itself ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("tables:\n  leads:\n    table: x\n", "'leads' is not a canonical table"),
        ("tables:\n  people:\n    table: x\n    sql: SELECT 1\n", "exactly one of sql: and table:"),
        ("tables:\n  people:\n    table: x\n    columns: {lead: id}\n", "'lead' is not a column"),
        ("tables:\n  people:\n    tabel: x\n", "unknown keys tabel"),
        ("tables:\n  people: {table: x}\n  people: {table: y}\n", "appears twice"),
        ("people:\n  table: x\n", "must hold one mapping, tables:"),
        ("tables: {}\n", "maps no table"),
        (
            "materialize: maybe\ntables:\n  people: {table: x}\n",
            "materialize must be true or false",
        ),
    ],
)
def test_the_file_is_read_strictly(tmp_path: Path, text: str, said: str) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(text)
    with pytest.raises(SourcesError, match=said):
        read_sources(path)


def test_sources_need_a_postgres_warehouse(tmp_path: Path) -> None:
    with (
        revteam.init(tmp_path / "duck") as ws,
        pytest.raises(ConfigError, match="PostgreSQL warehouse"),
    ):
        _ = ws.sources


def test_instants_are_read_in_the_workspace_time_zone_and_queries_may_refuse_rows(
    pg_url: str, bad: tuple[Path, str], tmp_path: Path
) -> None:
    """``timestamptz`` becomes the workspace's local time, as ingest converts offsets; a
    ``_refuse`` column refuses its rows with its text, first among their reasons."""
    _root, schema = bad
    root = tmp_path / "berlin"
    warehouse = _url(pg_url, f"rt_{uuid.uuid4().hex[:8]}")
    with revteam.init(root, warehouse=warehouse, timezone="Europe/Berlin") as ws:
        (root / "sources.yaml").write_text(
            f"""tables:
  accounts:
    table: {schema}.companies
    columns:
      account_id: id
      name: name
      created_at: created
      annual_revenue: round(revenue, 2)
  people:
    sql: |
      SELECT id AS person_id, email, channel, company AS account_id,
             CAST(created AS TIMESTAMP) AT TIME ZONE 'UTC' AS created_at,
             CASE WHEN id = 'p6' THEN 'held back by the source: under review' END AS _refuse
      FROM {schema}.leads WHERE id IN ('p1', 'p6')
"""
        )
        report = ws.sources.apply()
        got = ws.warehouse.arrow("SELECT person_id, created_at FROM people").to_pylist()
    assert got == [{"person_id": "p1", "created_at": dt.datetime(2025, 1, 2, 11, 0)}]
    reasons = {v.reason for v in report.violations if v.table == "people"}
    assert "held back by the source: under review" in reasons
    assert all("_refuse" not in note for note in report.notes)
