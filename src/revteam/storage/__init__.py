"""Connections to the warehouse and the application database. Nothing else opens one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from revteam.storage.announce import (
    LoadNotice,
    WaitNotice,
    announcement_path,
    current_load,
    load_announced,
)
from revteam.storage.sql import quote_ident, quote_literal
from revteam.storage.warehouse import (
    META_TABLE,
    QUARANTINE_TABLE,
    RUNS_TABLE,
    STAGE_HISTORY_TABLE,
    TableInfo,
    Warehouse,
    key_from_json,
    key_json,
    parse_warehouse_url,
)

if TYPE_CHECKING:
    from revteam.storage.appdb import AppDatabase, resolve_app_url

_LAZY = {"AppDatabase", "resolve_app_url"}
"""Imported on first use: SQLAlchemy is only needed by the web app and user commands."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from revteam.storage import appdb

        return getattr(appdb, name)
    raise AttributeError(f"module 'revteam.storage' has no attribute {name!r}")


__all__ = [
    "META_TABLE",
    "QUARANTINE_TABLE",
    "RUNS_TABLE",
    "STAGE_HISTORY_TABLE",
    "AppDatabase",
    "LoadNotice",
    "TableInfo",
    "WaitNotice",
    "Warehouse",
    "announcement_path",
    "current_load",
    "key_from_json",
    "key_json",
    "load_announced",
    "parse_warehouse_url",
    "quote_ident",
    "quote_literal",
    "resolve_app_url",
]
