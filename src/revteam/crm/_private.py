"""SQL snippets and name normalisation shared by every CRM reader.

Translation runs as DuckDB SQL over staged source files, so that a million-contact export is
translated without a Python loop per row; these helpers build the expressions.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import duckdb

from revteam.model.enums import FORECAST_CATEGORIES, OPPORTUNITY_STAGES
from revteam.storage import quote_ident, quote_literal

US_FORMATS = (
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
)
EU_FORMATS = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d.%m.%Y %H:%M", "%d/%m/%Y", "%d.%m.%Y")

COUNTRIES: dict[str, str] = {
    "united states": "US", "united states of america": "US", "usa": "US", "canada": "CA",
    "mexico": "MX", "brazil": "BR", "argentina": "AR", "chile": "CL", "colombia": "CO",
    "peru": "PE", "united kingdom": "GB", "great britain": "GB", "uk": "GB", "england": "GB",
    "ireland": "IE", "germany": "DE", "france": "FR", "spain": "ES", "portugal": "PT",
    "italy": "IT", "netherlands": "NL", "the netherlands": "NL", "belgium": "BE",
    "luxembourg": "LU", "switzerland": "CH", "austria": "AT", "sweden": "SE", "norway": "NO",
    "denmark": "DK", "finland": "FI", "iceland": "IS", "poland": "PL", "czech republic": "CZ",
    "czechia": "CZ", "hungary": "HU", "romania": "RO", "greece": "GR", "turkey": "TR",
    "israel": "IL", "united arab emirates": "AE", "saudi arabia": "SA", "south africa": "ZA",
    "nigeria": "NG", "kenya": "KE", "egypt": "EG", "india": "IN", "china": "CN", "japan": "JP",
    "south korea": "KR", "korea, republic of": "KR", "singapore": "SG", "hong kong": "HK",
    "taiwan": "TW", "australia": "AU", "new zealand": "NZ", "indonesia": "ID",
    "malaysia": "MY", "philippines": "PH", "thailand": "TH", "vietnam": "VN",
}  # fmt: skip
"""Country names as CRMs write them → ISO 3166-1 alpha-2 (the canonical form)."""

COUNTRY_NAMES: dict[str, str] = {}
for _name, _code in COUNTRIES.items():
    COUNTRY_NAMES.setdefault(_code, _name.title().replace("Of", "of"))
COUNTRY_NAMES["GB"] = "United Kingdom"


def norm_label(label: str) -> str:
    """Column labels compare without case, quote style or repeated blanks."""
    text = label.replace("\u201c", '"').replace("\u201d", '"').replace("\ufeff", "")
    return re.sub(r"\s+", " ", text).strip().lower()


def norm_value(value: str) -> str:
    """Mapping keys compare on letters and digits only: ``Closed Won`` = ``closedwon``."""
    return re.sub(r"[^a-z0-9]+", "", value.lower())


def snake(name: str) -> str:
    """Salesforce API name → the snake_case name Fivetran lands (``StageName`` → ``stage_name``)."""
    name = name.replace("__c", "_c").replace("__", "_")
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return name.lower()


def lit(value: str | None) -> str:
    """A text constant, or NULL where a mapped value may be missing."""
    return "NULL" if value is None else quote_literal(value)


def text(col: str) -> str:
    """A source column as trimmed text, NULL when empty."""
    return f"NULLIF(trim(CAST({quote_ident(col)} AS VARCHAR)), '')"


def norm_sql(expr: str) -> str:
    return f"regexp_replace(lower({expr}), '[^a-z0-9]+', '', 'g')"


def map_sql(expr: str, mapping: Mapping[str, str]) -> str:
    """Apply a value map (keys already normalised); unmapped values pass through unchanged.

    Passing through lets validation refuse them with a message naming the value, which the
    ``unmapped`` report also lists.
    """
    if not mapping:
        return expr
    cases = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in mapping.items())
    return f"(CASE {norm_sql(expr)} {cases} ELSE {expr} END)"


def timestamp_sql(expr: str, formats: Sequence[str]) -> str:
    """Text of a local timestamp from ISO, epoch-millisecond or locale-formatted text.

    Offsets are converted to the scratch connection's time zone (the workspace's); text that
    reads as nothing is kept as it is, so that validation refuses it with the value shown.
    """
    fmts = ", ".join(lit(f) for f in formats)
    return (
        f"(CASE WHEN {expr} IS NULL THEN NULL "
        f"WHEN regexp_full_match({expr}, '\\d{{12,14}}') THEN "
        f"CAST(CAST(to_timestamp(CAST({expr} AS BIGINT) / 1000.0) AS TIMESTAMP) AS VARCHAR) "
        f"ELSE COALESCE(CAST(CAST(TRY_CAST({expr} AS TIMESTAMPTZ) AS TIMESTAMP) AS VARCHAR), "
        f"CAST(try_strptime({expr}, [{fmts}]) AS VARCHAR), {expr}) END)"
    )


_DAY_FIRST = "'^(\\d{1,2})[/.](\\d{1,2})[/.]\\d{2,4}(\\D|$)'"


def day_first_sql(expr: str) -> str:
    """Whether text is a date that reads only day-first (``13/01/2025``: no 13th month)."""
    day, month = (f"TRY_CAST(regexp_extract({expr}, {_DAY_FIRST}, {i}) AS INTEGER)" for i in (1, 2))
    return f"COALESCE({day} BETWEEN 13 AND 31 AND {month} BETWEEN 1 AND 12, FALSE)"


def earliest_sql(exprs: Sequence[str]) -> str:
    """The earliest of several timestamp texts (unreadable ones are kept for validation)."""
    if len(exprs) == 1:
        return exprs[0]
    casts = ", ".join(f"TRY_CAST({e} AS TIMESTAMP)" for e in exprs)
    return f"COALESCE(CAST(least({casts}) AS VARCHAR), {', '.join(exprs)})"


def percent_sql(expr: str) -> str:
    """A percent as exponent text: ``45`` or ``45%`` → ``45e-2``, ``45.5`` → ``455e-3``.

    The text has no decimal mark, so that it never tells ingest which mark the file uses (a
    ``0.45`` would make ``1.500`` elsewhere read as one and a half). One mark followed by
    digits (``45,5``) is a decimal mark; other text is kept for validation to refuse it.
    """
    bare = f"trim(regexp_replace({expr}, '\\s*%$', ''))"
    digits = f"regexp_extract({bare}, '[.,](\\d+)$', 1)"
    return (
        f"(CASE WHEN regexp_full_match({bare}, '[-+]?\\d+') THEN {bare} || 'e-2' "
        f"WHEN regexp_full_match({bare}, '[-+]?\\d*[.,]\\d+') "
        f"THEN regexp_replace({bare}, '[.,]', '') || 'e-' || CAST(length({digits}) + 2 AS VARCHAR) "
        f"ELSE {expr} END)"
    )


_CODED = "'^([A-Za-z]{3})\\s+([-+0-9$€£¥.,(])'"
"""An ISO currency code in front of an amount (``EUR 5,000.00``)."""


def money_sql(expr: str) -> str:
    """The amount without a leading ISO code (see :func:`currency_sql`); validation reads it."""
    return f"regexp_replace({expr}, {_CODED}, '\\2')"


def currency_sql(expr: str) -> str:
    """The ISO code written in front of an amount (upper case), if any."""
    return f"NULLIF(upper(regexp_extract({expr}, {_CODED}, 1)), '')"


def domain_sql(expr: str) -> str:
    return (
        f"NULLIF(regexp_replace(lower({expr}), "
        "'^(https?://)?(www\\.)?([^/:?#\\s]+).*$', '\\3'), '')"
    )


def country_sql(expr: str) -> str:
    cases = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in COUNTRIES.items())
    return (
        f"(CASE WHEN length({expr}) = 2 THEN upper({expr}) "
        f"ELSE COALESCE(CASE lower({expr}) {cases} END, {expr}) END)"
    )


def first_id_sql(expr: str) -> str:
    """HubSpot writes several associated ids as ``1;2;3``: the first one is the primary."""
    return f"NULLIF(trim(split_part({expr}, ';', 1)), '')"


def fields_map_sql(columns: Iterable[str]) -> str:
    """A MAP of the non-empty values of ``columns``, keyed by column name (kept-aside fields)."""
    entries = ", ".join(f"{{'k': {lit(c)}, 'v': {text(c)}}}" for c in columns)
    if not entries:
        return "CAST(MAP() AS MAP(VARCHAR, VARCHAR))"
    return f"map_from_entries(list_filter([{entries}], lambda e: e.v IS NOT NULL))"


def raw_json_sql(columns: Iterable[str]) -> str:
    pairs = ", ".join(f"{lit(c)}: {quote_ident(c)}" for c in columns)
    return f"CAST(to_json({{{pairs}}}) AS VARCHAR)" if pairs else "'{}'"


def scratch(timezone: str) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for translating source files; it never touches the warehouse."""
    con = duckdb.connect(":memory:")
    con.execute(f"SET TimeZone = {lit(timezone)}")
    return con


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[object, ...]]:
    return con.execute(sql).fetchall()


