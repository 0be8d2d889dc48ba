"""Translation: CRM records → canonical-shaped rows, written as files that ingest then loads.

A reader stages each source file in a scratch DuckDB and describes every canonical table it can
fill as an SQL query (a :class:`Part`). :meth:`Translation.write` materialises those queries as
Parquet files with canonical column names, so that the ordinary ingest — validation, quarantine,
idempotent upsert, one transaction per file — applies unchanged. Every translated row carries
``_origin`` (source file and line) and ``_raw`` (the source record) for the quarantine, and rows
the reader cannot place carry their reason in ``_refuse`` (ingest refuses them with it).
"""

from __future__ import annotations

import codecs
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import duckdb

from revteam.crm import _private as P
from revteam.crm.mapping import SETTING_OF, CrmMapping, UnmappedValue
from revteam.exceptions import CrmSourceError
from revteam.ingest import Mapping as IngestMapping
from revteam.ingest.readers import stage
from revteam.model import TABLES, load_order
from revteam.storage import quote_ident

Kind = Literal[
    "text", "email", "domain", "country", "first_id", "timestamp", "money", "percent", "lower"
]

_DUPLICATE = re.compile(r"^(.*?)(?:_\d+| \(\d+\))$")
CURRENCY_COLUMNS = ("currency", "_currency")
"""Columns of a field set that hold a record's currency (an ISO code)."""


@dataclass(frozen=True)
class Field:
    """How one canonical column is read: the first non-empty of ``labels``, cleaned by ``kind``.

    ``values`` names a :class:`CrmMapping` map applied afterwards. An unmapped value is kept
    (validation then refuses the row, naming the value) unless ``keep_unmapped`` is false, in
    which case it becomes ``fallback`` and the run's notes and unmapped report say so.
    """

    column: str
    labels: tuple[str, ...]
    kind: Kind = "text"
    values: str | None = None
    keep_unmapped: bool = True
    fallback: str | None = None
    pick: Literal["first", "earliest"] = "first"
    """With several labels present: the first non-empty, or the earliest timestamp (for
    several columns that each record entering the same stage)."""
    enum: tuple[str, ...] = ()
    """A closed vocabulary checked here: values outside it load empty (reported), so that an
    odd persona or region never costs the whole record."""

    def table(self, mapping: CrmMapping) -> dict[str, str] | None:
        if self.enum:
            return {P.norm_value(e): e for e in self.enum}
        return dict(getattr(mapping, self.values)) if self.values else None

    @property
    def refuses(self) -> bool:
        return self.keep_unmapped and not self.enum


@dataclass
class Source:
    """One source file staged in the scratch database."""

    path: Path
    object: str
    relation: str
    columns: list[str]
    rows: int
    rejects: list[tuple[int, str, str]]
    raw_column: str | None = None
    """A column holding the record as it was read, once the columns have been renamed."""
    refuse_column: str | None = None
    """A column holding a reason the reader refuses the row for (NULL for rows it keeps)."""
    labels: dict[str, str] = field(default_factory=dict)
    """The label each renamed column had in the file, to name it in messages."""

    def find(self, label: str) -> list[str]:
        """Columns carrying ``label``: the column itself, then duplicates such as ``X (2)``."""
        want = P.norm_label(label)
        exact = [c for c in self.columns if P.norm_label(c) == want]
        dupes = [
            c
            for c in self.columns
            if (m := _DUPLICATE.match(c)) and P.norm_label(m.group(1)) == want and c not in exact
        ]
        return exact + dupes

    def has(self, label: str) -> bool:
        return bool(self.find(label))

    def find_all(self, labels: Iterable[str]) -> list[str]:
        """Columns carrying any of ``labels``, in the order of the labels."""
        return [c for label in labels for c in self.find(label)]

    def label(self, column: str) -> str:
        """The column's label as the file wrote it."""
        return self.labels.get(column, column)

    @property
    def origin(self) -> str:
        return f"{P.lit(self.path.name + ':')} || CAST(_line AS VARCHAR)"

    @property
    def raw(self) -> str:
        return quote_ident(self.raw_column) if self.raw_column else P.raw_json_sql(self.columns)


