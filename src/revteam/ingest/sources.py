"""Canonical tables as views over a company's warehouse (``sources.yaml``), checked in place.

A company whose CRM already sits in its warehouse (Fivetran's HubSpot or Salesforce tables,
dbt models) maps each canonical table onto a table or a query there. Nothing leaves the
warehouse: :meth:`Sources.apply` puts one view per canonical table in revteam's schema (over a
materialized view of the checked rows, unless ``materialize: false``), and the metric layer
reads them as it reads loaded tables. Each view keeps only the rows that pass the model's
rules, the rules file ingest applies (required values, vocabularies, ranges, references, row
rules, repeated keys), so a KPI never counts a row ingest would have refused; ``revteam check``
runs the same rules as queries on the warehouse and reports the refused rows with their counts,
samples and the quarantine's reasons. Types are converted only where no value can be misread;
anything else is refused with the conversion to write (docs/warehouses.md).

The file::

    tables:
      accounts:
        table: hubspot.company          # a table or view, with columns named as the model…
        columns:                        # …or renamed: canonical column: SQL expression
          account_id: CAST(id AS TEXT)
          name: property_name
      people:
        sql: |                          # or any query giving the canonical columns
          SELECT CAST(id AS TEXT) AS person_id, … FROM hubspot.contact WHERE NOT is_deleted
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from revteam.exceptions import SourcesError
from revteam.ingest.validate import fill_chain, rule_reasons
from revteam.model import METADATA_COLUMNS, TABLES, Column, Table, load_order
from revteam.settings import load_text_yaml
from revteam.storage.postgres import META_TABLE, PG_TYPES
from revteam.storage.sql import quote_ident, quote_literal

if TYPE_CHECKING:
    import psycopg

    from revteam.storage.postgres import PostgresWarehouse

SOURCES_FILE = "sources.yaml"
ROWS_PREFIX = "_rows_"
"""Every mapped row with its reasons (``_problems``), one relation per table and apply; the
canonical view keeps the rows without any."""
SOURCE_LABEL = "sources.yaml"
REFUSE = "_refuse"
"""A column a source query may give: its text refuses the row with that reason."""
MAX_SAMPLES = 50
_TEXT = {"text", "varchar", "bpchar", "name", "citext"}
_INTEGER = {"int2", "int4", "int8"}
_FLOAT = {"float4", "float8"}
_HINTS = {
    "timestamp": "to_timestamp({c}, 'YYYY-MM-DD HH24:MI:SS') AT TIME ZONE '{tz}'",
    "date": "to_date({c}, 'YYYY-MM-DD')",
    "integer": "CAST({c} AS BIGINT) after checking the text is digits",
    "float": "CAST({c} AS DOUBLE PRECISION) after checking the decimal mark",
    "money": "CAST(replace({c}, ',', '') AS NUMERIC) once the decimal mark is known",
    "boolean": "lower({c}) IN ('true', 't', '1')",
}
"""The explicit conversion to write when a column arrives as text: the format is the user's to
declare, as in a mapping file, never guessed."""


@dataclass(frozen=True)
class TableSource:
    """One canonical table's source: a query giving (some of) its columns by their names."""

    table: str
    sql: str


@dataclass(frozen=True)
class SourcesFile:
    """What ``sources.yaml`` says: each mapped table's query, and whether rows are stored.

    ``materialize`` (the default) keeps the checked rows in a materialized view per table,
    refreshed by ``revteam check --apply``: queries read them at a table's speed, and every
    page sees the same rows until the next apply, as caches keyed on the data version expect.
    ``false`` leaves plain views: nothing stored, the rules re-run by every query.
    """

    tables: dict[str, TableSource]
    materialize: bool = True


@dataclass(frozen=True)
class SourceType:
    """A source column's Postgres type: its name (``int8``, ``timestamptz`` …) and scale."""

    name: str
    scale: int | None = None


@dataclass(frozen=True)
class Violation:
    """Rows of one table refused for one reason (values elided), with a few of them."""

    table: str
    reason: str
    rows: int
    samples: list[dict[str, str | None]]


@dataclass
class SourcesReport:
    """What ``revteam check`` found: rows per table, refused rows by reason, notes."""

    rows: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    applied: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "applied": self.applied,
            "tables": {
                t: {"rows": n, "kept": self.kept[t], "refused": n - self.kept[t]}
                for t, n in self.rows.items()
            },
            "violations": [
                {"table": v.table, "reason": v.reason, "rows": v.rows, "samples": v.samples}
                for v in self.violations
            ],
            "notes": list(self.notes),
        }


