"""``ws.ingest``: load files into the warehouse, read the run log and the quarantine."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from revteam.exceptions import SourceFileError
from revteam.ingest.loader import load_file
from revteam.ingest.mapping import Mapping, load_mapping
from revteam.ingest.readers import detect_format
from revteam.ingest.runlog import IngestResult
from revteam.model import TABLES, load_order
from revteam.settings import Settings
from revteam.storage import QUARANTINE_TABLE, RUNS_TABLE, Warehouse

if TYPE_CHECKING:
    import pyarrow as pa

FileProgress = Callable[[str, str, float], None]
"""Called with (file name, phase, fraction of that file done) as a load moves on."""


class IngestComponent:
    """``ws.ingest``: load files, read the run log and the quarantine."""

    def __init__(self, *, warehouse: Warehouse, settings: Settings) -> None:
        self._warehouse = warehouse
        self._settings = settings

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

            out.append(load_file(self._warehouse, self._settings, table, f, spec, progress=phase))
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
        return self._warehouse.arrow(
            f"SELECT * FROM {RUNS_TABLE} ORDER BY finished_at DESC LIMIT ?", [limit]
        )

    def quarantine(
        self, *, table: str | None = None, source: str | None = None, limit: int | None = None
    ) -> pa.Table:
        """Refused rows with their raw record and every reason, oldest file first."""
        where, params = _where(table, source)
        lim = f"LIMIT {int(limit)}" if limit is not None else ""
        return self._warehouse.arrow(
            f"SELECT table_name, source, line, reasons, record, run_id, quarantined_at "
            f"FROM {QUARANTINE_TABLE} {where} ORDER BY quarantined_at, source, line {lim}",
            params,
        )

    def clear_quarantine(self, *, table: str | None = None, source: str | None = None) -> int:
        """Forget refused rows (of ``table``, of ``source``: a file path), once dealt with.

        Loading a file again already replaces its source's entries; this is for rows that will
        not be loaded again. Returns how many were removed. The data is not touched.
        """
        where, params = _where(table, source)
        with self._warehouse.transaction() as con:
            (n,) = con.execute(
                f"SELECT count(*) FROM {QUARANTINE_TABLE} {where}", params
            ).fetchone() or (0,)
            con.execute(f"DELETE FROM {QUARANTINE_TABLE} {where}", params)
        return int(n)


def _where(table: str | None, source: str | None) -> tuple[str, list[str]]:
    conds = [(c, v) for c, v in (("table_name = ?", table), ("source = ?", source)) if v]
    text = " AND ".join(c for c, _ in conds)
    return (f"WHERE {text}" if text else ""), [v for _, v in conds if v is not None]
