"""Identity resolution on Spark: the same splink model for more people than one machine links.

Install the extra (``pip install 'revteam[spark]'``: pyspark 4.0, which needs Java 17) and
either let revteam start a session (:func:`session`: local mode by default, or any master URL
with extra configuration), or hand ``resolve_records(..., spark=...)`` a session of your own
that has splink's similarity functions on its class path (``spark.jars`` =
:func:`similarity_jar`).

Spark evaluates lazily, and splink's clustering joins each round's result to the last: kept
in memory, the plans grow round by round until the driver runs out of heap. So every
intermediate table is written as Parquet under the session's checkpoint directory
(``sparkContext.setCheckpointDir``), which cuts the plan. A local session without one gets a
temporary directory, removed when Python exits; on a cluster, set one on shared storage.
"""

from __future__ import annotations

import atexit
import math
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from revteam.exceptions import ResolveError
from revteam.storage.spark import quiet

_LOG_CONFIG = Path(__file__).with_name("spark-log4j2.properties")
"""Quiet driver logging for local sessions: Spark's INFO lines would bury revteam's output."""

INSTALL = "Install the Spark extra: pip install 'revteam[spark]' (needs Java 17)."


def _pyspark() -> Any:
    try:
        import pyspark.sql
    except ImportError:
        raise ResolveError(
            "the Spark engine needs pyspark, which is not installed", INSTALL
        ) from None
    return pyspark.sql


def similarity_jar() -> str:
    """Path of splink's jar of string-similarity functions (Jaro-Winkler, Damerau-Levenshtein)."""
    _pyspark()
    from splink.backends.spark import similarity_jar_location

    return str(similarity_jar_location())


def session(
    master: str = "local[*]",
    *,
    conf: Mapping[str, str] | None = None,
    app_name: str = "revteam-identity",
) -> Any:
    """Start (or join) a Spark session that can run the linker.

    In local mode Spark binds to 127.0.0.1 (``SPARK_LOCAL_IP``, unless set), has no web UI,
    shuffles into two partitions per core (a cluster's 200 make every small step of splink slow
    on one machine) and gets half the machine's memory: the driver does all the work there,
    and Spark's default of 1 GiB runs out on some 100k people. ``conf`` overrides all of it,
    but only when the session starts: a running session keeps its settings.
    """
    sql = _pyspark()
    local = master.startswith("local")
    if local:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    options = {
        **(
            {
                "spark.driver.memory": _local_memory(),
                # a JVM out of memory hangs pyspark; exiting lets the run fail with a message
                "spark.driver.extraJavaOptions": f"-XX:+ExitOnOutOfMemoryError "
                f"-Dlog4j2.configurationFile={_LOG_CONFIG.as_uri()}",
                "spark.sql.shuffle.partitions": str(2 * (os.cpu_count() or 1)),
                "spark.ui.enabled": "false",
            }
            if local
            else {}  # a cluster keeps its own defaults (spark-defaults.conf)
        ),
        "spark.jars": similarity_jar(),
        "spark.ui.showConsoleProgress": "false",  # revteam shows its own progress
        "spark.sql.execution.arrow.pyspark.enabled": "true",
    }
    options.update(conf or {})
    if conf and "spark.jars" in conf:  # keep the user's jars and add splink's
        options["spark.jars"] = f"{conf['spark.jars']},{similarity_jar()}"
    builder = sql.SparkSession.builder.master(master).appName(app_name)
    for key, value in options.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # the JVM did not start: no Java, wrong Java, bad master URL
        raise ResolveError(
            f"Spark did not start on {master!r}: {str(exc).splitlines()[0].rstrip('.')}",
            "Check that Java 17 is installed (JAVA_HOME or java on PATH) and the master URL "
            "is reachable.",
        ) from exc
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _local_memory() -> str:
    """Half the machine's memory for a local driver (at least 1 GiB, at most 32 GiB)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not POSIX: Spark's default
        return "1g"
    return f"{min(32, max(1, total // 2**31))}g"


def failure(exc: BaseException) -> ResolveError | None:
    """The error to show when Spark itself failed under the linker, else ``None``."""
    if type(exc).__module__.startswith("py4j"):
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return ResolveError(
            f"Spark failed while linking ({first.rstrip('.')})",
            "If the driver ran out of memory, give it more: [identity] spark_conf = "
            '{"spark.driver.memory" = "16g"} in revteam.toml (the session must be new).',
        )
    return None


def _checkpoint_dir(spark: Any) -> None:
    """Make sure the session has a checkpoint directory (see the module's docstring)."""
    context = spark.sparkContext
    if not context._jsc.sc().getCheckpointDir().isEmpty():
        return
    if not context.master.startswith("local"):
        raise ResolveError(
            f"the Spark session on {context.master!r} has no checkpoint directory",
            "Set one on storage every executor reaches: "
            "spark.sparkContext.setCheckpointDir('hdfs:///tmp/revteam').",
        )
    path = tempfile.mkdtemp(prefix="revteam-spark-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    context.setCheckpointDir(path)


class SparkEngine:
    """Runs the linker on a Spark session (see :class:`revteam.resolve.model.Engine`)."""

    def __init__(self, spark: Any) -> None:
        self._spark = spark

    def api(self) -> Any:
        from splink import SparkAPI

        _checkpoint_dir(self._spark)
        partitions = int(self._spark.conf.get("spark.sql.shuffle.partitions", "200"))
        api = SparkAPI(  # type: ignore[no-untyped-call]
            spark_session=self._spark,
            break_lineage_method="parquet",
            num_partitions_on_repartition=max(1, math.ceil(partitions / 2)),
        )
        try:
            with quiet():
                self._spark.sql("SELECT jaro_winkler('a', 'a')").collect()
        except Exception as exc:  # the session was built without splink's jar
            raise ResolveError(
                "the Spark session has no jaro_winkler function (splink's jar is missing)",
                f"Start the session with spark.jars={similarity_jar()} "
                "or with revteam.resolve.spark.session().",
            ) from exc
        return api

    def register(self, api: Any, con: duckdb.DuckDBPyConnection) -> Any:
        return api.register(con.sql("SELECT * FROM _people").to_arrow_table())

    def arrow(self, sql: str) -> pa.Table:
        with quiet():
            table: pa.Table = self._spark.sql(sql).toArrow()
        return table
