"""Validation as one set-based DuckDB query, generated from the canonical model.

Every row gets *all* its problems (coercion, required, enum, range, row rules, references) in
``_problems``, joined by chr(30) and empty when the row is clean; clean rows load, the others go
to quarantine. Nothing here loops over rows in Python, which is what keeps ingest at hundreds of
thousands of rows a second.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import duckdb

from revteam.exceptions import ConfigError, MissingColumnsError, SourceFileError
from revteam.ingest.mapping import Mapping
from revteam.ingest.readers import NUL_REASON, Staged
from revteam.model import Column, Table
from revteam.settings import Settings
from revteam.storage import quote_ident, quote_literal

_TYPE_WORDS = {
    "string": "text",
    "integer": "a whole number",
    "float": "a number",
    "money": "an amount",
    "boolean": "true/false",
    "date": "a date",
    "timestamp": "a timestamp",
}
_SIGNS = "$€£¥"
_SPACES = "\\s\u00a0\u202f\u2009"
_GROUPING = " \u00a0\u202f\u2009''"
"""Thousands separators that are never a decimal mark: spaces and the apostrophe (SQL-quoted)."""
_GROUPED = f"[-+]?\\d{{{{1,3}}}}([{_GROUPING}]\\d{{{{3}}}})+([.,]\\d*)?"
_NEUTRAL = "[-+]?\\d+[eE][-+]?\\d+"
"""A number with an exponent and no decimal mark (``25005e-1``): what readers write for typed
numbers (:func:`~revteam.ingest.readers.neutral_number`); it reads the same under either mark."""


def _number_text(x: str) -> str:
    """A number's text without a currency sign at either end and without thousands spaces.

    Spaces and apostrophes go only where they separate groups of three digits (1 000,5 ·
    1'000.50); elsewhere (``5 10``) they stay, and the text is not read as a number.
    """
    space = f"[{_SPACES}]*"
    bare = f"regexp_replace({x}, '^{space}|{space}$', '', 'g')"
    bare = f"regexp_replace({bare}, '^([-+]?){space}[{_SIGNS}]{space}', '\\1')"
    bare = f"regexp_replace({bare}, '{space}[{_SIGNS}]$', '')"
    return (
        f"(CASE WHEN regexp_full_match({bare}, '{_GROUPED.format()}') "
        f"THEN regexp_replace({bare}, '[{_GROUPING}]', '', 'g') ELSE {bare} END)"
    )


_ISO_DAY = r"\d{4}[-/]\d{1,2}[-/]\d{1,2}"
_SHORT_DAY = r"(\d{1,2}[-/.]\d{1,2}[-/.]\d{2}(\d{2})?|\d{2}-\d{1,2}-\d{1,2})([Tt ].*)?"
"""31/12/24, 03/04/2025, 25-01-02: not year first, so the order of its parts is the file's to
declare (a two-digit year above all)."""
_ISO_TIME = r"[Tt ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?"
_ISO_LOCAL = f"{_ISO_DAY}({_ISO_TIME})?"
_ISO_ZONED = (
    f"{_ISO_DAY}{_ISO_TIME} ?([Zz]|[+-]\\d{{2}}(:?\\d{{2}})?|UTC|GMT|[A-Za-z]+(/[A-Za-z0-9_+-]+)+)"
)
"""A time with its zone: an offset, Z, UTC or GMT, or a zone's name. Abbreviations such as
CST or IST are refused: they name different zones in different countries."""
_ISO_FORMS = (_ISO_LOCAL, _ISO_ZONED)
_FRACTIONAL = ("DOUBLE", "FLOAT", "DECIMAL", "REAL")
_WHOLE = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
)
_INT = "[-+]?\\d+"
_DECISIVE = {
    # Written so that only one convention reads it: the decimal mark is plain from the text.
    ",": (
        "[-+]?\\d{{1,3}}(\\.\\d{{3}})+,\\d+",  # 1.234,5
        "[-+]?\\d{{1,3}}(\\.\\d{{3}}){{2,}}",  # 1.234.567
        "[-+]?(\\d*,\\d{{1,2}}|\\d*,\\d{{4,}}|0,\\d+|,\\d+)",  # 0,5  12,25  0,125
    ),
    ".": (
        "[-+]?\\d{{1,3}}(,\\d{{3}})+\\.\\d+",  # 1,234.5
        "[-+]?\\d{{1,3}}(,\\d{{3}}){{2,}}",  # 1,234,567
        "[-+]?(\\d*\\.\\d{{1,2}}|\\d*\\.\\d{{4,}}|0\\.\\d+|\\.\\d+)",  # 0.5  12.25
    ),
}
_AMBIGUOUS = "[-+]?[1-9]\\d{{0,2}}[.,]\\d{{3}}"
"""1.200 or 1,200: a thousands group or three decimals, and nothing in the text says which."""
_STRICT = {
    ",": "[-+]?(\\d{{1,3}}(\\.\\d{{3}})+|\\d+)?(,\\d+)?",
    ".": "[-+]?(\\d{{1,3}}(,\\d{{3}})+|\\d+)?(\\.\\d+)?",
}
THOUSANDS = {",": ".", ".": ","}

REFUSE_COLUMN = "_refuse"
"""A source column that, when not empty, refuses its row with that text as the reason.

Translators (e.g. ``revteam.crm``) use it for records they cannot place, so those reach the
quarantine through the same transaction as everything else."""


@dataclass
class Plan:
    """The validation query for one staged file, and what it found out about the file."""

    sql: str
    source_of: dict[str, str | None]
    ignored_columns: list[str]
    filled_columns: list[str] = field(default_factory=list)
    filled_on_source: str = ""
    """Aggregates over the staged source counting, per filled column, the rows where it will be
    filled: exact when every row is clean (every present value then reads)."""


def _quoted(expr: str) -> str:
    """SQL showing a value in quotes inside a reason message."""
    return "'''' || CAST(" + expr + " AS VARCHAR) || ''''"


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def resolve_columns(table: Table, staged: Staged, mapping: Mapping, path: str) -> Plan:
    """Decide which source column feeds each canonical column; refuse files missing keys."""
    canon = set(table.column_names)
    bad_targets = sorted({v for v in mapping.columns.values() if v not in canon})
    if bad_targets:
        raise SourceFileError(
            path,
            f"the mapping names column(s) {', '.join(bad_targets)} that table {table.name!r} "
            f"does not have",
            f"its columns are {', '.join(table.column_names)}",
        )
    source_of: dict[str, str | None] = dict.fromkeys(table.column_names)
    used: set[str] = set()
    for src, dst in mapping.columns.items():
        if src in staged.columns:
            if source_of[dst] is not None:
                raise SourceFileError(
                    path, f"two source columns map to {dst!r}", "map only one of them"
                )
            source_of[dst] = src
            used.add(src)
    by_norm = {_norm(c): c for c in staged.columns if c not in used}
    for col in table.column_names:
        if source_of[col] is None and col in by_norm:
            source_of[col] = by_norm[col]
            used.add(by_norm[col])
    missing = [
        c for c in table.required_columns if source_of[c] is None and c not in mapping.defaults
    ]
    if missing:
        raise MissingColumnsError(path, table.name, missing, staged.columns)
    ignored = [
        c
        for c in staged.columns
        if c not in used and c not in {mapping.currency_column, REFUSE_COLUMN}
    ]
    return Plan("", source_of, ignored)


def build_plan(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    staged: Staged,
    mapping: Mapping,
    settings: Settings,
    path: str,
) -> Plan:
    plan = resolve_columns(table, staged, mapping, path)
    _check_header_currency(table, plan, mapping, settings, path)
    types = {r[0]: r[1] for r in con.execute(f"DESCRIBE {staged.relation}").fetchall()}
    rate = _rate_expr(mapping, settings, types, path)
    numeric = [
        src
        for col in table.columns
        if col.type in {"integer", "float", "money"}
        and (src := plan.source_of[col.name]) is not None
        and types[src] == "VARCHAR"
    ]
    decimal = mapping.decimal_mark or detect_decimal(con, staged.relation, numeric)
    coerced: list[str] = []
    errors: list[str] = []
    presence: list[str] = []
    for col in table.columns:
        expr, err = _coerce(
            col,
            plan.source_of[col.name],
            types,
            mapping,
            settings,
            rate,
            decimal,
            nul_check=staged.format == "parquet",
            typed=plan.source_of[col.name] in staged.typed_numbers,
        )
        coerced.append(f"{expr} AS {quote_ident(col.name)}")
        if col.name in table.required_columns:
            # Lets "required value is missing" stay silent when the value was there but unreadable.
            src = plan.source_of[col.name]
            present = f"{_source_text(src, types[src])} IS NOT NULL" if src else "FALSE"
            coerced.append(f"{present} AS _p_{col.name}")
            presence.append(f"_p_{col.name}")
        if err:
            errors.append(err)
    # A translator's own reason for refusing a row comes first: it is the cause of the rest.
    refuse = (
        f"NULLIF(trim(CAST({quote_ident(REFUSE_COLUMN)} AS VARCHAR)), '')"
        if REFUSE_COLUMN in types
        else "CAST(NULL AS VARCHAR)"
    )
    filled, fill_sql = fill_chain(table)
    plan.filled_columns = filled
    on_source = {
        c: (
            f"({_source_text(src, types[src])} IS NOT NULL)"
            if (src := plan.source_of[c])
            else ("TRUE" if c in mapping.defaults else "FALSE")
        )
        for c in table.fill_chain
    }
    chain = table.fill_chain
    plan.filled_on_source = ", ".join(
        f"count(*) FILTER (NOT {on_source[c]} AND "
        f"({' OR '.join(on_source[later] for later in chain[chain.index(c) + 1 :])}))"
        for c in filled
    )
    rules = rule_reasons(table)
    names = ", ".join(quote_ident(c) for c in table.column_names)
    plan.sql = f"""
WITH c AS (SELECT _line, {", ".join(coerced)},
                  NULLIF(concat_ws(chr(30), {", ".join(errors) or "NULL"}), '') AS _cerr,
                  {refuse} AS _refused
           FROM {staged.relation}),
f AS (SELECT _line, _cerr, _refused, {"".join(p + ", " for p in presence)}{fill_sql} FROM c)
SELECT _line, {names},
       concat_ws(chr(30), _refused, {", ".join(rules) or "NULL"}, _cerr) AS _problems
       {"".join(f", {col} IS DISTINCT FROM _orig_{col} AS _filled_{col}" for col in filled)}
FROM f"""
    return plan


_BLANKS = " \t\u00a0"
"""What surrounds a value without being part of it: spaces, tabs, no-break spaces."""


def _source_text(src: str, src_type: str) -> str:
    """A source value with surrounding spaces removed and empty text as NULL.

    Tabs and no-break spaces count as spaces: a key ``B1`` followed by one would be a second
    account that looks the same. ``trim`` copies every string; testing the two ends first lets
    clean values (nearly all) through untouched, which makes ingest of wide text tables
    markedly faster.
    """
    if src_type != "VARCHAR":
        return quote_ident(src)
    x = quote_ident(src)
    ends = " OR ".join(f"{end}({x}, '{b}')" for b in _BLANKS for end in ("prefix", "suffix"))
    return f"(CASE WHEN {ends} THEN NULLIF(trim({x}, '{_BLANKS}'), '') ELSE NULLIF({x}, '') END)"


def _coerce(
    col: Column,
    src: str | None,
    types: dict[str, str],
    mapping: Mapping,
    settings: Settings,
    rate: str | None,
    decimal: str | None = None,
    nul_check: bool = False,
    typed: bool = False,
) -> tuple[str, str | None]:
    """SQL for the canonical value of ``col`` and for its coercion-error message (or None).

    ``decimal`` is the file's decimal mark (declared or seen in it), else ``None``; ``typed``:
    the source column holds typed numbers in neutral form (``Staged.typed_numbers``).
    """
    target = col.sql_type
    if src is None:
        default = mapping.defaults.get(col.name)
        if default is None:
            return f"CAST(NULL AS {target})", None
        value = quote_literal(str(default).lower() if isinstance(default, bool) else str(default))
        return f"TRY_CAST({value} AS {target})", None
    src_type = types[src]
    v = _source_text(src, src_type)
    if src_type == "VARCHAR":
        if typed and col.type == "string":  # a typed number as text reads as it was written
            v = (
                f"(CASE WHEN regexp_full_match({v}, '{_NEUTRAL}') "
                f"THEN CAST(CAST({v} AS DOUBLE) AS VARCHAR) ELSE {v} END)"
            )
        v = _map_values(col, v, mapping, settings)
        expr = _parse_text(col, v, mapping, decimal)
    elif col.type == "timestamp" and src_type.startswith("TIMESTAMP"):
        expr = f"CAST({v} AS TIMESTAMP)"
    elif col.type == "integer" and src_type.startswith(_FRACTIONAL):
        expr = f"CASE WHEN {v} = trunc({v}) THEN TRY_CAST({v} AS {target}) END"  # 1.5: refused
    elif col.type == "boolean" and src_type.startswith((*_FRACTIONAL, *_WHOLE)):
        expr = f"CASE WHEN {v} IN (0, 1) THEN {v} = 1 END"  # 2 is not true: refused
    else:
        expr = f"TRY_CAST({v} AS {target})"
    if col.type == "money" and rate is not None:
        expr = f"CAST(round({expr} * {rate}, 2) AS {target})"
    if col.type == "string" and src_type == "VARCHAR":
        # Text is always readable as text, but cannot carry a NUL character. Text files are
        # checked by the reader (a byte scan first); Parquet values here, in the same pass.
        if not nul_check:
            return expr, None
        return expr, (
            f"CASE WHEN contains({quote_ident(src)}, chr(0)) THEN "
            f"{quote_literal(NUL_REASON.format(cols=col.name))} END"
        )
    shown = f"left(CAST({quote_ident(src)} AS VARCHAR), 60)"
    if typed:  # a typed fraction as it was written (7.5, not its neutral 75e-1)
        shown = (
            f"(CASE WHEN regexp_full_match({shown}, '{_NEUTRAL}') "
            f"THEN CAST(CAST({shown} AS DOUBLE) AS VARCHAR) ELSE {shown} END)"
        )
    what = _TYPE_WORDS[col.type]
    err = _cannot_read(col, v, expr, shown, what)
    if (
        src_type == "VARCHAR"
        and col.type in {"date", "timestamp"}
        and col.name not in (mapping.date_formats)
    ):
        # An ISO day followed by what is not read (PM, EST, words) says how to give the time.
        fix = (
            f"{col.name}: cannot read ' || {_quoted(shown)} || ' as {what}: after an ISO date "
            "only a time and its offset, Z, UTC or a zone name (Europe/Berlin) are read; write "
            "e.g. 2025-03-04T22:00:00-05:00, or declare the format in the mapping: "
            f'date_formats: {{{col.name}: "%Y-%m-%d %I:%M %p"}}'
        )
        order = (
            f"{col.name}: ' || {_quoted(shown)} || ' is not a year-first (ISO) date, and which "
            "part is the day, the month or the year cannot be told: declare it in the mapping: "
            f'date_formats: {{{col.name}: "%d/%m/%y"}} (or "%m/%d/%Y", …)'
        )
        err = (
            f"CASE WHEN {v} IS NULL OR {expr} IS NOT NULL THEN NULL "
            f"WHEN regexp_matches({v}, '^{_ISO_DAY}[^0-9]') THEN '{fix}' "
            f"WHEN regexp_full_match({v}, '{_SHORT_DAY}') THEN '{order}' ELSE {err} END"
        )
    if src_type == "VARCHAR" and decimal is None and col.type in {"integer", "float", "money"}:
        # A number refused because its decimal mark cannot be told says so, and how to fix it.
        ambiguous = (
            f"CASE WHEN {v} IS NOT NULL AND {expr} IS NULL THEN {ambiguous_reason(col, v)} END"
        )
        err = f"COALESCE({ambiguous}, {err})"
    if col.type in {"date", "timestamp"}:
        first, last = settings.plausible_years
        low = quote_literal(f"{first:04d}-01-01")
        high = quote_literal(f"{last + 1:04d}-01-01")
        hint = (
            " (a two-digit year? declare it in the mapping: date_formats: {"
            + col.name
            + ': "%d/%m/%y"})'
        )
        outside = (
            f"CASE WHEN {expr} < DATE {low} OR {expr} >= DATE {high} THEN "
            f"'{col.name}: ' || {_quoted(shown)} || ' is read as ' || "
            f"CAST(CAST({expr} AS DATE) AS VARCHAR) || ', outside the plausible years "
            f"{first} to {last} (plausible_years in revteam.toml)"
            + hint.replace("'", "''")
            + "' END"
        )
        err = f"COALESCE({err}, {outside})"
    if col.type == "money" and src_type == "VARCHAR":
        err = f"COALESCE({_sign_reason(col, v, _row_currency(mapping, settings, types))}, {err})"
    if rate is not None and col.type == "money":
        err = (
            f"CASE WHEN {v} IS NOT NULL AND {rate} IS NULL THEN '{col.name}: no exchange rate "
            "for this row''s currency; add it to exchange_rates in revteam.toml' ELSE "
            f"{err} END"
        )
    return expr, err


_SIGN_CURRENCIES = {
    "€": ("EUR",),
    "£": ("GBP",),
    "¥": ("JPY", "CNY"),
    "$": (
        *("USD", "CAD", "AUD", "NZD", "SGD", "HKD", "TWD", "MXN", "BRL", "ARS", "CLP", "COP"),
        *("UYU", "DOP", "JMD", "TTD", "BSD", "BBD", "BZD", "BMD", "KYD", "XCD", "FJD", "BND"),
    ),
}
"""The currencies a sign written in an amount can mean."""


_CODES = frozenset(
    {
        *("USD", "EUR", "GBP", "JPY", "CNY", "CHF", "CAD", "AUD", "NZD", "SEK", "NOK", "DKK"),
        *("PLN", "CZK", "HUF", "INR", "BRL", "MXN", "ZAR", "SGD", "HKD", "KRW", "TRY", "ILS"),
        *("AED", "SAR", "RUB", "TWD", "THB", "IDR", "MYR", "PHP", "ARS", "CLP", "COP", "RON"),
    }
)
"""ISO codes a column's name may carry (``Amount (EUR)``); other words in brackets are not."""
_HEADER_CURRENCY = re.compile(r"[(\[]\s*([A-Za-z]{3}|[$€£¥])\s*[)\]]|([€£¥])")


def _check_header_currency(
    table: Table, plan: Plan, mapping: Mapping, settings: Settings, path: str
) -> None:
    """Refuse a money column whose name gives a currency the rows would not be read in.

    ``Amount (€)`` matches ``amount`` by name; in a dollar workspace its euros would load as
    dollars. Declared (``currency:`` or ``currency_column:``), the mapping is believed.
    """
    if mapping.currency or mapping.currency_column:
        return
    ours = settings.currency.upper()
    for col in table.columns:
        src = plan.source_of.get(col.name)
        if col.type != "money" or src is None:
            continue
        found = _HEADER_CURRENCY.search(src)
        if found is None:
            continue
        said = (found.group(1) or found.group(2)).upper()
        if said not in _SIGN_CURRENCIES and said not in _CODES:
            continue
        if ours in _SIGN_CURRENCIES.get(said, (said,)):
            continue
        raise SourceFileError(
            path,
            f"column {src!r} says its amounts are in {said}, but the workspace currency is "
            f"{ours} and the mapping does not say the file's currency",
            f"declare it in the mapping: currency: {_SIGN_CURRENCIES.get(said, (said,))[0]} "
            "(with its rate under exchange_rates in revteam.toml), or currency_column: for a "
            "column giving each row's currency",
        )


def _row_currency(mapping: Mapping, settings: Settings, types: dict[str, str]) -> str:
    """SQL of a row's currency code: its currency column, else the mapping's or workspace's."""
    default = quote_literal((mapping.currency or settings.currency).upper())
    column = mapping.currency_column
    if column and column in types:
        code = f"upper(trim(CAST({quote_ident(column)} AS VARCHAR)))"
        return f"COALESCE(NULLIF({code}, ''), {default})"
    return default


def _sign_reason(col: Column, v: str, currency: str) -> str:
    """The reason an amount is refused when its sign (€1000) is not the row's currency.

    The sign is not read as a currency: a file of euros in a dollar workspace would otherwise
    load 1000 euros as 1000 dollars.
    """
    cases = " ".join(
        f"WHEN contains({v}, '{sign}') AND {currency} NOT IN "
        f"({', '.join(quote_literal(c) for c in codes)}) THEN '{col.name}: ' || {_quoted(v)} || "
        f"' is written in {sign}, but the row''s currency is ' || {currency} || '; declare the "
        "currency (currency: or currency_column: in the mapping) or write the amount without "
        "the sign'"
        for sign, codes in _SIGN_CURRENCIES.items()
    )
    return f"(CASE {cases} END)"


def _map_values(col: Column, v: str, mapping: Mapping, settings: Settings) -> str:
    values: dict[str, str] = {}
    if col.name == "channel":
        values |= settings.channel_mapping
    values |= mapping.values.get(col.name, {})
    if values:
        cases = " ".join(
            f"WHEN {quote_literal(k.strip().lower())} THEN {quote_literal(t)}"
            for k, t in values.items()
        )
        v = f"(CASE lower({v}) {cases} ELSE {v} END)"
    if col.enum is not None:
        # "Paid Social", "mid-market" -> paid_social, mid_market; valid values skip the regex.
        allowed = ", ".join(quote_literal(e) for e in col.enum)
        v = (
            f"(CASE WHEN {v} IN ({allowed}) THEN {v} "
            f"ELSE lower(regexp_replace({v}, '[\\s\\-/]+', '_', 'g')) END)"
        )
    return v


def _number(col: Column, v: str, decimal: str | None) -> str:
    """A number read from text with one decimal mark: declared, seen in the file, or plain.

    Without a known mark, a value whose text says which mark it uses (1.234,5 · 0,5 · 1,234.5)
    reads by it, and a value that could be either (1.200: 1.2 or 1200?) is not read: its row is
    refused with the fix, never guessed.
    """
    text = _number_text(v)
    if decimal is not None:
        thousands = THOUSANDS[decimal]
        plain = f"replace(replace({text}, '{thousands}', ''), '{decimal}', '.')"
        number = (
            f"CASE WHEN regexp_full_match({text}, '{_NEUTRAL}') THEN {text} "
            f"WHEN regexp_full_match({text}, '{_STRICT[decimal].format()}') THEN {plain} END"
        )
    else:
        cases = [f"WHEN regexp_full_match({text}, '{_INT}') THEN {text}"]
        cases.append(f"WHEN regexp_full_match({text}, '{_NEUTRAL}') THEN {text}")
        for mark, patterns in _DECISIVE.items():
            other = THOUSANDS[mark]
            plain = f"replace(replace({text}, '{other}', ''), '{mark}', '.')"
            cases += [
                f"WHEN regexp_full_match({text}, '{p.format()}') THEN {plain}" for p in patterns
            ]
        cases.append(f"WHEN regexp_full_match({text}, '{_AMBIGUOUS.format()}') THEN NULL")
        number = f"(CASE {' '.join(cases)} ELSE {text} END)"
    if col.type == "integer":
        return (
            f"CASE WHEN regexp_full_match({number}, '[-+]?\\d+(\\.0*)?') "
            # the digits themselves, not through a double: exact beyond 2**53
            f"THEN TRY_CAST(regexp_extract({number}, '^[-+]?\\d+') AS BIGINT) END"
        )
    # A decimal type reads no exponent: 25005e-1 goes through a double (exact to its digits).
    number = (
        f"(CASE WHEN regexp_matches({number}, '[eE]') "
        f"THEN CAST(TRY_CAST({number} AS DOUBLE) AS VARCHAR) ELSE {number} END)"
    )
    return f"TRY_CAST({number} AS {col.sql_type})"


def _cannot_read(col: Column, v: str, expr: str, shown: str, what: str) -> str:
    return (
        f"CASE WHEN {v} IS NOT NULL AND {expr} IS NULL THEN "
        f"'{col.name}: cannot read ' || {_quoted(shown)} || ' as {what}' END"
    )


def ambiguous_reason(col: Column, v: str) -> str:
    """The reason a number is refused when its decimal mark cannot be told."""
    text = _number_text(v)
    return (
        f"CASE WHEN regexp_full_match({text}, '{_AMBIGUOUS.format()}') THEN "
        f"'{col.name}: ' || {_quoted(text)} || ' could be read two ways (is . or , the decimal "
        'mark?); declare it in the mapping: decimal: "," or decimal: "." (or locale: de, '
        "en …)' END"
    )


def detect_decimal(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str]) -> str | None:
    """The decimal mark the file's numbers show, when every telling value agrees."""
    if not columns:
        return None
    votes = []
    for mark, patterns in _DECISIVE.items():
        tests = [
            f"regexp_full_match({_number_text(quote_ident(c))}, '{p.format()}')"
            for c in columns
            for p in patterns
        ]
        votes.append(f"bool_or({' OR '.join(tests)}) AS {'comma' if mark == ',' else 'dot'}")
    comma, dot = con.execute(f"SELECT {', '.join(votes)} FROM {relation}").fetchone() or (0, 0)
    if bool(comma) != bool(dot):
        return "," if comma else "."
    return None


