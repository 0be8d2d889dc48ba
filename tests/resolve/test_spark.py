"""Identity resolution on Spark (local mode): the same model, the same answers, clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from tests.resolve.conftest import company_with_duplicates, indistinguishable, links_of
from tests.resolve.test_fake_1000 import _truth_and_records

import revteam
from revteam.exceptions import ResolveError
from revteam.resolve import pairwise_scores, resolve_records

pytestmark = pytest.mark.slow  # a Spark session (JVM) and several linker runs on it


def _probabilities(pairs: pa.Table) -> dict[tuple[str, str], float]:
    rows = pairs.to_pylist()
    return {(r["record_id_l"], r["record_id_r"]): r["match_probability"] for r in rows}


def test_engines_agree_when_nothing_is_learnt(spark: Any):
    # Under 200 records the model is its priors: both engines compute the same model. Only the
    # fuzzy levels may differ: splink's Spark Jaro-Winkler counts half transpositions without
    # rounding down (lodon/london: 0.876 on Spark, 0.902 on DuckDB).
    _, records = _truth_and_records()
    sample = records.slice(0, 150)
    on_duckdb = resolve_records(sample)
    on_spark = resolve_records(sample, spark=spark)
    assert on_spark.pairs_compared == on_duckdb.pairs_compared > 0
    assert on_spark.clusters.equals(on_duckdb.clusters)
    duck, sp = _probabilities(on_duckdb.pairs), _probabilities(on_spark.pairs)
    assert sp.keys() == duck.keys() and len(sp) > 100
    same = [k for k in duck if sp[k] == pytest.approx(duck[k], abs=1e-9)]
    assert len(same) >= 0.95 * len(duck)
    assert on_spark.clusters.schema == on_duckdb.clusters.schema
    assert on_spark.pairs.schema == on_duckdb.pairs.schema


def test_fake_1000_on_spark_meets_the_quality_bar(spark: Any, capsys: pytest.CaptureFixture[str]):
    truth, records = _truth_and_records()
    result = resolve_records(records, spark=spark)
    predicted = dict(
        zip(result.clusters["record_id"].to_pylist(), result.clusters["unified_id"].to_pylist(),
            strict=True)
    )  # fmt: skip
    scores = pairwise_scores(predicted, truth)
    with capsys.disabled():
        print(
            f"\nfake_1000 on Spark: precision {scores.precision:.3f}, recall {scores.recall:.3f} "
            f"({result.pairs_compared} pairs compared, {result.cluster_count} clusters)"
        )
    assert scores.precision >= 0.95
    assert scores.recall >= 0.85
    # blocking is deterministic SQL: the same candidate pairs as on DuckDB
    assert result.pairs_compared == resolve_records(records).pairs_compared
    again = resolve_records(records, spark=spark)
    assert again.clusters.equals(result.clusters)  # same seed, same unified ids


def test_a_workspace_resolves_on_spark(spark: Any, tmp_path: Path):
    ws, people, dups = company_with_duplicates(tmp_path)
    try:
        result = ws.identity.run(engine="spark")
        assert result.engine == "spark" and result.people == len(people) + len(dups)
        links = links_of(ws)
        missed = [o for o, d in dups if links[o] != links[d["person_id"]]]
        assert len(missed) <= 5, missed
        by_id = {p["person_id"]: p for p in people}
        groups: dict[str, list[str]] = {}
        for p in people:
            groups.setdefault(links[p["person_id"]], []).append(p["person_id"])
        wrong = [
            (a, b)
            for members in groups.values()
            for i, a in enumerate(members)
            for b in members[i + 1 :]
            if not indistinguishable(by_id[a], by_id[b])
        ]
        assert wrong == []
        review = ws.identity.review().to_pylist()
        assert len(review) == result.review_pairs
        assert all(0.2 <= r["match_probability"] < 0.5 for r in review)
    finally:
        ws.close()


def test_a_session_without_splinks_functions_is_refused(
    spark: Any, monkeypatch: pytest.MonkeyPatch
):
    import splink.internals.spark.database_api as splink_spark

    from revteam.resolve.spark import SparkEngine, quiet

    # a session whose class path lacks splink's jar: nothing registers jaro_winkler
    monkeypatch.setattr(splink_spark, "get_scala_udfs", lambda: [])
    spark.sql("DROP TEMPORARY FUNCTION IF EXISTS jaro_winkler")
    try:
        with pytest.raises(ResolveError, match=r"no jaro_winkler function.*spark\.jars="):
            SparkEngine(spark).api()
    finally:
        monkeypatch.undo()
        SparkEngine(spark).api()  # registers the functions again for the other tests
    with quiet():
        assert spark.sql("SELECT jaro_winkler('a', 'a') AS j").collect()[0]["j"] == 1.0


def test_without_pyspark_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch):
    from revteam.resolve.spark import session

    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(ResolveError, match=r"needs pyspark.*revteam\[spark\]"):
        session()


def test_spark_that_cannot_start_fails_cleanly_from_the_cli(tmp_path: Path):
    pytest.importorskip("pyspark")
    root = tmp_path / "ws"
    revteam.init(root).close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVTEAM_")}
    env |= {"JAVA_HOME": str(tmp_path / "no-java"), "REVTEAM_IDENTITY__ENGINE": "spark"}
    run = subprocess.run(
        [sys.executable, "-m", "revteam", "-w", str(root), "resolve"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert "Spark did not start" in run.stderr and "Java 17" in run.stderr
    assert "Traceback" not in run.stderr
    ws = revteam.open(root)
    try:
        assert ws.identity.links().num_rows == 0  # nothing written
    finally:
        ws.close()


def test_a_spark_failure_under_the_linker_says_what_to_do():
    pytest.importorskip("py4j")
    from py4j.protocol import Py4JNetworkError

    from revteam.resolve.spark import failure

    error = failure(Py4JNetworkError("Answer from Java side is empty"))
    assert isinstance(error, ResolveError)
    assert "Answer from Java side is empty" in str(error) and "spark.driver.memory" in str(error)
    assert failure(ValueError("not Spark's")) is None
