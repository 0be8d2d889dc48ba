"""Read an Excel workbook: the sheet that holds the table, the row that holds the header, dates.

Exports are rarely one bare table: a workbook has a summary tab before the data, a sheet starts
with a title and export notes, a date cell holds Excel's day number. So the reader takes the
mapping's ``sheet:`` (a name, or a position counted from 1), else the first sheet whose header
names the table's required columns; ``header_row:`` (or ``skip_rows:``) says where the header
is, else it is the first non-empty row. A number in a column that feeds a date or timestamp is
read as an Excel date serial in the workbook's date system (1900, or 1904); a column with a
``date_formats:`` entry is read by that format instead.

Rows are streamed (openpyxl's read-only mode) into DuckDB in batches, so memory stays bounded by
a batch, and the progress follows rows read against the sheet's declared size.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from revteam.exceptions import SourceFileError
from revteam.ingest.mapping import Mapping
from revteam.ingest.readers import (
    NUL_REASON,
    ReadProgress,
    Rejects,
    Staged,
    Ticker,
    _as_text,
    _fraction,
    _printable,
    _raw_json,
    neutral_number,
)
from revteam.ingest.sniff import (
    canonical_names,
    check_columns,
    check_not_empty,
    filled,
    head,
    header_row_of,
    looks_like_title,
    missing_required,
    title_error,
)

if TYPE_CHECKING:
    from revteam.model import Table

Row = tuple[object, ...]
_BATCH = 10_000
_LOOK = 30
"""Rows under a header looked at to tell a title from column names, and to find the header."""


@dataclass
class _Header:
    """A sheet's header row as found, the rows just under it, and the sheet's declared size."""

    sheet: str
    row: int
    cells: Row
    names: list[str]
    below: list[tuple[int, Row]]
    missing: list[str]
    rows: int | None

    def title(self) -> str | None:
        """The header's only value when it looks like a title above the real header."""
        if looks_like_title(self.cells, (r for _, r in self.below)):
            return filled(self.cells)[0]
        return None


def stage_excel(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    mapping: Mapping,
    name: str,
    *,
    table: Table | None,
    progress: ReadProgress,
) -> Staged:
    """Stage the sheet that holds the table (see the module's docstring)."""
    check_not_empty(path, "Excel")
    book = _open(path)
    try:
        sheet, header = _choose(path, book, mapping, table)
        check_columns(path, header.names, mapping, where=f" (header row {header.row})")
        title = header.title()
        if table is not None and header.missing and title is not None:
            found = header_row_of(header.below, table, mapping)
            raise title_error(path, title, header.row, found, sheet=header.sheet)
        serial = _serial_columns(header.names, table, mapping)
        _refuse_unsaved_formulas(path, sheet)
        return _stream(con, name, sheet, header, serial, book.epoch, progress)
    finally:
        book.close()


def _open(path: Path) -> Any:
    import openpyxl

    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many unrelated types for a broken file
        if not head(path).startswith(b"PK\x03\x04"):
            raise SourceFileError(
                path,
                "this is not an Excel .xlsx workbook",
                "check that it is the right file; an old .xls workbook must be saved as .xlsx "
                "in Excel first",
            ) from None
        raise SourceFileError(
            path, f"cannot read as Excel: {exc}", "open it in Excel and save it again as .xlsx"
        ) from None


def _choose(path: Path, book: Any, mapping: Mapping, table: Table | None) -> tuple[Any, _Header]:
    """The sheet to read and its header: the declared one, else the first that fits."""
    if mapping.sheet is not None:
        sheet = _named(path, book, mapping.sheet)
        header = _header(sheet, mapping, table)
        if header is None:
            raise SourceFileError(path, _empty(sheet.title, mapping), _HEADER_FIX)
        return sheet, header
    sheets = [s for s in book.worksheets if hasattr(s, "iter_rows")]
    if not sheets:
        raise SourceFileError(path, "the workbook holds no worksheet (only charts)")
    found: list[tuple[Any, _Header | None]] = []
    for sheet in sheets:
        header = _header(sheet, mapping, table)
        if header is not None and not header.missing:
            return sheet, header
        found.append((sheet, header))
        if table is None or len(sheets) == 1:
            break
    if len(found) > 1:
        assert table is not None  # without a table the first sheet is taken
        raise _no_sheet_fits(path, table, mapping, found)
    # One sheet: the missing columns are told by validation, or as a title above the header.
    sheet, only = found[0]
    if only is None:
        raise SourceFileError(path, _empty(sheet.title, mapping), _HEADER_FIX)
    return sheet, only