def _parse_text(col: Column, v: str, mapping: Mapping, decimal: str | None = None) -> str:
    fmt = mapping.date_formats.get(col.name)
    if col.type in {"timestamp", "date"} and fmt:
        if fmt in {"epoch_ms", "epoch_s"}:
            div = "1000.0" if fmt == "epoch_ms" else "1.0"
            ts = f"CAST(to_timestamp(TRY_CAST({v} AS DOUBLE) / {div}) AS TIMESTAMP)"
        else:
            ts = f"CAST(try_strptime({v}, {quote_literal(fmt)}) AS TIMESTAMP)"
        return ts if col.type == "timestamp" else f"CAST({ts} AS DATE)"
    if col.type in {"timestamp", "date"}:
        # ISO text only: DuckDB's cast drops a word after the time (PM, EST, junk) unsaid.
        # Plain text is local time; an offset, Z, UTC/GMT or a zone name (Europe/Berlin) is
        # converted to the workspace zone. Anything else is refused with the format to declare.
        local, zoned = (f"regexp_full_match({v}, {quote_literal(p)})" for p in _ISO_FORMS)
        if col.type == "date":  # the day as written: 2025-03-04T00:00:00Z is 4 March anywhere
            return f"CASE WHEN {local} OR {zoned} THEN CAST(TRY_CAST({v} AS TIMESTAMP) AS DATE) END"
        return (
            f"CASE WHEN {local} THEN TRY_CAST({v} AS TIMESTAMP) "
            f"WHEN {zoned} THEN CAST(TRY_CAST({v} AS TIMESTAMPTZ) AS TIMESTAMP) END"
        )
    if col.type in {"integer", "money", "float"}:
        return _number(col, v, decimal)
    if col.type == "boolean":
        return f"TRY_CAST({v} AS BOOLEAN)"
    return v


