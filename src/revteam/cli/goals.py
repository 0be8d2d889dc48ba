"""Goal commands: ``goals set|list|show|delete|import|export|plan|forecast``.

``set``, ``delete``, ``import`` and ``export`` need only the application database and the
metric definitions, never the warehouse, so they work while a load runs; ``list`` and ``show``
pace the goals against the KPIs and open the warehouse read-only.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from revteam.cli._common import OutputFormat, console, emit, err_console, open_ws, state
from revteam.exceptions import GoalError
from revteam.goals import Goal, GoalBook, GoalHistoryEntry, GoalSpec, Pacing
from revteam.goals.model import Direction
from revteam.metrics import Definitions
from revteam.metrics.format import display
from revteam.metrics.request import check_year
from revteam.settings import Settings, find_workspace, load_settings

goals_app = typer.Typer(
    name="goals",
    help="Shared goals: targets with owners from both teams, their pacing and history.",
    no_args_is_help=True,
)
LIST_COLUMNS = (
    "id",
    "metric",
    "period",
    "segment",
    "owners",
    "target",
    "actual",
    "projected",
    "range",
    "chance",
    "status",
)
HISTORY_COLUMNS = ("version", "action", "at", "actor", "change")


def register(app: typer.Typer) -> None:
    app.add_typer(goals_app)
    app.command("incentives")(incentives)


@contextmanager
def _book() -> Iterator[tuple[GoalBook, Settings]]:
    """The workspace's goals without its warehouse: application database and definitions."""
    from revteam.app import open_app

    root = find_workspace(state.workspace)
    settings = load_settings(root)
    with open_app(root) as app:
        definitions = Definitions(root / "metrics", settings)
        yield GoalBook(app.db, definitions, fy_start=settings.fiscal_year_start_month), settings


def parse_segment(items: Sequence[str]) -> dict[str, str]:
    """``["channel=email", "segment=smb"]`` → ``{"channel": "email", "segment": "smb"}``."""
    out: dict[str, str] = {}
    for item in items:
        dim, sep, value = (part.strip() for part in item.partition("="))
        if not sep or not dim or not value or dim in out:
            raise GoalError(
                f"--segment {item!r} is not DIMENSION=VALUE, or names a dimension twice.",
                "Give one value per dimension, e.g. --segment channel=email --segment segment=smb.",
            )
        out[dim] = value
    return out


def segment_text(segment: Mapping[str, str]) -> str:
    return ", ".join(f"{d}={v}" for d, v in segment.items())


def goal_dict(goal: Goal) -> dict[str, Any]:
    """A goal as stored, for JSON: what was set, its version and its last change."""
    return {
        "id": goal.id,
        "version": goal.version,
        "metric": goal.metric,
        "period": goal.period,
        "segment": dict(goal.segment),
        "target": goal.target,
        "stretch": goal.stretch,
        "direction": goal.direction,
        "owners": list(goal.owners),
        "note": goal.note,
        "updated_at": None if goal.updated_at is None else goal.updated_at.isoformat(),
        "updated_by": goal.updated_by,
    }


def pacing_dict(p: Pacing) -> dict[str, Any]:
    """``Pacing.as_dict()`` plus the goal's version (to pass as ``--expected-version``)."""
    return {**p.as_dict(), "version": p.goal.version}


def history_dict(h: GoalHistoryEntry) -> dict[str, Any]:
    return {
        "version": h.version,
        "action": h.action,
        "at": h.at.isoformat(),
        "actor": h.actor,
        "before": h.before,
        "after": h.after,
    }


def _print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


class _Shown:
    """Values in their metric's unit and the workspace's currency, as the dashboards write them."""

    def __init__(self, definitions: Definitions, currency: str) -> None:
        self.catalogue, self.currency = definitions.catalogue, currency

    def __call__(self, metric: str, value: float | None) -> str:
        unit = self.catalogue[metric].unit if metric in self.catalogue else "number"
        return "" if value is None else display(value, unit, currency=self.currency)

    def pacing_row(self, p: Pacing) -> dict[str, Any]:
        g, low, high = p.goal, p.projected_low, p.projected_high
        shown = f"{self(g.metric, low)} to {self(g.metric, high)}" if low is not None else ""
        return {
            "id": g.id,
            "metric": g.metric,
            "period": g.period,
            "segment": segment_text(g.segment_dict),
            "owners": ", ".join(g.owners),
            "target": self(g.metric, g.target),
            "actual": self(g.metric, p.actual),
            "projected": self(g.metric, p.projected),
            "range": shown,
            "chance": "" if p.probability is None else f"{p.probability:.0%}",
            "status": p.status.replace("_", " "),
        }


