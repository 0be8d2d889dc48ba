"""``revteam clv``: customer-value models fitted on the workspace's orders and renewals.

    revteam clv fit --model bg_nbd --start 2024-01-01 --end 2025-06-30 --format json
    revteam clv fit --model gamma_gamma
    revteam clv fit --model sbg --segment smb
    revteam clv show --by segment
    revteam clv show --by customer --limit 20 --format csv

See docs/clv.md for each model's formula, assumptions and when not to use it.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import pyarrow.compute as pc
import typer
from rich.markup import escape

from revteam.cli._common import OutputFormat, console, emit, err_console, open_ws, write_json
from revteam.exceptions import ClvError

clv_app = typer.Typer(
    name="clv",
    help="Customer value: BG/NBD, Gamma-Gamma and sBG fits on the orders and renewals.",
    no_args_is_help=True,
)
DateOpt = Annotated[
    dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="YYYY-MM-DD (inclusive).")
]


def register(app: typer.Typer) -> None:
    app.add_typer(clv_app)


@clv_app.command("fit")
def fit(
    model: Annotated[
        Literal["bg_nbd", "gamma_gamma", "sbg"],
        typer.Option(
            help="bg_nbd: repeat purchases; gamma_gamma: their spend; sbg: contract renewals."
        ),
    ] = "bg_nbd",
    start: DateOpt = None,
    end: DateOpt = None,
    time_unit: Annotated[
        Literal["day", "week", "month"] | None,
        typer.Option("--time-unit", help="Unit of t_x, T and rates (default: [clv] time_unit)."),
    ] = None,
    segment: Annotated[
        str | None, typer.Option(help="Only the accounts of this segment (a model per segment).")
    ] = None,
    as_of: DateOpt = None,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Fit a model on the calibration period (customers acquired from --start to --end).

    Prints the parameters, their standard errors (from the Hessian) and the log-likelihood.
    Several orders of a customer on one day are one transaction, as in the literature.
    """
    cut = dt.datetime.combine(as_of.date(), dt.time.max) if as_of is not None else None
    with open_ws(read_only=True) as ws:
        found = ws.clv.fit(
            model,
            start=start.date() if start else None,
            end=end.date() if end else None,
            time_unit=time_unit,
            as_of=cut,
            segment=segment,
        )
    out = found.as_dict()
    if fmt is OutputFormat.json:
        write_json(out)
    else:
        raw = fmt is OutputFormat.csv  # for machines: every digit, and the log-likelihood
        pairs = [(k, v, found.fit.se[k]) for k, v in found.fit.params.items()] + [
            (k, v, found.fit.derived_se[k]) for k, v in found.fit.derived.items()
        ]
        if found.expected_lifetime is not None:
            pairs.append(("expected_lifetime", found.expected_lifetime, float("nan")))
        if raw:
            pairs.append(("log_likelihood", found.fit.log_likelihood, float("nan")))
        rows = [
            {
                "parameter": k,
                "estimate": v if raw else f"{v:.4g}",
                "standard_error": (e if e == e else None)
                if raw
                else (f"{e:.3g}" if e == e else ""),
            }
            for k, v, e in pairs
        ]
        unit = found.time_unit
        emit(
            rows,
            fmt,
            title=(
                f"{model} on {found.customers:,} customers acquired {found.start} to {found.end}"
                f" ({found.repeat_customers:,} repeat; time in {unit}s); "
                f"log-likelihood {found.fit.log_likelihood:,.1f}"
            ),
        )
    note = console if fmt is OutputFormat.table else err_console
    for warning in found.fit.warnings:
        note.print(f"warning: {escape(warning)}", highlight=False, soft_wrap=True)


