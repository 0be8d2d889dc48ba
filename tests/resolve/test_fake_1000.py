"""Pairwise precision and recall on splink's fake_1000 (251 people, 1,000 noisy records)."""

from __future__ import annotations

import pyarrow.csv as pacsv
import pytest
from tests.conftest import FIXTURES

from revteam.resolve import pairwise_scores, resolve_records

DATA = FIXTURES / "identity" / "fake_1000.csv"


def _truth_and_records():
    text = dict.fromkeys(("unique_id", "dob", "cluster"), "string")
    table = pacsv.read_csv(DATA, convert_options=pacsv.ConvertOptions(column_types=text))
    table = table.rename_columns(
        ["record_id", "first_name", "last_name", "dob", "city", "email", "cluster"]
    )
    truth = dict(zip(table["record_id"].to_pylist(), table["cluster"].to_pylist(), strict=True))
    return truth, table.drop_columns(["cluster"])


def _own_pairs(truth: dict[str, str]) -> int:
    from collections import Counter

    return sum(n * (n - 1) // 2 for n in Counter(truth.values()).values())


def test_precision_and_recall_against_the_true_clusters(capsys: pytest.CaptureFixture[str]):
    truth, records = _truth_and_records()
    result = resolve_records(records)
    predicted = dict(
        zip(result.clusters["record_id"].to_pylist(), result.clusters["unified_id"].to_pylist(),
            strict=True)
    )  # fmt: skip
    scores = pairwise_scores(predicted, truth)
    # computed here, independently of the scorer: true pairs from the cluster sizes
    assert scores.true_pairs == _own_pairs(truth)
    with capsys.disabled():
        print(
            f"\nfake_1000: precision {scores.precision:.3f}, recall {scores.recall:.3f} "
            f"({scores.correct_pairs}/{scores.predicted_pairs} predicted pairs true, "
            f"{scores.true_pairs} true pairs; {result.pairs_compared} pairs compared, "
            f"{result.cluster_count} clusters, {result.review.num_rows} to review)"
        )
    assert scores.precision >= 0.95
    assert scores.recall >= 0.85


def test_unified_ids_are_stable_from_run_to_run():
    _, records = _truth_and_records()
    first = resolve_records(records.slice(0, 300))
    again = resolve_records(records.slice(0, 300))
    assert first.clusters.equals(again.clusters)
    # the unified id is the smallest member id, so it survives a re-run of the same cluster
    by_cluster: dict[str, list[str]] = {}
    for r in first.clusters.to_pylist():
        by_cluster.setdefault(r["unified_id"], []).append(r["record_id"])
    assert all(uid == min(members) for uid, members in by_cluster.items())


def test_pairwise_scores_count_pairs_within_clusters():
    truth = {"a": "1", "b": "1", "c": "1", "d": "2"}
    predicted = {"a": "x", "b": "x", "c": "y", "d": "y"}
    s = pairwise_scores(predicted, truth)
    assert (s.predicted_pairs, s.true_pairs, s.correct_pairs) == (2, 3, 1)
    assert s.precision == 0.5 and s.recall == pytest.approx(1 / 3)