def _print_goal(goal: Goal, shown: _Shown, fmt: OutputFormat) -> None:
    if fmt is OutputFormat.json:
        _print_json(goal_dict(goal))
        return
    if fmt is OutputFormat.csv:
        emit([goal_dict(goal) | {"segment": segment_text(goal.segment_dict)}], fmt)
        return
    title = f"[bold]Goal {goal.id}[/] (version {goal.version}): {escape(goal.describe())}"
    console.print(title, highlight=False)
    for key, value in (
        ("target", shown(goal.metric, goal.target)),
        ("stretch", shown(goal.metric, goal.stretch)),
        ("direction", f"{goal.direction} is better"),
        ("owners", ", ".join(goal.owners)),
        ("note", goal.note),
        (
            "changed",
            goal.updated_at and f"{goal.updated_at:%Y-%m-%d %H:%M} UTC by {goal.updated_by}",
        ),
    ):
        if value:
            console.print(f"  [bold]{key}:[/] {escape(value)}", highlight=False, soft_wrap=True)


def _as_of(value: dt.datetime | None, settings: Settings) -> dt.date | None:
    """The day to pace at; one outside ``plausible_years`` is refused (exit 2)."""
    day = None if value is None else value.date()
    check_year(day, "--as-of", settings.plausible_years)
    return day


AsOf = Annotated[
    dt.datetime | None,
    typer.Option(
        "--as-of",
        formats=["%Y-%m-%d"],
        help="Pace as if the data ended on this day (default: the data's as-of day).",
    ),
]
Fmt = Annotated[OutputFormat, typer.Option("--format")]
ExpectedVersion = Annotated[
    int | None,
    typer.Option(
        "--expected-version",
        min=1,
        help="Refuse (exit 2) if the goal is no longer at this version: someone changed it.",
    ),
]


@goals_app.command("set")
def set_goal(
    metric: Annotated[str, typer.Argument(help="Metric id (`revteam metrics list`).")],
    period: Annotated[
        str, typer.Argument(help="2027-03, 2027-Q1 or 2027 (FY2027-Q1 with a fiscal year).")
    ],
    target: Annotated[str, typer.Argument(help="In the metric's unit; a rate as 0.45 or 45%.")],
    segment: Annotated[
        list[str] | None,
        typer.Option("--segment", help="DIMENSION=VALUE the goal is for (repeatable)."),
    ] = None,
    owner: Annotated[
        list[str] | None,
        typer.Option("--owner", help="A team or a user's e-mail (repeatable; default: the KPI's)."),
    ] = None,
    direction: Annotated[
        Direction | None, typer.Option(help="Which way is better (default: the KPI's).")
    ] = None,
    stretch: Annotated[str | None, typer.Option(help="A better outcome beyond the target.")] = None,
    note: Annotated[str, typer.Option(help="Why this target, in a sentence.")] = "",
    goal_id: Annotated[
        int | None, typer.Option("--id", min=1, help="Change this goal (also its metric, period).")
    ] = None,
    expected_version: ExpectedVersion = None,
    fmt: Fmt = OutputFormat.table,
) -> None:
    """Set a goal: create it, or change the goal of the same metric, period and segment."""
    spec = GoalSpec(
        metric,
        period,
        target,
        segment=parse_segment(segment or []),
        owners=owner or [],
        direction=direction,
        stretch=stretch,
        note=note,
    )
    with _book() as (book, settings):
        goal = book.set(spec, goal_id=goal_id, expected_version=expected_version)
        _print_goal(goal, _Shown(book.definitions, settings.currency), fmt)


@goals_app.command("list")
def list_goals(
    metric: Annotated[str | None, typer.Option(help="Only this metric's goals.")] = None,
    as_of: AsOf = None,
    fmt: Fmt = OutputFormat.table,
) -> None:
    """Every goal with its pacing: actual, projection and its range, chance and status."""
    with open_ws(read_only=True) as ws:
        pacings = ws.goals.pacing(ws.goals.list(metric), as_of=_as_of(as_of, ws.settings))
        shown = _Shown(ws.goals.definitions, ws.settings.currency)
    if fmt is OutputFormat.json:
        _print_json([pacing_dict(p) for p in pacings])
    elif fmt is OutputFormat.csv:
        rows = [pacing_dict(p) | {"segment": segment_text(p.goal.segment_dict)} for p in pacings]
        if rows:  # no goals, no lines (as other CSV listings)
            emit(rows, fmt)
    else:
        when = f", as of {pacings[0].as_of}" if pacings else ""
        emit(
            [shown.pacing_row(p) for p in pacings], fmt, title=f"Goals{when}", columns=LIST_COLUMNS
        )


