"""The application database: users, sessions, API tokens, the audit log (later goals, alerts).

Only this package opens database connections. The application database is small and
transactional: a SQLite file in the workspace by default (``sqlite:///revteam.db``), PostgreSQL
(``postgresql+psycopg://…``) for multi-user deployments. Its schema is owned by the Alembic
migrations of :mod:`revteam.app`; this module only knows how to connect well.

SQLite is tuned for a web server with many threads and a few processes: WAL journal (readers
never block the writer), a busy timeout instead of immediate "database is locked" errors, foreign
keys on, and ``BEGIN IMMEDIATE`` for write transactions so that two writers queue instead of
failing when one upgrades a read lock.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from revteam.exceptions import AppDatabaseError, ConfigError

SQLITE_BUSY_MS = 10_000
"""How long a SQLite writer waits for another one before giving up."""


def resolve_app_url(url: str, root: Path | None) -> URL:
    """Parse an SQLAlchemy URL; a relative SQLite path is made relative to the workspace."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"app_database {url!r} is not an SQLAlchemy URL; use e.g. 'sqlite:///revteam.db' "
            "or 'postgresql+psycopg://user:password@host/dbname'."
        ) from None
    db = parsed.database
    if parsed.get_backend_name() == "sqlite" and db and db != ":memory:":
        path = Path(db).expanduser()
        if not path.is_absolute() and root is not None:
            parsed = parsed.set(database=str(root / path))
    return parsed


class AppDatabase:
    """An engine and session factory for the application database.

    Parameters
    ----------
    url
        SQLAlchemy URL (string or parsed); relative SQLite paths resolve against ``root``.
    root
        The workspace folder.
    """

    def __init__(self, url: str | URL, *, root: Path | None = None) -> None:
        self.url = url if isinstance(url, URL) else resolve_app_url(url, root)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.engine = self._create_engine()
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._writes = sessionmaker(
            self.engine.execution_options(sqlite_immediate=True), expire_on_commit=False
        )

    @property
    def display_url(self) -> str:
        """The URL with any password hidden, for messages and logs."""
        return self.url.render_as_string(hide_password=True)

    def _create_engine(self) -> Engine:
        if not self.is_sqlite:
            return create_engine(self.url, pool_pre_ping=True)
        memory = self.url.database in {None, "", ":memory:"}
        if not memory:
            path = Path(str(self.url.database))
            try:
                _create_private_file(path)
            except OSError as exc:
                raise AppDatabaseError(
                    self.display_url,
                    f"cannot create {path}: {exc.strerror or exc}",
                    "Point app_database (REVTEAM_APP_DATABASE) at a writable folder.",
                ) from exc
        options: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
        if memory:
            options["poolclass"] = StaticPool  # one shared connection, or every one is empty
        engine = create_engine(self.url, **options)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back if it raises.

        ``write=True`` takes the write lock up front (SQLite), for blocks that write.
        """
        factory = self._writes if write else self._sessions
        try:
            with factory.begin() as session:
                yield session
        except OperationalError as exc:
            raise self._error(exc) from exc

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection in a write transaction (for migrations)."""
        try:
            with self.engine.execution_options(sqlite_immediate=True).begin() as con:
                yield con
        except OperationalError as exc:
            raise self._error(exc) from exc

    def _error(self, exc: OperationalError) -> AppDatabaseError:
        return AppDatabaseError(
            self.display_url,
            str(exc.orig).splitlines()[0] if exc.orig else str(exc),
            "Check the app_database setting (REVTEAM_APP_DATABASE) and that the database "
            "is reachable, then run `revteam db upgrade`.",
        )

    def dispose(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"<AppDatabase {self.display_url}>"


def _create_private_file(path: Path) -> None:
    """Create the SQLite file readable by its owner only: it holds password hashes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def _sqlite_connect(dbapi_con: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN, so writes can ask for BEGIN IMMEDIATE.
    dbapi_con.isolation_level = None
    cur = dbapi_con.cursor()
    for pragma in (
        "journal_mode = WAL",
        "foreign_keys = ON",
        f"busy_timeout = {SQLITE_BUSY_MS}",
        "synchronous = NORMAL",
    ):
        cur.execute(f"PRAGMA {pragma}")
    cur.close()


def _sqlite_begin(con: Connection) -> None:
    immediate = con.get_execution_options().get("sqlite_immediate", False)
    con.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
