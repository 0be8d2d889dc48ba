"""Read a source file into a DuckDB staging relation, keeping each record's line and raw text.

CSV and Parquet are read by DuckDB itself (fast paths, no Python per row); JSON Lines, JSON
arrays and Excel (:mod:`~revteam.ingest.excel`) are read in Python, which is fast enough for the
sizes those formats come in and lets every unreadable line be kept with its exact line number.
Readers report how far they are (bytes, records or rows read, and DuckDB's own progress while it
parses), so a progress bar moves while a large file is read.

Before reading, :mod:`~revteam.ingest.sniff` refuses files that are empty, compressed, binary or
UTF-16 without a mapping saying so, and files whose column names repeat (also after the
normalisation column matching uses). Records holding a NUL character, and JSON records that are
not valid text in the file's encoding, are refused one by one (they reach the quarantine).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import decimal
import json
import math
import re
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeGuard

import duckdb
import pyarrow as pa

from revteam.exceptions import SourceFileError
from revteam.ingest.mapping import TRANSCODED, Mapping
from revteam.ingest.sniff import (
    check_columns,
    check_not_empty,
    check_text,
    filled,
    head,
    header_row_of,
    missing_required,
    title_error,
)
from revteam.storage import quote_ident, quote_literal

if TYPE_CHECKING:
    from revteam.model import Table

Format = Literal["csv", "parquet", "jsonl", "excel"]

ReadProgress = Callable[[float], None]
"""Called with the fraction of a file read so far, from 0 to 1."""

_SUFFIXES: dict[str, Format] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".xlsx": "excel",
    ".xlsm": "excel",
}


@dataclass
class Staged:
    """A source file staged in DuckDB.

    ``relation`` has the source columns plus ``_line`` (the record's line in the file, or row
    number for Parquet); ``raw_expr`` is an SQL expression over it (aliased ``s``) giving the
    record as text.
    ``rejects`` holds records that could not even be split into columns.
    """

    relation: str
    columns: list[str]
    rows: int
    format: Format
    raw_expr: str
    rejects: list[tuple[int, str, str]] = field(default_factory=list)
    drop: list[str] = field(default_factory=list)
    """Temporary objects to drop afterwards, as "VIEW name" / "TABLE name"."""
    typed_numbers: frozenset[str] = frozenset()
    """Text columns holding typed fractions (JSON numbers, Excel number cells) written in
    :func:`neutral_number` form: they say nothing of how the file writes decimals."""


def detect_format(path: Path) -> Format:
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise SourceFileError(
            path,
            f"unknown file type {path.suffix!r}",
            "use .csv, .tsv, .parquet, .jsonl/.ndjson or .xlsx",
        )
    return fmt


def stage(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    mapping: Mapping,
    *,
    table: Table | None = None,
    progress: ReadProgress | None = None,
) -> Staged:
    """Stage ``path`` for validation; the caller drops ``Staged.drop`` afterwards.

    ``table``, when given, lets the reader pick the Excel sheet holding its required columns,
    read Excel date serials in its date columns, and explain a title row read as the header.
    """
    if not path.is_file():
        raise SourceFileError(path, "file not found")
    fmt = detect_format(path)
    name = f"_stage_{uuid.uuid4().hex[:12]}"
    report = progress or _quiet
    if fmt == "csv":
        check_text(path, mapping, "CSV")
        if mapping.encoding_name in TRANSCODED:
            return _stage_transcoded(con, path, mapping, name, table, report)
        return _stage_csv_file(con, path, mapping, name, table, report)
    if fmt == "parquet":
        with watch_query(con, report):
            return _stage_parquet(con, path, mapping, name)
    if fmt == "excel":
        from revteam.ingest.excel import stage_excel  # excel imports this module's helpers

        return stage_excel(con, path, mapping, name, table=table, progress=report)
    check_text(path, mapping, "JSON")
    records, rejects = _read_json(path, mapping, part(report, 0.0, 0.8))
    staged = _stage_python(con, name, fmt, records, rejects)
    check_columns(path, staged.columns, mapping)
    report(1.0)
    return staged


def _quiet(_fraction: float) -> None:
    """Progress nobody asked for."""


def part(report: ReadProgress, low: float, high: float) -> ReadProgress:
    """``report`` for one part of the work: that part's 0 to 1 moves it from ``low`` to ``high``."""
    return lambda f: report(low + (high - low) * min(max(f, 0.0), 1.0))


