"""The pack as HTML (self-contained: inline CSS and SVG charts), Markdown, or PDF.

Charts are Vega-Lite specs rendered to SVG by vl-convert on the server, so the HTML opens offline
and prints, and WeasyPrint draws the same SVG into the PDF. Nothing depends on the clock except
the one "generated" line, so two renders of the same pack differ only there.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import Any, Literal

from revteam.exceptions import ReviewError
from revteam.review.pack import MINUS, Change, Pack, Ranked

Format = Literal["html", "markdown", "pdf"]
FORMATS: tuple[str, ...] = ("html", "markdown", "pdf")
TEMPLATES = Path(__file__).with_name("templates")
COLORS = {"sales": "#2563eb", "marketing": "#ea580c", "shared": "#0d9488"}
STATUS_TEXT = {"on_track": "on track", "at_risk": "at risk", "off_track": "off track"}


def render(pack: Pack, fmt: str) -> bytes:
    """The pack in ``fmt`` (``html``, ``markdown`` or ``pdf``)."""
    if fmt == "html":
        return to_html(pack).encode("utf-8")
    if fmt == "markdown":
        return to_markdown(pack).encode("utf-8")
    if fmt == "pdf":
        return to_pdf(pack)
    raise ReviewError(f"Format {fmt!r} is not one of {', '.join(FORMATS)}.")


# -- charts ------------------------------------------------------------------------------------
def _svg(spec: dict[str, Any]) -> str:
    import vl_convert as vlc

    svg: str = vlc.vegalite_to_svg(spec)
    return svg


def change_chart(change: Change, pack: Pack) -> str:
    """The segment's value per period, the pack's period marked, the expected level dashed."""
    rows = [
        {"period": p, "value": v, "text": pack.fmt(v, change.unit), "this": p == pack.period}
        for p, v in change.series
        if v is not None
    ]
    color = "#16a34a" if change.good else "#dc2626"
    spec: dict[str, Any] = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": 420,
        "height": 120,
        "config": {"font": "Helvetica, Arial, sans-serif", "view": {"stroke": None}},
        "layer": [
            {
                "data": {"values": rows},
                "mark": {"type": "line", "color": "#64748b", "point": True},
                "encoding": {
                    "x": {
                        "field": "period",
                        "type": "ordinal",
                        "title": None,
                        "sort": None,
                        "axis": {"labelAngle": 0, "labelOverlap": True},
                    },
                    "y": {
                        "field": "value",
                        "type": "quantitative",
                        "title": None,
                        "axis": {"format": ".0%" if change.unit == "percent" else "~s"},
                    },
                },
            },
            {
                "data": {"values": [r for r in rows if r["this"]]},
                "mark": {"type": "point", "filled": True, "size": 90, "color": color},
                "encoding": {
                    "x": {"field": "period", "type": "ordinal", "sort": None},
                    "y": {"field": "value", "type": "quantitative"},
                },
            },
            {
                "data": {"values": [{"expected": change.expected}]},
                "mark": {"type": "rule", "strokeDash": [4, 3], "color": "#94a3b8"},
                "encoding": {"y": {"field": "expected", "type": "quantitative"}},
            },
        ],
    }
    return _svg(spec)


def ranking_chart(rows: list[Ranked]) -> str:
    """Shrunk rates with their intervals; small samples hollow."""
    values = [
        {
            "campaign": f"{r.segment} {r.name}"[:40],
            "shrunk": r.shrunk,
            "low": r.low,
            "high": r.high,
            "small": "small sample" if r.small else "enough records",
        }
        for r in rows
    ]
    order = [v["campaign"] for v in values]
    y = {"field": "campaign", "type": "nominal", "title": None, "sort": order}
    spec: dict[str, Any] = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": 380,
        "height": {"step": 18},
        "config": {"font": "Helvetica, Arial, sans-serif", "view": {"stroke": None}},
        "data": {"values": values},
        "layer": [
            {
                "mark": {"type": "rule", "color": "#94a3b8"},
                "encoding": {
                    "y": y,
                    "x": {
                        "field": "low",
                        "type": "quantitative",
                        "title": None,
                        "axis": {"format": ".0%"},
                    },
                    "x2": {"field": "high"},
                },
            },
            {
                "mark": {"type": "point", "size": 60, "color": COLORS["shared"]},
                "encoding": {
                    "y": y,
                    "x": {"field": "shrunk", "type": "quantitative"},
                    "fill": {
                        "field": "small",
                        "type": "nominal",
                        "scale": {
                            "domain": ["enough records", "small sample"],
                            "range": [COLORS["shared"], "#ffffff"],
                        },
                        "legend": {"orient": "bottom", "title": None},
                    },
                },
            },
        ],
    }
    return _svg(spec)


# -- HTML --------------------------------------------------------------------------------------
@functools.cache
def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["status"] = lambda s: STATUS_TEXT.get(s, s)
    return env


def to_html(pack: Pack) -> str:
    """The whole document: opens offline, prints, and is what the PDF is made from."""
    return _template(pack, "pack.html.j2")


def to_fragment(pack: Pack) -> str:
    """The pack's body with its own (scoped) styles, for a page that frames it (the web app)."""
    return _template(pack, "pack_body.html.j2")


