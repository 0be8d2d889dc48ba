"""``revteam score``: a lead score learnt from the workspace's history, used on open leads.

    revteam score fit --format json          # the model and its holdout AUC, ECE, calibration
    revteam score run --limit 50             # open leads, most likely to reach SQL first
    revteam score run --format csv > scores.csv
    revteam score explain P0000042           # why a lead scores what it does

See docs/scoring.md.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import pyarrow as pa
import typer

from revteam.cli._common import OutputFormat, emit, err_console, open_ws, write_json

score_app = typer.Typer(
    name="score",
    help="Lead scoring: a calibrated predictive score and the rules score (scoring.yaml).",
    no_args_is_help=True,
)
AsOf = Annotated[
    dt.datetime | None,
    typer.Option("--as-of", formats=["%Y-%m-%d"], help="Score as of the end of this day."),
]


def register(app: typer.Typer) -> None:
    app.add_typer(score_app)


def _cut(as_of: dt.datetime | None) -> dt.datetime | None:
    return dt.datetime.combine(as_of.date(), dt.time.max) if as_of is not None else None


@score_app.command("fit")
def fit(
    as_of: AsOf = None,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Fit the score on every lead whose window has closed; measure it on the newest of them.

    Reports the model, the target, the time split, and on the holdout (leads newer than any it
    learnt from) the AUC, the expected calibration error (ECE), Brier score and log loss, per
    age at which leads are scored, with the rules score's AUC beside it.
    """
    with open_ws(read_only=True) as ws:
        found = ws.scoring.fit(as_of=_cut(as_of))
    out = found.as_dict()
    if fmt is OutputFormat.json:
        write_json(out)
        return
    rows = [
        {
            "age_days": age,
            "leads": f"{q.n:,}",
            "reached": f"{q.base_rate:.1%}",
            "auc": f"{q.auc:.3f}",
            "rules_auc": f"{found.rules_auc.get(age, float('nan')):.3f}",
            "ece": f"{q.ece:.3f}",
            "brier": f"{q.brier:.4f}",
        }
        for age, q in found.by_age.items()
    ]
    train, holdout = found.periods["train"], found.periods["holdout"]
    emit(
        rows,
        fmt,
        title=(
            f"{found.model} score of {found.target} ({found.window_days}-day window): learnt "
            f"on leads of {train[0]} to {train[1]}, measured on {holdout[0]} to {holdout[1]}"
        ),
    )


@score_app.command("run")
def run(
    as_of: AsOf = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000_000, help="Leads shown.")] = 50,
    save: Annotated[
        bool,
        typer.Option(
            "--save", help="Keep every open lead's score with its moment (scores/ folder)."
        ),
    ] = False,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Score every open lead (not yet at the target, not disqualified, window still open).

    ``score`` is the calibrated probability of reaching the target within its window;
    ``grade``, ``fit_points`` and ``engagement_points`` are the rules score (scoring.yaml).
    """
    with open_ws(read_only=True) as ws:
        table = ws.scoring.score(as_of=_cut(as_of))
        kept = ws.scoring.save(table) if save else None
    if kept is not None:
        err_console.print(f"kept {table.num_rows:,} scores in {kept}", highlight=False)
    rows = table.slice(0, limit).to_pylist()
    if fmt is OutputFormat.json:
        write_json(rows)
        return
    shown = [
        {
            "person_id": r["person_id"],
            "created_at": f"{r['created_at']:%Y-%m-%d}",
            "age_days": f"{r['age_days']:.0f}",
            "score": f"{r['score']:.3f}" if fmt is OutputFormat.csv else f"{r['score']:.1%}",
            "grade": r["grade"],
            "fit_points": f"{r['fit_points']:.0f}",
            "engagement_points": f"{r['engagement_points']:.1f}",
        }
        for r in rows
    ]
    emit(shown, fmt, title=f"{table.num_rows:,} open leads, most likely first")


@score_app.command("explain")
def explain(
    person_id: Annotated[str, typer.Argument(help="The lead's person_id.")],
    as_of: AsOf = None,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Why a lead scores what it does: the features that moved it most, in log-odds."""
    with open_ws(read_only=True) as ws:
        found = ws.scoring.explain(person_id, as_of=_cut(as_of))
    if fmt is OutputFormat.json:
        write_json(found)
        return
    rows = [
        {
            "feature": c["feature"],
            "value": c["value"],
            "typical_lead": c["reference"],
            "log_odds": f"{c['log_odds']:+.2f}",
        }
        for c in found["contributions"]
    ]
    emit(
        rows,
        fmt,
        title=(
            f"{person_id}: {found['score']:.1%} (grade {found['grade']}, "
            f"{found['fit_points']:.0f} fit + {found['engagement_points']:.1f} engagement points)"
        ),
    )


