"""SQL snippets and name normalisation shared by every CRM reader.

Translation runs as DuckDB SQL over staged source files, so that a million-contact export is
translated without a Python loop per row; these helpers build the expressions.
"""

from __future__ import annotations

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


def earliest_sql(exprs: Sequence[str]) -> str:
    """The earliest of several timestamp texts (unreadable ones are kept for validation)."""
    if len(exprs) == 1:
        return exprs[0]
    casts = ", ".join(f"TRY_CAST({e} AS TIMESTAMP)" for e in exprs)
    return f"COALESCE(CAST(least({casts}) AS VARCHAR), {', '.join(exprs)})"


def percent_sql(expr: str) -> str:
    """``45``, ``45%`` or ``45.0 %`` → ``0.45``; unreadable text is kept for validation."""
    num = f"TRY_CAST(trim(replace({expr}, '%', '')) AS DOUBLE)"
    return f"COALESCE(CAST({num} / 100.0 AS VARCHAR), {expr})"


def money_sql(expr: str) -> str:
    """Drop a leading ISO currency code (``USD 1,234.00``); validation reads the rest."""
    return f"regexp_replace({expr}, '^[A-Za-z]{{3}}\\s+', '')"


def currency_sql(expr: str) -> str:
    """The ISO code written in front of an amount, if any."""
    return f"NULLIF(regexp_extract({expr}, '^([A-Za-z]{{3}})\\s+[-+0-9$€£¥.,]', 1), '')"


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


FOOTER = re.compile(
    r"(confidential information|copyright \(c\)|grand totals?|generated by|filtered by"
    r"|^\W*$|^(sub)?totals?(\s*\(\d+ records?\))?\s*(\"?,|$))",
    re.IGNORECASE,
)
"""Lines that end report exports: totals, notices, blanks."""

TRUE = "('true', '1', 'yes', 't', 'y')"
"""Text that ingest reads as true, for tests inside translation SQL."""
_OPEN = ", ".join(lit(s) for s in OPPORTUNITY_STAGES if not s.startswith("closed"))
_FORECAST = ", ".join(lit(c) for c in FORECAST_CATEGORIES)


def footer_start(path: Path, tail: int = 8192) -> int | None:
    """Byte offset where a report footer begins (blank, totals and notice lines), if any."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(0, size - tail))
        data = fh.read()
    lines = data.splitlines(keepends=True)
    offset, found = size, False
    for line in reversed(lines[1:] if size > tail else lines):
        text = line.decode("utf-8", errors="replace").strip().strip('"').strip()
        if text and not FOOTER.search(text):
            break
        offset -= len(line)
        found = found or bool(text)
    return offset if found else None


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
