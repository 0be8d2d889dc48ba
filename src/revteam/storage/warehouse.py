"""The analytics warehouse: canonical tables, ingest bookkeeping and the data version.

Only this package opens database connections. The default warehouse is a DuckDB file in the
workspace; the metric layer talks to it through ibis (``Warehouse.ibis``) so that the same
definitions can later run on any ibis backend.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from revteam.exceptions import ConfigError, UnreadableWarehouseError, WarehouseBusyError
from revteam.model import METADATA_COLUMNS, TABLES, Table
from revteam.storage.announce import POLL_SECONDS, Announcement, WaitNotice, current_load
from revteam.storage.sql import quote_ident, quote_literal

if TYPE_CHECKING:
    import ibis.backends.duckdb

META_TABLE = "_revteam_meta"
RUNS_TABLE = "_ingest_runs"
QUARANTINE_TABLE = "quarantine"
STAGE_HISTORY_TABLE = "stage_history"

_BOOKKEEPING_DDL = (
    f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key VARCHAR PRIMARY KEY, value VARCHAR)",
    f"""CREATE TABLE IF NOT EXISTS {RUNS_TABLE} (
        run_id VARCHAR PRIMARY KEY, table_name VARCHAR, source VARCHAR, file_hash VARCHAR,
        format VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP, seconds DOUBLE,
        rows_read BIGINT, rows_inserted BIGINT, rows_updated BIGINT, rows_unchanged BIGINT,
        rows_quarantined BIGINT, notes VARCHAR[], status VARCHAR, error VARCHAR,
        data_version BIGINT)""",
)

_SYSTEM_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    QUARANTINE_TABLE: (
        ("run_id", "VARCHAR"),
        ("table_name", "VARCHAR"),
        ("source", "VARCHAR"),
        ("file_hash", "VARCHAR"),
        ("line", "BIGINT"),
        ("record", "VARCHAR"),
        ("reasons", "VARCHAR[]"),
        ("quarantined_at", "TIMESTAMP"),
        # Added later: a warehouse written before gets them when it is next opened for writing.
        ("key", "VARCHAR"),
        ("resolved_at", "TIMESTAMP"),
        ("resolved_by_run", "VARCHAR"),
    ),
    STAGE_HISTORY_TABLE: (
        ("table_name", "VARCHAR"),
        ("key", "VARCHAR"),
        ("column_name", "VARCHAR"),
        ("old_value", "VARCHAR"),
        ("new_value", "VARCHAR"),
        ("run_id", "VARCHAR"),
        ("changed_at", "TIMESTAMP"),
    ),
}
"""System tables that grow columns between versions, with every column this version writes.

``key`` is the row's key as JSON text (:func:`key_json`): the quarantine's as validation read
it, so that an entry is resolved once its key loads; the history's, the row whose stage moved.
"""


def key_json(table: Table, value: Callable[[str], str]) -> str:
    """SQL giving a row's key as JSON text, ``{"person_id":"P1"}``; NULL when a key is missing.

    ``value`` gives the SQL of each key column's typed value. One text form for every table
    lets the system tables hold keys of any shape in one column.
    """
    pairs = ", ".join(f"{quote_literal(k)}: {value(k)}" for k in table.key)
    needed = [value(k) for k in table.key if k not in table.nullable_key]
    when = " AND ".join(f"{v} IS NOT NULL" for v in needed) or "TRUE"
    return f"CASE WHEN {when} THEN CAST(to_json({{{pairs}}}) AS VARCHAR) END"


def key_from_json(table: Table, column: str, *, text: str) -> str:
    """SQL reading a key column's typed value back from JSON text (a key, a record), or NULL."""
    path = quote_literal(f'$."{column}"')
    return f"TRY_CAST(json_extract_string({text}, {path}) AS {table.column(column).sql_type})"