@score_app.command("threshold")
def threshold(
    objective: Annotated[
        str,
        typer.Option(
            help="capacity: the most SQLs Sales can work; sqr: the most SQLs at --sqr-target."
        ),
    ] = "capacity",
    sqr_target: Annotated[
        float | None,
        typer.Option("--sqr-target", min=0.0, max=1.0, help="With --objective sqr."),
    ] = None,
    level: Annotated[float, typer.Option(min=0.5, max=0.999, help="Interval level.")] = 0.9,
    as_of: AsOf = None,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """The MQL threshold's trade-off, and the threshold the objective recommends.

    Per candidate: MQLs a month, the expected SQR with its interval, SQLs a month, the
    lead→opportunity rate and each rep's weekly workload. Measured on the newest leads
    (never learnt from) at [scoring] score_after_days old.
    """
    with open_ws(read_only=True) as ws:
        found = ws.scoring.threshold(
            as_of=_cut(as_of), objective=objective, sqr_target=sqr_target, level=level
        )
    if fmt is OutputFormat.json:
        write_json(found)
        return
    best = found["recommended"]
    if fmt is OutputFormat.csv:
        emit(found["curve"], fmt)
        return
    rows = [
        {
            "threshold": f"{r['threshold']:.3f}" + (" ★" if r is best else ""),
            "mqls_per_month": f"{r['mqls_per_month']:,.0f}",
            "expected_sqr": f"{r['sales_qualification_rate']:.1%}",
            "interval": (
                f"{r['sales_qualification_rate_low']:.1%}"
                f" to {r['sales_qualification_rate_high']:.1%}"
            ),
            "realised_sqr": f"{r['realised_sales_qualification_rate']:.1%}",
            "sqls_per_month": f"{r['sqls_per_month']:,.0f}",
            "lead_to_opp": f"{r['lead_to_opportunity_rate']:.1%}",
            "per_rep_week": (
                f"{r['mqls_per_rep_week']:.1f}" if r["mqls_per_rep_week"] is not None else ""
            ),
        }
        for r in found["curve"]
    ]
    emit(
        rows,
        fmt,
        title=(
            f"MQL threshold on leads {found['judged_age_days']} days old, "
            f"{found['holdout'][0]} to {found['holdout'][1]}; {found['reps']} reps at "
            f"{found['capacity_per_rep_week']:g} MQLs a week each; ★ recommended ({objective})"
        ),
    )


EXPORTS = ("hubspot", "salesforce")


def _export(table: pa.Table, export: str | None, campaign_id: str | None, status: str) -> bool:
    """Write ``table`` as a HubSpot list import or a Salesforce campaign-member file."""
    if export is None:
        return False
    if export not in EXPORTS:
        raise typer.BadParameter(f"use one of {', '.join(EXPORTS)}", param_hint="--export")
    rows = table.to_pylist()
    if export == "hubspot":
        # HubSpot imports contacts by e-mail; a list is made from the import
        columns = {"Email": "email", "First Name": "first_name", "Last Name": "last_name",
                   "Company Name": "company_name"}  # fmt: skip
        out = [{k: r[v] for k, v in columns.items()} for r in rows]
    else:
        if not campaign_id:
            raise typer.BadParameter(
                "a Salesforce campaign-member file needs the campaign: give --campaign-id",
                param_hint="--campaign-id",
            )
        # Salesforce's import wizard matches campaign members by e-mail
        out = [
            {
                "CampaignId": campaign_id,
                "Email": r["email"],
                "FirstName": r["first_name"],
                "LastName": r["last_name"],
                "Company": r["company_name"],
                "Status": status,
            }
            for r in rows
        ]
    emit(out, OutputFormat.csv)
    return True


@score_app.command("nurture")
def nurture(
    threshold: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="The MQL threshold (default: the recommended)."),
    ] = None,
    export: Annotated[
        str | None, typer.Option(help="hubspot: a list import; salesforce: campaign members.")
    ] = None,
    campaign_id: Annotated[str | None, typer.Option("--campaign-id")] = None,
    status: Annotated[str, typer.Option(help="Salesforce member status.")] = "Nurture",
    as_of: AsOf = None,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Fit but not ready: leads for Marketing to nurture.

    Open leads of a nurture grade ([scoring] nurture_grades, A and B) scoring below the MQL
    threshold.
    """
    with open_ws(read_only=True) as ws:
        table = ws.scoring.nurture(threshold=threshold, as_of=_cut(as_of))
    if _export(table, export, campaign_id, status):
        return
    _leads(table, fmt, f"{table.num_rows:,} leads to nurture (fit, not ready)")


@score_app.command("recycle")
def recycle(
    export: Annotated[
        str | None, typer.Option(help="hubspot: a list import; salesforce: campaign members.")
    ] = None,
    campaign_id: Annotated[str | None, typer.Option("--campaign-id")] = None,
    status: Annotated[str, typer.Option(help="Salesforce member status.")] = "Recycled",
    as_of: AsOf = None,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Leads Sales disqualified lately, back to Marketing; the best fit first.

    Disqualified in the last [scoring] recycle_days, except for final reasons ([scoring]
    never_recycle).
    """
    with open_ws(read_only=True) as ws:
        table = ws.scoring.recycle(as_of=_cut(as_of))
    if _export(table, export, campaign_id, status):
        return
    _leads(table, fmt, f"{table.num_rows:,} disqualified leads to recycle")


