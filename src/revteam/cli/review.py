"""Review commands: ``review`` (the pack) and ``actions add|list|close|reopen``.

``actions`` needs only the application database and the metric definitions, never the
warehouse, so items can be recorded while a load runs; ``review`` reads the warehouse
read-only.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.markup import escape

from revteam.cli._common import OutputFormat, console, emit, err_console, open_ws, state
from revteam.exceptions import ReviewError
from revteam.review.actions import ActionItem, ActionSpec, ActionStore
from revteam.settings import find_workspace, load_settings

actions_app = typer.Typer(
    name="actions",
    help="Action items of the joint review: who does what by when, until closed.",
    no_args_is_help=True,
)
ACTION_COLUMNS = ("id", "title", "owner", "team", "due", "metric", "segment", "status")


def register(app: typer.Typer) -> None:
    app.command("review")(review)
    app.add_typer(actions_app)


def review(
    period: Annotated[
        str,
        typer.Option(
            "--period", help="2026-03 (month), 2026-Q1 (quarter), or a day with --grain week."
        ),
    ],
    fmt: Annotated[
        Literal["html", "markdown", "pdf"], typer.Option("--format", help="html, markdown or pdf.")
    ] = "html",
    grain: Annotated[
        Literal["week", "month", "quarter"] | None,
        typer.Option(help="week, month or quarter (default: the period's own)."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of standard output.")
    ] = None,
) -> None:
    """The review pack for the joint Sales & Marketing meeting (see docs/review.md).

    The shared scorecard against goals, what changed beyond noise and why, both sides of the
    SLA, campaigns ranked with shrinkage, cohorts still maturing, action items and data
    freshness. The same data gives the same pack, byte for byte, apart from the generation time.
    """
    if fmt == "pdf" and output is None:
        raise ReviewError(
            "A PDF is not written to the terminal.", "Add --output FILE.pdf (or --format html)."
        )
    with open_ws(read_only=True) as ws:
        pack = ws.review.pack(period, grain=grain)
        data = ws.review.render(pack, fmt)
    if output is None:
        sys.stdout.write(data.decode("utf-8"))
        return
    tmp = output.with_name(output.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(output)
    err_console.print(
        f"Wrote the {pack.period} review pack ({fmt}, {len(data):,} bytes) to "
        f"{escape(str(output))}: {len(pack.changes)} change(s) beyond noise.",
        highlight=False,
    )


@contextmanager
def _store() -> Iterator[ActionStore]:
    """Action items without the warehouse: application database and metric definitions."""
    from revteam.app import open_app
    from revteam.metrics import Definitions

    root = find_workspace(state.workspace)
    settings = load_settings(root)
    with open_app(root) as app:
        ids = frozenset(Definitions(root / "metrics", settings).catalogue.ids)
        yield ActionStore(app.db, metrics=ids)


def _row(item: ActionItem) -> dict[str, object]:
    return {
        "id": item.id,
        "title": item.title,
        "owner": item.owner,
        "team": item.team,
        "due": item.due.isoformat() if item.due else "",
        "metric": item.metric or "",
        "segment": ", ".join(f"{k}={v}" for k, v in item.segment),
        "status": item.status,
    }


def _segment(items: list[str] | None) -> dict[str, str]:
    from revteam.cli.goals import parse_segment

    return parse_segment(items or [])


@actions_app.command("add")
def add(
    title: Annotated[str, typer.Argument(help="What is to be done, in a line.")],
    owner: Annotated[str, typer.Option("--owner", help="The e-mail of the user who owns it.")],
    due: Annotated[
        dt.datetime | None, typer.Option("--due", formats=["%Y-%m-%d"], help="Due date.")
    ] = None,
    metric: Annotated[str | None, typer.Option(help="The metric it is about.")] = None,
    segment: Annotated[
        list[str] | None, typer.Option("--segment", help="DIMENSION=VALUE it is about.")
    ] = None,
    team: Annotated[str | None, typer.Option(help="Default: the owner's team.")] = None,
    note: Annotated[str, typer.Option(help="More detail.")] = "",
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Record an action item (it shows in every review pack until closed)."""
    spec = ActionSpec(
        title,
        owner,
        due=due.date() if due else None,
        metric=metric,
        segment=_segment(segment),
        team=team,
        note=note,
    )
    with _store() as store:
        item = store.add(spec)
    _show([item], fmt, f"Action item {item.id} added")


@actions_app.command("list")
def list_items(
    show_all: Annotated[bool, typer.Option("--all", help="Closed items too.")] = False,
    owner: Annotated[str | None, typer.Option(help="Only this owner's (e-mail).")] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Open action items (``--all``: closed ones too), open first by due date."""
    with _store() as store:
        items = store.list(status=None if show_all else "open", owner=owner)
    _show(items, fmt, "Action items")


@actions_app.command("close")
def close(
    item_id: Annotated[int, typer.Argument(min=1, help="The item's id (`revteam actions list`).")],
    note: Annotated[str | None, typer.Option(help="What was done.")] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Close an action item (the command line acts as an admin)."""
    with _store() as store:
        item = store.close(item_id, note=note)
    _show([item], fmt, f"Action item {item.id} closed")


@actions_app.command("reopen")
def reopen(
    item_id: Annotated[int, typer.Argument(min=1, help="The item's id.")],
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Reopen a closed action item."""
    with _store() as store:
        item = store.reopen(item_id)
    _show([item], fmt, f"Action item {item.id} reopened")


def _show(items: list[ActionItem], fmt: OutputFormat, title: str) -> None:
    if fmt is OutputFormat.json:
        import json

        print(json.dumps([i.as_dict() for i in items], indent=2))
        return
    if not items and fmt is OutputFormat.table:
        console.print("No action items.")
        return
    emit([_row(i) for i in items], fmt, title=title, columns=ACTION_COLUMNS)
