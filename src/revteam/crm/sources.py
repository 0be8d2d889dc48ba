"""Which reader a set of CRM files needs, and the translation it makes of them.

HubSpot and Salesforce each come in two shapes: files a person exported from the CRM's screens
(columns are labels with spaces, ``Record ID``, ``Lead Status``) and object tables a loader or
the connector stored (columns are API names, ``property_email``, ``StageName``). The shape is
told by the columns, so a folder can be pointed at without saying which it holds.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from revteam.crm import owners
from revteam.crm.hubspot import api_objects as hs_api
from revteam.crm.hubspot import exports as hs_exports
from revteam.crm.mapping import CrmMapping, System
from revteam.crm.salesforce import api_objects as sf_api
from revteam.crm.salesforce import reports as sf_reports
from revteam.crm.translation import Translation
from revteam.exceptions import CrmConfigError, CrmSourceError

SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".parquet", ".pq", ".jsonl", ".ndjson")
SYSTEMS: tuple[System, ...] = ("hubspot", "salesforce")


def expand(paths: Iterable[Path | str]) -> list[Path]:
    """Files, and the data files directly inside folders, in name order."""
    out: list[Path] = []
    for p in (Path(x) for x in paths):
        if p.is_dir():
            out += sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in SUFFIXES)
        elif p.is_file():
            out.append(p)
        else:
            raise CrmSourceError(p, "no such file or folder", "Check the path")
    if not out:
        raise CrmSourceError(
            ", ".join(str(p) for p in paths) or "(nothing)",
            "no CRM files found",
            f"Point to export files or folders holding {', '.join(SUFFIXES)} files",
        )
    return out


def header(path: Path) -> list[str]:
    """The column names of a file, read cheaply (first line, schema or first record)."""
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    if suffix in {".jsonl", ".ndjson"}:
        with path.open(encoding="utf-8") as fh:
            first = next((line for line in fh if line.strip()), "{}")
        value = json.loads(first)
        return list(value) if isinstance(value, dict) else []
    if suffix in {".xlsx", ".xlsm"}:
        import openpyxl

        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            for row in book.worksheets[0].iter_rows(values_only=True):
                if any(v is not None for v in row):
                    return [str(v) for v in row if v is not None]
        finally:
            book.close()
        return []
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as fh:
        return next(csv.reader(fh), [])


def shape_of(path: Path) -> str:
    """``export`` for screen exports (labels), ``api`` for object tables (API names)."""
    return "export" if any(" " in c.strip() for c in header(path)) else "api"


def translate(
    system: System,
    paths: Sequence[Path],
    *,
    mapping: CrmMapping,
    timezone: str,
    users: Sequence[owners.User] = (),
    accounts: Sequence[tuple[str, str | None]] = (),
    people: Sequence[tuple[str, str | None]] = (),
    include_deleted: bool = False,
) -> Translation:
    """Translate one system's files with the reader their shape needs.

    ``users`` (id, name, e-mail) and ``accounts`` (id, name) are the workspace's, for exports
    that name an owner or an account instead of giving its id; ``people`` (id, account id)
    give a HubSpot deal without a company its contact's.
    """
    shapes = {p: shape_of(p) for p in paths}
    if len(set(shapes.values())) > 1:
        exports = [p.name for p, s in shapes.items() if s == "export"]
        raise CrmConfigError(
            ", ".join(p.name for p in paths),
            [
                f"these files mix screen exports ({', '.join(exports)}) with API object "
                "tables; load each kind in its own call"
            ],
        )
    shape = next(iter(shapes.values()))
    ids = [a for a, _ in accounts]
    if system == "hubspot" and shape == "export":
        return hs_exports.read_exports(
            paths, mapping=mapping, timezone=timezone, users=users, people=people, accounts=ids
        )
    if system == "salesforce" and shape == "export":
        return sf_reports.read_reports(
            paths, mapping=mapping, timezone=timezone, users=users, accounts=accounts
        )
    if system == "hubspot":
        return hs_api.read_api_objects(
            paths, mapping=mapping, timezone=timezone, users=users, people=people,
            accounts=ids, include_deleted=include_deleted,
        )  # fmt: skip
    return sf_api.read_api_objects(
        paths, mapping=mapping, timezone=timezone, users=users, include_deleted=include_deleted
    )