@goals_app.command("show")
def show_goal(
    goal_id: Annotated[int, typer.Argument(help="The goal's id (`revteam goals list`).", min=1)],
    as_of: AsOf = None,
    fmt: Fmt = OutputFormat.table,
) -> None:
    """One goal: what was set, how it is pacing, and every change (who, when, before, after).

    ``--format json`` gives all of it as one object; ``csv`` the goal and its pacing only.
    """
    with open_ws(read_only=True) as ws:
        goal = ws.goals.get(goal_id)
        [pacing] = ws.goals.pacing([goal], as_of=_as_of(as_of, ws.settings))
        history = ws.goals.history(goal_id)
        shown = _Shown(ws.goals.definitions, ws.settings.currency)
    detail = pacing_dict(pacing) | goal_dict(goal)
    if fmt is OutputFormat.json:
        _print_json(detail | {"history": [history_dict(h) for h in history]})
    elif fmt is OutputFormat.csv:  # one table: the goal with its pacing, as `list` writes it
        emit([detail | {"segment": segment_text(goal.segment_dict)}], fmt)
    else:
        emit([shown.pacing_row(pacing)], fmt, title=f"Goal {goal.id}: {goal.describe()}")
        console.print(f"  [bold]projection:[/] {pacing.method} ({pacing.state})", highlight=False)
        if goal.note:
            console.print(f"  [bold]note:[/] {escape(goal.note)}", highlight=False, soft_wrap=True)
        emit([_history_row(h) for h in history], fmt, title="History", columns=HISTORY_COLUMNS)


def _history_row(h: GoalHistoryEntry) -> dict[str, Any]:
    return {
        "version": h.version,
        "action": h.action,
        "at": f"{h.at:%Y-%m-%d %H:%M} UTC",
        "actor": h.actor,
        "change": change_text(h.before, h.after),
    }


def change_text(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> str:
    """What one change did, field by field: ``target: 100 → 120; note: (none) → push``."""
    if after is None:
        return "deleted"
    old, new = before or {}, after
    keys = [k for k in (*new, *(k for k in old if k not in new)) if old.get(k) != new.get(k)]
    if before is None:
        return "; ".join(f"{k}: {_value(new[k])}" for k in keys if new[k] not in (None, "", {}))
    return "; ".join(f"{k}: {_value(old.get(k))} → {_value(new.get(k))}" for k in keys)


def _value(value: Any) -> str:
    if isinstance(value, Mapping):
        return segment_text(value) or "(all)"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return "(none)" if value is None or value == "" else str(value)


@goals_app.command("delete")
def delete_goal(
    goal_id: Annotated[int, typer.Argument(help="The goal's id.", min=1)],
    expected_version: ExpectedVersion = None,
) -> None:
    """Delete a goal (its history stays)."""
    with _book() as (book, _):
        gone = book.delete(goal_id, expected_version=expected_version)
    console.print(
        f"Deleted goal {gone.id}: {escape(gone.describe())}.", highlight=False, soft_wrap=True
    )


@goals_app.command("import")
def import_goals(
    file: Annotated[Path, typer.Argument(help="A goals.yaml file.")],
    replace: Annotated[
        bool, typer.Option("--replace", help="Also delete the goals the file does not list.")
    ] = False,
) -> None:
    """Set every goal of a goals.yaml, all or none: one problem and nothing changes."""
    with _book() as (book, _):
        report = book.import_file(file, replace=replace)
    console.print(
        f"{escape(str(file))}: {report.goals} goal(s) in the file, {report.changed} changed"
        + (" (created, changed or deleted)." if replace else " (created or changed)."),
        highlight=False,
        soft_wrap=True,
    )


@goals_app.command("export")
def export_goals(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")
    ] = None,
) -> None:
    """Every goal as goals.yaml (goals as code); importing it back changes nothing."""
    with _book() as (book, _):
        text = book.export_yaml()
    if output is None:
        sys.stdout.write(text)
        return
    output.write_text(text, encoding="utf-8")
    err_console.print(f"Wrote the goals to {escape(str(output))}.", highlight=False)