class Ticker:
    """Reports ``done / total`` each time another hundredth is done (calls stay cheap per row)."""

    def __init__(self, report: ReadProgress, total: float | None) -> None:
        self._report, self._total = report, total or 0.0
        self._next = self._total / 100

    def __call__(self, done: float) -> None:
        if self._total and done >= self._next:
            self._next = done + self._total / 100
            self._report(min(done / self._total, 1.0))


@contextmanager
def watch_query(
    con: duckdb.DuckDBPyConnection, report: ReadProgress, *, share: float = 1.0
) -> Iterator[None]:
    """Report DuckDB's own progress of the statements run inside, several times a second.

    DuckDB counts each statement from 0 again; a later statement moves ``share`` of the way that
    is left from where the one before stopped, so the fraction only grows when several run.
    DuckDB tracks progress only with its progress bar on, which it turns off outside an
    interactive session: it is turned on here, without printing.
    """
    con.execute("SET enable_progress_bar = true; SET enable_progress_bar_print = false")
    done = threading.Event()

    def poll() -> None:
        base = last = shown = 0.0
        while not done.wait(0.2):
            pct = con.query_progress() / 100.0
            if pct < 0:  # between statements
                continue
            if pct < last:
                base = shown
            last = pct
            now = base + (1.0 - base) * share * min(pct, 1.0)
            if now > shown:
                shown = now
                report(now)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()


def _raw_json(columns: list[str], typed: frozenset[str] = frozenset()) -> str:
    """SQL of a staged record as JSON text; typed fractions shown as written (2500.5)."""

    def shown(c: str) -> str:
        v = f"s.{quote_ident(c)}"
        if c not in typed:
            return v
        neutral = f"regexp_matches({v}, '^-?\\d+e-?\\d+$')"
        return f"CASE WHEN {neutral} THEN CAST(CAST({v} AS DOUBLE) AS VARCHAR) ELSE {v} END"

    pairs = ", ".join(f"{quote_literal(c)}: {shown(c)}" for c in columns)
    return f"CAST(to_json({{{pairs}}}) AS VARCHAR)"


def _stage_transcoded(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    mapping: Mapping,
    name: str,
    table: Table | None,
    report: ReadProgress,
) -> Staged:
    """A CSV in an encoding DuckDB does not read (windows-1252): converted to UTF-8, then read.

    A byte that the encoding does not define refuses the file with its position, rather than
    becoming a replacement character.
    """
    encoding = mapping.encoding_name
    decoder = codecs.getincrementaldecoder(encoding)()
    size, done = path.stat().st_size, 0
    converted = Ticker(part(report, 0.0, 0.4), size)
    with tempfile.TemporaryDirectory(prefix="revteam-") as folder:
        utf8 = Path(folder) / path.name
        try:
            with path.open("rb") as src, utf8.open("wb") as dst:
                while chunk := src.read(_chunk(size)):
                    dst.write(decoder.decode(chunk).encode("utf-8"))
                    done += len(chunk)
                    converted(done)
                dst.write(decoder.decode(b"", final=True).encode("utf-8"))
        except UnicodeDecodeError as exc:
            raise SourceFileError(
                path,
                f"not valid {encoding} text (byte 0x{exc.object[exc.start]:02x} is not a "
                f"{encoding} character; it is byte {done + exc.start + 1} of the file)",
                "set `encoding:` in the mapping file to the file's encoding",
            ) from None
        utf8_mapping = mapping.model_copy(update={"encoding": "utf-8"})
        try:
            return _stage_csv_file(con, utf8, utf8_mapping, name, table, part(report, 0.4, 1.0))
        except SourceFileError as exc:  # name the user's file, not the converted copy
            raise SourceFileError(path, exc.problem, exc.fix) from None


