"""Definition commands: ``revteam metrics propose``, ``impact``, ``vote`` and the rest.

The rest: ``proposals``, ``rebase``, ``withdraw``, ``history``, ``restore`` and ``scorecard``.
A shared metric's definition changes only when one owner from each team approves (see
docs/definitions.md). The command line is trusted like the workspace itself, so a vote names
its voter (``--as EMAIL``): an active editor or admin of a team that must sign off.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.markup import escape

from revteam.cli._common import OutputFormat, console, emit, open_ws
from revteam.cli.kpis import metrics_app
from revteam.metrics.format import delta, display
from revteam.proposals import Impact, Proposal
from revteam.proposals.impact import scorecard_text
from revteam.proposals.store import SCORECARD, named

if TYPE_CHECKING:
    from revteam.workspace import Workspace


def register(app: typer.Typer) -> None:
    metrics_app.command("propose")(propose)
    metrics_app.command("proposals")(proposals)
    metrics_app.command("impact")(show_impact)
    metrics_app.command("vote")(vote)
    metrics_app.command("rebase")(rebase)
    metrics_app.command("withdraw")(withdraw)
    metrics_app.command("history")(history)
    metrics_app.command("restore")(restore)
    metrics_app.command("scorecard")(scorecard)


Fmt = Annotated[OutputFormat, typer.Option("--format")]
As = Annotated[
    str | None,
    typer.Option(
        "--as",
        help="Act as this user (an active editor or admin; recorded as the author). "
        "Default: the command line, with an admin's rights.",
    ),
]


def _acting(ws: Workspace, email: str | None) -> dict[str, Any]:
    """``actor`` and ``role`` of ``--as EMAIL`` (none: the command line as an admin)."""
    if email is None:
        return {}
    actor, role = ws.proposals.member(email)
    return {"actor": actor, "role": role}


def _row(p: Proposal) -> dict[str, object]:
    return {
        "id": p.id,
        "metric": named(p.metric),
        "status": p.status,
        "by": p.created_by,
        "base": p.base_version,
        "approved": ", ".join(f"{t}: {v}" for t, v in sorted(p.approved_by.items())),
        "waiting for": ", ".join(p.missing) if p.status == "open" else "",
        "reason": p.reason,
    }


def _print(items: list[Proposal], fmt: OutputFormat, title: str) -> None:
    if fmt is OutputFormat.json:
        print(json.dumps([p.as_dict() for p in items], indent=2))
    elif items or fmt is not OutputFormat.table:
        emit([_row(p) for p in items], fmt, title=title)
    else:
        console.print("No proposals.")


def propose(
    file: Annotated[
        Path,
        typer.Argument(
            help="YAML of one metric (its whole new definition), or `scorecard:` with its "
            "sections (`revteam metrics scorecard --yaml` prints the agreed one)."
        ),
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why it should change.")],
    proposer: As = None,
    fmt: Fmt = OutputFormat.table,
) -> None:
    """Propose a new definition, metric or scorecard; it waits for its owners' sign-off."""
    text = file.read_text(encoding="utf-8")
    with open_ws(read_only=True) as ws:
        made = ws.proposals.propose(text, reason=reason, **_acting(ws, proposer))
        found = ws.proposals.impact(made.id)
    _print([made], fmt, f"Proposal {made.id}")
    if fmt is OutputFormat.table:
        console.print(escape(found.diff) or "(no change to the definition's text)")
        console.print(f"See the numbers before and after: `revteam metrics impact {made.id}`.")


def proposals(
    show_all: Annotated[bool, typer.Option("--all", help="Decided ones too.")] = False,
    metric: Annotated[str | None, typer.Option(help="Only this metric's.")] = None,
    fmt: Fmt = OutputFormat.table,
) -> None:
    """Open proposals (``--all``: decided ones too) and whose sign-off they wait for."""
    with open_ws(read_only=True) as ws:
        found = ws.proposals.list(status=None if show_all else "open", metric=metric)
    _print(found, fmt, "Definition proposals")


def show_impact(
    proposal_id: Annotated[int, typer.Argument(min=1)],
    months: Annotated[int, typer.Option(min=1, max=36, help="Months to compare.")] = 12,
    fmt: Fmt = OutputFormat.table,
) -> None:
    """A proposal's diff and its metric's values before and after, by month and dimension."""
    with open_ws(read_only=True) as ws:
        found = ws.proposals.impact(proposal_id, months=months)
        currency = ws.settings.currency
    if fmt is OutputFormat.json:
        print(json.dumps(found.as_dict(), indent=2, default=str))
        return
    console.print(escape(found.diff) or "(no change to the definition's text)")
    for title, rows in _tables(found, currency if fmt is OutputFormat.table else None):
        emit(rows, fmt, title=title)
    for kind, names in found.used_by.items():
        if names:
            console.print(f"Used by {kind}: {escape(', '.join(names))}")