def read_sources(path: Path) -> SourcesFile:
    """The canonical tables ``path`` maps, read strictly (unknown tables and keys refused)."""
    try:
        data = load_text_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SourcesError(path, f"cannot be read ({exc.strerror})", "Check the path") from exc
    except yaml.YAMLError as exc:
        raise SourcesError(path, f"is not valid YAML: {exc}", "Fix the YAML") from exc
    if (
        not isinstance(data, dict)
        or set(data) - {"tables", "materialize"}
        or not isinstance(data.get("tables"), dict)
    ):
        raise SourcesError(
            path,
            "must hold one mapping, tables:, from canonical table names to their sources",
            "See docs/warehouses.md for the format and the shipped examples",
        )
    out: dict[str, TableSource] = {}
    for name, entry in data["tables"].items():
        if name not in TABLES:
            raise SourcesError(
                path, f"{name!r} is not a canonical table", f"Use one of {', '.join(TABLES)}"
            )
        out[name] = TableSource(name, _entry_sql(path, TABLES[name], entry))
    if not out:
        raise SourcesError(path, "maps no table", "Map at least one canonical table")
    materialize = str(data.get("materialize", "true")).strip().lower()
    if materialize not in {"true", "false"}:
        raise SourcesError(path, "materialize must be true or false", "Fix it")
    return SourcesFile(out, materialize == "true")


def _entry_sql(path: Path, table: Table, entry: object) -> str:
    where = f"tables.{table.name}"
    if not isinstance(entry, dict):
        raise SourcesError(path, f"{where} must be a mapping", "Give sql: or table:")
    unknown = set(entry) - {"sql", "table", "columns", "description"}
    if unknown:
        raise SourcesError(
            path,
            f"{where} has unknown keys {', '.join(sorted(unknown))}",
            "Use sql:, or table: with optional columns:",
        )
    sql, relation, columns = entry.get("sql"), entry.get("table"), entry.get("columns")
    if (sql is None) == (relation is None):
        raise SourcesError(path, f"{where} needs exactly one of sql: and table:", "Give one")
    if sql is not None:
        if columns is not None or not isinstance(sql, str) or not sql.strip():
            raise SourcesError(
                path, f"{where}.sql must be a query (and columns: goes with table:)", "Fix it"
            )
        return sql.strip().rstrip(";")
    if not isinstance(relation, str) or not relation.strip():
        raise SourcesError(path, f"{where}.table must name a table or view", "Fix it")
    if columns is None:
        return f"SELECT * FROM {relation}"
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        raise SourcesError(
            path, f"{where}.columns must map canonical columns to SQL expressions", "Fix it"
        )
    for name in columns:
        if name not in table.column_names:
            raise SourcesError(
                path,
                f"{where}.columns: {name!r} is not a column of {table.name}",
                f"Use {', '.join(table.column_names)}",
            )
    picked = ", ".join(f"{expr} AS {quote_ident(col)}" for col, expr in columns.items())
    return f"SELECT {picked} FROM {relation}"