_RESTORE = (
    "Restore it from a backup; or move it aside (rename it) and load your files again with "
    "`revteam ingest`, which starts an empty warehouse in its place"
)
_UNREADABLE = (
    # (DuckDB's words, what they mean, the fix); the first match wins.
    (
        "created with a newer version of DuckDB",
        "it was written by a newer version of DuckDB than this revteam uses",
        "Upgrade revteam (`pip install --upgrade revteam`) to read it, or restore a copy "
        "written by this version",
    ),
    (
        "can only read storage version",
        "it was written by a version of DuckDB too old for this revteam to read",
        _RESTORE,
    ),
    (
        "not a valid DuckDB database file",
        "it is not a DuckDB database at all (another kind of file, or its start was overwritten)",
        _RESTORE,
    ),
    (
        "Corrupt database file",
        "it is damaged: part of it no longer holds what was written there (a failing disk, an "
        "interrupted copy, or another program wrote into it)",
        _RESTORE,
    ),
    (
        "Could not read enough bytes from file",
        "it is incomplete: it ends before the data it lists (a copy or download cut short, or "
        "a full disk)",
        _RESTORE,
    ),
)
"""What DuckDB says of a file it cannot read. Our message does not quote DuckDB's: the web face
takes a ``ConfigError`` that mentions a lock for a busy warehouse, and DuckDB's "block" does."""


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