def _template(pack: Pack, name: str) -> str:
    from markupsafe import Markup

    # The SVG is vl-convert's own output from specs whose text Vega escapes: safe to inline.
    charts = {
        "changes": [Markup(change_chart(c, pack)) for c in pack.changes],  # noqa: S704
        "campaigns": Markup(  # noqa: S704
            ranking_chart([*pack.campaigns_top, *pack.campaigns_bottom])
        )
        if pack.campaigns_top
        else None,
    }
    html: str = (
        _environment()
        .get_template(name)
        .render(pack=pack, charts=charts, colors=COLORS, amount=_signed_amount)
    )
    return html


def _signed_amount(pack: Pack, value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "percent":
        return f"{'+' if value >= 0 else MINUS}{abs(value) * 100:.1f} pts"
    return ("+" if value >= 0 else MINUS) + pack.fmt(abs(value), unit)


# -- Markdown ----------------------------------------------------------------------------------
def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(pack: Pack) -> str:
    out = io.StringIO()
    w = out.write
    w(f"# Revenue review · {pack.period}\n\n")
    w(
        f"Data as of {pack.as_of:%Y-%m-%d %H:%M}; generated {pack.generated_at:%Y-%m-%d %H:%M} "
        f"UTC. Changes are called real at a false-discovery rate of {pack.fdr:.0%}.\n"
    )
    for section in pack.sections:
        getattr(_Markdown, section)(pack, w)
    if pack.notes:
        w("\n## Notes\n\n")
        for note in pack.notes:
            w(f"- {note}\n")
    return out.getvalue()


class _Markdown:
    @staticmethod
    def scorecard(pack: Pack, w: Any) -> None:
        w("\n## Shared scorecard\n\n")
        w("| KPI | owners | value | change | 95% interval | goal | status |\n")
        w("|---|---|---:|---:|---|---|---|\n")
        for s in pack.scorecard:
            interval = (
                f"{pack.fmt(s.ci_low, s.unit)} to {pack.fmt(s.ci_high, s.unit)}"
                if s.ci_low is not None
                else ""
            )
            goal = (
                f"{pack.fmt(s.goal['target'], s.unit)} ({s.goal['period']}), projected "
                f"{pack.fmt(s.goal['projected'], s.unit)}"
                if s.goal
                else ""
            )
            status = STATUS_TEXT.get(s.goal["status"], "") if s.goal else ""
            value = pack.fmt(s.value, s.unit) + (" ⚠" if s.flag else "")
            w(
                f"| {_cell(s.label)} | {s.owners} | {_cell(value)} | "
                f"{_signed_amount(pack, s.change, s.unit)} | {interval} | {_cell(goal)} | "
                f"{status} |\n"
            )
        flagged = [s for s in pack.scorecard if s.flag]
        if flagged:
            w("\n⚠ Not to be trusted yet: ")
            w("; ".join(f"{s.label}: {s.flag}" for s in flagged) + ".\n")

    @staticmethod
    def definitions(pack: Pack, w: Any) -> None:
        w("\n## Definitions changed\n\n")
        first, last = pack.definitions_range or (pack.start, pack.end)
        if not pack.definitions:
            w(
                f"No definition changed in this period: no change agreed from {first} to {last} "
                "(UTC; the period and the one after it).\n"
            )
            return
        w(
            f"Agreed by their owners from {first} to {last} (UTC; the period and the one after "
            "it, before which its review meets).\n\n"
        )
        for d in pack.definitions:
            late = " (after the period)" if pack.after_period(d) else ""
            w(
                f"- **{_cell(d.label)}** (`{d.metric}`, {d.owners}): version {d.version}, agreed "
                f"{d.approved_at:%Y-%m-%d %H:%M} UTC{late}, replacing {d.replaced} "
                f"(proposal #{d.proposal_id}).\n"
            )
            for f in d.fields:
                w(f"  - {_cell(f.describe())}\n")
            w(f"  - Why: {_cell(d.reason)}\n")
            w(f"  - {_cell(d.signed())}.\n")

    @staticmethod
    def changes(pack: Pack, w: Any) -> None:
        w("\n## What changed, and why\n\n")
        if not pack.changes:
            w(
                f"Nothing changed beyond noise in {pack.period} ({pack.changes_scanned} series "
                f"of shared KPIs checked at a false-discovery rate of {pack.fdr:.0%}).\n"
            )
            return
        for c in pack.changes:
            w(f"- **{_cell(c.headline)}** {_cell(c.driver)}\n")

    @staticmethod
    def sla(pack: Pack, w: Any) -> None:
        w("\n## Marketing↔Sales SLA\n\n")
        for side in pack.sla:
            values = ", ".join(f"{s.label} {pack.fmt(s.value, s.unit)}" for s in side.rows)
            w(f"- **{side.side}** ({side.owners}): {values}.")
            w(
                " Breaches: " + "; ".join(side.breaches) + ".\n"
                if side.breaches
                else " No breach.\n"
            )
        if pack.sla_not_worked is not None:
            w(f"- MQLs of {pack.period} not worked yet: {pack.sla_not_worked:,.0f}.\n")

    @staticmethod
    def campaigns(pack: Pack, w: Any) -> None:
        w(f"\n## Campaigns by {pack.rank_label} (shrunk)\n\n")
        if pack.rank_range:
            w(f"{pack.rank_range[0]} to {pack.rank_range[1]}.\n\n")
        if not pack.campaigns_top:
            w("No ranking for this period.\n")
            return
        w("| rank | campaign | shrunk rate | 95% interval | raw | records |\n")
        w("|---:|---|---:|---|---:|---:|\n")
        for r in (*pack.campaigns_top, *pack.campaigns_bottom):
            mark = " ◔" if r.small else ""
            w(
                f"| {r.rank} | {r.segment} {_cell(r.name)}{mark} | {r.shrunk:.1%} | "
                f"{r.low:.1%} to {r.high:.1%} | {r.raw:.1%} | {r.n:,} |\n"
            )
        w("\n◔ fewer than 30 records: not to be compared.\n")

    @staticmethod
    def attribution(pack: Pack, w: Any) -> None:
        w(f"\n## Return by channel, attributed ({pack.returns_model or 'no'} model)\n\n")
        if not pack.returns:
            w("No attributed return for this period.\n")
            return
        columns = pack.returns_columns
        w("| Channel | " + " | ".join(label for _, label, _ in columns) + " |\n")
        w("|---|" + "---:|" * len(columns) + "\n")
        for r in pack.returns:
            name = "**all channels**" if r.total else (r.channel or "(no channel)")
            cells = " | ".join(pack.fmt(r.values.get(m), unit) for m, _, unit in columns)
            w(f"| {name} | {cells} |\n")
        w(
            f"\nPipeline and revenue credited to each channel's touches under the "
            f"{pack.returns_model} model ([attribution] model); ROI and CAC set them against "
            "the costs booked to the channel's campaigns. Costs of no campaign show as "
            "(no channel).\n"
        )

    @staticmethod
    def cohorts(pack: Pack, w: Any) -> None:
        w("\n## Cohorts still maturing\n\n")
        if not pack.cohorts:
            w(f"Every funnel cohort of {pack.period} has had its whole window.\n")
            return
        for c in pack.cohorts:
            w(
                f"- {c.label}: {pack.fmt(c.value, 'percent')} so far; its youngest members are "
                f"{c.age_days} of {c.window_days} days into the window ({c.n or 0:,} members).\n"
            )

    @staticmethod
    def actions(pack: Pack, w: Any) -> None:
        w("\n## Action items\n\n")
        if not pack.actions_open and not pack.actions_closed:
            w("No action items yet.\n")
            return
        for i in pack.actions_open:
            due = f", due {i.due}" if i.due else ""
            late = " — overdue" if i.overdue(pack.as_of.date()) else ""
            about = f" [{i.metric}]" if i.metric else ""
            w(f"- [ ] #{i.id} {_cell(i.title)}{about} — {i.owner} ({i.team}){due}{late}\n")
        for i in pack.actions_closed:
            when = f"{i.closed_at:%Y-%m-%d}" if i.closed_at else ""
            w(f"- [x] #{i.id} {_cell(i.title)} — closed {when} by {i.closed_by}\n")

    @staticmethod
    def data(pack: Pack, w: Any) -> None:
        w("\n## Data\n\n| table | rows | latest | refused rows |\n|---|---:|---|---:|\n")
        for t in pack.data:
            stale = " ⚠ nothing since the period began" if t.stale else ""
            w(f"| {t.table} | {t.rows:,} | {t.latest or '—'}{stale} | {t.refused:,} |\n")


# -- PDF ---------------------------------------------------------------------------------------
def to_pdf(pack: Pack) -> bytes:
    """The HTML pack printed by WeasyPrint (A4; charts stay vector)."""
    from weasyprint import HTML

    pdf: bytes = HTML(string=to_html(pack)).write_pdf()
    return pdf