def _named(path: Path, book: Any, wanted: int | str) -> Any:
    names: list[str] = list(book.sheetnames)
    shown = ", ".join(repr(n) for n in names)
    if isinstance(wanted, int):
        if wanted <= len(names):
            return _worksheet(path, book, names[wanted - 1])
        quote = (
            f"; for the sheet named '{wanted}', quote it: sheet: \"{wanted}\""
            if str(wanted) in names
            else ""
        )
        raise SourceFileError(
            path,
            f"the workbook has no sheet {wanted}: it has {len(names)} ({shown})",
            f"set `sheet:` in the mapping file to a name or a position from 1 to {len(names)}"
            + quote,
        )
    close = [n for n in names if n.strip().casefold() == wanted.strip().casefold()]
    if wanted in names or len(close) == 1:
        return _worksheet(path, book, wanted if wanted in names else close[0])
    raise SourceFileError(
        path,
        f"the workbook has no sheet {wanted!r}; its sheets are {shown}",
        "set `sheet:` in the mapping file to one of these names, or to a position from 1 to "
        f"{len(names)}",
    )


def _worksheet(path: Path, book: Any, name: str) -> Any:
    sheet = book[name]
    if not hasattr(sheet, "iter_rows"):
        raise SourceFileError(
            path, f"sheet {name!r} is a chart, not a table", "name a sheet holding the rows"
        )
    return sheet


def _header(sheet: Any, mapping: Mapping, table: Table | None) -> _Header | None:
    """The header row: the declared one, else the first non-empty; None if there is none.

    Called once per sheet: it takes the sheet's declared size and then forgets it (see _size).
    """
    size = _size(sheet)
    at = mapping.header_at
    rows: Iterator[Row] = sheet.iter_rows(values_only=True)
    try:
        header: tuple[int, Row] | None = None
        below: list[tuple[int, Row]] = []
        for n, row in enumerate(rows, start=1):
            if header is not None:
                below.append((n, row))
                if len(below) >= _LOOK:
                    break
            elif n == at or (at is None and any(v is not None for v in row)):
                if not any(v is not None for v in row):
                    return None
                header = (n, row)
            elif at is not None and n > at:
                break
    finally:
        _close(rows)
    if header is None:
        return None
    n, cells = header
    width = max(len(cells), size[1] or 0)
    names = [
        str(cells[i]).strip() if i < len(cells) and cells[i] is not None else f"column_{i + 1}"
        for i in range(width)
    ]
    missing = missing_required(names, table, mapping) if table is not None else []
    return _Header(str(sheet.title), n, cells, names, below, missing, size[0])


def _size(sheet: Any) -> tuple[int | None, int | None]:
    """The sheet's declared rows and columns, for progress and the header's width.

    The declared size is then forgotten: read-only openpyxl stops at the declared last row, and
    some writers declare a wrong one, which would silently drop rows.
    """
    rows, columns = sheet.max_row, sheet.max_column
    sheet.reset_dimensions()
    return rows, columns


def _close(rows: Iterator[Row]) -> None:
    # A sheet's rows left half read keep the file open.
    close = getattr(rows, "close", None)
    if close is not None:
        close()


_HEADER_FIX = (
    "name the sheet holding the rows in the mapping file (sheet:), and the row holding the "
    "column names (header_row:)"
)


def _empty(sheet: str, mapping: Mapping) -> str:
    at = mapping.header_at
    return f"row {at} of sheet {sheet!r} is empty" if at else f"sheet {sheet!r} holds no rows"