def _chunk(size: int) -> int:
    """A read size giving a progress step per ~1/32 of a file, within 64 KiB to 4 MiB."""
    return min(1 << 22, max(1 << 16, size // 32))


def _stage_csv_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    mapping: Mapping,
    name: str,
    table: Table | None,
    report: ReadProgress,
) -> Staged:
    # The byte scan comes first: it reads the whole file in Python, so its progress is exact.
    nul = _may_hold_nul(path, mapping, part(report, 0.0, 0.2))
    staged = _stage_csv(con, path, mapping, name, table, part(report, 0.2, 0.9))
    # Text columns that load are checked for NUL characters in the validation pass itself
    # (validate.py); the byte scan only decides whether the others need a look too.
    staged = _refuse_nul(con, staged) if nul else staged
    report(1.0)
    return staged


def _csv_dialect(path: Path, mapping: Mapping) -> list[str]:
    """read_csv options the mapping and the suffix fix: the encoding (first), delimiter, skip."""
    opts = [f"encoding={quote_literal(mapping.encoding.lower())}"]
    if mapping.delimiter:
        opts.append(f"delim={quote_literal(mapping.delimiter)}")
    elif path.suffix.lower() == ".tsv":
        opts.append("delim='\\t'")
    if mapping.header_at is not None:
        opts.append(f"skip={mapping.header_at - 1}")
    return opts


def _stage_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    mapping: Mapping,
    name: str,
    table: Table | None,
    report: ReadProgress,
) -> Staged:
    rej_t, rej_s = f"{name}_rej", f"{name}_scan"
    dialect = _csv_dialect(path, mapping)
    opts = [
        "all_varchar=true",
        "header=true",
        "store_rejects=true",
        f"rejects_table='{rej_t}'",
        f"rejects_scan='{rej_s}'",
        *dialect,
    ]
    raw = f"{name}_raw"
    try:
        with watch_query(con, part(report, 0.0, 0.9)):
            con.execute(
                f"CREATE TEMP TABLE {raw} AS SELECT * FROM read_csv(?, {', '.join(opts)})",
                [str(path)],
            )
    except duckdb.Error as exc:
        raise SourceFileError(path, f"cannot read as CSV: {_first_line(exc)}") from None
    report(0.9)
    columns = [r[0] for r in con.execute(f"DESCRIBE {raw}").fetchall()]
    try:
        check_columns(path, _csv_header(con, path, mapping, columns, dialect), mapping)
        at = mapping.header_at
        if at is not None and (
            all(_GENERATED.fullmatch(c) for c in columns) or not _has_line(path, at)
        ):
            # DuckDB reads the first line as the header when asked to skip past the end.
            raise SourceFileError(
                path,
                f"line {at}, declared as the header, is empty or past the end of the file",
                "set `header_row:` (or `skip_rows:`) in the mapping file to the line holding "
                "the column names",
            )
        if table is not None:
            _refuse_title_line(con, path, mapping, raw, columns, table)
    except SourceFileError:
        con.execute(
            f"DROP TABLE IF EXISTS {raw}; DROP TABLE IF EXISTS {rej_t}; "
            f"DROP TABLE IF EXISTS {rej_s}"
        )
        raise
    rejects = [
        (int(line), str(csv_line or ""), _reject_reason(etype, msg, mapping))
        for line, csv_line, etype, msg in con.execute(
            # DuckDB 2.0 may log one short record several times (once per missing column);
            # one record is one reject, or the lines of the records after it would shift.
            f"SELECT line, first(csv_line ORDER BY rowid), first(error_type ORDER BY rowid), "
            f"first(error_message ORDER BY rowid) FROM {rej_t} GROUP BY line ORDER BY line"
        ).fetchall()
    ]
    con.execute(f"DROP TABLE IF EXISTS {rej_t}; DROP TABLE IF EXISTS {rej_s}")
    # Records keep file order (DuckDB preserves insertion order), so a record's rowid gives its
    # line; records DuckDB rejected while splitting shift the lines of those after them.
    # DuckDB's reject lines count from the file's start, skipped lines included.
    first = (mapping.header_at or 1) + 1
    rows = _count(con, raw)
    if not rejects:
        con.execute(f"CREATE TEMP VIEW {name} AS SELECT *, rowid + {first} AS _line FROM {raw}")
        drop = [f"VIEW {name}", f"TABLE {raw}"]
    else:
        # The shift is the number of rejects before a record: one as-of join on the rowid where
        # the shift grows, done once into a table (per record and per scan it was quadratic).
        starts = [line - first - i for i, (line, _, _) in enumerate(rejects)]
        con.execute(
            f"""CREATE TEMP TABLE {name} AS
            SELECT r.*, r.rowid + {first} + COALESCE(s.shift, 0) AS _line FROM {raw} r
            ASOF LEFT JOIN (
                SELECT start, max(shift) AS shift
                FROM (SELECT unnest($1::BIGINT[]) AS start, generate_subscripts($1, 1) AS shift)
                GROUP BY start
            ) s ON r.rowid >= s.start
            ORDER BY r.rowid""",
            [starts],
        )
        con.execute(f"DROP TABLE {raw}")
        drop = [f"TABLE {name}"]
    return Staged(name, columns, rows, "csv", _raw_json(columns), rejects, drop)


