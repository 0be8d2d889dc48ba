"""What every command shares: the global options, opening the workspace, output formats."""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

import revteam
from revteam.workspace import Workspace

console = Console()
err_console = Console(stderr=True)


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


@dataclass
class State:
    """Global options, set by the root callback."""

    workspace: Path | None = None
    debug: bool = False


state = State()


WaitOption = Annotated[
    float | None,
    typer.Option(
        "--wait",
        min=0,
        metavar="SECONDS",
        help="How long to wait for readers such as the web app to let go of the warehouse "
        "before giving up with exit code 8 (default: load_wait_seconds in revteam.toml, 60).",
    ),
]


def _waiting(holder: str, seconds: float) -> None:
    err_console.print(
        f"Waiting up to {seconds:.0f} s for {holder} to release the warehouse…",
        style="yellow",
        highlight=False,
    )


@contextmanager
def open_ws(*, read_only: bool = False, wait: float | None = None) -> Iterator[Workspace]:
    """Open the workspace named by --workspace / REVTEAM_WORKSPACE / the current folder.

    For writing, wait up to ``wait`` seconds (default: the workspace's setting) for the
    warehouse, saying on standard error what is waited for; read-only, fail at once (exit 8).
    """
    ws = revteam.open(state.workspace, read_only=read_only, wait=wait, waiting=_waiting)
    try:
        yield ws
    except Exception as exc:
        # A damaged part of the warehouse file shows only when a query reads it.
        unreadable = ws.unreadable(exc)
        if unreadable is None:
            raise
        raise unreadable from exc
    finally:
        ws.close()


def _jsonable(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN or Infinity: an undefined number is null
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def write_json(value: Any) -> None:
    """Print ``value`` as JSON for scripts: valid JSON always (undefined numbers as null)."""
    sys.stdout.write(json.dumps(_finite(value), indent=2, ensure_ascii=False, default=str) + "\n")


def _finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def emit(
    rows: Sequence[dict[str, Any]],
    fmt: OutputFormat,
    *,
    title: str | None = None,
    columns: Sequence[str] | None = None,
) -> None:
    """Print rows as a Rich table, CSV or JSON (the latter two for scripts)."""
    cols = list(columns or (rows[0].keys() if rows else []))
    if fmt is OutputFormat.json:
        data = [{c: _jsonable(r.get(c)) for c in cols} for r in rows]
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    elif fmt is OutputFormat.csv:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            writer.writerow({c: _plain(r.get(c)) for c in cols})
        sys.stdout.write(buf.getvalue())
    else:
        table = Table(title=title, title_justify="left", header_style="bold")
        for c in cols:
            table.add_column(c.replace("_", " "), overflow="fold")
        for r in rows:
            table.add_row(*(_cell(r.get(c)) for c in cols))
        console.print(table)


def _plain(value: Any) -> str:
    """A cell for machines: no thousands separators, no rounding."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return str(value)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return str(value)


def progress_bar() -> Progress:
    """The progress display of long commands (written to stderr so stdout stays parseable)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    )


def file_steps(bar: Progress, task: TaskID) -> Callable[[str, str, float], None]:
    """A load-progress callback that moves one bar over several files (one unit per file)."""
    done: list[str] = []

    def step(name: str, phase: str, fraction: float) -> None:
        if phase == "done" and name not in done:
            done.append(name)
        current = 0.0 if phase == "done" else fraction
        bar.update(task, description=f"{name}: {phase}", completed=len(done) + current)

    return step
