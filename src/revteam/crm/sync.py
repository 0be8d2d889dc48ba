"""Incremental CRM sync: fetch what changed, keep a mirror, load through ingest.

State lives in the workspace, beside the warehouse it feeds::

    <workspace>/crm/<system>/state.json        high-water mark (last-modified time) per object
    <workspace>/crm/<system>/mirror/*.parquet  every record fetched so far, latest version

A sync fetches the records modified since each object's mark (everything with ``full=True``),
merges them into a new copy of the mirror, translates the whole mirror (so that derived values
such as a person's stage dates always see every related record) and loads it through the
transactional ingest, one transaction per canonical table; unchanged rows are left alone.
Only when every table has loaded are the new mirror and marks put in place. So:

- an authentication failure, an exhausted rate limit or a network error happens while
  fetching, before anything is written: the warehouse, mirror and marks are as before;
- if loading itself fails, the tables committed so far stay (each consistent), the marks do
  not move, and the next sync fetches the same records again and finishes the job.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from revteam.crm import _private as P
from revteam.crm.loading import CrmLoadResult, Progress, load_translation
from revteam.crm.mapping import System, workspace_mapping
from revteam.crm.translation import Translation
from revteam.ingest import IngestComponent
from revteam.settings import Settings
from revteam.storage import Warehouse, quote_ident

STATE_FILE = "state.json"
Record = dict[str, Any]


@dataclass(frozen=True)
class MirrorObject:
    """How one fetched object merges into the mirror."""

    name: str
    """File name in the mirror, which also tells the reader the object (``contact``, ``Lead``)."""
    replace_by: str
    """Column whose values a fetch replaces as a set: the record id, or the parent id for
    association and history rows (a re-fetched deal brings all its associations)."""
    full: bool = False
    """Fetched whole every time (small lookups: owners, pipelines, roles)."""


@dataclass
class Batch:
    """What one fetch returned: records per object and the new high-water marks."""

    records: dict[str, list[Record]] = field(default_factory=dict)
    marks: dict[str, str] = field(default_factory=dict)


class Connector(Protocol):
    system: System
    objects: tuple[MirrorObject, ...]

    def fetch(self, marks: dict[str, str]) -> Batch: ...


Reader = Callable[..., Translation]


@dataclass(frozen=True)
class SyncResult:
    """What one sync fetched and loaded."""

    system: str
    full: bool
    fetched: dict[str, int]
    marks: dict[str, str]
    load: CrmLoadResult

    def rows(self) -> list[dict[str, object]]:
        return [
            {"object": k, "fetched": v, "high_water_mark": self.marks.get(k)}
            for k, v in self.fetched.items()
        ]


def folder(root: Path, system: str) -> Path:
    return root / "crm" / system


def read_state(path: Path) -> dict[str, str]:
    file = path / STATE_FILE
    if not file.is_file():
        return {}
    data = json.loads(file.read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in data.get("high_water_marks", {}).items()}


def _write_state(path: Path, marks: dict[str, str]) -> None:
    tmp = path / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps({"high_water_marks": marks}, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path / STATE_FILE)


def run_sync(
    connector: Connector,
    reader: Reader,
    /,
    *,
    root: Path,
    settings: Settings,
    warehouse: Warehouse,
    ingest: IngestComponent,
    full: bool = False,
    progress: Progress | None = None,
) -> SyncResult:
    """Fetch, merge, translate and load; see the module docstring for what a failure leaves.

    State and mirror live under the workspace folder ``root``; ``ingest`` loads into
    ``warehouse``.
    """
    home = folder(root, connector.system)
    old_marks = read_state(home)
    batch = connector.fetch({} if full else old_marks)
    home.mkdir(parents=True, exist_ok=True)
    staged = home / "mirror.new"
    shutil.rmtree(staged, ignore_errors=True)
    try:
        paths = _merge(home / "mirror", staged, connector.objects, batch, full=full)
        mapping = workspace_mapping(connector.system, root, settings)
        users = warehouse.con.execute("SELECT user_id, name, email FROM users").fetchall()
        with reader(paths, mapping=mapping, timezone=settings.timezone, users=users) as tr:
            result = load_translation(
                tr, root=root, warehouse=warehouse, ingest=ingest, progress=progress
            )
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    _swap(home / "mirror", staged)
    marks = {**old_marks, **batch.marks}
    _write_state(home, marks)
    fetched = {o.name: len(batch.records.get(o.name, [])) for o in connector.objects}
    return SyncResult(connector.system, full, fetched, marks, result)


def _swap(mirror: Path, staged: Path) -> None:
    old = mirror.with_name("mirror.old")
    shutil.rmtree(old, ignore_errors=True)
    if mirror.exists():
        os.replace(mirror, old)
    os.replace(staged, mirror)
    shutil.rmtree(old, ignore_errors=True)


def _merge(
    mirror: Path,
    out: Path,
    objects: Sequence[MirrorObject],
    batch: Batch,
    *,
    full: bool,
) -> list[Path]:
    """Write the new mirror: old records not re-fetched, plus every fetched record."""
    out.mkdir(parents=True)
    con = P.scratch("UTC")
    paths = []
    try:
        for obj in objects:
            old = mirror / f"{obj.name}.parquet"
            new = batch.records.get(obj.name, [])
            target = out / f"{obj.name}.parquet"
            keep_old = old.is_file() and not full and not obj.full
            if not new and not keep_old:
                continue
            parts = []
            if new:
                con.register("_new", _arrow(new))
                parts.append("SELECT * FROM _new")
            if keep_old:
                key = quote_ident(obj.replace_by)
                parts.append(
                    f"SELECT * FROM read_parquet({P.lit(str(old))})"
                    + (f" WHERE {key} NOT IN (SELECT {key} FROM _new)" if new else "")
                )
            con.execute(
                f"COPY ({' UNION ALL BY NAME '.join(parts)}) TO {P.lit(str(target))} "
                "(FORMAT parquet)"
            )
            if new:
                con.unregister("_new")
            paths.append(target)
    finally:
        con.close()
    return paths


def _arrow(records: list[Record]) -> pa.Table:
    """Records as an all-text table: the mirror keeps values as the API wrote them."""
    names: dict[str, None] = {}
    for r in records:
        names.update(dict.fromkeys(r))
    columns = {n: pa.array([_text(r.get(n)) for r in records], pa.string()) for n in names}
    return pa.table(columns)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)
