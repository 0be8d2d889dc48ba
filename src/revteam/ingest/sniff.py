"""Checks on a source file before it is read: is it text at all, and are its column names clear.

A file that is empty, compressed, binary or in UTF-16 without saying so would otherwise reach
the CSV reader, which reads garbage as column names and reports a missing-column error that
points at the wrong problem. Duplicate column names (also after the normalisation column
matching uses) would let one of the columns silently win. Both refuse the file with a message
that names the problem and the fix. A header row that holds a single value while the rows under
it hold several is a title above the real header; the refusal says which row to declare.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from revteam.exceptions import SourceFileError
from revteam.ingest.mapping import Mapping

if TYPE_CHECKING:
    from revteam.model import Table

_HEAD = 8192

_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"\x1f\x8b", "a gzip-compressed file", "decompress it (gunzip) and load the file inside"),
    (b"BZh", "a bzip2-compressed file", "decompress it (bunzip2) and load the file inside"),
    (b"\xfd7zXZ\x00", "an xz-compressed file", "decompress it (unxz) and load the file inside"),
    (b"(\xb5/\xfd", "a zstd-compressed file", "decompress it (unzstd) and load the file inside"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "extract it and load the file inside"),
    (b"PAR1", "a Parquet file", "give it the suffix .parquet"),
    (
        b"\xd0\xcf\x11\xe0",
        "an old Excel 97-2003 (.xls) or other Office file",
        "open it in Excel and save it as .xlsx (or export CSV)",
    ),
    (b"%PDF", "a PDF document", "export the data as CSV, Excel or JSON Lines instead"),
)


def head(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(_HEAD)


def check_not_empty(path: Path, what: str) -> None:
    if path.stat().st_size == 0:
        need = "a header row" if what == "CSV" else "one record"
        raise SourceFileError(
            path,
            "the file is empty (0 bytes)",
            f"export or copy it again; a {what} file needs at least {need}",
        )


def check_text(path: Path, mapping: Mapping, what: str) -> None:
    """Refuse files that are not text in the declared encoding: archives, binaries, UTF-16."""
    check_not_empty(path, what)
    data = head(path)
    for magic, kind, fix in _MAGIC:
        if data.startswith(magic):
            raise SourceFileError(path, f"this is {kind}, not {what} text", fix)
    if data.startswith(b"PK\x03\x04"):
        raise SourceFileError(path, *_zip_problem(path, what))
    encoding = mapping.encoding.lower().replace("_", "-")
    if encoding in {"utf-16", "utf16"}:
        return
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or _looks_utf16(data):
        raise SourceFileError(
            path,
            f"the file is UTF-16 text, but it is read as {mapping.encoding}",
            "add `encoding: utf-16` to a mapping file and load with --mapping, or save the "
            "file as UTF-8",
        )
    if _looks_binary(data):
        raise SourceFileError(
            path,
            f"this is not {what} text (it holds binary data)",
            f"check that it is the right file; export the data as {what} again",
        )


def _zip_problem(path: Path, what: str) -> tuple[str, str]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        names = []
    if "xl/workbook.xml" in names:
        return f"this is an Excel workbook, not {what} text", "give it the suffix .xlsx"
    inside = f" (it holds {', '.join(names[:3])}{' …' if len(names) > 3 else ''})" if names else ""
    return f"this is a zip archive{inside}, not {what} text", "unzip it and load the file inside"


def _looks_utf16(data: bytes) -> bool:
    """UTF-16 without a byte-order mark: ASCII text then has a NUL byte at every other position."""
    if len(data) < 8:
        return False
    even, odd = data[0::2], data[1::2]
    return min(even.count(0), odd.count(0)) == 0 and (
        max(even.count(0) / len(even), odd.count(0) / len(odd)) > 0.4
    )


def _looks_binary(data: bytes) -> bool:
    """Many control bytes (beyond tab, line breaks, form feed, escape) mean this is not text.

    A rare NUL inside a value is not enough: such records are refused one by one instead.
    """
    control = sum(1 for b in data if b < 32 and b not in (9, 10, 12, 13, 27))
    return control > max(4, len(data) // 10)


def check_columns(
    path: Path | str, names: Iterable[str | None], mapping: Mapping, *, where: str = ""
) -> None:
    """Refuse duplicate column names, exact or after column matching's normalisation.

    Normalised duplicates (``created_at`` and ``Created At``) are allowed when the mapping names
    one of them explicitly: the mapping then says which one holds the data.
    """
    from revteam.ingest.validate import _norm  # validate imports the readers

    groups: dict[str, list[str]] = {}
    for name in names:
        if name is None or not str(name).strip():
            continue
        key = _norm(str(name))
        if key:
            groups.setdefault(key, []).append(str(name))
    for same in groups.values():
        if len(same) < 2:
            continue
        exact = len({n.strip() for n in same}) < len(same)
        if not exact and any(n in mapping.columns for n in same):
            continue
        shown = " and ".join(repr(n) for n in same[:3])
        how = "the same name" if exact else "names that differ only in case, spaces or punctuation"
        raise SourceFileError(
            path,
            f"columns {shown} have {how}{where}, so it is unclear which one holds the data",
            "rename or remove one of them in the file"
            + (
                ""
                if exact
                else f", or map the one to use in a mapping file (columns: {{{same[0]}: ...}})"
            ),
        )


def canonical_names(names: Sequence[str], table: Table, mapping: Mapping) -> dict[str, str]:
    """Source column → canonical column, matched as validation will: the mapping, then the name.

    Readers need this before validation to pick an Excel sheet and to know its date columns.
    """
    from revteam.ingest.validate import _norm  # validate imports the readers

    canon = set(table.column_names)
    out = {n: mapping.columns[n] for n in names if n in mapping.columns}
    taken = set(out.values())
    for name in names:
        key = _norm(name)
        if name not in out and key in canon and key not in taken:
            out[name] = key
            taken.add(key)
    return out


def missing_required(names: Iterable[str], table: Table, mapping: Mapping) -> list[str]:
    """The table's required columns that neither the names nor the mapping's defaults give."""
    found = set(canonical_names(list(names), table, mapping).values())
    return [c for c in table.required_columns if c not in found and c not in mapping.defaults]


def filled(row: Sequence[object]) -> list[str]:
    """The non-empty cells of a row, as text."""
    return [str(v).strip() for v in row if v is not None and str(v).strip()]


def looks_like_title(header: Sequence[object], below: Iterable[Sequence[object]]) -> bool:
    """One value in the header row while a row under it holds several: a title, not names."""
    return len(filled(header)) == 1 and any(len(filled(r)) > 1 for r in below)


def header_row_of(
    rows: Iterable[tuple[int, Sequence[object]]], table: Table, mapping: Mapping
) -> int | None:
    """The number of the first of ``rows`` whose values name every required column."""
    for n, row in rows:
        if not missing_required(filled(row), table, mapping):
            return n
    return None


def title_error(
    path: Path | str, title: str, n: int, header_at: int | None, *, sheet: str | None = None
) -> SourceFileError:
    """The refusal of a file whose header row is a title, saying which row to declare instead."""
    row = "line" if sheet is None else "row"
    of = "" if sheet is None else f" of sheet {sheet!r}"
    how = (
        f"the column names are on {row} {header_at}{of}: declare `header_row: {header_at}` in "
        "the mapping file"
        if header_at is not None
        else f"declare the {row} holding the column names in the mapping file: `header_row: "
        f"<{row} number>` (or `skip_rows:` with the number of {row}s above it)"
    )
    return SourceFileError(
        path,
        f"{row} {n}{of}, read as the header, holds only {title!r}, which looks like a title, "
        "not column names",
        how,
    )