def _tables(found: Impact, currency: str | None) -> list[tuple[str, list[dict[str, Any]]]]:
    """The preview's tables; with a ``currency``, numbers written as ``kpis`` writes them."""
    moves = [
        r | {"value": display(r["value"], r["unit"], currency=currency)} if currency else r
        for r in found.moves
    ]
    written = [_written(r, found.unit, currency) if currency else r for r in found.periods]
    parts = [_written(r, found.unit, currency) if currency else r for r in found.by_dimension]
    return [
        (title, rows)
        for title, rows, shown in (
            ("On the scorecard (value: the last complete month)", moves, bool(moves)),
            (f"{found.label}: before and after, by month", written, bool(written)),
            (f"By {found.dimension}, largest changes first", parts, found.dimension is not None),
        )
        if shown
    ]


def _written(row: dict[str, Any], unit: str, currency: str) -> dict[str, Any]:
    """A before/after row with its numbers as the dashboards and ``kpis`` write them."""
    return row | {
        "before": display(row["before"], unit, currency=currency),
        "after": display(row["after"], unit, currency=currency),
        "change": "" if row["change"] is None else delta(row["change"], unit, currency=currency),
    }


def vote(
    proposal_id: Annotated[int, typer.Argument(min=1)],
    decision: Annotated[Literal["approve", "reject"], typer.Argument(help="approve or reject")],
    voter: Annotated[str, typer.Option("--as", help="The voter's e-mail (an owner).")],
    reason: Annotated[str, typer.Option(help="Why (required to reject).")] = "",
    fmt: Fmt = OutputFormat.table,
) -> None:
    """An owner's sign-off; the last one needed makes the definition the agreed one."""
    with open_ws(read_only=True) as ws:
        found = ws.proposals.vote(proposal_id, decision, voter=voter, reason=reason)
    _print([found], fmt, f"Proposal {found.id}: {found.status}")


def rebase(
    proposal_id: Annotated[int, typer.Argument(min=1)],
    who: As = None,
    fmt: Fmt = OutputFormat.table,
) -> None:
    """Move a proposal onto the metric's newest agreed version (its votes start again)."""
    with open_ws(read_only=True) as ws:
        found = ws.proposals.rebase(proposal_id, **_acting(ws, who))
    _print([found], fmt, f"Proposal {found.id} rebased on version {found.base_version}")


def withdraw(
    proposal_id: Annotated[int, typer.Argument(min=1)],
    who: As = None,
    fmt: Fmt = OutputFormat.table,
) -> None:
    """Withdraw an open proposal (with ``--as``: its proposer's, or as an admin)."""
    with open_ws(read_only=True) as ws:
        found = ws.proposals.withdraw(proposal_id, **_acting(ws, who))
    _print([found], fmt, f"Proposal {found.id} withdrawn")


def restore() -> None:
    """Write the agreed definitions back into metrics/approved/ where a hand edit changed them."""
    with open_ws(read_only=True) as ws:
        written, strays = ws.proposals.restore()
    for subject in written:
        console.print(f"Restored metrics/approved/{subject}.yaml: {named(subject)} as agreed.")
    for name in strays:
        console.print(f"{name} was never agreed: move it out and propose it (`metrics propose`).")
    if not written and not strays:
        console.print("metrics/approved/ holds the agreed definitions: nothing to restore.")


def history(
    metric: Annotated[str, typer.Argument(help="A metric id, or `scorecard`.")],
    fmt: Fmt = OutputFormat.table,
) -> None:
    """A metric's (or the scorecard's) agreed versions: who proposed, who signed, when, why."""
    metric = SCORECARD if metric == "scorecard" else metric
    with open_ws(read_only=True) as ws:
        versions = ws.proposals.versions(metric)
    if fmt is OutputFormat.json:
        print(json.dumps([v.as_dict() for v in versions], indent=2))
        return
    if not versions and fmt is OutputFormat.table:
        console.print(
            f"{named(metric)} has no agreed versions: it is as shipped (or as in the files)."
        )
        return
    emit(
        [
            {
                "version": v.version,
                "approved": v.approved_at.isoformat(sep=" ", timespec="minutes"),
                "by": ", ".join(v.approved_by),
                "proposed by": v.proposed_by,
                "reason": v.reason,
            }
            for v in versions
        ],
        fmt,
        title=f"{named(metric)}: agreed versions",
    )


def scorecard(
    as_yaml: Annotated[
        bool, typer.Option("--yaml", help="As a proposal to edit: `revteam metrics propose`.")
    ] = False,
    fmt: Fmt = OutputFormat.table,
) -> None:
    """The agreed shared scorecard: its sections, KPIs in order, and who answers for each."""
    with open_ws(read_only=True) as ws:
        catalogue = ws.metrics.catalogue
    if as_yaml:
        print(
            "scorecard:\n"
            + "".join(f"  {line}\n" for line in scorecard_text(catalogue).splitlines()),
            end="",
        )
        return
    rows = [
        {
            "section": title,
            "position": i,
            "metric": m,
            "label": catalogue[m].label,
            "owner": catalogue.scorecard_owner(m),
        }
        for i, (title, m) in enumerate(
            ((t, m) for t, ids in catalogue.scorecard_sections() for m in ids), start=1
        )
    ]
    emit(rows, fmt, title="The shared scorecard")