def incentives(
    what_if: Annotated[
        list[str] | None,
        typer.Option("--what-if", help="METRIC=VALUE: assume this period-end value (repeatable)."),
    ] = None,
    as_of: AsOf = None,
    fmt: Fmt = OutputFormat.table,
) -> None:
    """Incentive plans (incentives.yaml): attainment and payout factor per team and person.

    Each plan's measures are goals; the payout factor is their weighted payout curve, to date
    and at the projected period end, and shared share is how much of the variable pay rides
    on KPIs both teams own. See docs/goals.md.
    """
    from revteam.goals.incentives import parse_what_if

    assumed = parse_what_if(what_if or [])
    with open_ws(read_only=True) as ws:
        results = ws.goals.incentives(as_of=_as_of(as_of, ws.settings), what_if=assumed)
    if fmt is OutputFormat.json:
        _print_json([r.as_dict() for r in results])
        return
    rows = [
        {
            "plan": r.plan.name,
            "who": r.plan.team or ", ".join(r.plan.people),
            "metric": m.measure.metric,
            "period": m.measure.period,
            "weight": f"{m.measure.weight:.0%}",
            "shared": "yes" if m.shared else "",
            "attainment": _share(m.attainment_to_date),
            "projected": _share(m.attainment_projected),
            "payout": _share(m.payout_projected),
            "note": m.note,
        }
        for r in results
        for m in r.measures
    ]
    if fmt is OutputFormat.csv:
        if rows:
            emit(rows, fmt)
        return
    if not results:
        console.print("No incentive plans: write incentives.yaml in the workspace (docs/goals.md).")
        return
    emit(rows, fmt, title="Incentive measures")
    for r in results:
        console.print(
            f"  [bold]{escape(r.plan.name)}[/]: payout factor {_share(r.payout_to_date)} to date, "
            f"{_share(r.payout_projected)} projected; {r.shared_share:.0%} of the variable pay "
            f"rides on shared KPIs ({r.shared_share * r.plan.variable_share:.0%} of pay); people: "
            f"{escape(', '.join(r.plan.people) or '(none yet)')}",
            highlight=False,
        )


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


@goals_app.command("plan")
def plan_goals(
    metric: Annotated[str, typer.Argument(help="The goal to plan backwards from: revenue.")],
    period: Annotated[str, typer.Argument(help="2027-Q1, 2027-03, 2027 (FY2027-Q1 …).")],
    target: Annotated[float, typer.Option("--target", help="The revenue goal.")],
    apply: Annotated[
        bool, typer.Option("--apply", help="Set the derived volumes as goals (rounded up).")
    ] = False,
    history_days: Annotated[int, typer.Option(help="Days of history the rates come from.")] = 365,
    as_of: AsOf = None,
    fmt: Fmt = OutputFormat.table,
) -> None:
    """The reverse funnel: the wins, opportunities, SQLs, MQLs and leads a revenue goal needs.

    Rates, deal size and lags of the last year (intervals from their sampling error); each
    volume is for the period its lag puts it in. ``--apply`` sets them as goals, so Marketing's
    lead and MQL goals and Sales' pipeline goals come from one number. See docs/goals.md.
    """
    from revteam.goals.plan import plan_revenue

    if metric != "revenue":
        raise GoalError(
            f"Only a revenue goal can be planned backwards through the funnel, not {metric!r}.",
            "Run `revteam goals plan revenue PERIOD --target AMOUNT`.",
        )
    with open_ws(read_only=True) as ws:
        day = _as_of(as_of, ws.settings)
        plan = plan_revenue(
            ws.metrics,
            period,
            target,
            history_days=history_days,
            fy_start=ws.settings.fiscal_year_start_month,
            as_of=day,
        )
    if apply:  # all or none: a derived goal that overlaps another stops the whole plan
        with _book() as (book, _):
            book.store.save_all([book.check(spec) for spec in plan.goals()])
    steps = plan.as_dict()["steps"]
    if fmt is OutputFormat.json:
        # Keyed by metric id; "opportunities" is the opportunities to create, by its short name.
        _print_json(steps | {"opportunities": steps["opportunities_created"]})
        return
    rows = [{"metric": m} | v for m, v in steps.items()]
    if fmt is OutputFormat.csv:
        emit(rows, fmt)
        return
    emit(rows, fmt, title=f"Revenue {target:,.0f} in {plan.period}: what it takes")
    if apply:
        console.print(f"Set {len(plan.goals())} goals (`revteam goals list`).")