def count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    """How many rows the query ``sql`` gives."""
    return int(str(rows(con, f"SELECT count(*) FROM ({sql})")[0][0]))


_TOTALS = re.compile(r"(grand\s+|sub-?)?totals?(\s*\(\d[\d,.]*\s+records?\))?:?", re.IGNORECASE)
"""The first cell of a totals line: ``Total``, ``Subtotal``, ``Grand Totals (8 records)``."""
_SUM = re.compile(r"([A-Za-z]{3}\s+)?[-+$€£¥()\d.,%\s]+")
"""The other cells of a totals line: sums such as ``$346,749.50`` (or nothing)."""
_NOTICE = re.compile(
    r"(confidential information|copyright\s*(\(c\)|©)|©|generated by|filtered by)", re.IGNORECASE
)
"""The start of a report's notice lines (Salesforce's confidentiality and copyright notice)."""
_DELIMITERS = (",", ";", "\t", "|")

TRUE = "('true', '1', 'yes', 't', 'y')"
"""Text that ingest reads as true, for tests inside translation SQL."""
_OPEN = ", ".join(lit(s) for s in OPPORTUNITY_STAGES if not s.startswith("closed"))
_FORECAST = ", ".join(lit(c) for c in FORECAST_CATEGORIES)


def footer_start(path: Path, tail: int = 8192) -> int | None:
    """Byte offset where a report footer begins (blank, totals and notice lines), if any.

    Only lines that are footer lines as a whole count (see :func:`footer_line`): a data row
    that merely mentions "generated by" is data, and cutting it would lose it without a word.
    """
    size = path.stat().st_size
    with path.open("rb") as fh:
        delimiter = _delimiter(fh.readline(1 << 16).decode("utf-8", errors="replace"), path)
        fh.seek(max(0, size - tail))
        data = fh.read()
    lines = data.splitlines(keepends=True)
    offset, found = size, False
    for line in reversed(lines[1:] if size > tail else lines):
        kind = footer_line(line.decode("utf-8", errors="replace"), delimiter)
        if kind is None:
            break
        offset -= len(line)
        found = found or kind
    return offset if found else None