def _rate_expr(
    mapping: Mapping, settings: Settings, types: dict[str, str], path: str
) -> str | None:
    """Exchange-rate expression to the workspace currency, or None when no conversion applies."""
    rates = {k.upper(): v for k, v in settings.exchange_rates.items()}
    rates[settings.currency.upper()] = 1.0
    if mapping.currency_column:
        if mapping.currency_column not in types:
            raise SourceFileError(path, f"currency column {mapping.currency_column!r} not in file")
        cases = " ".join(f"WHEN {quote_literal(k)} THEN {v!r}" for k, v in rates.items())
        cur = f"upper(trim({quote_ident(mapping.currency_column)}))"
        default = quote_literal((mapping.currency or settings.currency).upper())
        return f"(CASE COALESCE(NULLIF({cur}, ''), {default}) {cases} END)"
    if mapping.currency and mapping.currency.upper() != settings.currency.upper():
        if mapping.currency.upper() not in rates:
            raise ConfigError(
                f"{path}: the mapping says amounts are in {mapping.currency} but revteam.toml has "
                f"no exchange rate for it; add `exchange_rates = {{{mapping.currency.upper()} = "
                "<rate>}` (units of the workspace currency per unit)."
            )
        return repr(rates[mapping.currency.upper()])
    return None


