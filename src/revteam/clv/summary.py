"""From transactions to what the models read: (x, t_x, T, z̄) per customer, or lifetimes.

As in the literature, several orders of a customer on one day are one transaction (their
values summed); ``x`` counts the transactions after the first, ``t_x`` and ``T`` run from the
first transaction's day to the last one's and to the end of the calibration period, in the
chosen time unit; ``z̄`` is the mean value of the repeat transactions (the first one left out,
as Gamma-Gamma wants). Only customers whose first transaction falls in the period are
summarised: a cohort acquired in it, as the models assume.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from revteam.clv.models import RepeatData
from revteam.exceptions import ClvError

TimeUnit = Literal["day", "week", "month"]
TIME_UNITS: tuple[str, ...] = get_args(TimeUnit)
DAYS: dict[str, float] = {"day": 1.0, "week": 7.0, "month": 365.25 / 12}
"""Days per time unit (a month is a twelfth of a Julian year)."""

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Summary:
    """Per customer of the cohort: their id, first transaction day and (x, t_x, T, z̄)."""

    customers: pa.Array
    first: npt.NDArray[np.datetime64]
    data: RepeatData
    unit: str
    start: dt.date
    end: dt.date
    transactions: int
    """Transactions (customer-days) summarised."""

    @property
    def n(self) -> int:
        return len(self.customers)


def summarise(
    customer: pa.Array | pa.ChunkedArray,
    at: pa.Array | pa.ChunkedArray,
    value: pa.Array | pa.ChunkedArray,
    *,
    start: dt.date,
    end: dt.date,
    unit: str = "week",
    repeat: pa.Array | pa.ChunkedArray | None = None,
) -> Summary:
    """Summarise transactions (one row per order: customer, time, value) over ``start``..``end``.

    ``repeat``: per order, whether it can be a repeat purchase (default: every order); an
    order that cannot still dates the customer's first transaction (e.g. the first invoice of
    a subscription, when only add-on orders are bought at will).
    """
    if unit not in DAYS:
        raise ClvError(f"Unknown time unit {unit!r}.", f"Use one of: {', '.join(TIME_UNITS)}.")
    if start > end:
        raise ClvError(f"start {start} is after end {end}.", "Swap them.")
    days = _days(at)
    amount = np.nan_to_num(_floats(value))
    encoded = pc.dictionary_encode(_combined(customer))
    code = np.asarray(encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False), np.int64)
    # Customers in the order of their ids and transactions in a fixed order, whatever order
    # the warehouse returned the rows in: the fits then see the very same numbers (sums in
    # another order differ in the last bits, enough to move a fragile optimiser elsewhere).
    by_id = np.asarray(pc.sort_indices(encoded.dictionary), np.int64)
    rank = np.empty(len(by_id), np.int64)
    rank[by_id] = np.arange(len(by_id))
    dictionary = encoded.dictionary.take(pa.array(by_id))
    code = np.where(code >= 0, rank[np.maximum(code, 0)], -1)
    can_repeat = (
        np.ones(len(code), dtype=bool)
        if repeat is None
        else np.asarray(_combined(repeat).fill_null(False).to_numpy(zero_copy_only=False), bool)
    )
    last_day = _day_number(end)
    keep = (code >= 0) & (days <= last_day) & (days != _NO_DAY)
    code, days, amount, can_repeat = code[keep], days[keep], amount[keep], can_repeat[keep]
    fixed = np.lexsort((amount, days, code))
    code, days, amount, can_repeat = code[fixed], days[fixed], amount[fixed], can_repeat[fixed]
    n_customers = len(dictionary)
    first = np.full(n_customers, np.iinfo(np.int64).max)
    np.minimum.at(first, code, days)
    cohort = (first >= _day_number(start)) & (first <= last_day)
    # a transaction: a customer's day (orders summed); repeat ones after the first day only
    is_first = days == first[code]
    mine = cohort[code] & (is_first | can_repeat)
    code, days, amount, is_first = code[mine], days[mine], amount[mine], is_first[mine]
    span = int(days.max() - days.min() + 1) if len(days) else 1
    key = code * span + (days - (days.min() if len(days) else 0))
    pairs, which = np.unique(key, return_inverse=True)
    spent = np.bincount(which.ravel(), weights=amount, minlength=len(pairs))
    pair_code = pairs // span
    pair_first = np.zeros(len(pairs), dtype=bool)
    pair_first[which.ravel()[is_first]] = True
    pair_day = pairs % span + (days.min() if len(days) else 0)
    members = np.flatnonzero(cohort)
    index = np.full(n_customers, -1, dtype=np.int64)
    index[members] = np.arange(len(members))
    slot = index[pair_code]
    rep = ~pair_first
    x = np.bincount(slot[rep], minlength=len(members)).astype(np.float64)
    last = np.full(len(members), -1, dtype=np.int64)
    np.maximum.at(last, slot, pair_day)
    spend = np.bincount(slot[rep], weights=spent[rep], minlength=len(members))
    first_day = first[members]
    per = DAYS[unit]
    with np.errstate(invalid="ignore", divide="ignore"):
        zbar = np.where(x > 0, spend / x, np.nan)
    data = RepeatData.of(
        x=x,
        t_x=(last - first_day) / per,
        T=(last_day - first_day) / per,
        zbar=zbar,
    )
    return Summary(
        customers=dictionary.take(pa.array(members)),
        first=(first_day.astype("datetime64[D]")),
        data=data,
        unit=unit,
        start=start,
        end=end,
        transactions=len(pairs),
    )


_NO_DAY = np.iinfo(np.int64).min


def _combined(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _days(at: pa.Array | pa.ChunkedArray) -> I64:
    """Days since the epoch: the calendar day of each timestamp (UTC) or date."""
    values = _combined(at)
    if pa.types.is_date(values.type):
        days = pc.cast(pc.cast(values, pa.date32()), pa.int32()).cast(pa.int64())
        out: I64 = np.asarray(days.fill_null(_NO_DAY).to_numpy(zero_copy_only=False), np.int64)
        return out
    micros = pc.cast(pc.cast(values, pa.timestamp("us")), pa.int64())
    raw = np.asarray(micros.fill_null(_NO_DAY).to_numpy(zero_copy_only=False), np.int64)
    return np.where(raw == _NO_DAY, _NO_DAY, np.floor_divide(raw, 86_400_000_000))


def _floats(values: pa.Array | pa.ChunkedArray) -> F64:
    out: F64 = np.asarray(
        pc.cast(_combined(values), pa.float64()).to_numpy(zero_copy_only=False), np.float64
    )
    return out


def _day_number(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days
