"""One answer to "is this a rate of records?" for every analysis that asks it."""

from __future__ import annotations

import pyarrow as pa
import pytest

from revteam.exceptions import UnsupportedStatisticError
from revteam.stats import _tables as tb


def result(numerators, denominators, unit="percent"):
    size = len(numerators)
    return pa.table(
        {
            "unit": [unit] * size,
            "numerator": pa.array(numerators, type=pa.float64()),
            "denominator": pa.array(denominators, type=pa.float64()),
            "n": pa.array(denominators, type=pa.float64()),
        }
    )


def test_rows_without_records_do_not_make_a_rate_of_records_a_ratio():
    table = result([3, None, 0, 40], [10, None, 0, 100])
    assert tb.is_binomial(table)
    assert tb.binomial("sqr", "cohort_rate", table).num_rows == 2


@pytest.mark.parametrize(
    ("numerators", "denominators", "unit"),
    [
        ([2500.5, 3.0], [10002.0, 10.0], "percent"),  # a ratio of amounts
        ([3.0, 12.0], [10.0, 10.0], "percent"),  # more successes than records
        ([3.0, 4.0], [10.0, 10.0], "days"),  # not a share
        ([None, 0.0], [None, 0.0], "percent"),  # no records at all
    ],
)
def test_what_is_not_a_rate_of_records(numerators, denominators, unit):
    assert not tb.is_binomial(result(numerators, denominators, unit))


def test_binomial_refuses_ratios_and_passes_empty_tables_on():
    with pytest.raises(UnsupportedStatisticError, match="rates of records"):
        tb.binomial("win_rate_by_amount", "ratio", result([2500.5], [10002.0]))
    assert tb.binomial("sqr", "cohort_rate", result([None], [0.0])).num_rows == 0
