"""``ws.ingest``: load files into the warehouse, read the run log and the quarantine."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from revteam.exceptions import IngestError, RevteamError, SourceFileError
from revteam.ingest.loader import FileLoad, Progress, load_file
from revteam.ingest.mapping import Mapping, load_mapping
from revteam.ingest.readers import detect_format
from revteam.ingest.runlog import FileOutcome, FileStatus, IngestResult, LoadReport
from revteam.ingest.status import write_snapshot
from revteam.model import TABLES, load_order
from revteam.model import table as model_table
from revteam.settings import Settings
from revteam.storage import QUARANTINE_TABLE, RUNS_TABLE, STAGE_HISTORY_TABLE, Warehouse

if TYPE_CHECKING:
    import pyarrow as pa

FileProgress = Callable[[str, str, float], None]
"""Called with (file name, phase, fraction of that file done) as a load moves on."""

Job = tuple[str, Path, Mapping]
"""One file of a load: the table it goes into, the file, its mapping."""


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
        all_or_nothing: bool = False,
        progress: FileProgress | None = None,
    ) -> list[IngestResult]:
        """Load files into ``table`` in order; what each wrote.

        Raises when a file fails, as :meth:`LoadReport.raise_for_failure` says; see
        :meth:`load_report` for the options.
        """
        report = self.load_report(
            table, paths, mapping=mapping, all_or_nothing=all_or_nothing, progress=progress
        )
        return report.raise_for_failure().results

    def load_report(
        self,
        table: str,
        paths: Path | str | Sequence[Path | str],
        /,
        *,
        mapping: Mapping | Path | str | None = None,
        all_or_nothing: bool = False,
        progress: FileProgress | None = None,
    ) -> LoadReport:
        """Load files into ``table`` in order and say what became of each; never raises for a file.

        Each file is its own transaction and the first that fails stops the load (the files
        before it stay loaded); with ``all_or_nothing`` every file is one transaction, and a
        failure leaves the warehouse as it was.
        """
        model_table(table)  # an unknown table is the request's fault, not a file's
        spec = mapping if isinstance(mapping, Mapping) else load_mapping(mapping)
        files = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
        jobs = [(table, f, spec) for f in files]
        return self._run(jobs, all_or_nothing=all_or_nothing, progress=progress)

    def load_directory(
        self,
        directory: Path | str,
        /,
        *,
        all_or_nothing: bool = False,
        progress: FileProgress | None = None,
    ) -> list[IngestResult]:
        """Load every ``<table>.<ext>`` file of a folder (a generated company), in model order.

        Failures are handled as by :meth:`load`: the first stops the load.
        """
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
        jobs = [(name, found[name], Mapping()) for name in load_order() if name in found]
        report = self._run(jobs, all_or_nothing=all_or_nothing, progress=progress)
        return report.raise_for_failure().results

    def _run(
        self, jobs: Sequence[Job], *, all_or_nothing: bool, progress: FileProgress | None
    ) -> LoadReport:
        run = self._all_or_nothing if all_or_nothing else self._one_by_one
        report = run(jobs, progress)
        write_snapshot(self._warehouse)  # what `revteam status` shows during the next load
        return report

    def _one_by_one(self, jobs: Sequence[Job], progress: FileProgress | None) -> LoadReport:
        """Each file in its own transaction, until one fails."""
        done: list[FileOutcome] = []
        for i, (table, path, spec) in enumerate(jobs):
            try:
                result = load_file(
                    self._warehouse,
                    self._settings,
                    table,
                    path,
                    spec,
                    progress=_say(progress, path),
                )
            except RevteamError as exc:  # the loader turns every expected failure into one
                skipped = [
                    FileOutcome(t, str(p), "skipped", error=f"not attempted: {path} failed first")
                    for t, p, _ in jobs[i + 1 :]
                ]
                failed = FileOutcome(table, str(path), "failed", error=str(exc))
                return LoadReport((*done, failed, *skipped), error=exc)
            done.append(FileOutcome(table, str(path), "committed", result))
        return LoadReport(tuple(done))

    def _all_or_nothing(self, jobs: Sequence[Job], progress: FileProgress | None) -> LoadReport:
        """Read and check every file, then write them all in one transaction."""
        wh = self._warehouse
        loads: list[FileLoad] = []
        results: list[IngestResult] = []
        with wh.exclusive():
            try:
                for table, path, spec in jobs:
                    say = _say(progress, path)
                    try:
                        loads.append(
                            FileLoad.start(wh, self._settings, table, path, spec, progress=say)
                        )
                    except RevteamError as exc:  # its run is logged as failed already
                        return _abandoned(jobs, loads, len(loads), exc)
                try:
                    with wh.transaction():
                        results.extend(load.write() for load in loads)
                except Exception as exc:
                    if len(results) == len(loads):  # the commit itself failed
                        return _abandoned(
                            jobs,
                            loads,
                            None,
                            wh.unreadable(exc)
                            or IngestError(
                                f"Committing the load of {len(loads)} files failed and was rolled "
                                f"back; the warehouse is unchanged. Cause: {exc}"
                            ),
                        )
                    error = loads[len(results)].failed(exc)
                    if not isinstance(error, RevteamError):
                        raise  # a bug, not a file's failure
                    return _abandoned(jobs, loads, len(results), error)
            finally:
                for load in loads:
                    load.close()
        for load in loads:
            load.say("done", 1.0)
        files = (FileOutcome(r.table, r.source, "committed", r) for r in results)
        return LoadReport(tuple(files), all_or_nothing=True)

    def runs(self, *, limit: int = 50) -> pa.Table:
        """The ingest run log, newest first."""
        return self._warehouse.arrow(
            f"SELECT * FROM {RUNS_TABLE} ORDER BY finished_at DESC LIMIT ?", [limit]
        )

    def quarantine(
        self,
        *,
        table: str | None = None,
        source: str | None = None,
        limit: int | None = None,
        include_resolved: bool = False,
    ) -> pa.Table:
        """Refused rows with their raw record and every reason, oldest file first.

        An entry is resolved once a later load (of any file) writes a row with its key; resolved
        entries are left out unless ``include_resolved``, as they need nothing more.
        """
        where, params = _where(table, source, open_only=not include_resolved)
        lim = f"LIMIT {int(limit)}" if limit is not None else ""
        return self._warehouse.arrow(
            "SELECT table_name, source, line, reasons, record, run_id, quarantined_at, key, "
            f"resolved_at, resolved_by_run FROM {self._warehouse.system_table(QUARANTINE_TABLE)} "
            f"{where} ORDER BY quarantined_at, source, line {lim}",
            params,
        )

    def clear_quarantine(self, *, table: str | None = None, source: str | None = None) -> int:
        """Forget refused rows (of ``table``, of ``source``: a file path), once dealt with.

        Loading a file again already replaces its source's entries; this is for rows that will
        not be loaded again. Resolved entries go too. Returns how many were removed. The data is
        not touched.
        """
        where, params = _where(table, source)
        with self._warehouse.transaction() as con:
            (n,) = con.execute(
                f"SELECT count(*) FROM {QUARANTINE_TABLE} {where}", params
            ).fetchone() or (0,)
            con.execute(f"DELETE FROM {QUARANTINE_TABLE} {where}", params)
        write_snapshot(self._warehouse)
        return int(n)

    def stage_history(
        self,
        *,
        table: str | None = None,
        key: str | dict[str, object] | None = None,
        limit: int | None = None,
    ) -> pa.Table:
        """Stage values that re-loads replaced or cleared, newest first.

        A re-load replaces a row whole; this keeps what its stage columns said before.
        ``key`` is a row's key value (``"P1"``), or its key columns by name for a table whose
        key has several.
        """
        conds = ["table_name = ?"] if table else []
        params: list[str] = [table] if table else []
        if isinstance(key, str):
            conds.append("list_contains(json_extract_string(key, '$.*'), ?)")
            params.append(key)
        elif key is not None:
            for column, value in key.items():
                conds.append("json_extract_string(key, ?) = ?")
                params += [f'$."{column}"', str(value)]
        lim = f"LIMIT {int(limit)}" if limit is not None else ""
        return self._warehouse.arrow(
            f"SELECT * FROM {self._warehouse.system_table(STAGE_HISTORY_TABLE)} "
            f"{'WHERE ' + ' AND '.join(conds) if conds else ''} "
            f"ORDER BY changed_at DESC, table_name, key, column_name {lim}",
            params,
        )


def _where(
    table: str | None, source: str | None, *, open_only: bool = False
) -> tuple[str, list[str]]:
    conds = [c for c, v in (("table_name = ?", table), ("source = ?", source)) if v]
    conds += ["resolved_at IS NULL"] if open_only else []
    return (f"WHERE {' AND '.join(conds)}" if conds else ""), [v for v in (table, source) if v]


def _say(progress: FileProgress | None, path: Path) -> Progress | None:
    """One file's progress callback, naming the file."""
    return partial(progress, path.name) if progress else None


def _abandoned(
    jobs: Sequence[Job], loads: Sequence[FileLoad], at: int | None, error: BaseException
) -> LoadReport:
    """The report of an all-or-nothing load whose file ``at`` failed (``None``: the commit).

    The files started are logged as failed, since none of them was written.
    """
    why = f"{jobs[at][1]} failed" if at is not None else f"the commit failed ({error})"
    reason = f"not loaded: {why}, and the load was all or nothing"
    files = []
    for i, (table, path, _) in enumerate(jobs):
        if i == at:
            files.append(FileOutcome(table, str(path), "failed", error=str(error)))
            continue
        if i < len(loads):
            loads[i].failed(IngestError(reason))
        status: FileStatus = "rolled_back" if i < len(loads) else "skipped"
        files.append(FileOutcome(table, str(path), status, error=reason))
    return LoadReport(tuple(files), all_or_nothing=True, error=error)
