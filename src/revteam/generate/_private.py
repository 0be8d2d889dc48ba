"""Helpers shared by the generator's modules: random streams, time and Arrow column builders."""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from revteam.generate.params import Lag
from revteam.model import TABLES

Int = NDArray[np.int64]
Float = NDArray[np.float64]
Bool = NDArray[np.bool_]

DAY = 86_400
"""Seconds per day: every timestamp is held as int64 seconds since the span's start."""
MISSING = np.iinfo(np.int64).max
"""Timestamp of an event that never happened or happens after the as-of date."""

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "integer": pa.int64(),
    "float": pa.float64(),
    "money": pa.decimal128(18, 2),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
}


def stream(seed: int, name: str) -> np.random.Generator:
    """An independent random stream per purpose, so changing one sampler leaves the others alone."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def id_width(count: int, minimum: int = 4) -> int:
    return max(minimum, len(str(count)))


def ids(prefix: str, rows: Int, width: int, valid: Bool | None = None) -> pa.Array:
    """Fixed-width ids such as ``P0000042`` of 0-based ``rows`` (row 41 is ``P0000042``).

    Rows below 0 stand for nulls (``valid`` false) and are written as row 0. The ids are
    written straight into Arrow buffers, four digits at a time from a table and a block of rows
    at a time (so the temporaries stay in cache): string formatting, or a pass over every row
    per digit, would be the slowest part of making 10M-row tables.
    """
    rows = np.asarray(rows)
    return _ids(prefix, len(rows), width, valid, lambda a, b: np.maximum(rows[a:b], 0) + 1)


def serial_ids(prefix: str, n: int, width: int) -> pa.Array:
    """The ids of rows ``0 … n - 1``: ``ids(prefix, np.arange(n), width)`` without the range."""
    return _ids(prefix, n, width, None, lambda a, b: np.arange(a + 1, b + 1, dtype=np.int64))


def _ids(
    prefix: str, n: int, width: int, valid: Bool | None, numbers: Callable[[int, int], Int]
) -> pa.Array:
    """Ids of the 1-based ``numbers(start, stop)`` of each block of rows."""
    head = prefix.encode()
    size = len(head) + width
    chars = np.empty((n, size), dtype=np.uint8)
    chars[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    groups = []  # (table, column view) of each group of up to four digits, from the right
    for end in range(size, len(head), -4):
        digits = min(4, end - len(head))
        groups.append((_DIGITS[digits], chars[:, end - digits : end].view(f"V{digits}")[:, 0]))
    for start, stop in blocks(n):
        rest = numbers(start, stop).astype(np.int64, copy=False)
        for table, column in groups:
            rest, low = np.divmod(rest, len(table))
            column[start:stop] = table[low]
    offsets = np.arange(0, (n + 1) * size, size, dtype=np.int32)
    validity = None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(chars), validity, null_count=-1
    )


def _digit_table(digits: int) -> NDArray[np.void]:
    """The zero-padded decimal digits of ``0 … 10**digits - 1``, one fixed-size item each."""
    table = np.empty((10**digits, digits), dtype=np.uint8)
    rest = np.arange(10**digits)
    for column in range(digits - 1, -1, -1):
        rest, table[:, column] = np.divmod(rest, 10)
    table += 48
    return table.view(f"V{digits}")[:, 0]


_DIGITS = {digits: _digit_table(digits) for digits in (1, 2, 3, 4)}
BLOCK = 1 << 15
"""Rows per block when working through long columns piecewise: a few hundred KiB of
temporaries, which stay in cache and are reused, where whole-column temporaries of a 10M-lead
company would each take fresh memory from the system."""


def blocks(n: int) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of each block of ``BLOCK`` rows out of ``n``."""
    for start in range(0, n, BLOCK):
        yield start, min(n, start + BLOCK)


def labels(values: Sequence[str], codes: NDArray[Any], valid: Bool | None = None) -> pa.Array:
    """The strings ``values[codes]``; null where ``valid`` is false."""
    mask = None if valid is None else ~valid
    return pc.take(pa.array(list(values), pa.string()), pa.array(np.asarray(codes), mask=mask))


def timestamps(seconds: Int, epoch: int, *, overwrite: bool = False) -> pa.Array:
    """Naive ``timestamp[us]`` from seconds since the span start; ``MISSING`` becomes null.

    With ``overwrite`` the microseconds are written into ``seconds`` (which the caller is done
    with) rather than into a new array.
    """
    missing = seconds == MISSING
    micros = np.add(seconds, epoch, out=seconds if overwrite else None)
    micros[missing] = 0
    micros *= 1_000_000
    return pa.array(micros, type=pa.timestamp("us"), mask=missing if missing.any() else None)


def dates(days: Int, epoch_day: int, valid: Bool | None = None) -> pa.Array:
    """``date32`` from days since the span start."""
    mask = None if valid is None else ~valid
    return pa.array((days + epoch_day).astype(np.int32), type=pa.date32(), mask=mask)


def money(amounts: Float) -> pa.Array:
    """Exact ``decimal128(18, 2)`` from amounts, rounded to cents, via the two 64-bit words."""
    cents = np.round(np.asarray(amounts, dtype=np.float64) * 100.0).astype(np.int64)
    words = np.empty((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = cents >> 63
    return pa.Array.from_buffers(pa.decimal128(18, 2), len(cents), [None, pa.py_buffer(words)])


def integers(values: NDArray[Any]) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64), type=pa.int64())