def fill_chain(table: Table) -> tuple[list[str], str]:
    """Fill missing earlier stage stamps from later ones (KPIS.md); keep the originals to report."""
    chain = table.fill_chain
    names = []
    filled: list[str] = []
    for col in table.column_names:
        # The first stamp is required and the last has nothing later to be filled from.
        if col in chain[1:-1]:
            stamps = ", ".join(quote_ident(c) for c in chain[chain.index(col) :])
            names.append(f"COALESCE({stamps}) AS {quote_ident(col)}")
            names.append(f"{quote_ident(col)} AS _orig_{col}")
            filled.append(col)
        else:
            names.append(quote_ident(col))
    return filled, ", ".join(names)


def rule_reasons(
    table: Table, *, rows: str = "f", presence: bool = True, relation: str | None = None
) -> list[str]:
    """SQL giving each broken rule's reason (NULL when kept): the quarantine's vocabulary.

    ``rows`` names the relation of the rows being checked (for a table referring to itself);
    ``presence`` reads the ``_p_<col>`` flags that keep "required value is missing" silent when
    a value was there but unreadable; ``relation`` (a schema) qualifies referenced tables and
    means the rows are checked as a view over a warehouse, not loaded. Portable SQL:
    the same reasons are checked on a warehouse by ``revteam check`` (sources.yaml).
    """
    out: list[str] = []
    for col in table.columns:
        c = quote_ident(col.name)
        if col.name in table.required_columns:
            unread = f" AND NOT _p_{col.name}" if presence else ""
            out.append(
                f"CASE WHEN {c} IS NULL{unread} THEN '{col.name}: required value is missing' END"
            )
        if col.enum is not None:
            allowed = ", ".join(quote_literal(e) for e in col.enum)
            out.append(
                f"CASE WHEN {c} NOT IN ({allowed}) THEN '{col.name}: ' || {_quoted(c)} || "
                f"' is not one of {', '.join(col.enum)} (map it under values: in a mapping "
                "file)' END"
            )
        if col.min_value is not None:
            word = "negative" if col.min_value == 0 else f"below {col.min_value:g}"
            out.append(
                f"CASE WHEN {c} < {col.min_value!r} THEN '{col.name}: ' || CAST({c} AS VARCHAR) "
                f"|| ' is {word}' END"
            )
        if col.max_value is not None:
            out.append(
                f"CASE WHEN {c} > {col.max_value!r} THEN '{col.name}: ' || CAST({c} AS VARCHAR) "
                f"|| ' is above {col.max_value:g}' END"
            )
        ref = col.references
        if ref is not None and ref.checked:
            k = quote_ident(ref.column)
            target = quote_ident(ref.table)
            keys = f"SELECT {k} FROM {relation + '.' + target if relation else target}"
            if ref.table == table.name:
                # A row may refer to one beside it; a view cannot read itself, so a checked
                # relation's own rows are all there is.
                own = f"SELECT {k} FROM {rows}"
                keys = own if relation else f"{keys} UNION ALL {own}"
            out.append(
                f"CASE WHEN {c} IS NOT NULL AND {c} NOT IN (SELECT {k} FROM ({keys}) AS _keys "
                f"WHERE {k} IS NOT NULL) THEN '{col.name}: ' || {_quoted(c)} || ' not found in "
                f"{ref.table}{'' if relation else f' (load {ref.table} first)'}' END"
            )
    out += [f"CASE WHEN NOT ({c.sql}) THEN {quote_literal(c.message)} END" for c in table.checks]
    return out