def _no_sheet_fits(
    path: Path, table: Table, mapping: Mapping, found: list[tuple[Any, _Header | None]]
) -> SourceFileError:
    lacks = []
    hint = ""
    for sheet, header in found:
        if header is None:
            lacks.append(_empty(sheet.title, mapping))
            continue
        what = f"sheet {sheet.title!r} lacks {', '.join(header.missing)}"
        title = header.title()
        if title is not None:
            what += f" (its row {header.row} holds only {title!r}, a title?)"
            row = header_row_of(header.below, table, mapping)
            if row is not None and not hint:
                hint = f"; sheet {sheet.title!r} has them on row {row}: sheet: {sheet.title!r} "
                hint += f"and header_row: {row}"
        lacks.append(what)
    return SourceFileError(
        path,
        f"no sheet holds the columns table {table.name!r} needs "
        f"({', '.join(table.required_columns)}): {'; '.join(lacks)}",
        "name the sheet to read in the mapping file (sheet: <name>, or sheet: <position>, 1 "
        "for the first tab), map its columns under columns:, and declare header_row: when a "
        "title sits above the column names" + hint,
    )


def _serial_columns(names: list[str], table: Table | None, mapping: Mapping) -> list[int]:
    """Positions of the columns whose numbers are Excel date serials.

    A column with a ``date_formats:`` entry is read by that format (``epoch_s``, ``%Y%m%d`` …).
    """
    if table is None:
        return []
    dated = {c.name for c in table.columns if c.type in {"date", "timestamp"}}
    feeds = canonical_names(names, table, mapping)
    return [
        i
        for i, n in enumerate(names)
        if feeds.get(n) in dated and feeds[n] not in mapping.date_formats
    ]


def _from_serial(value: object, epoch: dt.datetime) -> object:
    """An Excel date serial as a datetime (45292.5 is 2024-01-01 12:00 in the 1900 system).

    Anything else, and serials no calendar date has (below 1, or beyond the year 9999), stay as
    they are, and validation refuses them as unreadable.
    """
    from openpyxl.utils.datetime import from_excel

    if isinstance(value, bool) or not isinstance(value, int | float) or value < 1:
        return value
    try:
        when = from_excel(value, epoch)
    except (OverflowError, ValueError):
        return value
    return when if isinstance(when, dt.datetime) else value


def _stream(
    con: duckdb.DuckDBPyConnection,
    name: str,
    sheet: Any,
    header: _Header,
    serial: list[int],
    epoch: dt.datetime,
    report: ReadProgress,
) -> Staged:
    """Stage the rows under the header, a batch at a time; records with a NUL are refused."""
    names = header.names
    rejects: Rejects = []
    batch = _Batch(con, name, names)
    total = header.rows if header.rows and header.rows > 1 else _count_rows(sheet)
    read = Ticker(report, total)
    rows: Iterator[Row] = sheet.iter_rows(min_row=header.row + 1, values_only=True)
    try:
        for n, row in enumerate(rows, start=header.row + 1):
            read(n)
            if all(v is None for v in row):
                continue
            cells = list(row[: len(names)]) + [None] * (len(names) - len(row))
            for i in serial:
                cells[i] = _from_serial(cells[i], epoch)
            nul = [names[i] for i, v in enumerate(cells) if isinstance(v, str) and "\x00" in v]
            if nul:
                record = {k: _as_text(v) for k, v in zip(names, cells, strict=True)}
                raw = json.dumps(record, ensure_ascii=False)
                rejects.append((n, _printable(raw), NUL_REASON.format(cols=", ".join(nul))))
                continue
            batch.add(n, cells)
    finally:
        _close(rows)
    batch.flush()
    report(1.0)
    drop = [f"TABLE {name}"]
    typed = frozenset(batch.typed)
    raw = _raw_json(names, typed)
    return Staged(name, names, batch.rows, "excel", raw, rejects, drop, typed)