def _reject_reason(etype: str, message: str, mapping: Mapping) -> str:
    if etype == "INVALID ENCODING" or "unicode" in str(message).lower():
        return (
            f"not valid {mapping.encoding} text; if the file uses another encoding, set "
            '`encoding:` in the mapping file (Excel on Windows saves "CSV" as windows-1252)'
        )
    return f"malformed CSV record ({str(etype).lower()}): {message}"


_RENAMED = re.compile(r"(.+)_\d+")


def _csv_header(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    mapping: Mapping,
    columns: list[str],
    opts: list[str],
) -> list[str | None]:
    """The file's own header row when DuckDB renamed repeated names (``x``, ``x_1``).

    DuckDB makes column names unique, so an exact repeat would otherwise go unnoticed; the header
    is read again, as data, with the dialect DuckDB detected.
    """
    lower = {c.lower() for c in columns}
    if not any((m := _RENAMED.fullmatch(c)) and m.group(1).lower() in lower for c in columns):
        return list(columns)
    enc = opts[0]
    try:
        delim, quote, escape, skip = con.execute(
            f"SELECT Delimiter, Quote, Escape, SkipRows FROM sniff_csv(?, {', '.join(opts)})",
            [str(path)],
        ).fetchall()[0]
        if mapping.header_at is not None:
            skip = mapping.header_at - 1
        dialect = [f"delim={quote_literal(delim)}", f"skip={int(skip)}"]
        if quote != "(empty)":
            dialect.append(f"quote={quote_literal(quote)}")
        if escape != "(empty)":
            dialect.append(f"escape={quote_literal(escape)}")
        row = con.execute(
            f"SELECT * FROM read_csv(?, header=false, all_varchar=true, {enc}, "
            f"{', '.join(dialect)}) LIMIT 1",
            [str(path)],
        ).fetchall()
    except duckdb.Error:
        return list(columns)
    names = [None if v is None else str(v) for v in row[0]] if row else []
    return names if len(names) == len(columns) else list(columns)


def _has_line(path: Path, line: int) -> bool:
    """Whether the file reaches line ``line`` (counted from 1)."""
    with path.open("rb") as fh:
        return sum(1 for _ in zip(range(line), fh, strict=False)) == line


_GENERATED = re.compile(r"column\d+")
"""DuckDB's name for a column whose header cell is empty."""


def _refuse_title_line(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    mapping: Mapping,
    raw: str,
    columns: list[str],
    table: Table,
) -> None:
    """Refuse a CSV whose header line is a title (one name; rows under it hold several)."""
    named = [c for c in columns if not _GENERATED.fullmatch(c)]
    if len(named) != 1 or not missing_required(columns, table, mapping):
        return
    at = (mapping.header_at or 1) - 1
    text = head(path).decode(mapping.encoding_name, errors="replace")
    lines = text.splitlines()[at : at + 30]
    for delim in [mapping.delimiter] if mapping.delimiter else [",", ";", "\t", "|"]:
        rows = enumerate(csv.reader(lines, delimiter=delim), start=at + 1)
        found = header_row_of(list(rows)[1:], table, mapping)
        if found is not None:
            raise title_error(path, named[0], at + 1, found)
    below = con.execute(f"SELECT * FROM {raw} LIMIT 30").fetchall()
    if len(columns) > 1 and any(len(filled(r)) > 1 for r in below):
        raise title_error(path, named[0], at + 1, None)