def build(name: str, columns: dict[str, pa.Array]) -> pa.Table:
    """The canonical table ``name`` from its columns, in declared order with declared types."""
    spec = TABLES[name]
    if set(columns) != set(spec.column_names):
        raise AssertionError(f"{name}: columns {sorted(columns)} != {spec.column_names}")
    schema = pa.schema([pa.field(c.name, ARROW_TYPES[c.type]) for c in spec.columns])
    return pa.table([columns[c] for c in spec.column_names], schema=schema)


def lag_seconds(rng: np.random.Generator, lag: Lag | tuple[Float, Float], size: int) -> Int:
    """Delays drawn from a :class:`Lag`, or from per-row (mu, sigma) arrays, in whole seconds."""
    if isinstance(lag, Lag):
        days = rng.lognormal(lag.mu, lag.sigma, size)
        days += lag.shift_days
    else:
        days = rng.standard_normal(size)
        days *= lag[1]
        days += lag[0]
        np.exp(days, out=days)
    days *= DAY
    return np.floor(days, out=days).astype(np.int64)


def after(base: Int, delay: Int, happens: Bool, as_of: int) -> Int:
    """``base + delay`` where ``happens`` and the result is before the as-of, else ``MISSING``.

    ``delay`` is overwritten (with the result).
    """
    out = np.add(base, delay, out=delay)  # wraps where base is MISSING, which is replaced
    out[~happens | (base == MISSING) | (out >= as_of)] = MISSING
    return out


def pick(rng: np.random.Generator, cumulative: Float, groups: NDArray[Any]) -> Int:
    """One category per row from the row's group's cumulative probabilities (groups * K)."""
    u = rng.random(len(groups))
    chosen = np.zeros(len(groups), dtype=np.int64)
    for column in cumulative.T:  # K passes over rows rather than a rows * K matrix
        chosen += u >= (column[0] if len(column) == 1 else column[groups])
    np.minimum(chosen, cumulative.shape[1] - 1, out=chosen)  # guards u ≈ 1 against rounding
    return chosen


def cumulative(rows: Sequence[Sequence[float]]) -> Float:
    """Row-normalised cumulative probabilities, padded so ragged rows can share one matrix."""
    width = max(len(r) for r in rows)
    out = np.ones((len(rows), width))
    for i, row in enumerate(rows):
        p = np.asarray(row, dtype=np.float64)
        out[i, : len(p)] = np.cumsum(p / p.sum())
    return out


def uniform_member(
    rng: np.random.Generator, members: Int, starts: Int, counts: Int, group: Int
) -> Int:
    """A uniformly drawn member of each row's group, members being grouped (sorted) by group."""
    offset = np.floor(rng.random(len(group)) * counts[group]).astype(np.int64)
    chosen: Int = members[starts[group] + offset]
    return chosen


def grouped(group_of: Int, n_groups: int) -> tuple[Int, Int, Int]:
    """Members sorted by group, with each group's start and count (for ``uniform_member``)."""
    members = np.argsort(group_of, kind="stable").astype(np.int64)
    counts = np.bincount(group_of, minlength=n_groups).astype(np.int64)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    return members, starts, counts


def repeat_index(counts: Int) -> tuple[Int, Int]:
    """For per-row event counts: the row of each event and its position within the row."""
    rows = repeat_rows(counts)
    first = np.cumsum(counts) - counts
    return rows, np.arange(len(rows), dtype=np.int64) - np.repeat(first, counts)


def repeat_rows(counts: Int) -> Int:
    """For per-row event counts: the row of each event."""
    return np.repeat(np.arange(len(counts), dtype=np.int64), counts)


def lexsort(keys: Sequence[Int]) -> Int:
    """``np.lexsort(keys)`` (the last key is the primary one), as one stable sort when it can.

    Integer keys whose ranges multiply to less than 2**63 are folded into a single int64 key:
    sorting that once is several times faster than sorting once per key, and gives the same
    order (ties keep their original order in both).
    """
    spans = [(int(k.min()), int(k.max()) - int(k.min()) + 1) if len(k) else (0, 1) for k in keys]
    if math.prod(span for _, span in spans) >= 2**63:
        return np.lexsort(keys).astype(np.int64)
    combined = np.zeros(len(keys[0]), dtype=np.int64)
    for key, (low, span) in zip(reversed(keys), reversed(spans), strict=True):
        combined *= span
        combined += np.subtract(key, low, dtype=np.int64)
    order: Int = np.argsort(combined, kind="stable")
    return order


class Ordered:
    """Rows of event columns to keep, in the order of ``lexsort`` of the ``by`` columns.

    Each column is taken once, which releases the unordered one: the tens of millions of events
    of a large company are then held about once, not twice.
    """

    def __init__(self, columns: dict[str, NDArray[Any]], keep: Bool, by: Sequence[str]) -> None:
        rows = np.flatnonzero(keep)
        self.order: Int = rows[lexsort([columns[name][rows] for name in by])]
        self._columns = columns

    def __len__(self) -> int:
        return len(self.order)

    def take(self, name: str) -> NDArray[Any]:
        """The kept rows of column ``name`` in order (the column itself is let go)."""
        return self._columns.pop(name)[self.order]
