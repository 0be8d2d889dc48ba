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
Codes = NDArray[np.signedinteger[Any]]
"""Codes or rows (-1 for none) held in the narrowest type for their count (see ``codes``)."""

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


def codes(values: Int, count: int) -> Codes:
    """``values`` (from -1 to ``count - 1``) in the narrowest signed type that holds them.

    A 10M-lead company keeps a dozen such columns of its people all along; as int64 they
    would take the better part of a gigabyte more. Arithmetic on them must widen first.
    """
    for dtype in (np.int8, np.int16, np.int32):
        if count <= np.iinfo(dtype).max:
            return values.astype(dtype)
    return values


def id_width(count: int, minimum: int = 4) -> int:
    return max(minimum, len(str(count)))


def ids(prefix: str, rows: Column, width: int) -> pa.Array:
    """Fixed-width ids such as ``P0000042`` of 0-based ``rows`` (row 41 is ``P0000042``).

    Rows below 0 give nulls. The ids are written straight into Arrow buffers, four digits at a
    time from a table and a block of rows at a time (so the temporaries stay in cache): string
    formatting, or a pass over every row per digit, would be the slowest part of making
    10M-row tables.
    """
    return _ids(prefix, len(rows), width, lambda a, b: block_of(rows, a, b))


def serial_ids(prefix: str, n: int, width: int) -> pa.Array:
    """The ids of rows ``0 … n - 1``: ``ids(prefix, np.arange(n), width)`` without the range."""
    return _ids(prefix, n, width, lambda a, b: np.arange(a, b, dtype=np.int64))


def _ids(prefix: str, n: int, width: int, rows: Callable[[int, int], Int]) -> pa.Array:
    """Ids of the 0-based ``rows(start, stop)`` of each block of rows."""
    head = prefix.encode()
    size = len(head) + width
    chars = np.empty((n, size), dtype=np.uint8)
    chars[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    groups = []  # (table, column view) of each group of up to four digits, from the right
    for end in range(size, len(head), -4):
        digits = min(4, end - len(head))
        groups.append((_DIGITS[digits], chars[:, end - digits : end].view(f"V{digits}")[:, 0]))
    validity = _Validity(n)
    for start, stop in blocks(n):
        row = rows(start, stop)
        validity.set(start, row >= 0)
        # 1-based numbers, null rows written as row 0; uint32 division is vectorised, int64 not
        rest = np.maximum(row, 0).astype(np.uint32)
        rest += 1
        for table, column in groups:
            high = rest // len(table)
            rest -= high * len(table)
            column[start:stop] = table[rest]
            rest = high
    offsets = np.arange(0, (n + 1) * size, size, dtype=np.int32)
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(chars), validity.buffer(), null_count=-1
    )