@clv_app.command("show")
def show(
    by: Annotated[
        Literal["segment", "customer"],
        typer.Option(help="Per segment (and all customers), or per customer (largest first)."),
    ] = "segment",
    start: DateOpt = None,
    end: DateOpt = None,
    time_unit: Annotated[
        Literal["day", "week", "month"] | None,
        typer.Option("--time-unit", help="Unit of t_x, T and rates (default: [clv] time_unit)."),
    ] = None,
    segment: Annotated[
        str | None, typer.Option(help="Only the accounts of this segment (a model per segment).")
    ] = None,
    as_of: DateOpt = None,
    limit: Annotated[
        int, typer.Option(min=1, max=100_000, help="With --by customer: customers shown.")
    ] = 50,
    intervals: Annotated[
        bool,
        typer.Option(
            "--intervals", help="With --by segment: parametric-bootstrap intervals of the value."
        ),
    ] = False,
    level: Annotated[float, typer.Option(min=0.5, max=0.99, help="Interval level.")] = 0.9,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Predictions of BG/NBD and Gamma-Gamma: P(alive), expected purchases, spend and value.

    ``predicted_value`` is the expected purchases of each month of ``[clv] horizon_months``,
    discounted at ``[clv] discount_rate`` a year, × expected spend × gross margin.
    """
    if intervals and by == "customer":
        raise typer.BadParameter(
            "intervals are of a segment's mean value: use --by segment with --intervals.",
            param_hint="--intervals",
        )
    cut = dt.datetime.combine(as_of.date(), dt.time.max) if as_of is not None else None
    options: dict[str, Any] = {
        "start": start.date() if start else None,
        "end": end.date() if end else None,
        "time_unit": time_unit,
        "as_of": cut,
        "segment": segment,
    }
    with open_ws(read_only=True) as ws:
        table = ws.clv.predict(**options)
        cfg = ws.settings.clv
        if by == "segment":
            rows = ws.clv.by_segment(table)
            if intervals:
                try:
                    found = ws.clv.intervals(**options, level=level)
                except ClvError as exc:  # the predictions stand; say why without intervals
                    found = {}
                    err_console.print(
                        f"note: no intervals: {escape(str(exc))}", highlight=False, soft_wrap=True
                    )
                for row in rows:
                    low, high = found.get(row["segment"], (None, None))
                    row["predicted_value_low"], row["predicted_value_high"] = low, high
        else:
            order = pc.sort_indices(table, sort_keys=[("predicted_value", "descending")])
            rows = table.take(order[:limit]).to_pylist()
    emit(
        rows,
        fmt,
        title=(
            f"Predicted over {cfg.horizon_months} months, discounted at "
            f"{cfg.discount_rate:.0%} a year (BG/NBD + Gamma-Gamma)"
        ),
    )


@clv_app.command("value")
def value(
    by: Annotated[
        str | None,
        typer.Option(help="A dimension of clv_predicted: channel, campaign, segment, …"),
    ] = None,
    start: DateOpt = None,
    end: DateOpt = None,
    as_of: DateOpt = None,
    level: Annotated[float, typer.Option(min=0.5, max=0.99, help="Interval level.")] = 0.9,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Predicted CLV and CLV:CAC (the catalogue's KPIs) per group, with model intervals.

    Customers acquired from --start to --end; each value's interval is a parametric
    bootstrap of the workspace's [clv] model (the parameters' uncertainty), CLV:CAC's the
    same over the group's CAC.
    """
    cut = dt.datetime.combine(as_of.date(), dt.time.max) if as_of is not None else None
    with open_ws(read_only=True) as ws:
        found = ws.clv.value_by(
            by,
            start=start.date() if start else None,
            end=end.date() if end else None,
            as_of=cut,
            level=level,
        )
        cfg, currency = ws.settings.clv, ws.settings.currency
    rows, note = found["rows"], found["intervals_note"]
    if note:  # the values stand; say why they have no interval
        err_console.print(f"note: no intervals: {escape(note)}", highlight=False, soft_wrap=True)
    if fmt is OutputFormat.json:
        write_json(rows)
        return
    if fmt is OutputFormat.csv:  # for machines: the numbers as they are
        emit([{by or "group": r.pop("group")} | r for r in rows], fmt)
        return
    shown = [
        {
            by or "group": r["group"] if r["group"] is not None else "(none)",
            "customers": f"{r['customers']:,}",
            "clv_predicted": _money(r["clv_predicted"]),
            f"{level:.0%} interval": (
                f"{r['low']:,.0f} to {r['high']:,.0f}" if r["low"] is not None else ""
            ),
            "clv_to_cac_predicted": (
                f"{r['clv_to_cac_predicted']:.2f}"
                + (
                    f" ({r['clv_to_cac_low']:.2f} to {r['clv_to_cac_high']:.2f})"
                    if r["clv_to_cac_low"] is not None
                    else ""
                )
                if r["clv_to_cac_predicted"] is not None
                else ""
            ),
        }
        for r in rows
    ]
    emit(
        shown,
        fmt,
        title=(
            f"Predicted CLV ({cfg.model}: {cfg.horizon_months} months ahead, discounted at "
            f"{cfg.discount_rate:.0%} a year) in {currency}"
        ),
    )


def _money(value: float | None) -> str:
    return f"{value:,.0f}" if value is not None else ""


@clv_app.command("retention")
def retention(
    grain: Annotated[
        Literal["month", "quarter", "year"], typer.Option(help="Acquisition cohorts by.")
    ] = "quarter",
    segment: Annotated[str | None, typer.Option(help="Only the accounts of this segment.")] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Retention by acquisition cohort: the share still a customer after each renewal."""
    with open_ws(read_only=True) as ws:
        rows = ws.clv.triangle(grain=grain, segment=segment)
    if fmt is OutputFormat.json:
        write_json(rows)
        return
    depth = max((len(r["retained"]) for r in rows), default=0)
    if fmt is OutputFormat.csv:  # for machines: the share and its customers, each a number
        flat = [
            {"cohort": r["cohort"], "customers": r["customers"]}
            | {f"renewal_{k + 1}_retained": r["retained"][k] for k in range(depth)}
            | {f"renewal_{k + 1}_observed": r["observed"][k] for k in range(depth)}
            for r in rows
        ]
        emit(flat, fmt)
        return
    flat = [
        {"cohort": r["cohort"], "customers": r["customers"]}
        | {
            f"renewal_{k + 1}": (
                f"{r['retained'][k]:.1%} of {r['observed'][k]}"
                if r["retained"][k] is not None
                else ""
            )
            for k in range(depth)
        }
        for r in rows
    ]
    emit(flat, fmt, title="Retention by acquisition cohort (share who renewed every time)")


@clv_app.command("holdout")
def holdout(
    weeks: Annotated[int, typer.Option(min=1, max=520, help="Weeks held out at the end.")] = 26,
    segment: Annotated[str | None, typer.Option(help="Only the accounts of this segment.")] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """BG/NBD's holdout check: predicted against actual repeat purchases of the last weeks."""
    with open_ws(read_only=True) as ws:
        found = ws.clv.holdout(weeks=weeks, segment=segment)
    if fmt is OutputFormat.json:
        write_json(found)
        return
    total = found["total"]
    emit(
        found["rows"],
        fmt,
        title=(
            f"Fitted to {found['calibration_end']}, predicted to {found['end']}: "
            f"{total['predicted']:,.0f} repeat purchases predicted, {total['actual']:,.0f} made"
        ),
    )