@dataclass(frozen=True)
class Part:
    """An SQL query giving rows of one canonical table (as text), plus lineage columns."""

    table: str
    sql: str
    label: str


@dataclass
class Translation:
    """What a reader made of a set of source files; close it to free the scratch database."""

    system: str
    shape: str
    con: duckdb.DuckDBPyConnection
    mapping: CrmMapping
    parts: list[Part] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)
    """Queries giving (object, record_id, canonical_table, fields, source) for kept-aside fields."""
    removals: list[Part] = field(default_factory=list)
    """Queries giving the ``key`` of records the source deleted or merged away: rows of that
    canonical table (single-column key) to remove once this translation has loaded."""
    gone: dict[str, str] = field(default_factory=dict)
    """Per table with removals, the scratch table of its removed keys (filled by ``write``)."""
    notes: list[str] = field(default_factory=list)
    unmapped: list[UnmappedValue] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    _workdir: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)
    _dates_checked: set[tuple[str, str]] = field(default_factory=set, repr=False)

    def stage(self, path: Path, obj: str) -> Source:
        """Stage a source file, read in the mapping's encoding (``encoding:`` in crm.yaml).

        A UTF-8 read of a file in another encoding refuses the file, naming the option, rather
        than quarantining every record with an accent or a € sign.
        """
        staged = stage(
            self.con, self._without_footer(path), IngestMapping(encoding=self.mapping.encoding)
        )
        if staged.rejects and self.mapping.encoding == "utf-8":
            _refuse_if_not_utf8(path)
        # A line the parser rejected is refused (quarantined), never dropped for what it says:
        # footers are cut before reading, and only where they are footer lines as a whole.
        src = Source(path, obj, staged.relation, staged.columns, staged.rows, staged.rejects)
        self.sources.append(src)
        return src

    def rename(self, src: Source, names: Mapping[str, str]) -> None:
        """Give ``src`` new column names (a view over the staged relation)."""
        taken: dict[str, int] = {}
        cols = []
        for old in src.columns:
            new = names.get(old, old)
            taken[new] = taken.get(new, 0) + 1
            if taken[new] > 1:
                new = f"{new}_{taken[new] - 1}"  # a repeated field reads as a duplicate
            cols.append((old, new))
        view = f"{src.relation}_named"
        sql = ", ".join(f"{quote_ident(o)} AS {quote_ident(n)}" for o, n in cols)
        self.con.execute(
            f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT {sql}, _line, {src.raw} AS _src_raw "
            f"FROM {src.relation}"
        )
        src.relation, src.columns = view, [n for _, n in cols]
        src.labels = {n: src.label(o) for o, n in cols}
        src.raw_column = "_src_raw"

    def _without_footer(self, path: Path) -> Path:
        """Report exports end with totals and a notice; a copy without them reads as CSV."""
        if path.suffix.lower() not in {".csv", ".txt", ".tsv"} or not path.is_file():
            return path
        cut = P.footer_start(path)
        if cut is None:
            return path
        if self._workdir is None:
            self._workdir = tempfile.TemporaryDirectory(prefix="revteam-crm-")
        clean = Path(self._workdir.name) / f"{len(self.sources)}-{path.name}"
        with path.open("rb") as src, clean.open("wb") as dst:
            dst.write(src.read(cut))
        self.notes.append(f"{path.name}: report footer (totals, notice) skipped")
        return clean

    def tables(self) -> list[str]:
        present = {p.table for p in self.parts}
        return [t for t in load_order() if t in present]

    def rows_of(self, table: str) -> Iterator[str]:
        return (p.sql for p in self.parts if p.table == table)

    def write(self, folder: Path) -> dict[str, Path]:
        """Write one Parquet file per canonical table, all columns as text, in load order.

        Tables are written parents first, and each table's removed keys (:attr:`gone`) are
        settled right after it, so the rows of later tables that point at a removed record
        are dealt with as :func:`dependents_of` says: dropped when they belong to it (and
        removed in turn), else detached from it (the pointer set to NULL). Otherwise every
        later load would refuse them as pointing at nothing.
        """
        folder.mkdir(parents=True, exist_ok=True)
        out: dict[str, Path] = {}
        present = set(self.tables())
        for table in load_order():
            dropped = None
            if table in present:
                path = folder / f"{table}.parquet"
                written, dropped = self._write_table(table, path)
                if written:
                    out[table] = path
            self._settle_gone(table, out.get(table), dropped)
        return out

    def _write_table(self, table: str, path: Path) -> tuple[bool, str | None]:
        """Write the staged file: whether it has rows, and the keys dropped with removed rows."""
        union = " UNION ALL BY NAME ".join(f"({sql})" for sql in self.rows_of(table))
        cols, keep = [], []
        for c in (*TABLES[table].column_names, "_origin", "_raw", "_refuse", "_currency"):
            expr = quote_ident(c)
            for parent, column, owned in dependents_of(table):
                if column == c and parent in self.gone:
                    hit = f"{expr} IN (SELECT key FROM {self.gone[parent]})"
                    if owned:
                        keep.append(f"NOT COALESCE({hit}, FALSE)")
                    else:
                        expr = f"CASE WHEN {hit} THEN NULL ELSE {expr} END"
            cols.append(f"CAST({expr} AS VARCHAR) AS {quote_ident(c)}")
        rows = f"SELECT * FROM ({_pad(union, table)})"
        dropped = None
        if keep:
            kept = " AND ".join(keep)
            if n := P.count(self.con, f"SELECT 1 FROM ({rows}) WHERE NOT ({kept})"):
                self.notes.append(f"{table}: {n} row(s) of removed records not loaded")
                if len(TABLES[table].key) == 1:
                    key = quote_ident(TABLES[table].key[0])
                    dropped = f"SELECT {key} AS key FROM ({rows}) WHERE NOT ({kept})"
            rows += f" WHERE {kept}"
        self.con.execute(
            f"COPY (SELECT {', '.join(cols)} FROM ({rows})) TO {P.lit(str(path))} (FORMAT parquet)"
        )
        count = P.rows(self.con, f"SELECT count(*) FROM read_parquet({P.lit(str(path))})")
        if int(str(count[0][0])):
            return True, dropped
        path.unlink()  # nothing to load: no empty run in the log
        return False, dropped

    def _settle_gone(self, table: str, staged: Path | None, dropped: str | None) -> None:
        """Keys of ``table`` removed (or gone with removed rows), less those still live."""
        parts = [p.sql for p in self.removals if p.table == table] + ([dropped] if dropped else [])
        if not parts:
            return
        name = f"_gone_{table}"
        key = quote_ident(TABLES[table].key[0])
        live = f" EXCEPT SELECT {key} FROM read_parquet({P.lit(str(staged))})" if staged else ""
        union = " UNION ".join(f"SELECT CAST(key AS VARCHAR) AS key FROM ({sql})" for sql in parts)
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {name} AS "
            f"SELECT key FROM ({union}) WHERE key IS NOT NULL{live}"
        )
        self.gone[table] = name

    def extra_rows(self) -> str | None:
        if not self.extras:
            return None
        return " UNION ALL BY NAME ".join(f"({sql})" for sql in self.extras)

    def close(self) -> None:
        self.con.close()
        if self._workdir is not None:
            self._workdir.cleanup()

    def __enter__(self) -> Translation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- building blocks for readers ------------------------------------------------------------
    def formats(self, src: Source, *columns: str) -> tuple[str, ...]:
        """The date formats to read ``columns`` of ``src`` with (``date_order`` in crm.yaml).

        Where ``date_order`` is not declared, dates are read month-first, but a column holding
        a date that only reads day-first refuses the file: read row by row, the other rows
        would load a month wrong (02/01 as 1 February) beside the refused ones.
        """
        if self.mapping.date_order is None:
            for column in columns:
                self._refuse_day_first(src, column)
        return P.EU_FORMATS if self.mapping.date_order == "dmy" else P.US_FORMATS

    def _refuse_day_first(self, src: Source, column: str) -> None:
        """Raise :class:`CrmSourceError` naming the first day-first-only date of ``column``."""
        if (src.relation, column) in self._dates_checked:
            return
        self._dates_checked.add((src.relation, column))
        value = P.text(column)
        found = P.rows(
            self.con,
            f"SELECT _line, {value} FROM {src.relation} WHERE {P.day_first_sql(value)} "
            "ORDER BY _line LIMIT 1",
        )
        if found:
            line, text = found[0]
            raise CrmSourceError(
                src.path,
                f"the dates are day-first: {src.label(column)} {text!r} on line {line} reads "
                "only as day/month/year, and crm.yaml does not say the date order (read "
                "month-first, 02/01/2025 would load as 1 February)",
                "Set `date_order: dmy` in crm.yaml (beside revteam.toml) to read the dates "
                "day-first, or `date_order: mdy` to read them month-first and refuse the rows "
                "that cannot be",
            )

    def expr(self, src: Source, f: Field, used: set[str]) -> str | None:
        """SQL for ``f`` over ``src``, or None when the file has none of its labels."""
        cols = src.find_all(f.labels)
        if not cols:
            return None
        used.update(cols)
        cleaned = [self._clean(src, c, f.kind) for c in dict.fromkeys(cols)]
        value = P.earliest_sql(cleaned) if f.pick == "earliest" else _coalesce(cleaned)
        table = f.table(self.mapping)
        if table is None:
            return value
        mapped = P.map_sql(value, table)
        if f.refuses:
            return mapped
        known = ", ".join(P.lit(k) for k in table)
        return (
            f"(CASE WHEN {value} IS NULL THEN NULL WHEN {P.norm_sql(value)} IN ({known}) "
            f"THEN {mapped} ELSE {P.lit(f.fallback)} END)"
        )

    def columns(self, src: Source, fields: tuple[Field, ...], used: set[str]) -> dict[str, str]:
        """SQL per column of ``fields`` found in ``src``; ``_refuse`` if a row must be refused."""
        out: dict[str, str] = {}
        for f in fields:
            sql = self.expr(src, f, used)
            if sql is not None and f.column not in out:
                out[f.column] = sql
        self._amount_currency(src, fields, out)
        return out

    def amount_code(self, src: Source, f: Field) -> str | None:
        """SQL for the ISO code written in front of ``f``'s amount (``EUR 5,000.00``), if any.

        The code is taken from the column the amount is read from (the first non-empty one).
        """
        cols = list(dict.fromkeys(src.find_all(f.labels)))
        if not cols:
            return None
        cases = " ".join(
            f"WHEN {P.text(c)} IS NOT NULL THEN {P.currency_sql(P.text(c))}" for c in cols
        )
        return f"(CASE {cases} END)"

    def _amount_currency(self, src: Source, fields: tuple[Field, ...], out: dict[str, str]) -> None:
        """A code in front of an amount becomes the record's currency, which ingest converts.

        It fills the field set's currency column (``_currency`` where it has none). A record
        whose currency column says another currency is refused: revteam does not guess which
        of the two is right.
        """
        money = [f for f in fields if f.kind == "money" and f.column in out]
        codes = [(f, code) for f in money if (code := self.amount_code(src, f)) is not None]
        if not codes:
            return
        target = next((f for f in fields if f.column in CURRENCY_COLUMNS), None)
        column = target.column if target else "_currency"
        declared = out.get(column)
        code = _coalesce([c for _, c in codes])
        if declared is None or target is None:
            out[column] = code
            return
        out[column] = f"COALESCE({declared}, {code})"
        named = src.find_all(target.labels)
        where = (src.label(named[0]) if named else column).replace("{", "{{").replace("}", "}}")
        reasons = []
        for f, c in codes:
            shown = _coalesce([P.text(x) for x in dict.fromkeys(src.find_all(f.labels))])
            text = (
                f"{f.column}: '{{}}' is in {{}}, but {where} says {{}}; revteam does not guess "
                "which is right (correct the export)"
            )
            reasons.append(
                f"CASE WHEN upper({declared}) <> {c} "
                f"THEN format({P.lit(text)}, {shown}, {c}, upper({declared})) END"
            )
        out["_refuse"] = _coalesce(reasons)

    def check_values(self, src: Source, f: Field, where: str = "TRUE") -> None:
        """Add the values of ``f`` that no mapping knows to the unmapped report."""
        table = f.table(self.mapping)
        cols = src.find_all(f.labels)
        if table is None or not cols:
            return
        raw = _coalesce([self._clean(src, c, f.kind) for c in dict.fromkeys(cols)])
        found = P.rows(
            self.con,
            f"SELECT v, count(*) FROM (SELECT {raw} AS v FROM {src.relation} WHERE {where}) "
            "WHERE v IS NOT NULL GROUP BY v ORDER BY 2 DESC, 1",
        )
        outcome = (
            "refused (quarantine)"
            if f.refuses
            else f"loaded as {f.fallback}"
            if f.fallback
            else "loaded empty"
        )
        kind = f.values or "enum:" + ", ".join(f.enum)
        for value, n in found:
            if P.norm_value(str(value)) not in table:
                self.unmapped_value(src, f.column, str(value), int(str(n)), outcome, kind)

    def unmapped_value(
        self, src: Source, column: str, value: str, n: int, outcome: str, kind: str
    ) -> None:
        where = SETTING_OF.get(kind) or f"the CRM (allowed: {kind.removeprefix('enum:')})"
        self.unmapped.append(
            UnmappedValue(self.system, src.object, column, value, n, outcome, where)
        )
        if outcome != "refused (quarantine)":
            self.notes.append(
                f"{src.path.name}: {n} row(s) with {column} {value!r} {outcome} (fix: {where})"
            )

    def rejected_lines(self, src: Source, table: str) -> str | None:
        """Rows for lines the reader could not split, refused with DuckDB's reason."""
        if not src.rejects:
            return None
        values = ", ".join(
            f"({P.lit(f'{src.path.name}:{line}')}, {P.lit(raw)}, {P.lit(reason)})"
            for line, raw, reason in src.rejects
        )
        key = TABLES[table].key[0]
        return (
            f"SELECT o AS _origin, r AS _raw, reason AS _refuse, '?' AS {quote_ident(key)} "
            f"FROM (VALUES {values}) v(o, r, reason)"
        )

    def _clean(self, src: Source, column: str, kind: Kind) -> str:
        expr = P.text(column)
        match kind:
            case "email" | "lower":
                return f"lower({expr})"
            case "domain":
                return P.domain_sql(expr)
            case "country":
                return P.country_sql(expr)
            case "first_id":
                return P.first_id_sql(expr)
            case "timestamp":
                return P.timestamp_sql(expr, self.formats(src, column))
            case "money":
                return P.money_sql(expr)
            case "percent":
                return P.percent_sql(expr)
        return expr