def _owner_only(path: Path) -> None:
    """Make a new warehouse file (and its write-ahead log) readable by its owner only.

    DuckDB creates files with the process's umask (usually world-readable) and refuses an
    empty file made beforehand, so the mode is set right after it is created; the workspace
    folder, created owner-only, covers the moment between and the logs DuckDB makes later.
    """
    if os.name != "posix":
        return
    for f in (path, path.with_name(path.name + ".wal")):
        if f.exists():
            f.chmod(0o600)


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

    dialect = "duckdb"
    """The SQL the metric layer compiles for it (sqlglot's name)."""
    replica: Callable[[duckdb.DuckDBPyConnection, int], object] | None = None
    """Where a change is also written, inside each transaction that changes the data (a
    Postgres warehouse this file stages loads for: ``PostgresWarehouse.sync_from``)."""

    def __init__(
        self,
        path: Path | None,
        *,
        timezone: str = "UTC",
        read_only: bool = False,
        wait: float = 0.0,
        waiting: WaitNotice | None = None,
    ):
        """Open the warehouse file ``path`` (``None``: in memory).

        Opened for writing, the file is first announced (:mod:`~revteam.storage.announce`)
        so that readers which can step aside do, then the write lock is awaited for up to
        ``wait`` seconds, ``waiting`` being told once what holds it. Read-only, it does not
        wait: a writer can hold the file for minutes. Both raise :class:`WarehouseBusyError`
        naming the holder when the file stays locked.
        """
        self.path = path
        self.read_only = read_only
        if read_only and path is not None and not path.exists():
            raise ConfigError(
                f"There is no warehouse file {path} yet (or it was moved away). Load data with "
                "`revteam ingest TABLE FILE…`, which creates it."
            )
        created = path is not None and not read_only and not path.exists()
        deadline = time.monotonic() + (0.0 if read_only else wait)
        self.announcement: Announcement | None = None
        if path is not None and not read_only:
            self.announcement = Announcement.claim(path, deadline=deadline, waiting=waiting)
        try:
            self.con = self._connect(deadline, waiting)
            self._lock = threading.RLock()
            self._ibis: ibis.backends.duckdb.Backend | None = None
            try:
                with self.translated():
                    self.con.execute(f"SET TimeZone = {quote_literal(timezone)}")
                    if not read_only:
                        self.ensure_schema()
            except BaseException:
                self.con.close()
                raise
        except BaseException:
            if self.announcement is not None:
                self.announcement.withdraw()
            raise
        if created and path is not None:
            _owner_only(path)

    def _connect(self, deadline: float, waiting: WaitNotice | None) -> duckdb.DuckDBPyConnection:
        """A connection, trying again while another process holds the lock until ``deadline``."""
        target = str(self.path) if self.path is not None else ":memory:"
        started, told = time.monotonic(), False
        while True:
            try:
                return duckdb.connect(target, read_only=self.read_only)
            except duckdb.Error as exc:
                if "could not set lock" not in str(exc).lower():
                    raise self.unreadable(exc) or ConfigError(
                        f"Cannot open the warehouse {target}: {exc}."
                    ) from exc
                holder = self._holder(exc)
                if time.monotonic() >= deadline:
                    waited = None if self.read_only else time.monotonic() - started
                    raise WarehouseBusyError(self.path, holder=holder, waited=waited) from exc
            if waiting is not None and not told:
                waiting(holder, deadline - time.monotonic())
                told = True
            time.sleep(POLL_SECONDS)

    def _holder(self, exc: duckdb.Error) -> str:
        """What holds the file: a load's announcement, else the process DuckDB names."""
        load = current_load(self.path) if self.path is not None else None
        if load is not None and load.pid != os.getpid():
            return load.describe()
        found = re.search(r"held in (.*) \(PID (\d+)\)", str(exc))
        if found is None:
            return "another process"
        program, pid = found.groups()
        command = _command_line(int(pid)) or program
        web = "the web app, " if _WEB_APP.search(command) else ""
        return f"{web}process {pid} ({command})"

    def unreadable(self, exc: BaseException) -> UnreadableWarehouseError | None:
        """The error to raise instead of ``exc`` if it (or its cause) says the file is unreadable.

        ``None`` for any other error. DuckDB finds a damaged part of the file only when a
        statement reads it, so this is asked where errors leave: by the loader, by this class's
        own reads and by the CLI.
        """
        seen: set[int] = set()
        cause: BaseException | None = exc
        while cause is not None and id(cause) not in seen:
            if isinstance(cause, UnreadableWarehouseError):
                return None  # said already
            text = str(cause).lower() if isinstance(cause, duckdb.Error) else ""
            for words, problem, fix in _UNREADABLE:
                if words.lower() in text:
                    where = self.path if self.path is not None else ":memory:"
                    return UnreadableWarehouseError(where, problem, fix)
            seen.add(id(cause))
            cause = cause.__cause__ or cause.__context__
        return None

    @contextmanager
    def translated(self) -> Iterator[None]:
        """Raise :class:`UnreadableWarehouseError` for a block's error that means a bad file."""
        try:
            yield
        except duckdb.Error as exc:
            error = self.unreadable(exc)
            if error is None:
                raise
            raise error from exc

    def ensure_schema(self) -> None:
        """Create every canonical and bookkeeping table that does not exist yet."""
        with self.transaction():
            for ddl in _BOOKKEEPING_DDL:
                self.con.execute(ddl)
            self._migrate_system_tables()
            for t in TABLES.values():
                self.con.execute(t.create_sql())
                self._migrate_canonical_table(t)
            self.con.execute(
                f"INSERT INTO {META_TABLE} VALUES ('data_version', '0') ON CONFLICT DO NOTHING"
            )

    def _migrate_system_tables(self) -> None:
        """Create the system tables, or add the columns a warehouse written before lacks.

        Quarantine entries of such a warehouse get their key from the record, where the record
        names the key columns as the model does (a file loaded without a mapping).
        """
        for name, columns in _SYSTEM_COLUMNS.items():
            have = self._columns(name)
            if not have:
                cols = ", ".join(f"{quote_ident(c)} {t}" for c, t in columns)
                self.con.execute(f"CREATE TABLE {quote_ident(name)} ({cols})")
                continue
            for column, sql_type in columns:
                if column not in have:
                    self.con.execute(
                        f"ALTER TABLE {quote_ident(name)} ADD COLUMN {quote_ident(column)} "
                        f"{sql_type}"
                    )
            if name == QUARANTINE_TABLE and "key" not in have:
                for t in TABLES.values():
                    key = key_json(t, partial(key_from_json, t, text="record"))
                    self.con.execute(
                        f"UPDATE {QUARANTINE_TABLE} SET key = {key} "
                        "WHERE table_name = ? AND json_valid(record)",
                        [t.name],
                    )

    def _migrate_canonical_table(self, table: Table) -> None:
        """Give a canonical table written by an earlier version the columns the model added.

        The table is rebuilt in the model's column order (the new columns empty), so that it is
        laid out exactly as a table this version creates: loads write rows by position.
        """
        have = self._columns(table.name)
        if all(c in have for c in table.column_names):
            return
        name, scratch = quote_ident(table.name), quote_ident(f"_migrating_{table.name}")
        kept = ", ".join(
            quote_ident(c)
            for c in (*table.column_names, *(n for n, _ in METADATA_COLUMNS))
            if c in have
        )
        self.con.execute(f"DROP TABLE IF EXISTS {scratch}")
        self.con.execute(table.create_sql(f"_migrating_{table.name}"))
        self.con.execute(f"INSERT INTO {scratch} BY NAME SELECT {kept} FROM {name}")
        self.con.execute(f"DROP TABLE {name}")
        self.con.execute(f"ALTER TABLE {scratch} RENAME TO {name}")

    def _columns(self, name: str) -> set[str]:
        rows = self.con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ? "
            "AND database_name = current_database() AND schema_name = current_schema()",
            [name],
        ).fetchall()
        return {str(r[0]) for r in rows}

    def system_table(self, name: str) -> str:
        """SQL reading a system table with every column this version has.

        A warehouse written by an earlier version and opened read-only (the web app,
        ``revteam status``) cannot be migrated: the columns it lacks read as NULL, and a table
        it lacks reads as empty.
        """
        columns = _SYSTEM_COLUMNS[name]
        with self._lock:
            have = self._columns(name)
        if all(c in have for c, _ in columns):
            return quote_ident(name)
        cols = ", ".join(
            quote_ident(c) if c in have else f"CAST(NULL AS {t}) AS {quote_ident(c)}"
            for c, t in columns
        )
        return f"(SELECT {cols} FROM {quote_ident(name)})" if have else f"(SELECT {cols} LIMIT 0)"

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
        """Run a block in one transaction: all of it is committed, or none of it.

        With a :attr:`replica` (a Postgres warehouse this one stages for), a block that
        changed the data is written there too before this commits; if that fails, both are
        rolled back.
        """
        with self.exclusive() as con:
            con.execute("BEGIN TRANSACTION")
            before = self.data_version if self.replica is not None else None
            try:
                yield con
                if self.replica is not None and (after := self.data_version) != before:
                    self.replica(con, after)
            except BaseException:
                con.execute("ROLLBACK")
                raise
            try:
                con.execute("COMMIT")
            except BaseException:
                if self.replica is not None:  # the replica took what this lost: take it back
                    self.replica(con, self.data_version)
                raise

    @property
    def data_version(self) -> int:
        with self.translated():
            row = self.con.execute(
                f"SELECT value FROM {META_TABLE} WHERE key = 'data_version'"
            ).fetchall()[0]
        return int(row[0]) if row else 0

    def identity(self) -> tuple[object, ...] | None:
        """Which data this is, for caches shared by several opens of the file in one process.

        The file (path, inode, modification time and size, also of its write-ahead log) and
        the data version: a replaced or rewritten file only ever misses. ``None`` in memory.
        """
        if self.path is None:
            return None
        parts: list[object] = [str(self.path.resolve())]
        for file in (self.path, self.path.with_name(self.path.name + ".wal")):
            try:
                st = file.stat()
            except FileNotFoundError:
                parts.append(None)
            else:
                parts.append((st.st_ino, st.st_mtime_ns, st.st_size))
        return (*parts, self.data_version)

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
            with self.translated():
                row = self.con.execute(sql).fetchall()[0]
            assert row is not None
            out.append(TableInfo(t.name, int(row[0]), row[1], row[2]))
        return out

    def arrow(self, sql: str, params: list[Any] | None = None) -> Any:
        """Run a read query and return a pyarrow Table."""
        with self._lock, self.translated():
            return self.con.sql(sql, params=params or None).to_arrow_table()

    def interrupt(self) -> None:
        """Stop the query running now (from another thread); the connection stays usable."""
        self.con.interrupt()

    def provide(self, name: str, table: Any) -> None:
        """Make an Arrow table readable by queries under ``name``.

        A view of this connection, never written to the file: read-only warehouses take it too.
        """
        with self._lock, self.translated():
            self.con.register(name, table)

    def withdraw(self, name: str) -> None:
        """Forget a table given to :meth:`provide`."""
        with self._lock, self.translated():
            self.con.unregister(name)

    @property
    def ibis(self) -> ibis.backends.duckdb.Backend:
        """An ibis backend on the same connection (created on first use)."""
        if self._ibis is None:
            import ibis

            self._ibis = ibis.duckdb.from_connection(self.con)
        return self._ibis

    def announce(self, *, table: str, source: str) -> None:
        """Say, in this writer's announcement, which table and file it loads now."""
        if self.announcement is not None:
            self.announcement.update(table=table, source=source)

    def close(self) -> None:
        """Close the connection, then withdraw the announcement: readers may come back."""
        try:
            self.con.close()
        finally:
            if self.announcement is not None:
                self.announcement.withdraw()


_WEB_APP = re.compile(r"\buvicorn\b|revteam\.web|\brevteam\b.*\b(serve|demo)\b")
"""How a web app's command line reads (``revteam serve``, uvicorn with the app factory)."""


def _command_line(pid: int) -> str | None:
    """A process's command line where the system shows it (Linux), shortened; else ``None``."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    words = [
        Path(w).name if i == 0 else w
        for i, w in enumerate(raw.decode(errors="replace").split("\0"))
        if w
    ]
    text = " ".join(words)
    return text if len(text) <= 100 else text[:99] + "…"