def _may_hold_nul(path: Path, mapping: Mapping, report: ReadProgress = _quiet) -> bool:
    """Whether a text file may hold NUL characters (a byte scan, far faster than a SQL one)."""
    if mapping.encoding.lower().replace("_", "-") in {"utf-16", "utf16"}:
        return True
    size, done = path.stat().st_size, 0
    scanned = Ticker(report, size)
    with path.open("rb") as fh:
        while chunk := fh.read(_chunk(size)):
            if b"\x00" in chunk:
                return True
            done += len(chunk)
            scanned(done)
    return False


NUL_REASON = (
    "{cols}: holds a NUL character (byte 0), which text cannot carry; the file may be damaged "
    "or not plain text: correct the value in the source and export the file again"
)


def _refuse_nul(con: duckdb.DuckDBPyConnection, staged: Staged) -> Staged:
    """Move records with a NUL character in any text value to the rejects."""
    types = con.execute(f"DESCRIBE {staged.relation}").fetchall()
    text = [str(r[0]) for r in types if r[1] == "VARCHAR" and r[0] != "_line"]
    if not text:
        return staged
    has = {c: f"COALESCE(contains({quote_ident(c)}, chr(0)), FALSE)" for c in text}
    cond = " OR ".join(has.values())
    which = ", ".join(f"CASE WHEN {h} THEN {quote_literal(c)} END" for c, h in has.items())
    hits = con.execute(
        f"SELECT _line, {staged.raw_expr}, concat_ws(', ', {which}) "
        f"FROM {staged.relation} s WHERE {cond} ORDER BY _line"
    ).fetchall()
    if not hits:
        return staged
    kept = f"{staged.relation}_ok"
    con.execute(
        f"CREATE TEMP TABLE {kept} AS SELECT * FROM {staged.relation} WHERE NOT ({cond}) "
        "ORDER BY _line"
    )
    rejects = [(int(line), str(raw), NUL_REASON.format(cols=cols)) for line, raw, cols in hits]
    return Staged(
        kept,
        staged.columns,
        staged.rows - len(hits),
        staged.format,
        staged.raw_expr,
        sorted([*staged.rejects, *rejects]),
        [f"TABLE {kept}", *staged.drop],
    )


def _stage_parquet(
    con: duckdb.DuckDBPyConnection, path: Path, mapping: Mapping, name: str
) -> Staged:
    check_not_empty(path, "Parquet")
    start = head(path)[:4]
    with path.open("rb") as fh:
        fh.seek(max(0, path.stat().st_size - 4))
        end = fh.read(4)
    if start != b"PAR1":
        raise SourceFileError(
            path,
            "this is not a Parquet file (it does not start with Parquet's marker)",
            "check that it is the right file, or give it the suffix of its real format "
            "(.csv, .jsonl, .xlsx)",
        )
    if end != b"PAR1":
        raise SourceFileError(
            path,
            "the Parquet file is incomplete: its end is missing (an interrupted download, copy "
            "or export)",
            "copy or export the file again",
        )
    try:
        con.execute(
            f"CREATE TEMP VIEW {name} AS SELECT * EXCLUDE (file_row_number), "
            f"file_row_number + 1 AS _line FROM read_parquet({quote_literal(str(path))}, "
            "file_row_number=true)"
        )
        columns = [r[0] for r in con.execute(f"DESCRIBE {name}").fetchall() if r[0] != "_line"]
        rows = _count(con, name)
    except duckdb.Error as exc:
        con.execute(f"DROP VIEW IF EXISTS {name}")
        raise SourceFileError(
            path,
            f"the Parquet file is damaged and cannot be read ({_first_line(exc)})",
            "copy or export the file again",
        ) from None
    try:
        import pyarrow.parquet as pq

        names: list[str] = list(pq.read_schema(path).names)
    except (OSError, pa.ArrowException):
        names = columns
    try:
        check_columns(path, names if len(names) == len(columns) else columns, mapping)
    except SourceFileError:
        con.execute(f"DROP VIEW IF EXISTS {name}")
        raise
    return Staged(name, columns, rows, "parquet", _raw_json(columns), [], [f"VIEW {name}"])


