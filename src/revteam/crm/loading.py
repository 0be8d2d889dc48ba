"""Load a translation through the ordinary ingest, then keep its unmapped fields aside.

Translated tables are written to ``<workspace>/crm/staged/<system>-<shape>-<id>/<table>.parquet``
(``<id>`` names the set of source files) and
loaded in model order through :class:`revteam.ingest.IngestComponent`, so validation, quarantine,
idempotence and one transaction per table apply exactly as for any file. The staged files stay
(they are what ``_source`` and the quarantine point at) and are replaced by the next load.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from revteam.crm import _private as P
from revteam.crm.mapping import UnmappedValue
from revteam.crm.translation import Translation, dependents_of
from revteam.ingest import IngestComponent, IngestResult
from revteam.ingest import Mapping as IngestMapping
from revteam.model import TABLES
from revteam.storage import QUARANTINE_TABLE, Warehouse

EXTRA_TABLE = "crm_extra_fields"
EXTRA_DDL = f"""CREATE TABLE IF NOT EXISTS {EXTRA_TABLE} (
    system VARCHAR, object VARCHAR, record_id VARCHAR, canonical_table VARCHAR,
    fields MAP(VARCHAR, VARCHAR), source VARCHAR, loaded_at TIMESTAMP)"""
"""CRM fields that no canonical column takes: one row per source record, a map field → value."""

_LINEAGE = {"_origin", "_raw", "_currency"}

Progress = Callable[[str, str, float], None]
"""Called with (table, phase, fraction of that table done)."""


@dataclass(frozen=True)
class CrmLoadResult:
    """What one CRM load did: one ingest result per canonical table, plus what it set aside."""

    system: str
    shape: str
    results: tuple[IngestResult, ...]
    extra_fields: int
    notes: tuple[str, ...]
    unmapped: tuple[UnmappedValue, ...]
    removed: dict[str, int] = field(default_factory=dict)
    """Rows removed per canonical table: records the source deleted or merged away."""

    @property
    def loaded(self) -> int:
        return sum(r.loaded for r in self.results)

    @property
    def quarantined(self) -> int:
        return sum(r.quarantined for r in self.results)

    def result(self, table: str) -> IngestResult:
        for r in self.results:
            if r.table == table:
                return r
        raise KeyError(table)

    def rows(self) -> list[dict[str, object]]:
        """One summary row per table, for the CLI and notebooks."""
        return [
            {
                "table": r.table,
                "read": r.rows_read,
                "inserted": r.inserted,
                "updated": r.updated,
                "unchanged": r.unchanged,
                "quarantined": r.quarantined,
                "removed": self.removed.get(r.table, 0),
                "seconds": round(r.seconds, 2),
            }
            for r in self.results
        ] + [
            {"table": t, "read": 0, "inserted": 0, "updated": 0, "unchanged": 0,
             "quarantined": 0, "removed": n, "seconds": 0.0}
            for t, n in self.removed.items()
            if t not in {r.table for r in self.results}
        ]  # fmt: skip


def staging_folder(root: Path, tr: Translation) -> Path:
    """One folder per system, shape and set of source files (so a reload finds its own)."""
    names = sorted(str(s.path.resolve()) for s in tr.sources)
    digest = hashlib.sha256("\n".join(names).encode()).hexdigest()[:10]
    return root / "crm" / "staged" / f"{tr.system}-{tr.shape}-{digest}"


def staged_system_sql(column: str) -> str:
    """SQL for the CRM system whose staging folder a ``_source`` path names, else NULL.

    Rows a CRM load put in the warehouse keep their staged file as ``_source`` (see
    :func:`staging_folder`); separators are unified so Windows paths match too.
    """
    path = f"replace({column}, '\\', '/')"
    return f"NULLIF(regexp_extract({path}, 'crm/staged/([a-z]+)-', 1), '')"


def load_translation(
    tr: Translation,
    /,
    *,
    root: Path,
    warehouse: Warehouse,
    ingest: IngestComponent,
    progress: Progress | None = None,
) -> CrmLoadResult:
    """Load every translated table (model order, one transaction each), then the extras.

    The staged files go under the workspace folder ``root``; ``ingest`` loads them into
    ``warehouse``, where the extras and removals are then written.
    """
    folder = staging_folder(root, tr)
    files = tr.write(folder)
    results = []
    for table, path in files.items():

        def phase(_file: str, label: str, fraction: float, name: str = table) -> None:
            if progress:
                progress(name, label, fraction)

        currency = "_currency" if _has_currency(tr, path) else None
        mapping = IngestMapping(currency_column=currency, decimal=tr.mapping.decimal)
        [result] = ingest.load(table, path, mapping=mapping, progress=phase)
        _forget_fixed(warehouse, result)
        results.append(result)
    extras = _write_extras(warehouse, tr, folder)
    removed, removal_notes = _remove(warehouse, tr)
    notes = [n for r in results for n in r.notes if not _lineage_note(n)]
    return CrmLoadResult(
        tr.system,
        tr.shape,
        tuple(results),
        extras,
        tuple(tr.notes + notes + removal_notes),
        tuple(tr.unmapped),
        removed,
    )


def _owned_by(table: str) -> list[tuple[str, str]]:
    """(child table, column) whose rows go with a removed row of ``table``."""
    return [
        (child, column)
        for child in TABLES
        for parent, column, owned in dependents_of(child)
        if parent == table and owned
    ]


def _remove(warehouse: Warehouse, tr: Translation) -> tuple[dict[str, int], list[str]]:
    """Remove rows of records the source deleted or merged away (one transaction).

    The keys are the translation's :attr:`~Translation.gone`; rows owned by a removed row go
    with it, and so do the record's kept-aside fields. Only rows this system loaded are
    touched (their ``_source`` is its staging folder), so an id that another source happens
    to use survives. Removing nothing changes nothing: a re-load of the same files leaves the
    data version alone.
    """
    wanted = {
        t: tr.con.sql(f"SELECT key FROM {name}").to_arrow_table() for t, name in tr.gone.items()
    }
    wanted = {t: keys for t, keys in wanted.items() if keys.num_rows}
    if not wanted:
        return {}, []
    mine = f"{staged_system_sql('_source')} = {P.lit(tr.system)}"
    removed: dict[str, int] = {}
    notes = []
    with warehouse.transaction() as con:
        con.execute(EXTRA_DDL)
        for table, keys in wanted.items():
            con.register("_gone", keys)
            label = (
                ", ".join(p.label for p in tr.removals if p.table == table) or "went with others"
            )
            for target, column in [*_owned_by(table), (table, TABLES[table].key[0])]:
                n = con.execute(
                    f"DELETE FROM {target} WHERE {column} IN (SELECT key FROM _gone) AND {mine}"
                ).fetchall()
                if count := int(n[0][0]) if n else 0:
                    removed[target] = removed.get(target, 0) + count
                    notes.append(f"{target}: {count} row(s) removed ({label})")
            con.execute(
                f"DELETE FROM {EXTRA_TABLE} WHERE system = ? AND canonical_table = ? "
                "AND record_id IN (SELECT key FROM _gone)",
                [tr.system, table],
            )
            con.unregister("_gone")
        if removed:
            warehouse.bump_data_version(con)
    return removed, notes


def _forget_fixed(warehouse: Warehouse, result: IngestResult) -> None:
    """Drop quarantine entries of earlier loads of the same source files.

    Ingest replaces a file's entries when the same content is loaded again; a CRM export that
    was corrected and translated again has new content, and its old refusals no longer hold.
    """
    with warehouse.transaction() as con:
        con.execute(
            f"DELETE FROM {QUARANTINE_TABLE} WHERE table_name = ? AND source = ? "
            "AND file_hash <> ?",
            [result.table, result.source, result.file_hash],
        )


def _has_currency(tr: Translation, path: Path) -> bool:
    sql = f"SELECT count(_currency) FROM read_parquet({P.lit(str(path))})"
    return bool(P.rows(tr.con, sql)[0][0])


def _lineage_note(note: str) -> bool:
    """Ingest notes the lineage columns as "not loaded"; that is by design here."""
    if "source column(s) not loaded" not in note:
        return False
    listed = {c.strip() for c in note.split(":", 1)[1].split(",")}
    return listed <= _LINEAGE


def _write_extras(warehouse: Warehouse, tr: Translation, folder: Path) -> int:
    """Replace the kept-aside fields of every record in this load, in one transaction."""
    union = tr.extra_rows()
    if union is None:
        return 0
    path = folder / "crm_extra_fields.parquet"
    tr.con.execute(
        f"COPY (SELECT * FROM ({union}) QUALIFY row_number() OVER "
        "(PARTITION BY system, object, record_id ORDER BY source) = 1) "
        f"TO {P.lit(str(path))} (FORMAT parquet)"
    )
    src = f"read_parquet({P.lit(str(path))})"
    with warehouse.transaction() as con:
        con.execute(EXTRA_DDL)
        con.execute(
            f"DELETE FROM {EXTRA_TABLE} t USING {src} s WHERE t.system = s.system "
            "AND t.object = s.object AND t.record_id = s.record_id"
        )
        n = con.execute(
            f"INSERT INTO {EXTRA_TABLE} SELECT system, object, record_id, canonical_table, "
            f"fields, source, CAST(current_timestamp AS TIMESTAMP) FROM {src} "
            "WHERE cardinality(fields) > 0"
        ).fetchall()
    return int(n[0][0]) if n else 0


def extra_fields(
    warehouse: Warehouse, *, system: str | None = None, limit: int | None = None
) -> object:
    """The kept-aside CRM fields as a pyarrow table (fields as a JSON text column)."""
    with warehouse.transaction() as con:
        con.execute(EXTRA_DDL)
    where = "WHERE system = ?" if system else ""
    lim = f"LIMIT {int(limit)}" if limit is not None else ""
    return warehouse.arrow(
        f"SELECT system, object, record_id, canonical_table, CAST(to_json(fields) AS VARCHAR) "
        f"AS fields, source, loaded_at FROM {EXTRA_TABLE} {where} "
        f"ORDER BY system, object, record_id {lim}",
        [system] if system else [],
    )
