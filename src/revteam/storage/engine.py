"""Which engine holds the warehouse, and what the metric layer asks of any of them.

``warehouse`` in ``revteam.toml`` (or ``REVTEAM_WAREHOUSE``) names it: a DuckDB file (the
default, ``warehouse.duckdb``; ``duckdb:///path``), a PostgreSQL database
(``postgresql://user@host/db?schema=…``) or ``spark`` (a session from ``[spark]``). The metric
layer compiles its ibis expressions for the engine's :attr:`QueryEngine.dialect` and reads
Arrow back, so the same catalogue gives the same numbers on each (see docs/warehouses.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from revteam.exceptions import ConfigError

if TYPE_CHECKING:
    import pyarrow as pa

    from revteam.settings import Settings

EngineKind = Literal["duckdb", "postgres", "spark", "ibis"]
IBIS_SCHEMES = ("snowflake", "bigquery")
"""Warehouses reached through their ibis backend by their own URL scheme; any other ibis
backend is named ``ibis+<backend>://…`` (``ibis+trino://…``)."""


class QueryEngine(Protocol):
    """What the metric layer (and every reader through it) needs of a warehouse."""

    dialect: str
    """The SQL dialect the metric layer compiles for (ibis's compiler name)."""
    read_only: bool

    @property
    def data_version(self) -> int:
        """Changes whenever the data does: caches key on it."""
        ...

    def identity(self) -> tuple[object, ...] | None:
        """Which data this is, for caches shared by several opens in one process."""
        ...

    def arrow(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        """Run a read query of the engine's dialect; its result as Arrow."""
        ...

    def provide(self, name: str, table: pa.Table) -> None:
        """Make an Arrow table readable by later queries under ``name`` (this connection)."""
        ...

    def withdraw(self, name: str) -> None:
        """Forget a table given to :meth:`provide`."""
        ...

    def interrupt(self) -> None:
        """Stop the query running now, from another thread (the web app's time limit)."""
        ...

    def close(self) -> None: ...


def engine_kind(url: str) -> EngineKind:
    """The engine a warehouse setting names; unknown schemes are refused with the choices."""
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if url.strip().lower() == "spark" or scheme == "spark":
        return "spark"
    if scheme in {"postgresql", "postgres"} or scheme.startswith("postgresql+"):
        return "postgres"
    if scheme in {"", "duckdb"} or url in {":memory:"}:
        return "duckdb"
    if scheme in {"ibis+duckdb", "ibis+postgres", "ibis+postgresql", "ibis+pyspark"}:
        raise ConfigError(
            f"Warehouse {url!r}: revteam has its own engine for {scheme[5:]}; name it "
            "'duckdb:///path', 'postgresql://…' or 'spark' (loads work there too)."
        )
    if scheme in IBIS_SCHEMES or (scheme.startswith("ibis+") and len(scheme) > 5):
        return "ibis"
    raise ConfigError(
        f"Warehouse {url!r}: unknown engine {scheme!r}. Use a DuckDB file ('warehouse.duckdb' "
        "or 'duckdb:///abs/path.duckdb'), 'postgresql://user@host/db', 'spark', "
        "'snowflake://…', 'bigquery://…' or 'ibis+<backend>://…' (docs/warehouses.md)."
    )


def open_engine(settings: Settings, root: Path, *, read_only: bool = False) -> QueryEngine:
    """The Postgres or Spark warehouse ``settings.warehouse`` names (DuckDB opens elsewhere)."""
    kind = engine_kind(settings.warehouse)
    if kind == "postgres":
        from revteam.storage.postgres import PostgresWarehouse

        url = settings.warehouse.replace("postgres://", "postgresql://", 1)
        return PostgresWarehouse(url, timezone=settings.timezone, read_only=read_only)
    if kind == "spark":
        from revteam.storage.spark import SparkWarehouse, spark_session

        cfg = settings.spark
        master = (
            settings.warehouse if settings.warehouse.lower().startswith("spark://") else cfg.master
        )
        location = None
        if cfg.location:
            folder = Path(cfg.location)
            location = str(folder if folder.is_absolute() else root / folder)
        return SparkWarehouse(
            spark_session(master, cfg.conf),
            database=cfg.database,
            location=location,
            read_only=read_only,
        )
    if kind == "ibis":
        from revteam.storage.ibis_engine import IbisWarehouse

        return IbisWarehouse(settings.warehouse, timezone=settings.timezone, read_only=read_only)
    raise ValueError(f"{settings.warehouse!r} is a DuckDB warehouse: open it as Warehouse")