Records = list[tuple[int, dict[str, Any]]]
Rejects = list[tuple[int, str, str]]


class _Repeats(dict[str, Any]):
    """A JSON object that named a key more than once (``repeated``): nothing says which wins."""

    repeated: list[str]


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen: set[str] = set()
    repeats = _Repeats(pairs)
    repeats.repeated = []
    for key, _ in pairs:
        if key in seen:
            repeats.repeated.append(key)
        seen.add(key)
    return repeats


def _loads(text: str) -> Any:
    return json.loads(text, object_pairs_hook=_object)


def _encoding_reason(where: str, encoding: str, detail: str = "") -> str:
    return (
        f"{where}: not valid {encoding} text{detail}; if the file uses another encoding, set "
        "`encoding:` in the mapping file (utf-8, utf-16, latin-1, or windows-1252 for Excel "
        '"CSV" files saved on Windows)'
    )


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _record_problem(obj: Any, what: str, where: str, encoding: str) -> str | None:
    """Why a parsed record cannot be loaded, or None."""
    if not isinstance(obj, dict):
        return f"{where}: {what} must be an object ({{...}}), not {_json_kind(obj)}"
    if isinstance(obj, _Repeats):
        return f"{where}: key {obj.repeated[0]!r} appears twice in the record; keep one of them"
    if _SURROGATE.search(json.dumps(obj, ensure_ascii=False)):
        return _encoding_reason(where, encoding)
    nul = [k for k, v in obj.items() if isinstance(v, str) and "\x00" in v]
    if nul:
        return NUL_REASON.format(cols=", ".join(nul))
    return None


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return "a number" if isinstance(value, int | float) else type(value).__name__