@goals_app.command("forecast")
def forecast(
    grain: Annotated[
        str, typer.Option(help="month, quarter or year: the periods forecast.")
    ] = "quarter",
    periods: Annotated[int, typer.Option(min=1, max=8, help="Periods from the current one.")] = 2,
    segment: Annotated[
        list[str] | None,
        typer.Option("--segment", help="DIMENSION=VALUE: only these deals (repeatable)."),
    ] = None,
    deals: Annotated[
        int, typer.Option(min=0, max=500, help="Open deals to list, largest expected first.")
    ] = 10,
    backtest: Annotated[
        list[dt.datetime] | None,
        typer.Option(
            "--backtest",
            formats=["%Y-%m-%d"],
            help="Also score the calibrated and the CRM's probabilities (Brier) as of this day "
            "(repeatable; a horizon before the data's end).",
        ),
    ] = None,
    as_of: AsOf = None,
    fmt: Fmt = OutputFormat.table,
) -> None:
    """The sales forecast: won revenue expected per period from the open pipeline.

    Win probabilities are calibrated on the company's own history (stage, days in stage,
    deal type, segment), shown beside the CRM's; with pipeline coverage of the revenue goals,
    the current period's pipeline waterfall and stage conversion. See docs/goals.md.
    """
    where = {k: [v] for k, v in parse_segment(segment or []).items()}
    with open_ws(read_only=True) as ws:
        report = ws.goals.forecast_report(
            as_of=_as_of(as_of, ws.settings),
            grain=grain,
            periods=periods,
            where=where or None,
            deals=deals,
        )
        scores = ws.goals.forecaster.backtest(
            [dt.datetime.combine(d.date(), dt.time.max) for d in backtest or []]
        )
        currency = ws.settings.currency
    data = report.as_dict() | ({"backtest": scores} if backtest else {})
    if fmt is OutputFormat.json:
        _print_json(data)
        return
    if fmt is OutputFormat.csv:
        emit(data["periods"], fmt)
        return

    def money(value: float | None) -> str:
        return display(value, "money", currency=currency, short=True)

    emit(
        [
            {
                "period": p["period"],
                "won to date": money(p["won_to_date"]),
                "expected from pipeline": money(p["expected_from_pipeline"]),
                "range": f"{money(p['expected_low'])} to {money(p['expected_high'])}",
                "expected total": money(p["expected_total"]),
                "CRM weighted": money(p["crm_weighted"]),
            }
            for p in data["periods"]
        ],
        fmt,
        title=f"Sales forecast, as of {report.as_of:%Y-%m-%d}",
    )
    w = data["waterfall"]
    console.print(
        f"Open pipeline {money(data['open_pipeline'])}; weighted by the CRM "
        f"{money(data['weighted_pipeline'])}, by calibrated probabilities "
        f"{money(data['expected_pipeline'])}. Since {w['start']}: opening "
        f"{money(w['opening'])} + created {money(w['created'])} - won {money(w['won'])} - lost "
        f"{money(w['lost'])} = {money(w['closing'])} ({money(w['slipped'])} past its expected "
        "close date).",
        highlight=False,
    )
    for c in data["coverage"]:
        console.print(
            f"Coverage of the {c['period']} revenue goal: {money(c['pipeline_due'])} due ÷ "
            f"{money(c['remaining'])} to go = {_ratio(c['pipeline_coverage'])}; calibrated "
            f"expectation {_ratio(c['expected_coverage'])}.",
            highlight=False,
        )
    model = data["model"]
    if data["problem"]:
        err_console.print(
            f"No forecast yet: {escape(data['problem'])}. The pipeline figures above hold.",
            highlight=False,
        )
    if model.get("brier"):
        b = model["brier"]
        console.print(
            f"Calibrated on {model['deals']:,} deals; a horizon ago ({b['as_of']}) their Brier "
            f"score was {b['brier_calibrated']:.3f} against the CRM's {b['brier_crm']:.3f} "
            "(lower is better).",
            highlight=False,
        )
    if data["categories"]:
        emit(
            [
                {
                    "category": c["category"],
                    "deals": c["deals"],
                    "amount": money(c["amount"]),
                    "CRM weighted": money(c["crm_weighted"]),
                    "calibrated, first period": money(c["expected_first_period"]),
                }
                for c in data["categories"]
            ],
            fmt,
            title="By the CRM's forecast category",
        )
    if data["deals"]:
        emit(
            [
                {
                    "deal": d["name"] or d["opportunity_id"],
                    "stage": d["stage"],
                    "days in stage": f"{d['days_in_stage']:.0f}",
                    "amount": money(d["amount"]),
                    "CRM": _share(d["crm_probability"]),
                    "calibrated": _share(d["probability"]),
                }
                for d in data["deals"]
            ],
            fmt,
            title="Open deals carrying the forecast",
        )
    for s in scores:
        console.print(
            f"Backtest {s['as_of']}: {s['deals']} open deals, Brier calibrated "
            f"{s['brier_calibrated']:.3f}, CRM {s['brier_crm']:.3f}.",
            highlight=False,
        )


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}x"
