"""A Spark warehouse: the canonical tables in a Spark catalog database, KPIs computed by Spark SQL.

``warehouse = "spark"`` in ``revteam.toml``: a session from ``[spark]`` (``master`` local or a
cluster's URL, ``conf``), the tables in ``[spark] database``. The metric layer compiles its ibis
expressions for Spark SQL and this runs them, returning Arrow. The session's time zone is UTC, so
timestamps mean what they mean on DuckDB and Postgres (naive UTC). Needs the ``spark`` extra.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from revteam.exceptions import ConfigError, IngestError
from revteam.model import METADATA_COLUMNS, TABLES, Table
from revteam.storage.postgres import fingerprints

if TYPE_CHECKING:
    import duckdb

META_TABLE = "_revteam_meta"
SPARK_TYPES: dict[str, str] = {
    "string": "STRING",
    "integer": "BIGINT",
    "float": "DOUBLE",
    "money": "DECIMAL(18,2)",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}
"""Spark type of each canonical column type (timestamps read in the session's UTC)."""
_META_NAMES = tuple(n for n, _ in METADATA_COLUMNS)


@contextmanager
def quiet() -> Iterator[None]:
    """Ignore pyspark's ResourceWarning: it leaves each fetched result's socket to the GC."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        yield


def spark_session(master: str, conf: Mapping[str, str] | None = None) -> Any:
    """Start (or join) the Spark session a warehouse runs on, in UTC.

    In local mode Spark binds to 127.0.0.1 and has no web UI; ``conf`` is applied when the
    session starts (a running session keeps its settings, but its time zone is set to UTC).
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError(
            "A spark warehouse needs pyspark: pip install 'revteam[spark]' (and Java 17)."
        ) from None
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    options = {
        # splink's string similarities, so identity resolution can share the session
        **({"spark.jars": jar} if (jar := _similarity_jar()) else {}),
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.shuffle.partitions": str(2 * (os.cpu_count() or 1)),
        **(conf or {}),
    }
    builder = SparkSession.builder.master(master).appName("revteam")
    for key, value in options.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # no Java, wrong Java, unreachable master
        raise ConfigError(
            f"Spark did not start on {master!r}: {str(exc).splitlines()[0]}. Check that Java "
            "17 is installed (JAVA_HOME or java on PATH) and the master URL is reachable."
        ) from exc
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _similarity_jar() -> str | None:
    """Splink's jar of string similarities, when splink is installed (it is a dependency)."""
    try:
        from splink.backends.spark import similarity_jar_location
    except ImportError:  # pragma: no cover - splink is a dependency of revteam
        return None
    return str(similarity_jar_location())


def create_sql(table: Table, database: str, location: str | None) -> str:
    """``CREATE TABLE IF NOT EXISTS`` of a canonical table (with lineage columns), as Parquet.

    With ``location`` the table's files are there (an external table: a session without a
    metastore finds the data again by registering the same location).
    """
    cols = [f"`{c.name}` {SPARK_TYPES[c.type]}" for c in table.columns]
    cols += [f"`{n}` {'TIMESTAMP' if t == 'TIMESTAMP' else 'STRING'}" for n, t in METADATA_COLUMNS]
    where = f" LOCATION '{location.rstrip('/')}/{table.name}'" if location else ""
    return (
        f"CREATE TABLE IF NOT EXISTS `{database}`.`{table.name}` ({', '.join(cols)}) "
        f"USING parquet{where}"
    )


class SparkWarehouse:
    """The canonical tables in a Spark database, read by the metric layer's Spark SQL."""

    dialect = "pyspark"

    def __init__(
        self,
        spark: Any,
        *,
        database: str = "revteam",
        location: str | None = None,
        read_only: bool = False,
    ) -> None:
        """The tables of ``database``; with ``location``, kept as Parquet folders under it.

        Read-only, a database the session's catalog lacks is refused unless ``location``
        holds the tables (registered again: a local session has no lasting metastore).
        """
        import ibis
        from ibis.backends.pyspark import Backend

        if ibis.options.pyspark is None:  # the compiler reads them; loading a backend sets them
            Backend.register_options()
        self.spark, self.database, self.read_only = spark, database, read_only
        self.location = location
        if not read_only or location is not None:
            self.ensure_schema()
        elif not spark.catalog.databaseExists(database):
            raise ConfigError(
                f"Spark has no database {database!r}: load data first (revteam ingest), or "
                "name the database that holds the tables in [spark] database."
            )
        spark.catalog.setCurrentDatabase(database)

    def ensure_schema(self) -> None:
        """Create the database, the canonical tables and the bookkeeping if missing."""
        db = self.database
        self.spark.sql(f"CREATE DATABASE IF NOT EXISTS `{db}`")
        for table in TABLES.values():
            self.spark.sql(create_sql(table, db, self.location))
        where = f" LOCATION '{self.location.rstrip('/')}/{META_TABLE}'" if self.location else ""
        self.spark.sql(
            f"CREATE TABLE IF NOT EXISTS `{db}`.{META_TABLE} (key STRING, value STRING) "
            f"USING parquet{where}"
        )
        with quiet():
            if not self.spark.sql(f"SELECT 1 FROM `{db}`.{META_TABLE} LIMIT 1").collect():
                self.spark.sql(f"INSERT INTO `{db}`.{META_TABLE} VALUES ('data_version', '0')")

    @property
    def data_version(self) -> int:
        with quiet():
            rows = self.spark.sql(
                f"SELECT value FROM `{self.database}`.{META_TABLE} WHERE key = 'data_version'"
            ).collect()
        return int(rows[0][0]) if rows else 0

    def bump_data_version(self) -> int:
        """Increase the data version (a rewrite of the one-row table); caches key on it."""
        version = self.data_version + 1
        self.spark.sql(
            f"INSERT OVERWRITE `{self.database}`.{META_TABLE} VALUES ('data_version', '{version}')"
        )
        return version

    def identity(self) -> tuple[object, ...] | None:
        return (self.spark.sparkContext.master, self.database, self.data_version)

    def arrow(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        """Run a read query and return a pyarrow Table (timestamps naive, in UTC)."""
        if params:
            raise ConfigError("Spark SQL here takes no parameters; inline literals instead.")
        with quiet():
            table: pa.Table = self.spark.sql(sql).toArrow()
        return _naive(table)

    def load(self, name: str, table: pa.Table, *, overwrite: bool = False) -> None:
        """Append (or overwrite with) an Arrow table's rows into the canonical table ``name``."""
        target = f"`{self.database}`.`{name}`"
        with quiet():
            frame = self.spark.createDataFrame(table.combine_chunks())
            columns = [f.name for f in self.spark.table(target).schema.fields]
            frame.select(*columns).write.insertInto(target, overwrite=overwrite)

    def loaded_elsewhere(self) -> bool:
        """Whether the database holds canonical rows that revteam's loads did not write."""
        with quiet():
            ours = self.spark.sql(
                f"SELECT 1 FROM `{self.database}`.{META_TABLE} WHERE key LIKE 'print:%' LIMIT 1"
            ).collect()
            if ours:
                return False
            return any(
                self.spark.sql(f"SELECT 1 FROM `{self.database}`.`{t}` LIMIT 1").collect()
                for t in TABLES
            )

    def write_through(self, staging: duckdb.DuckDBPyConnection, data_version: int) -> list[str]:
        """:meth:`sync_from` for a load's transaction: a failure says what was not written."""
        try:
            return self.sync_from(staging, data_version)
        except Exception as exc:
            if not type(exc).__module__.startswith(("py4j", "pyspark")):
                raise
            cause = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise IngestError(
                f"Writing the load to the Spark warehouse failed; the staging file was rolled "
                f"back and the load is not committed. Cause: {cause}"
            ) from exc

    def sync_from(self, staging: duckdb.DuckDBPyConnection, data_version: int) -> list[str]:
        """Make the canonical tables equal to the staging DuckDB's (tables that changed).

        As on Postgres, a fingerprint per table decides which changed; each is overwritten
        from a Parquet copy of the staging table. Spark has no transaction across tables: the
        data version is written last, so a reader never sees a new version over old tables,
        and a workspace opened for writing writes across any table an interruption left.
        """
        prints = fingerprints(staging)
        with quiet():
            kept = {
                r[0]: r[1]
                for r in self.spark.sql(
                    f"SELECT key, value FROM `{self.database}`.{META_TABLE}"
                ).collect()
            }
        changed = [t for t, mark in prints.items() if kept.get(f"print:{t}") != mark]
        with tempfile.TemporaryDirectory() as tmp:
            for name in changed:
                columns = ", ".join(f'"{c}"' for c in (*TABLES[name].column_names, *_META_NAMES))
                folder = Path(tmp) / name
                staging.execute(
                    f"COPY (SELECT {columns} FROM \"{name}\") TO '{folder}.parquet' "
                    "(FORMAT parquet)"
                )
                with quiet():
                    frame = self.spark.read.parquet(f"{folder}.parquet")
                    target = f"`{self.database}`.`{name}`"
                    frame.write.insertInto(target, overwrite=True)
                kept[f"print:{name}"] = prints[name]
            kept["data_version"] = str(data_version)
            rows = ", ".join(f"('{k}', '{v}')" for k, v in sorted(kept.items()))
            with quiet():
                self.spark.sql(f"INSERT OVERWRITE `{self.database}`.{META_TABLE} VALUES {rows}")
        return changed

    def provide(self, name: str, table: pa.Table) -> None:
        """Make an Arrow table readable by queries under ``name`` (a temporary view)."""
        with quiet():
            self.spark.createDataFrame(table.combine_chunks()).createOrReplaceTempView(name)

    def withdraw(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)

    def interrupt(self) -> None:
        """Cancel the session's running jobs (from another thread)."""
        self.spark.sparkContext.cancelAllJobs()

    def close(self) -> None:
        """The session is shared in the process (and may be the caller's): it stays up."""


def _naive(table: pa.Table) -> pa.Table:
    """Spark hands timestamps back in UTC with a zone: the warehouse's are naive UTC."""
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type) and field.type.tz is not None:
            naive = table.column(i).cast(pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us"))
            table = table.set_column(i, field.name, naive)
    return table