def convert(
    col: Column, src: str, kind: SourceType, timezone: str = "UTC"
) -> tuple[str, str | None]:
    """SQL for ``col`` from source column ``src``, and a reason SQL for values it refuses.

    Instants (``timestamptz``) become the workspace's ``timezone`` local time, as ingest
    converts timestamps with an offset. Raises :class:`ValueError` with the fix when the source
    type could be misread.
    """
    c = f"src.{quote_ident(src)}"
    t, target = kind.name, PG_TYPES[col.type]
    if t == "unknown" or t in _TEXT:
        if col.type == "string":
            return f"NULLIF(btrim(CAST({c} AS TEXT)), '')", None
        hint = _HINTS[col.type].format(c=quote_ident(src), tz=timezone)
        raise ValueError(
            f"is text in the warehouse and {col.name} is a {col.type}: its format is not "
            f"revteam's to guess; convert it in sources.yaml, e.g. {hint}"
        )
    numeric = t in _INTEGER or t in _FLOAT or t == "numeric"
    if col.type == "string" and (
        t in _INTEGER or t == "uuid" or (t == "numeric" and kind.scale == 0)
    ):
        return f"CAST({c} AS TEXT)", None
    if col.type == "integer" and (t in _INTEGER or (t == "numeric" and kind.scale == 0)):
        return f"CAST({c} AS BIGINT)", None
    if col.type == "float" and numeric:
        return f"CAST({c} AS DOUBLE PRECISION)", None
    if col.type == "money" and numeric:
        exact = t in _INTEGER or (t == "numeric" and kind.scale is not None and kind.scale <= 2)
        reason = (
            None
            if exact
            else f"CASE WHEN CAST({c} AS NUMERIC) <> round(CAST({c} AS NUMERIC), 2) THEN "
            f"'{col.name}: ' || CAST({c} AS TEXT) || ' has more than two decimals (round it "
            "in sources.yaml)' END"
        )
        return f"CAST({c} AS {target})", reason
    if col.type == "boolean" and t == "bool":
        return c, None
    if col.type == "date" and t == "date":
        return c, None
    if col.type == "timestamp" and t in {"timestamp", "date"}:
        return f"CAST({c} AS TIMESTAMP)", None
    if col.type == "timestamp" and t == "timestamptz":
        return f"({c} AT TIME ZONE {quote_literal(timezone)})", None
    raise ValueError(
        f"is {t} in the warehouse and {col.name} is a {col.type}; convert it in sources.yaml "
        f"(CAST it to {target} where that cannot lose or misread a value)"
    )


def _plausible(col: Column, years: tuple[int, int]) -> str | None:
    if col.type not in {"date", "timestamp"}:
        return None
    c = quote_ident(col.name)
    first, last = years
    return (
        f"CASE WHEN {c} < DATE '{first:04d}-01-01' OR {c} >= DATE '{last + 1:04d}-01-01' THEN "
        f"'{col.name}: ''' || CAST({c} AS TEXT) || ''' is outside the plausible years {first} "
        f"to {last} (plausible_years in revteam.toml)' END"
    )


def rows_view_sql(
    table: Table,
    source: TableSource,
    types: dict[str, SourceType],
    schema: str,
    years: tuple[int, int],
    timezone: str = "UTC",
) -> tuple[str, list[str]]:
    """The query of a table's checked rows (every mapped row, ``_problems`` its reasons).

    A ``_refuse`` column the query gives refuses its rows with that text (first, as a
    translator's reason comes first at ingest). Returns the query with notes (source columns
    no canonical column takes). Raises :class:`ValueError` naming every column that cannot be
    read safely.
    """
    values: list[str] = []
    reasons: list[str] = []
    problems: list[str] = []
    for col in table.columns:
        if col.name not in types:
            if col.name in table.required_columns:
                problems.append(f"{col.name}: required, and the source gives no such column")
            values.append(f"CAST(NULL AS {PG_TYPES[col.type]}) AS {quote_ident(col.name)}")
            continue
        try:
            expr, reason = convert(col, col.name, types[col.name], timezone)
        except ValueError as exc:
            problems.append(f"{col.name} {exc}")
            continue
        values.append(f"{expr} AS {quote_ident(col.name)}")
        if reason:
            reasons.append(reason)
    if problems:
        raise ValueError("; ".join(problems))
    notes = [
        f"{table.name}: source column {c!r} is not a column of {table.name} (not read)"
        for c in types
        if c not in table.column_names and c != REFUSE
    ]
    refused = f"NULLIF(btrim(CAST(src.{REFUSE} AS TEXT)), '')" if REFUSE in types else "NULL"
    _filled, filled_sql = fill_chain(table)
    keys = ", ".join(quote_ident(k) for k in table.key)
    key_text = " || ', ' || ".join(
        f"'{k}=' || COALESCE(CAST({quote_ident(k)} AS TEXT), 'NULL')" for k in table.key
    )
    repeated = (
        f"CASE WHEN count(*) OVER (PARTITION BY {keys}) > 1 THEN 'key ' || {key_text} || "
        f"' appears on ' || CAST(count(*) OVER (PARTITION BY {keys}) AS TEXT) || "
        f"' rows of the source ({SOURCE_LABEL} {table.name})' END"
    )
    rules = rule_reasons(table, rows="f", presence=False, relation=quote_ident(schema))
    rules += [r for col in table.columns if (r := _plausible(col, years))]
    names = ", ".join(quote_ident(c) for c in table.column_names)
    sql = f"""WITH src AS ({source.sql}),
c AS (SELECT {", ".join(values)},
             concat_ws(chr(30), {", ".join(reasons) or "NULL"}) AS _cerr,
             CAST({refused} AS TEXT) AS {REFUSE} FROM src AS src),
f AS (SELECT _cerr, {REFUSE}, {filled_sql} FROM c)
SELECT {names},
       concat_ws(chr(30), {REFUSE}, {", ".join(rules)}, NULLIF(_cerr, ''), {repeated})
           AS _problems
FROM f"""
    return sql, notes


