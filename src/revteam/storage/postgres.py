"""A PostgreSQL warehouse: the canonical tables in a company's own Postgres, KPIs computed there.

The metric layer compiles its ibis expressions to Postgres SQL and this runs them, returning
Arrow as the DuckDB warehouse does. Tables live in one schema (``?schema=`` in the URL,
default ``public``) with the canonical model's columns; the data version is kept beside them
in ``_revteam_meta`` as on DuckDB. Needs the ``postgres`` extra (psycopg 3).
"""

from __future__ import annotations

import datetime as dt
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pyarrow as pa

from revteam.exceptions import ConfigError, IngestError
from revteam.model import METADATA_COLUMNS, TABLES, Table
from revteam.storage.sql import quote_ident, quote_literal

if TYPE_CHECKING:
    import duckdb
    import psycopg

META_TABLE = "_revteam_meta"
PG_TYPES: dict[str, str] = {
    "string": "TEXT",
    "integer": "BIGINT",
    "float": "DOUBLE PRECISION",
    "money": "NUMERIC(18,2)",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}
"""Postgres type of each canonical column type (money exact, timestamps naive UTC)."""
_META_NAMES = tuple(n for n, _ in METADATA_COLUMNS)
_ARROW_OF_OID: dict[int, pa.DataType] = {
    16: pa.bool_(),
    20: pa.int64(),
    21: pa.int64(),
    23: pa.int64(),
    700: pa.float64(),
    701: pa.float64(),
    25: pa.string(),
    1043: pa.string(),
    1082: pa.date32(),
    1114: pa.timestamp("us"),
    1184: pa.timestamp("us", tz="UTC"),
}
"""Arrow type of a result column by its Postgres type (``numeric`` is read as decimal)."""