_UNSAVED = re.compile(
    rb'<(?:[A-Za-z_][\w.-]*:)?c\b([^>]*\br="([A-Z]+\d+)")?[^>]*>\s*'
    rb"<(?:[A-Za-z_][\w.-]*:)?f\b[^>]*(?:/>|>[^<]*</(?:[A-Za-z_][\w.-]*:)?f>)\s*"
    rb"(?:<(?:[A-Za-z_][\w.-]*:)?v\s*/>|<(?:[A-Za-z_][\w.-]*:)?v>\s*</(?:[A-Za-z_][\w.-]*:)?v>)?"
    rb"\s*</(?:[A-Za-z_][\w.-]*:)?c>"
)
"""A cell holding a formula and no saved result: a workbook written by a program, never
opened in a spreadsheet (openpyxl reads its value as empty)."""


def _refuse_unsaved_formulas(path: Path, sheet: Any) -> None:
    """Refuse a sheet with formulas whose results were never saved, naming the first cell.

    Read with its values, such a cell is empty: a number computed by a formula would load as
    missing without a word. One pass over the sheet's XML, as :func:`_count_rows` makes.
    """
    archive = getattr(sheet.parent, "_archive", None)
    part = getattr(sheet, "_worksheet_path", None)
    if archive is None or not isinstance(part, str):
        return
    rest = b""
    with archive.open(part) as src:
        while chunk := src.read(1 << 20):
            data = rest + chunk
            found = _UNSAVED.search(data)
            if found is not None:
                cell = (found.group(2) or b"a cell").decode("ascii", "replace")
                raise SourceFileError(
                    path,
                    f"sheet {sheet.title!r}: {cell} holds a formula whose result was never saved "
                    "(the workbook was written by a program and not opened in a spreadsheet), "
                    "so its value would load as empty",
                    "open the workbook in Excel or LibreOffice and save it, so the results are "
                    "stored, or export the sheet as CSV",
                )
            rest = data[-_OVERLAP:]  # a cell cut by the chunk's end is whole in the next search


_OVERLAP = 1 << 16
"""Bytes searched again with the next chunk: longer than any cell with a formula."""


_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s>/]")


def _count_rows(sheet: Any) -> int | None:
    """The number of rows of a sheet that does not declare its size, for progress only.

    One pass over the sheet's XML counting row elements, far faster than parsing its cells.
    openpyxl does not expose the sheet's part, hence its private names; without them, there
    is no progress within the sheet.
    """
    archive = getattr(sheet.parent, "_archive", None)
    part = getattr(sheet, "_worksheet_path", None)
    if archive is None or not isinstance(part, str):
        return None
    count, rest = 0, b""
    with archive.open(part) as src:
        while chunk := src.read(1 << 20):
            data = rest + chunk
            cut = max(data.rfind(b"<"), 0)  # a tag cut by the chunk's end is counted next time
            count += len(_ROW_TAG.findall(data, 0, cut))
            rest = data[cut:]
    return count + len(_ROW_TAG.findall(rest))


class _Batch:
    """Rows gathered as text and written to the staging table every ``_BATCH`` rows."""

    def __init__(self, con: duckdb.DuckDBPyConnection, name: str, names: list[str]) -> None:
        self.con, self.name, self.names = con, name, names
        self.lines: list[int] = []
        self.columns: list[list[str | None]] = [[] for _ in names]
        self.rows = 0
        self.created = False
        self.typed: set[str] = set()

    def add(self, line: int, cells: list[object]) -> None:
        self.lines.append(line)
        for name, column, value in zip(self.names, self.columns, cells, strict=True):
            if _fraction(value):  # a number cell: no decimal mark (see neutral_number)
                self.typed.add(name)
                column.append(neutral_number(value))
            else:
                column.append(_as_text(value))
        self.rows += 1
        if len(self.lines) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        if self.created and not self.lines:
            return
        data = {"_line": pa.array(self.lines, type=pa.int64())}
        data |= {
            c: pa.array(v, type=pa.string()) for c, v in zip(self.names, self.columns, strict=True)
        }
        view = f"{self.name}_arrow"
        self.con.register(view, pa.table(data))
        if self.created:
            self.con.execute(f"INSERT INTO {self.name} SELECT * FROM {view}")
        else:
            self.con.execute(f"CREATE TEMP TABLE {self.name} AS SELECT * FROM {view}")
            self.created = True
        self.con.unregister(view)
        self.lines = []
        self.columns = [[] for _ in self.names]
