"""What both CRM writers share: value formats and CSV writing."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from revteam.crm._private import COUNTRY_NAMES

if TYPE_CHECKING:
    from revteam.generate import Company

Row = dict[str, Any]
Report = tuple[list[str], list[Row]]
"""A report: its header and its rows."""


def label(value: str | None) -> str | None:
    """``paid_search`` → ``Paid Search``: how CRMs show picklist values."""
    return None if value is None else value.replace("_", " ").title()


def stamp(value: dt.datetime | dt.date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value.isoformat()


def country(code: str | None) -> str | None:
    return None if code is None else COUNTRY_NAMES.get(code, code)


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Row]) -> Path:
    """Write rows as the CRMs do: every field quoted, empty for missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if row.get(h) is None else _text(row[h]) for h in header])
    return path


def _text(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_canonical(company: Company, directory: Path, tables: Iterable[str]) -> list[Path]:
    """The tables a CRM does not hold, in canonical form (``<table>.csv``)."""
    out = []
    for name in tables:
        table = company.tables[name]
        rows = [{k: stamp(v) if isinstance(v, dt.date) else v for k, v in r.items()}
                for r in table.to_pylist()]  # fmt: skip
        out.append(write_csv(directory / f"{name}.csv", table.column_names, rows))
    return out


def index(rows: Iterable[Row], key: str) -> dict[str, Row]:
    return {r[key]: r for r in rows}
