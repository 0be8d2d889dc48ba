"""The canonical model: every warehouse table with its columns, keys, enums, references, rules."""

from __future__ import annotations

from revteam.model import enums
from revteam.model.schema import METADATA_COLUMNS, Check, Column, ColumnType, Reference, Table
from revteam.model.tables import TABLES, load_order, table

__all__ = [
    "METADATA_COLUMNS",
    "TABLES",
    "Check",
    "Column",
    "ColumnType",
    "Reference",
    "Table",
    "enums",
    "load_order",
    "table",
]
