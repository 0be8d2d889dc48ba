"""Read a source file into a DuckDB staging relation, keeping each record's line and raw text.

CSV and Parquet are read by DuckDB itself (fast paths, no Python per row); JSON Lines and Excel
are read in Python, which is fast enough for the sizes those formats come in and lets every
unreadable line be kept with its exact line number.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa

from revteam.exceptions import SourceFileError
from revteam.ingest.mapping import Mapping
from revteam.storage import quote_ident, quote_literal

Format = Literal["csv", "parquet", "jsonl", "excel"]

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


def detect_format(path: Path) -> Format:
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise SourceFileError(
            path,
            f"unknown file type {path.suffix!r}",
            "use .csv, .tsv, .parquet, .jsonl/.ndjson or .xlsx",
        )
    return fmt


def stage(con: duckdb.DuckDBPyConnection, path: Path, mapping: Mapping) -> Staged:
    """Stage ``path`` for validation; the caller drops ``Staged.drop`` afterwards."""
    if not path.is_file():
        raise SourceFileError(path, "file not found")
    fmt = detect_format(path)
    name = f"_stage_{uuid.uuid4().hex[:12]}"
    if fmt == "csv":
        return _stage_csv(con, path, mapping, name)
    if fmt == "parquet":
        return _stage_parquet(con, path, name)
    records, rejects = _read_jsonl(path) if fmt == "jsonl" else _read_excel(path)
    return _stage_python(con, name, fmt, records, rejects)


def _raw_json(columns: list[str]) -> str:
    pairs = ", ".join(f"{quote_literal(c)}: s.{quote_ident(c)}" for c in columns)
    return f"CAST(to_json({{{pairs}}}) AS VARCHAR)"


def _stage_csv(con: duckdb.DuckDBPyConnection, path: Path, mapping: Mapping, name: str) -> Staged:
    rej_t, rej_s = f"{name}_rej", f"{name}_scan"
    opts = [
        "all_varchar=true",
        "header=true",
        "store_rejects=true",
        f"rejects_table='{rej_t}'",
        f"rejects_scan='{rej_s}'",
        f"encoding={quote_literal(mapping.encoding.lower())}",
    ]
    if mapping.delimiter:
        opts.append(f"delim={quote_literal(mapping.delimiter)}")
    elif path.suffix.lower() == ".tsv":
        opts.append("delim='\\t'")
    raw = f"{name}_raw"
    try:
        con.execute(
            f"CREATE TEMP TABLE {raw} AS SELECT * FROM read_csv(?, {', '.join(opts)})", [str(path)]
        )
    except duckdb.Error as exc:
        raise SourceFileError(path, f"cannot read as CSV: {_first_line(exc)}") from None
    columns = [r[0] for r in con.execute(f"DESCRIBE {raw}").fetchall()]
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
    rows = _count(con, raw)
    if not rejects:
        con.execute(f"CREATE TEMP VIEW {name} AS SELECT *, rowid + 2 AS _line FROM {raw}")
        drop = [f"VIEW {name}", f"TABLE {raw}"]
    else:
        # The shift is the number of rejects before a record: one as-of join on the rowid where
        # the shift grows, done once into a table (per record and per scan it was quadratic).
        starts = [line - 2 - i for i, (line, _, _) in enumerate(rejects)]
        con.execute(
            f"""CREATE TEMP TABLE {name} AS
            SELECT r.*, r.rowid + 2 + COALESCE(s.shift, 0) AS _line FROM {raw} r
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
            f"not valid {mapping.encoding} text; if the file uses another encoding, "
            "set `encoding:` in the mapping file"
        )
    return f"malformed CSV record ({str(etype).lower()}): {message}"


def _stage_parquet(con: duckdb.DuckDBPyConnection, path: Path, name: str) -> Staged:
    try:
        con.execute(
            f"CREATE TEMP VIEW {name} AS SELECT * EXCLUDE (file_row_number), "
            f"file_row_number + 1 AS _line FROM read_parquet({quote_literal(str(path))}, "
            "file_row_number=true)"
        )
        columns = [r[0] for r in con.execute(f"DESCRIBE {name}").fetchall() if r[0] != "_line"]
    except duckdb.Error as exc:
        raise SourceFileError(path, f"cannot read as Parquet: {_first_line(exc)}") from None
    rows = _count(con, name)
    return Staged(name, columns, rows, "parquet", _raw_json(columns), [], [f"VIEW {name}"])


def _read_jsonl(path: Path) -> tuple[list[tuple[int, dict[str, Any]]], list[tuple[int, str, str]]]:
    records: list[tuple[int, dict[str, Any]]] = []
    rejects: list[tuple[int, str, str]] = []
    with path.open(encoding="utf-8", errors="surrogateescape") as fh:
        for n, line in enumerate(fh, start=1):
            text = line.strip()
            if not text:
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                rejects.append((n, _printable(text), f"not valid JSON: {exc.msg}"))
                continue
            if not isinstance(obj, dict):
                rejects.append((n, _printable(text), "a JSON Lines record must be an object"))
                continue
            records.append((n, obj))
    return records, rejects


def _read_excel(path: Path) -> tuple[list[tuple[int, dict[str, Any]]], list[tuple[int, str, str]]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many unrelated types for a broken file
        raise SourceFileError(path, f"cannot read as Excel: {exc}") from None
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header: list[str] | None = None
        records: list[tuple[int, dict[str, Any]]] = []
        for n, row in enumerate(rows, start=1):
            if header is None:
                if any(v is not None for v in row):
                    header = [
                        str(v).strip() if v is not None else f"column_{i + 1}"
                        for i, v in enumerate(row)
                    ]
                continue
            if all(v is None for v in row):
                continue
            records.append((n, dict(zip(header, row, strict=False))))
    finally:
        book.close()
    return records, []


def _stage_python(
    con: duckdb.DuckDBPyConnection,
    name: str,
    fmt: Format,
    records: list[tuple[int, dict[str, Any]]],
    rejects: list[tuple[int, str, str]],
) -> Staged:
    columns: dict[str, None] = {}
    for _, rec in records:
        columns.update(dict.fromkeys(rec))
    cols = list(columns)
    data: dict[str, list[Any]] = {"_line": [n for n, _ in records]}
    for c in cols:
        data[c] = [_as_text(rec.get(c)) for _, rec in records]
    arrow = pa.table(
        {k: pa.array(v, type=pa.int64() if k == "_line" else pa.string()) for k, v in data.items()}
    )
    con.register(f"{name}_arrow", arrow)
    con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
    con.unregister(f"{name}_arrow")
    return Staged(name, cols, len(records), fmt, _raw_json(cols), rejects, [f"TABLE {name}"])


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