def footer_line(line: str, delimiter: str = ",") -> bool | None:
    """True for a footer line, False for a blank one, None for anything else (data).

    A footer line is a totals line (``Total`` or ``Grand Totals (N records)`` first, then at
    most sums) or a notice alone on its line (``Confidential Information - …``, ``Copyright
    (c) …``, ``Generated By: …``). A line with an odd number of quotes ends a quoted value
    that spans lines, so it is data whatever it says.
    """
    if line.count('"') % 2:
        return None
    cells = [c.strip() for c in next(csv.reader([line.strip()], delimiter=delimiter), [])]
    if not any(cells):
        return False
    first, rest = cells[0], [c for c in cells[1:] if c]
    if _TOTALS.fullmatch(first) and all(_SUM.fullmatch(c) for c in rest):
        return True
    if _NOTICE.match(first) and not rest:
        return True
    return None


def _delimiter(header: str, path: Path) -> str:
    """The delimiter of a CSV file, told from its header line (quoted labels aside)."""
    if path.suffix.lower() == ".tsv":
        return "\t"
    bare = re.sub(r'"[^"]*"', "", header)
    return max(_DELIMITERS, key=lambda d: (bare.count(d), d == ","))


def unknown_forecast(value: str) -> str:
    """SQL of the reason a deal is refused for a forecast category that no mapping knows.

    The value is named as the CRM wrote it (``'Most Likely'``): a category the model does not
    have is not guessed at; the company says which canonical one it means, in ``crm.yaml``.
    """
    return (
        f"'forecast_category: ''' || {value} || ''' is not one of "
        f"{', '.join(FORECAST_CATEGORIES)}, and revteam does not guess which one it means "
        "(map it with forecast_categories in crm.yaml)'"
    )


def deal_outcome(inner: str) -> str:
    """Closed and won flags from the mapped stage where the export has no flag columns.

    A forecast category that no mapping knows refuses the deal with :func:`unknown_forecast`
    (and is emptied, so that validation does not refuse it a second time, with a fix meant for
    mapping files); a deal the reader refused already keeps it as it was.
    """
    closed = f"COALESCE(lower(is_closed) IN {TRUE}, stage IN ('closed_won', 'closed_lost'))"
    bad = f"forecast_category NOT IN ({_FORECAST})"
    return f"""SELECT * REPLACE (
        CASE WHEN {bad} AND _refuse IS NULL THEN NULL ELSE forecast_category END
            AS forecast_category,
        COALESCE(_refuse, CASE WHEN {bad} THEN {unknown_forecast("forecast_category")} END)
            AS _refuse,
        COALESCE(is_closed, CASE WHEN stage IN ('closed_won', 'closed_lost') THEN 'true'
                                 WHEN stage IN ({_OPEN}) THEN 'false' END) AS is_closed,
        COALESCE(is_won, CASE WHEN stage = 'closed_won' THEN 'true'
                              WHEN stage IN ('closed_lost', {_OPEN}) THEN 'false' END) AS is_won,
        CASE WHEN {closed} THEN COALESCE(closed_at, expected_close_date) END AS closed_at,
        COALESCE(type, 'new_business') AS type
    ) FROM ({inner})"""
