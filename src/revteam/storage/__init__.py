"""Connections to the warehouse (and, later, the application database). Nothing else opens one."""

from __future__ import annotations

from revteam.storage.warehouse import (
    META_TABLE,
    QUARANTINE_TABLE,
    RUNS_TABLE,
    TableInfo,
    Warehouse,
    parse_warehouse_url,
)

__all__ = [
    "META_TABLE",
    "QUARANTINE_TABLE",
    "RUNS_TABLE",
    "TableInfo",
    "Warehouse",
    "parse_warehouse_url",
]