class _Validity:
    """An Arrow validity bitmap filled a block at a time; ``None`` when nothing is null."""

    def __init__(self, n: int) -> None:
        self.bits = np.empty((n + 7) // 8, dtype=np.uint8)
        self.nulls = False

    def set(self, start: int, valid: Bool) -> None:
        """Validity of the rows from ``start`` (a multiple of 8) on."""
        self.bits[start // 8 : (start + len(valid) + 7) // 8] = np.packbits(
            valid, bitorder="little"
        )
        self.nulls = self.nulls or not valid.all()

    def buffer(self) -> pa.Buffer | None:
        return pa.py_buffer(self.bits) if self.nulls else None


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


class Gather:
    """The column ``values[index]``, made a block of rows at a time by the column builders.

    ``index`` may itself be a ``Gather`` (``accounts[people[order]]``). Columns of tens of
    millions of rows are then never gathered whole, only written once into their Arrow buffers.
    """

    def __init__(self, values: NDArray[Any], index: Column) -> None:
        self.values = values
        self.index = index

    def __len__(self) -> int:
        return len(self.index)

    def block(self, start: int, stop: int) -> NDArray[Any]:
        values: NDArray[Any] = self.values[block_of(self.index, start, stop)]
        return values

    def whole(self) -> NDArray[Any]:
        return self.block(0, len(self))


Column = NDArray[Any] | Gather
"""A column of values, held or to be gathered."""


def block_of(column: Column, start: int, stop: int) -> NDArray[Any]:
    return column.block(start, stop) if isinstance(column, Gather) else column[start:stop]


def whole(column: Column) -> NDArray[Any]:
    return column.whole() if isinstance(column, Gather) else np.asarray(column)


def labels(values: Sequence[str], codes: Column, valid: Bool | None = None) -> pa.Array:
    """The strings ``values[codes]``; null where ``valid`` is false."""
    mask = None if valid is None else ~valid
    return pc.take(pa.array(list(values), pa.string()), pa.array(whole(codes), mask=mask))


def timestamps(seconds: Column, epoch: int) -> pa.Array:
    """Naive ``timestamp[us]`` from seconds since the span start; ``MISSING`` becomes null."""
    n = len(seconds)
    micros = np.empty(n, dtype=np.int64)
    validity = _Validity(n)
    for start, stop in blocks(n):
        block = block_of(seconds, start, stop)
        missing = block == MISSING
        validity.set(start, ~missing)
        out = np.add(block, epoch, out=micros[start:stop])
        out[missing] = 0
        out *= 1_000_000
    return pa.Array.from_buffers(
        pa.timestamp("us"), n, [validity.buffer(), pa.py_buffer(micros)], null_count=-1
    )


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
    chosen = np.zeros(len(groups), dtype=np.int64)
    for start, stop in blocks(len(groups)):
        u = rng.random(stop - start)
        out = chosen[start:stop]
        for column in cumulative.T:
            out += u >= (column[0] if len(column) == 1 else column[groups[start:stop]])
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
    chosen = np.empty(len(group), dtype=np.int64)
    for start, stop in blocks(len(group)):
        g = group[start:stop]
        offset = np.floor(rng.random(stop - start) * counts[g]).astype(np.int64)
        chosen[start:stop] = members[starts[g] + offset]
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


def lexsort(keys: Sequence[NDArray[Any]], keep: Bool | None = None) -> Int:
    """``np.lexsort(keys)`` (the last key is the primary one) of the rows to ``keep``.

    Integer keys whose ranges (over the rows kept) multiply to less than 2**63 are folded into
    a single int64 key, a block of rows at a time: sorting that once is several times faster
    than sorting once per key, and gives the same order (ties keep their original order in
    both). The rows not kept get a key past every other and are cut off after the sort.
    """
    n = len(keys[0])
    keep = np.ones(n, dtype=bool) if keep is None else keep
    kept = int(keep.sum())
    if kept == 0:
        return np.zeros(0, dtype=np.int64)
    lows = [int(k.min(where=keep, initial=np.iinfo(k.dtype).max)) for k in keys]
    spans = [
        int(k.max(where=keep, initial=np.iinfo(k.dtype).min)) - low + 1
        for k, low in zip(keys, lows, strict=True)
    ]
    past = math.prod(spans)  # the key of rows not kept
    if past >= 2**63:
        rows = np.flatnonzero(keep)
        order: Int = rows[np.lexsort([k[rows] for k in keys])]
        return order
    combined = np.empty(n, dtype=np.int64)
    for start, stop in blocks(n):
        out = combined[start:stop]
        out[:] = 0
        for key, low, span in zip(reversed(keys), reversed(lows), reversed(spans), strict=True):
            out *= span
            out += np.subtract(key[start:stop], low, dtype=np.int64)
        out[~keep[start:stop]] = past
    order = np.argsort(combined, kind="stable")[:kept]
    return order


class Ordered:
    """Event columns in the order of ``lexsort`` of the ``by`` columns, rows not kept left out.

    ``ordered[name]`` is the ordered column, gathered a block at a time where it is used;
    ``ordered.pop(name)`` too, and the column is let go once that is done with.
    """

    def __init__(self, columns: dict[str, NDArray[Any]], keep: Bool, by: Sequence[str]) -> None:
        self.order = lexsort([columns[name] for name in by], keep)
        self.columns = columns

    def __len__(self) -> int:
        return len(self.order)

    def __getitem__(self, name: str) -> Gather:
        return Gather(self.columns[name], self.order)

    def pop(self, name: str) -> Gather:
        return Gather(self.columns.pop(name), self.order)