def _leads(table: pa.Table, fmt: OutputFormat, title: str) -> None:
    if fmt is OutputFormat.json:
        write_json(table.to_pylist())
        return
    emit(table.to_pylist(), fmt, title=title)


@score_app.command("feedback")
def feedback(
    by: Annotated[str, typer.Option(help="channel, campaign or another lead dimension.")] = (
        "channel"
    ),
    period: Annotated[str | None, typer.Option(help="e.g. 2026-Q2 (default: the latest).")] = None,
    grain: Annotated[str, typer.Option(help="month, quarter or year.")] = "quarter",
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Which sources Sales rejects, and why: disqualification reasons by source, tested."""
    with open_ws(read_only=True) as ws:
        found = ws.scoring.feedback(by=by, period=period, grain=grain)
    if fmt is OutputFormat.json:
        write_json(found)
        return
    emit(
        found["rows"],
        fmt,
        title=(
            f"Disqualification reasons by {by}, {found['period']}: each against the other "
            f"{by}s' MQLs (p adjusted over all, α = {found['alpha']})"
        ),
    )


agree_app = typer.Typer(
    name="agree",
    help="The MQL threshold both teams sign off: propose, vote, withdraw, list.",
    no_args_is_help=True,
)
score_app.add_typer(agree_app)


def _agreement_rows(found: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "id": a.id,
            "threshold": a.threshold,
            "status": a.status,
            "proposed_by": a.created_by,
            "approved_by": "; ".join(f"{t}: {e}" for t, e in sorted(a.approved_by.items())),
            "missing": ", ".join(a.missing) if a.status == "open" else "",
            "decision": a.decision,
        }
        for a in found
    ]


@agree_app.command("propose")
def agree_propose(
    threshold: Annotated[float, typer.Argument(min=0.0, max=1.0, help="The MQL score cut.")],
    note: Annotated[str, typer.Option(help="Why this threshold.")] = "",
    objective: Annotated[str, typer.Option(help="What it was chosen for.")] = "",
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Propose an MQL threshold; it is in force once each owning team approves it."""
    with open_ws(read_only=True) as ws:
        made = ws.scoring.propose_threshold(threshold, note=note, objective=objective)
    _show([made], fmt, f"Threshold proposal {made.id}: waiting for {', '.join(made.missing)}")


@agree_app.command("vote")
def agree_vote(
    proposal_id: Annotated[int, typer.Argument(min=1)],
    decision: Annotated[str, typer.Argument(help="approve or reject")],
    voter: Annotated[str, typer.Option("--as", help="The voter's e-mail (an owner's editor).")],
    reason: Annotated[str, typer.Option(help="Why (required to reject).")] = "",
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """An owner's sign-off; the last one needed puts the threshold in force."""
    if decision not in ("approve", "reject"):
        raise typer.BadParameter("use approve or reject", param_hint="DECISION")
    with open_ws(read_only=True) as ws:
        done = ws.scoring.agreements.vote(
            proposal_id,
            "approve" if decision == "approve" else "reject",
            voter=voter,
            reason=reason,
        )
    _show([done], fmt, f"Threshold proposal {done.id}: {done.status}")


@agree_app.command("withdraw")
def agree_withdraw(
    proposal_id: Annotated[int, typer.Argument(min=1)],
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Withdraw an open threshold proposal."""
    with open_ws(read_only=True) as ws:
        done = ws.scoring.agreements.withdraw(proposal_id)
    _show([done], fmt, f"Threshold proposal {done.id}: {done.status}")


@agree_app.command("list")
def agree_list(fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table) -> None:
    """The threshold in force and every proposal, newest first."""
    with open_ws(read_only=True) as ws:
        found = ws.scoring.agreements.list()
        agreed = ws.scoring.agreements.current()
    title = f"In force: {agreed.threshold:.3f} ({agreed.decision})" if agreed else "None agreed yet"
    _show(found, fmt, title)


def _show(found: list[Any], fmt: OutputFormat, title: str) -> None:
    if fmt is OutputFormat.json:
        write_json([a.as_dict() for a in found])
        return
    emit(_agreement_rows(found), fmt, title=title)


@score_app.command("monitor")
def monitor(
    months: Annotated[int, typer.Option(min=2, max=60, help="Months of leads to look at.")] = 12,
    as_of: AsOf = None,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Does the score still rank leads? Drift and conversion by decile per month."""
    with open_ws(read_only=True) as ws:
        found = ws.scoring.monitor(as_of=_cut(as_of), months=months)
    if fmt is OutputFormat.json:
        write_json(found)
        return
    rows = [
        {
            "month": e["month"],
            "leads": e["leads"],
            "mean_score": e["mean_score"],
            "drift": e["drift"],
            "auc": e["auc"],
            "top_decile": e["deciles"][0]["realised"] if e["deciles"] else None,
            "bottom_decile": e["deciles"][-1]["realised"] if e["deciles"] else None,
            "in_sample": e["in_sample"],
        }
        for e in found["months"]
    ]
    verdict = "; ".join(found["reasons"]) if found["degraded"] else "no degradation"
    emit(rows, fmt, title=f"Lead score by month of creation (holdout AUC "
                          f"{found['holdout_auc']:.3f}): {verdict}")  # fmt: skip
    if found["kept"] and fmt is OutputFormat.table:  # CSV stays one table: --format json has both
        kept = [
            {
                "scored_at": k["scored_at"],
                "model": k["model"],
                "leads": k["leads"],
                "closed": k["closed"],
                "mean_score": k["mean_score"],
                "realised": k["realised"],
                "auc": k["auc"],
            }
            for k in found["kept"]
        ]
        emit(kept, fmt, title="Scores kept (score run --save), judged as they were given")
