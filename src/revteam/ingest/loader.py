"""Load one file into one canonical table: stage, validate, quarantine, upsert — atomically.

The warehouse changes in a single transaction per file: rows that changed are replaced, new
rows are added, unchanged rows are left alone (so loading the same file twice changes nothing),
refused rows replace this file's earlier quarantine entries, the run is logged and the data
version is bumped when canonical data changed. Any failure rolls all of it back.

This module runs the steps; :mod:`~revteam.ingest.upsert` writes the rows and
:mod:`~revteam.ingest.runlog` records the run.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from revteam.exceptions import IngestError, RevteamError, SourceFileError
from revteam.ingest.mapping import Mapping
from revteam.ingest.readers import Staged, detect_format, stage
from revteam.ingest.runlog import IngestResult, log_failure, log_run, mark_started
from revteam.ingest.upsert import RepeatedKeys, Temp, collect_refused, refuse_repeated_keys, write
from revteam.ingest.validate import build_plan
from revteam.model import table as model_table
from revteam.settings import Settings
from revteam.storage import Warehouse

Progress = Callable[[str, float], None]
"""Called with the phase ("reading", "validating", "writing", "done") and the fraction of the
file's load done so far, from 0 to 1, several times a second during long statements."""

_PHASES = {"reading": (0.0, 0.25), "validating": (0.25, 0.5), "writing": (0.5, 1.0)}


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def load_file(
    warehouse: Warehouse,
    settings: Settings,
    table_name: str,
    path: Path,
    mapping: Mapping,
    *,
    progress: Progress | None = None,
) -> IngestResult:
    """Load ``path`` into ``table_name``; raises :class:`IngestError` with the warehouse intact."""
    table = model_table(table_name)
    if mapping.table and mapping.table != table_name:
        raise IngestError(
            f"The mapping file is for table {mapping.table!r}, not {table_name!r}; "
            "use the mapping written for this table."
        )
    if not path.is_file():
        raise SourceFileError(path, "file not found")
    detect_format(path)
    say = progress or (lambda _phase, _fraction: None)
    run_id = uuid.uuid4().hex[:16]
    started = time.perf_counter()
    started_at = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    digest = file_hash(path)
    con = warehouse.con
    staged: Staged | None = None
    tmp = Temp(run_id)
    mark_started(warehouse, run_id, table_name, path, digest, started_at)
    try:
        with warehouse.exclusive():
            with _watch(con, "reading", say):
                staged = stage(con, path, mapping)
            plan = build_plan(con, table, staged, mapping, settings, str(path))
            # A view, not a table: clean rows flow from the file straight into the warehouse,
            # and only refused (or stage-filled) rows are kept aside.
            con.execute(f"CREATE TEMP VIEW {tmp.valid} AS {plan.sql}")
            say("validating", _PHASES["validating"][0])

            def attempt(*, dedupe: bool) -> IngestResult:
                with _watch(con, "writing", say), warehouse.transaction():
                    done = write(
                        warehouse,
                        table,
                        staged,
                        plan,
                        tmp,
                        run_id,
                        path,
                        digest,
                        started,
                        dedupe=dedupe,
                    )
                    log_run(con, done, started_at, "ok", None)
                return done

            try:
                result = attempt(dedupe=False)
            except RepeatedKeys:
                # Rare: the file repeats keys. Refuse the repeats and write again.
                collect_refused(con, plan, tmp)
                refuse_repeated_keys(con, table, tmp)
                result = attempt(dedupe=True)
            say("done", 1.0)
            return result
    except RevteamError:
        log_failure(warehouse, run_id, table_name, path, digest, started, started_at)
        raise
    except (duckdb.Error, RuntimeError, OSError) as exc:
        log_failure(warehouse, run_id, table_name, path, digest, started, started_at, exc)
        raise IngestError(
            f"Loading {path} into {table_name} failed and was rolled back; the warehouse is "
            f"unchanged. Cause: {exc}"
        ) from exc
    finally:
        for obj in [*tmp.objects(), *(staged.drop if staged else [])]:
            con.execute(f"DROP {obj.replace(' ', ' IF EXISTS ', 1)}")


@contextmanager
def _watch(con: duckdb.DuckDBPyConnection, phase: str, say: Progress) -> Iterator[None]:
    """Report a phase's progress from DuckDB's own query progress while its statements run."""
    low, high = _PHASES[phase]
    say(phase, low)
    done = threading.Event()

    def poll() -> None:
        best = 0.0
        while not done.wait(0.2):
            pct = con.query_progress()
            if pct > best:  # a phase runs several statements; never move backwards
                best = pct
                say(phase, low + (high - low) * min(best, 100.0) / 100.0)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()
    say(phase, high)
