"""Helpers shared by the generator's modules: random streams, time and Arrow column builders."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
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


def ids(prefix: str, numbers: Int, width: int, valid: Bool | None = None) -> pa.Array:
    """Fixed-width ids such as ``P0000042`` for 1-based ``numbers``.

    The ids are written straight into Arrow buffers: string formatting would be the slowest
    part of making 10M-row tables.
    """
    n = len(numbers)
    head = prefix.encode()
    size = len(head) + width
    chars = np.empty((n, size), dtype=np.uint8)
    chars[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    rest = np.asarray(numbers, dtype=np.int64).copy()
    for column in range(size - 1, len(head) - 1, -1):
        chars[:, column] = 48 + rest % 10
        rest //= 10
    offsets = np.arange(0, (n + 1) * size, size, dtype=np.int32)
    validity = None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(chars), validity, null_count=-1
    )


def labels(values: Sequence[str], codes: NDArray[Any], valid: Bool | None = None) -> pa.Array:
    """The strings ``values[codes]``; null where ``valid`` is false."""
    mask = None if valid is None else ~valid
    indices = pa.array(np.asarray(codes, dtype=np.int32), mask=mask)
    return pc.take(pa.array(list(values), pa.string()), indices)


def timestamps(seconds: Int, epoch: int) -> pa.Array:
    """Naive ``timestamp[us]`` from seconds since the span start; ``MISSING`` becomes null."""
    missing = seconds == MISSING
    micros = np.where(missing, 0, seconds + epoch) * 1_000_000
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
        days = lag.shift_days + rng.lognormal(lag.mu, lag.sigma, size)
    else:
        days = np.exp(lag[0] + lag[1] * rng.standard_normal(size))
    return np.floor(days * DAY).astype(np.int64)


def after(base: Int, delay: Int, happens: Bool, as_of: int) -> Int:
    """``base + delay`` where ``happens`` and the result is before the as-of, else ``MISSING``."""
    ok = happens & (base != MISSING)
    out = np.where(ok, base + np.where(ok, delay, 0), MISSING)
    out[out >= as_of] = MISSING
    return out


def pick(rng: np.random.Generator, cumulative: Float, groups: NDArray[Any]) -> Int:
    """One category per row from the row's group's cumulative probabilities (groups * K)."""
    u = rng.random(len(groups))
    chosen: Int = (u[:, None] >= cumulative[groups]).sum(axis=1).astype(np.int64)
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
    rows = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    first = np.cumsum(counts) - counts
    return rows, np.arange(len(rows), dtype=np.int64) - np.repeat(first, counts)
