"""The building blocks of the canonical model's one declaration (see ``tables.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from revteam.exceptions import ModelError

ColumnType = Literal["string", "integer", "float", "money", "boolean", "date", "timestamp"]

SQL_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "float": "DOUBLE",
    "money": "DECIMAL(18,2)",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}
"""DuckDB type of each column type; money is exact so sums of bookings never drift."""

METADATA_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_source", "VARCHAR"),
    ("_loaded_at", "TIMESTAMP"),
    ("_ingest_run", "VARCHAR"),
)
"""Lineage columns that ingest adds to every canonical row."""


@dataclass(frozen=True)
class Reference:
    """A column that points at another table's key.

    ``checked`` references are validated at ingest (the target row must exist, in the warehouse
    or in the same file); unchecked ones (e.g. owners, whose user list is often not exported) are
    only reported as orphans by ``revteam status``.
    """

    table: str
    column: str
    checked: bool = True


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    description: str
    required: bool = False
    enum: tuple[str, ...] | None = None
    references: Reference | None = None
    min_value: float | None = None
    max_value: float | None = None

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]


@dataclass(frozen=True)
class Check:
    """A row rule, as a DuckDB boolean expression over canonical columns that must not be false.

    A NULL result passes: a rule only speaks when the columns it reads are present.
    """

    name: str
    sql: str
    message: str


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    checks: tuple[Check, ...] = ()
    fill_chain: tuple[str, ...] = ()
    """Ordered stage timestamps where a later one implies the earlier ones (KPIS.md): a missing
    earlier stamp is filled with the next later one at ingest and reported as a data note."""
    time_column: str | None = None
    nullable_key: tuple[str, ...] = field(default=())
    """Key columns that may be NULL (NULL matches NULL when upserting), e.g. campaign-less costs."""

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"table {self.name}: duplicate column names")
        for k in (*self.key, *self.fill_chain):
            if k not in names:
                raise ValueError(f"table {self.name}: {k} is not a column")

    def __iter__(self) -> Iterator[Column]:
        return iter(self.columns)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Columns that must be non-empty on every row: declared required, non-nullable keys."""
        return tuple(
            c.name
            for c in self.columns
            if c.required or (c.name in self.key and c.name not in self.nullable_key)
        )

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise ModelError(f"column of {self.name}", name, self.column_names)

    def create_sql(self, qualified_name: str | None = None) -> str:
        cols = [f'"{c.name}" {c.sql_type}' for c in self.columns]
        cols += [f'"{n}" {t}' for n, t in METADATA_COLUMNS]
        return f'CREATE TABLE IF NOT EXISTS "{qualified_name or self.name}" ({", ".join(cols)})'