def _read_json(path: Path, mapping: Mapping, report: ReadProgress) -> tuple[Records, Rejects]:
    """JSON Lines (one object per line), or one JSON array of objects."""
    encoding = mapping.encoding.lower()
    data = path.read_bytes()
    text: str | None
    if encoding in {"utf-8", "utf8"}:
        data = data.removeprefix(codecs.BOM_UTF8)
        lines = data.split(b"\n")
        text = None  # decoded only when the file may be one JSON document
    else:
        try:
            text = data.decode(encoding)
            lines = [t.encode("utf-8", "surrogatepass") for t in text.split("\n")]
        except UnicodeDecodeError as exc:
            raise SourceFileError(
                path,
                f"not valid {mapping.encoding} text (at byte {exc.start})",
                "set `encoding:` in the mapping file to the file's encoding",
            ) from None
    first = next((ln.strip() for ln in lines if ln.strip()), b"")
    if not first:
        raise SourceFileError(path, "the file holds no records", "export it again")
    try:
        first_obj: Any = _loads(first.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        first_obj = None
    if not isinstance(first_obj, dict):
        if text is None:
            text = data.decode("utf-8", errors="surrogateescape")
        whole = _whole_document(path, text)
        if whole is not None:
            # The document is parsed in one call; progress moves with the records checked.
            report(0.3)
            return _read_array(path, whole, mapping, part(report, 0.3, 1.0))
    return _read_lines(lines, mapping, report)


def _whole_document(path: Path, text: str) -> list[Any] | None:
    """The file as one JSON array, or None when it is not one JSON document (JSON Lines)."""
    try:
        doc = _loads(text)
    except json.JSONDecodeError as exc:
        if text.lstrip().startswith("["):
            raise SourceFileError(
                path,
                f"the file starts like a JSON array but is not valid JSON: {exc.msg} "
                f"(line {exc.lineno}, column {exc.colno})",
                "export it again, or as JSON Lines (one object per line)",
            ) from None
        return None
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        keys = ", ".join(list(doc)[:5]) + (" …" if len(doc) > 5 else "")
        raise SourceFileError(
            path,
            f"the file holds one JSON object (keys: {keys or 'none'}), not a list of records",
            "expected JSON Lines (one object per line) or a JSON array of objects "
            "([{...}, {...}]); put the records in such a file",
        )
    raise SourceFileError(
        path,
        f"the file holds a single JSON value ({_json_kind(doc)}), not records",
        "expected JSON Lines (one object per line) or a JSON array of objects ([{...}, {...}])",
    )


def _read_array(
    path: Path, items: list[Any], mapping: Mapping, report: ReadProgress
) -> tuple[Records, Rejects]:
    if not items:
        raise SourceFileError(path, "the JSON array is empty: the file holds no records")
    records: Records = []
    rejects: Rejects = []
    checked = Ticker(report, len(items))
    for n, obj in enumerate(items, start=1):
        checked(n)
        problem = _record_problem(obj, "a record of a JSON array", f"record {n}", mapping.encoding)
        if problem:
            rejects.append((n, _printable(json.dumps(obj, ensure_ascii=False)), problem))
        else:
            records.append((n, obj))
    return records, rejects


def _read_lines(
    lines: list[bytes], mapping: Mapping, report: ReadProgress
) -> tuple[Records, Rejects]:
    records: Records = []
    rejects: Rejects = []
    read = Ticker(report, sum(len(line) + 1 for line in lines))
    done = 0
    for n, line in enumerate(lines, start=1):
        done += len(line) + 1
        read(done)
        raw = line.strip()
        if not raw:
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            detail = f" (byte 0x{raw[exc.start]:02x} at position {exc.start + 1})"
            shown = _printable(raw.decode("utf-8", errors="surrogateescape"))
            rejects.append((n, shown, _encoding_reason(f"line {n}", mapping.encoding, detail)))
            continue
        try:
            obj = _loads(text)
        except json.JSONDecodeError as exc:
            rejects.append((n, _printable(text), f"not valid JSON: {exc.msg}"))
            continue
        if not isinstance(obj, dict):
            rejects.append((n, _printable(text), "a JSON Lines record must be an object"))
            continue
        problem = _record_problem(obj, "a JSON Lines record", f"line {n}", mapping.encoding)
        if problem:
            rejects.append((n, _printable(text), problem))
            continue
        records.append((n, obj))
    return records, rejects


def _stage_python(
    con: duckdb.DuckDBPyConnection, name: str, fmt: Format, records: Records, rejects: Rejects
) -> Staged:
    columns: dict[str, None] = {}
    for _, rec in records:
        columns.update(dict.fromkeys(rec))
    cols = list(columns)
    data: dict[str, list[Any]] = {"_line": [n for n, _ in records]}
    typed: set[str] = set()
    for c in cols:
        values = [rec.get(c) for _, rec in records]
        if any(_fraction(v) for v in values):
            typed.add(c)
            data[c] = [neutral_number(v) if _fraction(v) else _as_text(v) for v in values]
        else:
            data[c] = [_as_text(v) for v in values]
    arrow = pa.table(
        {k: pa.array(v, type=pa.int64() if k == "_line" else pa.string()) for k, v in data.items()}
    )
    con.register(f"{name}_arrow", arrow)
    con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
    con.unregister(f"{name}_arrow")
    drop = [f"TABLE {name}"]
    raw = _raw_json(cols, frozenset(typed))
    return Staged(name, cols, len(records), fmt, raw, rejects, drop, frozenset(typed))


def _fraction(value: object) -> TypeGuard[float]:
    """A finite number with a fractional part (whole numbers are written without a mark)."""
    return isinstance(value, float) and math.isfinite(value) and not value.is_integer()


def neutral_number(value: float) -> str:
    """A typed fraction as text with no decimal mark: 2500.5 -> ``25005e-1``.

    A JSON number or an Excel number cell beside text in one column becomes text, and text
    with a dot would tell ingest the file writes decimals with a dot: a German ``1.500`` in the
    same file would then read as 1.5. The exponent form reads the same under either mark.
    """
    sign, digits, exponent = decimal.Decimal(repr(value)).as_tuple()
    return f"{'-' if sign else ''}{''.join(map(str, digits))}e{exponent}"


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _printable(str(value))


def _printable(text: str) -> str:
    return text.encode("utf-8", errors="backslashreplace").decode("utf-8")


def _count(con: duckdb.DuckDBPyConnection, relation: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {relation}").fetchall()[0]
    return int(row[0]) if row else 0


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