def rows_name(table: str, generation: int) -> str:
    """The relation of a table's checked rows made by the apply of data version ``generation``."""
    return f"{ROWS_PREFIX}{table}_v{generation}"


def canonical_view_sql(table: Table, schema: str, rows_relation: str | None) -> str:
    """The canonical table as the metric layer reads it: the rows without a reason."""
    names = ", ".join(quote_ident(c) for c in table.column_names)
    lineage = ", ".join(
        f"CAST({quote_literal(SOURCE_LABEL) if n == '_source' else 'NULL'} AS "
        f"{'TIMESTAMP' if t == 'TIMESTAMP' else 'TEXT'}) AS {quote_ident(n)}"
        for n, t in METADATA_COLUMNS
    )
    if rows_relation is not None:
        rows = _qualified(schema, rows_relation)
        return f"SELECT {names}, {lineage} FROM {rows} WHERE _problems = ''"
    empty = ", ".join(
        f"CAST(NULL AS {PG_TYPES[c.type]}) AS {quote_ident(c.name)}" for c in table.columns
    )
    return f"SELECT {empty}, {lineage} WHERE FALSE"


class Sources:
    """``sources.yaml`` of a workspace on a PostgreSQL warehouse: check it, apply it."""

    def __init__(
        self,
        path: Path,
        engine: PostgresWarehouse,
        plausible_years: tuple[int, int],
        timezone: str = "UTC",
    ) -> None:
        self.path, self.engine, self.years = path, engine, plausible_years
        self.timezone = timezone

    def check(self, *, samples: int = 5) -> SourcesReport:
        """Run the model's rules over the mapped data and report; the warehouse is unchanged."""
        return self._run(samples=samples, apply=False)

    def apply(self, *, samples: int = 5) -> SourcesReport:
        """Check, then keep the views (a new data version): KPIs read the warehouse's rows."""
        return self._run(samples=samples, apply=True)

    def _run(self, *, samples: int, apply: bool) -> SourcesReport:
        import psycopg

        if not 0 <= samples <= MAX_SAMPLES:
            raise SourcesError(self.path, f"samples must be 0 to {MAX_SAMPLES}", "Ask fewer")
        if self.engine.read_only:
            raise SourcesError(self.path, "the warehouse is open read-only", "Open it to write")
        mapped = read_sources(self.path)
        digest = hashlib.sha256(self.path.read_bytes()).hexdigest()
        report = SourcesReport()
        with self.engine.transaction() as con:
            generation = self.engine.data_version + 1
            try:
                self._views(con, mapped, generation, report)
                for name in (t for t in load_order() if t in mapped.tables):
                    self._violations(
                        con, TABLES[name], rows_name(name, generation), samples, report
                    )
                if apply:
                    con.execute(
                        f"INSERT INTO {META_TABLE} VALUES ('sources', %s) "
                        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                        (digest,),
                    )
                    self.engine.bump_data_version()
                    report.applied = True
                else:
                    raise psycopg.Rollback()
            except psycopg.Error as exc:
                cause = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise SourcesError(
                    self.path,
                    f"the warehouse refused a query: {cause}",
                    "Fix the SQL in sources.yaml (its tables qualified by their schema)",
                ) from exc
        return report

    def _views(
        self,
        con: psycopg.Connection[Any],
        mapped: SourcesFile,
        generation: int,
        report: SourcesReport,
    ) -> None:
        """Each table's checked rows (a new generation), and the canonical views over them.

        Generations are named by the data version they make, so the canonical view is pointed
        at the new one before the old is dropped: nothing else is dropped, nothing cascades.
        """
        schema = self.engine.schema
        problems: list[str] = []
        for name in load_order():
            table = TABLES[name]
            target = _qualified(schema, name)
            kind = con.execute(
                "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relname = %s",
                (schema, name),
            ).fetchone()
            if kind is not None and kind[0] == "r":
                if con.execute(f"SELECT 1 FROM {target} LIMIT 1".encode()).fetchone():
                    raise SourcesError(
                        self.path,
                        f"the {schema}.{name} table holds rows loaded into it; a workspace's "
                        "tables come either from loads or from sources.yaml, not both",
                        "Point the warehouse at an empty schema (?schema=… in the URL)",
                    )
                con.execute(f"DROP TABLE {target}".encode())
            relation = None
            if name in mapped.tables:
                try:
                    types = self._describe(con, mapped.tables[name].sql)
                    sql, notes = rows_view_sql(
                        table, mapped.tables[name], types, schema, self.years, self.timezone
                    )
                except ValueError as exc:
                    problems.append(f"{name}: {exc}")
                    continue
                report.notes += notes
                relation = rows_name(name, generation)
                kind_sql = "MATERIALIZED VIEW" if mapped.materialize else "VIEW"
                made = _qualified(schema, relation)
                con.execute(f"CREATE {kind_sql} {made} AS {sql}".encode())
            view = canonical_view_sql(table, schema, relation)
            con.execute(f"CREATE OR REPLACE VIEW {target} AS {view}".encode())
            self._drop_generations(con, name, keep=relation)
        if problems:
            raise SourcesError(
                self.path,
                "cannot be read without risk of misreading: " + "; ".join(problems),
                "Nothing was changed in the warehouse",
            )

    def _drop_generations(self, con: psycopg.Connection[Any], table: str, keep: str | None) -> None:
        schema = self.engine.schema
        old = con.execute(
            "SELECT c.relname, c.relkind FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('v', 'm') AND c.relname LIKE %s",
            (schema, f"{ROWS_PREFIX}{table}_v%"),
        ).fetchall()
        for relname, relkind in old:
            if relname != keep and relname.removeprefix(f"{ROWS_PREFIX}{table}_v").isdigit():
                what = "MATERIALIZED VIEW" if relkind == "m" else "VIEW"
                con.execute(f"DROP {what} {quote_ident(schema)}.{quote_ident(relname)}".encode())

    def _describe(self, con: psycopg.Connection[Any], sql: str) -> dict[str, SourceType]:
        """The query's result columns and their types, from a run returning no row."""
        with con.cursor() as cur:
            cur.execute(f"SELECT * FROM ({sql}) AS src LIMIT 0".encode())
            out: dict[str, SourceType] = {}
            for d in cur.description or ():
                if d.name in out:
                    raise ValueError(f"the query gives the column {d.name!r} twice")
                info = con.adapters.types.get(d.type_code)
                out[d.name] = SourceType(info.name if info else "unknown", d.scale)
        return out

    def _violations(
        self,
        con: psycopg.Connection[Any],
        table: Table,
        relation: str,
        samples: int,
        report: SourcesReport,
    ) -> None:
        rows = _qualified(self.engine.schema, relation)
        total, kept = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE _problems = '') FROM {rows}".encode()
        ).fetchone() or (0, 0)
        report.rows[table.name], report.kept[table.name] = int(total), int(kept)
        if total == kept:
            return
        keys = ", ".join(f"CAST({quote_ident(k)} AS TEXT) AS {quote_ident(k)}" for k in table.key)
        found = con.execute(
            f"""WITH r AS (SELECT {keys}, unnest(string_to_array(_problems, chr(30))) AS said
                           FROM {rows} WHERE _problems <> ''),
                g AS (SELECT *, regexp_replace(said, '''[^'']*''', '…', 'g') AS reason,
                             row_number() OVER (PARTITION BY
                                 regexp_replace(said, '''[^'']*''', '…', 'g')
                                 ORDER BY {", ".join(quote_ident(k) for k in table.key)}) AS n
                      FROM r)
                SELECT reason, count(*) AS rows,
                       array_agg(json_build_object({_pairs(table)}, 'reason', said)::text)
                           FILTER (WHERE n <= %s) AS samples
                FROM g GROUP BY reason ORDER BY rows DESC, reason""".encode(),
            (samples,),
        ).fetchall()
        for reason, n, shown in found:
            report.violations.append(
                Violation(table.name, reason, int(n), [json.loads(s) for s in shown or ()])
            )


def _pairs(table: Table) -> str:
    return ", ".join(f"{quote_literal(k)}, {quote_ident(k)}" for k in table.key)


def _qualified(schema: str, name: str) -> str:
    return f"{quote_ident(schema)}.{quote_ident(name)}"