def split_url(url: str) -> tuple[str, str]:
    """The connection URL without revteam's own ``schema`` parameter, and that schema."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), "public")
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    return urlunsplit(parts._replace(query=rest)), schema


def create_sql(table: Table, schema: str) -> str:
    """``CREATE TABLE IF NOT EXISTS`` of a canonical table (with lineage columns) in ``schema``."""
    cols = [f"{quote_ident(c.name)} {PG_TYPES[c.type]}" for c in table.columns]
    cols += [
        f"{quote_ident(n)} {'TIMESTAMP' if t == 'TIMESTAMP' else 'TEXT'}"
        for n, t in METADATA_COLUMNS
    ]
    return (
        f"CREATE TABLE IF NOT EXISTS {quote_ident(schema)}.{quote_ident(table.name)} "
        f"({', '.join(cols)})"
    )


class PostgresWarehouse:
    """The canonical tables in a Postgres schema, read by the metric layer's SQL."""

    dialect = "postgres"

    def __init__(self, url: str, *, timezone: str = "UTC", read_only: bool = False) -> None:
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - the extra is part of the test setup
            raise ConfigError(
                "A postgresql:// warehouse needs the postgres extra: pip install "
                "'revteam[postgres]'."
            ) from exc
        self.url, self.schema = split_url(url)
        self.read_only = read_only
        try:
            self.con: psycopg.Connection[Any] = psycopg.connect(self.url, autocommit=True)
        except psycopg.OperationalError as exc:
            raise ConfigError(
                f"Cannot connect to the Postgres warehouse {_safe(self.url)}: "
                f"{str(exc).strip().splitlines()[0]}"
            ) from exc
        self._lock = threading.RLock()
        self.con.execute(f"SET TimeZone = {quote_literal(timezone)}".encode())
        self.con.execute(f"SET search_path = {quote_ident(self.schema)}")
        if not read_only:
            self.ensure_schema()

    def ensure_schema(self) -> None:
        """Create the schema, the canonical tables and the bookkeeping if missing."""
        with self._lock, self.con.transaction():
            self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(self.schema)}")
            for table in TABLES.values():
                self.con.execute(create_sql(table, self.schema).encode())
            self.con.execute(
                f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key TEXT PRIMARY KEY, value TEXT)"
            )
            self.con.execute(
                f"INSERT INTO {META_TABLE} VALUES ('data_version', '0') ON CONFLICT DO NOTHING"
            )

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Any]]:
        with self._lock, self.con.transaction():
            yield self.con

    @property
    def data_version(self) -> int:
        with self._lock:
            row = self.con.execute(
                f"SELECT value FROM {META_TABLE} WHERE key = 'data_version'"
            ).fetchone()
        return int(row[0]) if row else 0

    def bump_data_version(self) -> int:
        """Increase the data version (inside the caller's transaction); caches key on it."""
        with self._lock:
            row = self.con.execute(
                f"UPDATE {META_TABLE} SET value = (value::BIGINT + 1)::TEXT "
                "WHERE key = 'data_version' RETURNING value"
            ).fetchone()
        assert row is not None
        return int(row[0])

    def identity(self) -> tuple[object, ...] | None:
        """Which data this is: the server, database and schema, and the data version."""
        return (_safe(self.url), self.schema, self.data_version)

    def arrow(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        """Run a read query and return a pyarrow Table."""
        with self._lock, self.con.cursor() as cur:
            cur.execute(sql.encode(), params or None)
            names = [d.name for d in cur.description or ()]
            oids = [d.type_code for d in cur.description or ()]
            rows = cur.fetchall()
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
        return pa.table(
            {n: _array(list(v), oid) for n, v, oid in zip(names, columns, oids, strict=True)}
        )

    def load(self, name: str, table: pa.Table, *, overwrite: bool = False) -> None:
        """``COPY`` an Arrow table's rows into the canonical table ``name`` (one transaction)."""
        target = f"{quote_ident(self.schema)}.{quote_ident(name)}"
        with self._lock, self.con.transaction():
            if overwrite:
                self.con.execute(f"TRUNCATE {target}".encode())
            copy_rows(self.con, target, table)

    def loaded_elsewhere(self) -> bool:
        """Whether the schema holds canonical rows that revteam's loads did not write.

        Loads replace the tables they change with the staging file's, so they must not
        start on such a schema: its rows would be lost.
        """
        if self.sourced:
            return True
        with self._lock:
            ours = self.con.execute(
                f"SELECT 1 FROM {META_TABLE} WHERE key LIKE 'print:%' LIMIT 1"
            ).fetchone()
            if ours is not None:
                return False
            return any(
                self.con.execute(
                    f"SELECT 1 FROM {quote_ident(self.schema)}.{quote_ident(t)} LIMIT 1".encode()
                ).fetchone()
                for t in TABLES
            )

    @property
    def sourced(self) -> bool:
        """Whether the canonical tables are views from ``sources.yaml`` (not loaded)."""
        with self._lock:
            row = self.con.execute(f"SELECT 1 FROM {META_TABLE} WHERE key = 'sources'").fetchone()
        return row is not None

    def write_through(self, staging: duckdb.DuckDBPyConnection, data_version: int) -> list[str]:
        """:meth:`sync_from` for a load's transaction: a failure says nothing changed anywhere."""
        import psycopg

        try:
            return self.sync_from(staging, data_version)
        except psycopg.Error as exc:
            cause = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise IngestError(
                f"Writing the load to the Postgres warehouse {_safe(self.url)} failed and was "
                f"rolled back there and in the staging file: nothing changed. Cause: {cause}"
            ) from exc

    def sync_from(self, staging: duckdb.DuckDBPyConnection, data_version: int) -> list[str]:
        """Make the canonical tables equal to the staging DuckDB's, in one transaction.

        Each table's fingerprint (row count and the XOR of its rows' hashes) is kept beside
        the data; a table whose fingerprint moved is replaced whole, by ``COPY`` (CSV streamed
        from DuckDB, every value quoted so that an empty text stays empty and NULL stays NULL).
        Any failure rolls the whole transaction back: Postgres then holds what it held. Returns
        the tables copied.
        """
        prints = fingerprints(staging)
        changed: list[str] = []
        with self._lock, self.con.transaction(), tempfile.TemporaryDirectory() as tmp:
            kept = dict(
                self.con.execute(f"SELECT key, value FROM {META_TABLE} WHERE key LIKE 'print:%'")
            )
            for name, mark in prints.items():
                if kept.get(f"print:{name}") == mark:
                    continue
                target = f"{quote_ident(self.schema)}.{quote_ident(name)}"
                columns = ", ".join(
                    quote_ident(c) for c in (*TABLES[name].column_names, *_META_NAMES)
                )
                self.con.execute(f"TRUNCATE {target}".encode())
                copy_csv(
                    self.con,
                    target,
                    columns,
                    staging,
                    f"SELECT {columns} FROM {quote_ident(name)}",
                    Path(tmp) / f"{name}.csv",
                )
                self.con.execute(
                    f"INSERT INTO {META_TABLE} VALUES (%s, %s) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (f"print:{name}", mark),
                )
                changed.append(name)
            self.con.execute(
                f"UPDATE {META_TABLE} SET value = %s WHERE key = 'data_version'",
                (str(data_version),),
            )
        return changed

    def provide(self, name: str, table: pa.Table) -> None:
        """Make an Arrow table readable by queries under ``name`` (a temporary table)."""
        cols = ", ".join(f"{quote_ident(f.name)} {_pg_type(f.type)}" for f in table.schema)
        with self._lock:
            self.con.execute(f"DROP TABLE IF EXISTS pg_temp.{quote_ident(name)}")
            self.con.execute(f"CREATE TEMP TABLE {quote_ident(name)} ({cols})")
            copy_rows(self.con, f"pg_temp.{quote_ident(name)}", table)

    def withdraw(self, name: str) -> None:
        """Forget a table given to :meth:`provide`."""
        with self._lock:
            self.con.execute(f"DROP TABLE IF EXISTS pg_temp.{quote_ident(name)}")

    def interrupt(self) -> None:
        """Cancel the query running now (from another thread)."""
        self.con.cancel_safe()

    def close(self) -> None:
        self.con.close()


def fingerprints(staging: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Per canonical table of a DuckDB file: its row count and the XOR of its rows' hashes.

    Equal fingerprints, equal tables (up to a 64-bit hash collision): what a load changed is
    what a copy elsewhere must take.
    """
    out = {}
    for t in TABLES:
        row = staging.execute(
            f"SELECT count(*), coalesce(bit_xor(hash(x)), 0) FROM {quote_ident(t)} x"
        ).fetchone()
        assert row is not None
        out[t] = f"{row[0]}:{row[1]}"
    return out


def copy_rows(con: psycopg.Connection[Any], target: str, table: pa.Table) -> None:
    """``COPY`` an Arrow table into ``target`` (its columns by name), as :func:`copy_csv`."""
    import duckdb

    names = ", ".join(quote_ident(n) for n in table.column_names)
    with duckdb.connect() as local, tempfile.TemporaryDirectory() as tmp:
        local.register("_rows", table)
        copy_csv(con, target, names, local, f"SELECT {names} FROM _rows", Path(tmp) / "rows.csv")


def copy_csv(
    con: psycopg.Connection[Any],
    target: str,
    columns: str,
    source: duckdb.DuckDBPyConnection,
    select: str,
    path: Path,
) -> None:
    """``COPY`` the rows of DuckDB's ``select`` into ``target`` (``columns``), in bulk.

    DuckDB writes them as CSV with every value quoted (an empty text stays empty, NULL stays
    NULL: unquoted empty fields are NULL to Postgres), streamed to ``COPY … FROM STDIN``.
    """
    source.execute(f"COPY ({select}) TO '{path}' (HEADER false, FORCE_QUOTE *)")
    try:
        with (
            con.cursor() as cur,
            cur.copy(f"COPY {target} ({columns}) FROM STDIN (FORMAT csv)".encode()) as cp,
            path.open("rb") as f,
        ):
            while chunk := f.read(1 << 22):
                cp.write(chunk)
    finally:
        path.unlink(missing_ok=True)


def _pg_type(t: pa.DataType) -> str:
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_integer(t):
        return "BIGINT"
    if pa.types.is_floating(t):
        return "DOUBLE PRECISION"
    if pa.types.is_decimal(t):
        return "NUMERIC"
    if pa.types.is_date(t):
        return "DATE"
    if pa.types.is_timestamp(t):
        return "TIMESTAMP" if t.tz is None else "TIMESTAMPTZ"
    return "TEXT"


def _array(values: list[Any], oid: int) -> pa.Array:
    known = _ARROW_OF_OID.get(oid)
    if known is not None:
        if pa.types.is_timestamp(known) and known.tz is not None:
            values = [v if v is None else v.astimezone(dt.UTC) for v in values]
        return pa.array(values, known)
    return pa.array(values)  # numeric (decimals keep their scale) and anything else: inferred


def _safe(url: str) -> str:
    """The URL without its password, to show in messages."""
    parts = urlsplit(url)
    if parts.password:
        host = parts.netloc.rsplit("@", 1)[-1]
        user = parts.username or ""
        return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
    return url
