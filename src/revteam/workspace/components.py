"""The workspace's capabilities, one object per concern (``ws.ingest``, ``ws.status()``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from revteam.exceptions import SourceFileError
from revteam.ingest import IngestResult, Mapping, load_file, load_mapping
from revteam.ingest.readers import detect_format
from revteam.model import TABLES, load_order
from revteam.storage import QUARANTINE_TABLE, RUNS_TABLE, TableInfo

if TYPE_CHECKING:
    import pyarrow as pa

    from revteam.workspace.workspace import Workspace

FileProgress = Callable[[str, str, float], None]
"""Called with (file name, phase, fraction of that file done) as a load moves on."""


class IngestComponent:
    """``ws.ingest``: load files, read the run log and the quarantine."""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws

    def load(
        self,
        table: str,
        paths: Path | str | Sequence[Path | str],
        /,
        *,
        mapping: Mapping | Path | str | None = None,
        progress: FileProgress | None = None,
    ) -> list[IngestResult]:
        """Load files into ``table``, each file in its own transaction.

        Raises on the first file that cannot be loaded; files before it stay loaded.
        """
        files = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
        spec = mapping if isinstance(mapping, Mapping) else load_mapping(mapping)
        out = []
        for f in files:

            def phase(label: str, fraction: float, name: str = f.name) -> None:
                if progress:
                    progress(name, label, fraction)

            out.append(
                load_file(self._ws.warehouse, self._ws.settings, table, f, spec, progress=phase)
            )
        return out

    def load_directory(
        self, directory: Path | str, /, *, progress: FileProgress | None = None
    ) -> list[IngestResult]:
        """Load every ``<table>.<ext>`` file of a folder (a generated company), in model order."""
        directory = Path(directory)
        found: dict[str, Path] = {}
        for p in sorted(directory.iterdir()):
            if p.stem in TABLES and p.is_file():
                try:
                    detect_format(p)
                except SourceFileError:
                    continue
                found.setdefault(p.stem, p)
        if not found:
            raise SourceFileError(
                directory,
                "no file named after a canonical table",
                f"name files <table>.csv or <table>.parquet; tables: {', '.join(TABLES)}",
            )
        results: list[IngestResult] = []
        for name in load_order():
            if name in found:
                results += self.load(name, found[name], progress=progress)
        return results

    def runs(self, *, limit: int = 50) -> pa.Table:
        """The ingest run log, newest first."""
        return self._ws.warehouse.arrow(
            f"SELECT * FROM {RUNS_TABLE} ORDER BY finished_at DESC LIMIT ?", [limit]
        )

    def quarantine(self, *, table: str | None = None, limit: int | None = None) -> pa.Table:
        """Refused rows with their raw record and every reason, oldest file first."""
        where = "WHERE table_name = ?" if table else ""
        lim = f"LIMIT {int(limit)}" if limit is not None else ""
        return self._ws.warehouse.arrow(
            f"SELECT table_name, source, line, reasons, record, run_id, quarantined_at "
            f"FROM {QUARANTINE_TABLE} {where} ORDER BY quarantined_at, source, line {lim}",
            [table] if table else [],
        )


@dataclass(frozen=True)
class WorkspaceStatus:
    """A snapshot of what the warehouse holds and how it got there."""

    root: Path
    data_version: int
    tables: tuple[TableInfo, ...]
    quarantine_counts: dict[str, int]
    top_reasons: tuple[tuple[str, str, int], ...]
    last_runs: tuple[dict[str, Any], ...]

    @property
    def empty_tables(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tables if t.rows == 0)


class StatusComponent:
    def __init__(self, ws: Workspace) -> None:
        self._ws = ws

    def collect(self, *, runs: int = 10, reasons: int = 10) -> WorkspaceStatus:
        wh = self._ws.warehouse
        counts = {
            r["table_name"]: r["n"]
            for r in wh.arrow(
                f"SELECT table_name, count(*) AS n FROM {QUARANTINE_TABLE} GROUP BY 1"
            ).to_pylist()
        }
        # A reason's text names the column first ("amount: ..."); group by that prefix and text.
        top = wh.arrow(
            f"""SELECT table_name, regexp_replace(r, '''[^'']*''', '…', 'g') AS reason,
                       count(*) AS n
                FROM (SELECT table_name, unnest(reasons) AS r FROM {QUARANTINE_TABLE})
                GROUP BY ALL ORDER BY n DESC, reason LIMIT ?""",
            [reasons],
        ).to_pylist()
        last = wh.arrow(
            f"""SELECT table_name, source, status, rows_read, rows_inserted, rows_updated,
                       rows_unchanged, rows_quarantined, seconds, finished_at, error
                FROM {RUNS_TABLE} ORDER BY finished_at DESC LIMIT ?""",
            [runs],
        ).to_pylist()
        return WorkspaceStatus(
            root=self._ws.root,
            data_version=wh.data_version,
            tables=tuple(wh.table_info()),
            quarantine_counts=counts,
            top_reasons=tuple((r["table_name"], r["reason"], r["n"]) for r in top),
            last_runs=tuple(last),
        )
