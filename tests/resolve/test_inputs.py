"""Inputs resolution cannot link: refused with the fix, or everyone left on their own."""

from __future__ import annotations

import pyarrow as pa
import pytest

from revteam.exceptions import ResolveError
from revteam.resolve import resolve_records


def test_records_without_an_id_are_refused():
    with pytest.raises(ResolveError, match=r"no record_id column.*record_id"):
        resolve_records(pa.table({"email": ["a@x.com", "a@x.com"]}))


@pytest.mark.parametrize(
    ("ids", "problem"),
    [(["a", None], r"1 record\(s\) without a record_id"), (["a", "a"], r"1 repeated record_id")],
)
def test_missing_or_repeated_ids_are_refused(ids: list[str | None], problem: str):
    records = pa.table({"record_id": ids, "email": ["a@x.com", "a@x.com"], "last_name": ["Li"] * 2})
    with pytest.raises(ResolveError, match=problem):
        resolve_records(records)


def test_columns_no_blocking_rule_fits_are_refused():
    records = pa.table({"record_id": ["1", "2"], "company": ["Acme"] * 2, "city": ["Oslo"] * 2})
    with pytest.raises(ResolveError, match=r"no blocking rule fits.*e-mail"):
        resolve_records(records)


@pytest.mark.parametrize(("low", "high"), [(0.0, 0.5), (0.6, 0.5), (0.2, 1.5)])
def test_a_review_band_outside_zero_to_one_is_refused(low: float, high: float):
    records = pa.table({"record_id": ["1", "2"], "email": ["a@x.com", "a@x.com"]})
    with pytest.raises(ResolveError, match="review band"):
        resolve_records(records, threshold=high, review_low=low)


@pytest.mark.parametrize(
    "records",
    [
        pa.table({"record_id": [3, 1, 2]}),  # no identifying column at all
        pa.table({"record_id": ["b", "a"], "email": ["x@y.com", "x@y.com"]}),  # one column
        pa.table({"record_id": ["b", "a"], "email": [None, None], "last_name": ["Li", "Li"]}),
        pa.table({"record_id": ["a"], "email": ["x@y.com"], "last_name": ["Li"]}),  # one record
    ],
    ids=["no columns", "one column", "one column with values", "one record"],
)
def test_what_cannot_be_linked_leaves_everyone_on_their_own(records: pa.Table):
    result = resolve_records(records)
    ids = sorted(str(r) for r in records.column("record_id").to_pylist())
    assert result.clusters.column("record_id").to_pylist() == ids
    assert result.clusters.column("unified_id").to_pylist() == ids
    assert set(result.clusters.column("cluster_size").to_pylist()) == {1}
    assert result.pairs.num_rows == 0 and result.pairs_compared == 0
    assert result.records == records.num_rows
