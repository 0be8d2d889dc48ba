"""The analytics warehouse: canonical tables, ingest bookkeeping and the data version.

Only this package opens database connections. The default warehouse is a DuckDB file in the
workspace; the metric layer talks to it through ibis (``Warehouse.ibis``) so that the same
definitions can later run on any ibis backend.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from revteam.exceptions import ConfigError
from revteam.model import TABLES
from revteam.storage.sql import quote_ident, quote_literal

if TYPE_CHECKING:
    import ibis.backends.duckdb

META_TABLE = "_revteam_meta"
RUNS_TABLE = "_ingest_runs"
QUARANTINE_TABLE = "quarantine"

_BOOKKEEPING_DDL = (
    f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key VARCHAR PRIMARY KEY, value VARCHAR)",
    f"""CREATE TABLE IF NOT EXISTS {RUNS_TABLE} (
        run_id VARCHAR PRIMARY KEY, table_name VARCHAR, source VARCHAR, file_hash VARCHAR,
        format VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP, seconds DOUBLE,
        rows_read BIGINT, rows_inserted BIGINT, rows_updated BIGINT, rows_unchanged BIGINT,
        rows_quarantined BIGINT, notes VARCHAR[], status VARCHAR, error VARCHAR,
        data_version BIGINT)""",
    f"""CREATE TABLE IF NOT EXISTS {QUARANTINE_TABLE} (
        run_id VARCHAR, table_name VARCHAR, source VARCHAR, file_hash VARCHAR, line BIGINT,
        record VARCHAR, reasons VARCHAR[], quarantined_at TIMESTAMP)""",
)


def parse_warehouse_url(url: str, root: Path) -> Path | None:
    """Return the DuckDB file a warehouse URL names (``None`` for an in-memory one).

    Accepts a bare path (relative to the workspace), ``duckdb:///path`` or ``duckdb://:memory:``.
    """
    if url in {":memory:", "duckdb://:memory:", "duckdb://"}:
        return None
    if "://" in url:
        scheme, _, rest = url.partition("://")
        if scheme != "duckdb":
            raise ConfigError(
                f"Warehouse URL {url!r}: only DuckDB warehouses can be written by this version "
                "(use a path such as 'warehouse.duckdb' or 'duckdb:///abs/path.duckdb')."
            )
        url = rest
    path = Path(url)
    return path if path.is_absolute() else root / path


@dataclass(frozen=True)
class TableInfo:
    name: str
    rows: int
    min_time: Any
    max_time: Any


class Warehouse:
    """A DuckDB warehouse with the canonical tables.

    One connection per workspace object; DuckDB lets one process write a file at a time.
    """

    def __init__(self, path: Path | None, *, timezone: str = "UTC", read_only: bool = False):
        self.path = path
        self.read_only = read_only
        target = str(path) if path is not None else ":memory:"
        try:
            self.con = duckdb.connect(target, read_only=read_only)
        except duckdb.IOException as exc:
            raise ConfigError(
                f"Cannot open the warehouse {target}: {exc}. If another revteam process is "
                "loading data, wait for it to finish."
            ) from exc
        self.con.execute(f"SET TimeZone = {quote_literal(timezone)}")
        self._lock = threading.RLock()
        self._ibis: ibis.backends.duckdb.Backend | None = None
        if not read_only:
            self.ensure_schema()

    def ensure_schema(self) -> None:
        """Create every canonical and bookkeeping table that does not exist yet."""
        with self.transaction():
            for ddl in _BOOKKEEPING_DDL:
                self.con.execute(ddl)
            for t in TABLES.values():
                self.con.execute(t.create_sql())
            self.con.execute(
                f"INSERT INTO {META_TABLE} VALUES ('data_version', '0') ON CONFLICT DO NOTHING"
            )

    @contextmanager
    def exclusive(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Keep the connection to this thread for a block: other threads' statements wait.

        For work that spans several statements and transactions on one connection, such as a
        load's temporary views that a later transaction reads. Re-entrant: :meth:`transaction`
        may be used inside.
        """
        with self._lock:
            yield self.con

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Run a block in one transaction: all of it is committed, or none of it."""
        with self.exclusive() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    @property
    def data_version(self) -> int:
        row = self.con.execute(
            f"SELECT value FROM {META_TABLE} WHERE key = 'data_version'"
        ).fetchall()[0]
        return int(row[0]) if row else 0

    def bump_data_version(self, con: duckdb.DuckDBPyConnection) -> int:
        """Increase the data version inside the caller's transaction; caches key on it."""
        row = con.execute(
            f"UPDATE {META_TABLE} SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) "
            "WHERE key = 'data_version' RETURNING value"
        ).fetchall()[0]
        assert row is not None
        return int(row[0])

    def table_info(self) -> list[TableInfo]:
        """Row count and time range of every canonical table."""
        out = []
        for t in TABLES.values():
            tc = t.time_column
            agg = f"min({quote_ident(tc)}), max({quote_ident(tc)})" if tc else "NULL, NULL"
            sql = f"SELECT count(*), {agg} FROM {quote_ident(t.name)}"
            row = self.con.execute(sql).fetchall()[0]
            assert row is not None
            out.append(TableInfo(t.name, int(row[0]), row[1], row[2]))
        return out

    def arrow(self, sql: str, params: list[Any] | None = None) -> Any:
        """Run a read query and return a pyarrow Table."""
        with self._lock:
            return self.con.sql(sql, params=params or None).to_arrow_table()

    @property
    def ibis(self) -> ibis.backends.duckdb.Backend:
        """An ibis backend on the same connection (created on first use)."""
        if self._ibis is None:
            import ibis

            self._ibis = ibis.duckdb.from_connection(self.con)
        return self._ibis

    def close(self) -> None:
        self.con.close()