def build(
    system: str, shape: str, mapping: CrmMapping, timezone: str, fill: Callable[[Translation], None]
) -> Translation:
    """A translation filled by ``fill``; its scratch database is closed if filling fails."""
    tr = Translation(system, shape, P.scratch(timezone), mapping)
    try:
        fill(tr)
    except BaseException:
        tr.close()
        raise
    return tr


def dependents_of(table: str) -> list[tuple[str, str, bool]]:
    """(parent, column, owned) for each checked reference of ``table``.

    A row is *owned* by the row it points at when the pointer is part of its key or required
    (a deal's stage history, a touchpoint's person): it goes with that row. Otherwise the
    pointer is only a detail (a contact's company) and is cleared when that row goes.
    """
    out = []
    for col in TABLES[table].columns:
        ref = col.references
        if ref is not None and ref.checked and ref.table != table:
            out.append((ref.table, col.name, col.name in TABLES[table].key or col.required))
    return out


def _refuse_if_not_utf8(path: Path) -> None:
    """Raise :class:`CrmSourceError` naming the first byte of ``path`` that is not UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line, done = 1, 0
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(1 << 22)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                # The decoder holds back the start of a character cut by the chunk's end.
                data, at = exc.object, exc.start
                line += data.count(b"\n", 0, at)
                raise CrmSourceError(
                    path,
                    f"the file is not UTF-8 text (byte 0x{data[at]:02x} on line {line}, byte "
                    f"{done - (len(data) - len(chunk)) + at + 1} of the file; Excel on Windows "
                    "saves CSV as windows-1252)",
                    "Set `encoding: windows-1252` (or latin-1, utf-16) in crm.yaml, or pass "
                    "`--encoding windows-1252` to `revteam crm ingest`",
                ) from None
            if not chunk:
                return
            line += chunk.count(b"\n")
            done += len(chunk)


def _coalesce(exprs: list[str]) -> str:
    return exprs[0] if len(exprs) == 1 else f"COALESCE({', '.join(exprs)})"


def _pad(union: str, table: str) -> str:
    """Give the union every canonical and lineage column, NULL where a part lacks one."""
    want = (*TABLES[table].column_names, "_origin", "_raw", "_refuse", "_currency")
    nulls = ", ".join(f"CAST(NULL AS VARCHAR) AS {quote_ident(c)}" for c in want)
    return f"SELECT * FROM (SELECT {nulls} WHERE FALSE) UNION ALL BY NAME ({union})"


def select(
    columns: Mapping[str, str], src: Source, *, where: str = "TRUE", refuse: str | None = None
) -> str:
    """``SELECT`` of canonical columns over a staged source, with its lineage columns.

    A ``_refuse`` among ``columns`` (see :meth:`Translation.columns`) refuses rows after
    ``refuse``, the reader's own reason.
    """
    named = dict(columns)
    reasons = [r for r in (refuse, named.pop("_refuse", None)) if r]
    cols = ", ".join(f"{sql} AS {quote_ident(c)}" for c, sql in named.items())
    reason = _coalesce(reasons) if reasons else "CAST(NULL AS VARCHAR)"
    return (
        f"SELECT {cols}{', ' if cols else ''}{src.origin} AS _origin, {src.raw} AS _raw, "
        f"{reason} AS _refuse FROM {src.relation} WHERE {where}"
    )


SYNC = frozenset(
    {"is_deleted", "is_archived", "archived", "updated_at", "system_modstamp", "systemmodstamp"}
)
"""Columns that say how a record was synced, not what it is: never kept aside as fields."""


def extras_sql(
    system: str, src: Source, key: str, table: str, used: set[str], *, where: str = "TRUE"
) -> str | None:
    """Kept-aside fields: every non-empty source column that no canonical column used."""
    skip = {c for c in src.columns if c.startswith("_") or c in used or c.lower() in SYNC}
    rest = [c for c in src.columns if c not in skip]
    if not rest:
        return None
    return (
        f"SELECT {P.lit(system)} AS system, {P.lit(src.object)} AS object, "
        f"CAST({key} AS VARCHAR) AS record_id, {P.lit(table)} AS canonical_table, "
        f"{P.fields_map_sql(rest)} AS fields, {P.lit(str(src.path))} AS source "
        f"FROM {src.relation} WHERE {where} AND {key} IS NOT NULL"
    )
