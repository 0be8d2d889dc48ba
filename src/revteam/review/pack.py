"""The review pack: one deterministic document for the joint Sales & Marketing review.

Every number comes from the metric layer, the statistics package or the goals package; this
module only chooses what the meeting sees and says it in sentences. Sections (``[review]
sections``, in that order):

- ``scorecard``: every shared KPI for the period, its change on the period before, interval,
  goal and pacing; a number the meeting should not trust yet (a cohort still maturing, a table
  with refused rows) is flagged.
- ``definitions``: every definition change both owners agreed (:mod:`revteam.proposals`) from
  the period's first day to the last day of the period after it (the review of a period meets
  after it ends: a change agreed meanwhile still reaches it), each with the fields it changed
  (old → new), why, who proposed it and who signed for each team.
- ``changes``: what moved beyond noise (anomalies at ``review.fdr``, by the total and each of
  ``review.change_dimensions``), each with its drivers decomposition, in plain sentences.
- ``sla``: both sides of the Marketing↔Sales SLA against their goals, and MQLs not worked.
- ``campaigns``: campaigns ranked by ``review.rank_metric`` with shrinkage, top and bottom,
  small samples marked.
- ``attribution``: each channel's marketing cost against the pipeline and revenue credited to
  it under the workspace's attribution model (named), with attributed ROI and CAC: the
  catalogue's attributed KPIs, so the numbers are those of the Campaigns page and the API.
- ``cohorts``: the period's funnel cohorts still inside their conversion window.
- ``actions``: open action items, and those closed since the period began.
- ``data``: how fresh each table is and how many rows were refused.

Same data, same action items and same settings give the same pack, byte for byte, apart from
the generation time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy.exc import ProgrammingError

from revteam.exceptions import AppDatabaseError, MetricError, ReviewError, StatsError
from revteam.metrics import periods as P
from revteam.metrics.format import display
from revteam.review.actions import ActionItem, ActionStore
from revteam.review.definitions import DefinitionChange, History, agreed
from revteam.settings import ReviewSettings

if TYPE_CHECKING:
    from revteam.goals import GoalsComponent, Pacing
    from revteam.ingest.status import WorkspaceStatus
    from revteam.metrics import MetricsComponent
    from revteam.stats import StatsComponent

SLA_MARKETING = ("mqls",)
SLA_SALES = ("mqls_worked_1h_rate", "mqls_worked_24h_rate", "speed_to_lead_hours")
SLA_OPEN = "mqls_not_worked"
GRAINS = ("week", "month", "quarter")
MINUS = "\u2212"
RETURN_METRICS = (
    "marketing_cost",
    "attributed_pipeline",
    "attributed_revenue",
    "attributed_roi",
    "attributed_cac",
)
"""The attribution section's columns, all catalogue KPIs (by channel, under one model)."""
DRIVER_BY = {"campaign": "campaign", "channel": "campaign"}
"""The finer dimension a change in a segment is explained by (otherwise: by channel)."""


@dataclass(frozen=True)
class Score:
    metric: str
    label: str
    unit: str
    owners: str
    direction: str
    value: float | None
    previous: float | None
    change: float | None
    ci_low: float | None
    ci_high: float | None
    n: int | None
    immature: bool
    goal: dict[str, Any] | None
    flag: str | None
    """Why the meeting should not trust this number yet (empty: nothing known against it)."""


@dataclass(frozen=True)
class Change:
    metric: str
    label: str
    unit: str
    dimension: str
    segment: str
    segment_label: str
    kind: str
    direction: str
    value: float
    expected: float
    level: float | None
    change: float
    p_adjusted: float
    good: bool
    """The change goes the way the metric's owners want (``direction``)."""
    headline: str
    driver: str
    series: tuple[tuple[str, float | None], ...]
    """The segment's value per period up to the pack's (for the chart)."""


@dataclass(frozen=True)
class SlaSide:
    side: str
    owners: str
    rows: tuple[Score, ...]
    breaches: tuple[str, ...]


@dataclass(frozen=True)
class Ranked:
    rank: int
    segment: str
    name: str
    shrunk: float
    low: float
    high: float
    raw: float
    n: int
    small: bool


@dataclass(frozen=True)
class ChannelReturn:
    """One channel's row of the attribution section (``channel`` None: costs without one)."""

    channel: str | None
    total: bool
    values: dict[str, float | None]


@dataclass(frozen=True)
class Maturing:
    metric: str
    label: str
    value: float | None
    age_days: int | None
    window_days: int | None
    n: int | None


@dataclass(frozen=True)
class TableFreshness:
    table: str
    rows: int
    latest: str | None
    refused: int
    stale: bool


@dataclass(frozen=True)
class Pack:
    """Everything the review pack shows; renderers turn it into HTML, Markdown or PDF."""

    period: str
    grain: str
    start: dt.date
    end: dt.date
    """Last day of the period."""
    as_of: dt.datetime
    generated_at: dt.datetime
    currency: str
    sections: tuple[str, ...]
    fdr: float
    scorecard: tuple[Score, ...] = ()
    definitions: tuple[DefinitionChange, ...] = ()
    definitions_range: tuple[dt.date, dt.date] | None = None
    """The days (UTC) whose agreed definition changes are listed: the period and the next."""
    changes: tuple[Change, ...] = ()
    changes_scanned: int = 0
    sla: tuple[SlaSide, ...] = ()
    sla_not_worked: float | None = None
    campaigns_top: tuple[Ranked, ...] = ()
    campaigns_bottom: tuple[Ranked, ...] = ()
    rank_metric: str = ""
    rank_label: str = ""
    rank_range: tuple[dt.date, dt.date] | None = None
    """The days the campaigns are ranked over (the period's, or the newest mature months)."""
    returns: tuple[ChannelReturn, ...] = ()
    returns_columns: tuple[tuple[str, str, str], ...] = ()
    """The attribution section's KPIs: (metric, label, unit)."""
    returns_model: str = ""
    """The attribution model the section's credit is under."""
    cohorts: tuple[Maturing, ...] = ()
    actions_open: tuple[ActionItem, ...] = ()
    actions_closed: tuple[ActionItem, ...] = ()
    data: tuple[TableFreshness, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    """What a section could not show, and why."""

    def fmt(self, value: float | None, unit: str) -> str:
        return display(value, unit, currency=self.currency)

    def after_period(self, change: DefinitionChange) -> bool:
        """The change was agreed after the period ended (before its review met)."""
        return change.approved_at.date() > self.end


class PackBuilder:
    """Builds :class:`Pack` from explicit components (the workspace facade wires them)."""

    def __init__(
        self,
        *,
        metrics: MetricsComponent,
        stats: StatsComponent,
        goals: GoalsComponent,
        actions: ActionStore,
        status: Callable[[], WorkspaceStatus],
        settings: ReviewSettings,
        currency: str,
        fy_start: int = 1,
        clock: Callable[[], dt.datetime] | None = None,
        proposals: History | None = None,
    ) -> None:
        self.metrics, self.stats, self.goals, self.actions = metrics, stats, goals, actions
        self.proposals = proposals
        """The agreed definitions' history (``ws.proposals``); ``None``: none is shown."""
        self._status, self.settings = status, settings
        self.currency, self.fy_start = currency, fy_start
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC).replace(tzinfo=None))

    def build(self, period: str, *, grain: str | None = None) -> Pack:
        """The pack of ``period``.

        ``2026-03`` (month), ``2026-Q1`` (quarter), or a day of the week with ``grain="week"``.
        """
        start, g = self._period(period, grain)
        end = P.end(start, g) - dt.timedelta(days=1)
        as_of = self.metrics.as_of()
        if start > as_of.date():
            raise ReviewError(
                f"The period {period} starts after the data ends ({as_of:%Y-%m-%d}).",
                "Review a period the data covers, or load newer data first.",
            )
        pack = Pack(
            period=P.label(start, g, self.fy_start),
            grain=g,
            start=start,
            end=end,
            as_of=as_of,
            generated_at=self._clock().replace(microsecond=0),
            currency=self.currency,
            sections=self.settings.sections,
            fdr=self.settings.fdr,
        )
        notes: list[str] = []
        parts: dict[str, Any] = {}
        for section in self.settings.sections:
            parts |= getattr(self, f"_{section}")(pack, notes)
        return _replace(pack, **parts, notes=tuple(notes))

    # -- period ------------------------------------------------------------------------------
    def _period(self, period: str, grain: str | None) -> tuple[dt.date, P.Grain]:
        if grain is not None and grain not in GRAINS:
            raise ReviewError(f"Grain {grain!r} is not one of {', '.join(GRAINS)}.")
        if grain == "week":
            try:
                day = dt.date.fromisoformat(period)
            except ValueError:
                raise ReviewError(
                    f"A weekly pack's period is a day of the week, such as 2026-03-02 (got "
                    f"{period!r})."
                ) from None
            return P.floor(day, "week", self.fy_start), "week"
        try:
            start, found = P.parse_label(period, self.fy_start)
        except (MetricError, ValueError) as exc:
            raise ReviewError(
                f"{period!r} is not a period: {exc}", "Write 2026-03, 2026-Q1 or FY2026-Q1."
            ) from None
        if found not in ("month", "quarter") or (grain is not None and grain != found):
            raise ReviewError(
                f"{period!r} is a {found}; a pack is for a week, month or quarter.",
                "Write 2026-03 (month) or 2026-Q1 (quarter), or --grain week with a day.",
            )
        return start, found

    # -- sections ----------------------------------------------------------------------------
    def _scores(self, pack: Pack, metrics: Sequence[str], flags: dict[str, str]) -> list[Score]:
        g = pack.grain
        previous = P.shift(pack.start, g, -1)  # type: ignore[arg-type]
        result = self.metrics.query(
            list(metrics),
            grain=g,
            start=previous,
            end=pack.end,
            intervals=True,
            as_of=pack.as_of,
        )
        rows: dict[tuple[str, dt.date], dict[str, Any]] = {
            (r["metric"], r["period"]): r for r in result.to_pylist() if r["is_total"]
        }
        goals = self._pacing(pack, metrics)
        out = []
        for m in metrics:
            spec = self.metrics.get(m)
            now, before = rows.get((m, pack.start), {}), rows.get((m, previous), {})
            value, prev = now.get("value"), before.get("value")
            change = None if value is None or prev is None else value - prev
            immature = bool(now.get("immature"))
            flag = flags.get(spec.table or "")
            if immature:
                flag = (
                    f"cohort still maturing (its youngest members {now.get('age_days')} of "
                    f"{spec.window_days} days in)"
                )
            out.append(
                Score(
                    metric=m,
                    label=spec.label,
                    unit=spec.unit,
                    owners=spec.owners,
                    direction=spec.direction,
                    value=value,
                    previous=prev,
                    change=change,
                    ci_low=now.get("ci_low"),
                    ci_high=now.get("ci_high"),
                    n=now.get("n"),
                    immature=immature,
                    goal=goals.get(m),
                    flag=flag,
                )
            )
        return out

    def _pacing(self, pack: Pack, metrics: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The company-wide goal of each metric whose period holds the pack's, as paced."""
        wanted = set(metrics)
        chosen = [
            g
            for g in self.goals.list()
            if g.metric in wanted and not g.segment and g.start <= pack.start < g.end
        ]
        if not chosen:
            return {}
        day = min(pack.as_of.date(), max(g.end for g in chosen) - dt.timedelta(days=1))
        paced: list[Pacing] = self.goals.pacing(chosen, as_of=day)
        return {
            p.goal.metric: {
                "period": p.goal.period,
                "target": p.goal.target,
                "status": p.status,
                "projected": p.projected,
                "low": p.projected_low,
                "high": p.projected_high,
                "probability": p.probability,
                "actual": p.actual,
            }
            for p in paced
        }

    def _flags(self) -> dict[str, str]:
        status = self._status()
        return {
            t: f"{n:,} refused rows in {t} not loaded"
            for t, n in sorted(status.quarantine_counts.items())
            if n
        }

    def _scorecard(self, pack: Pack, notes: list[str]) -> dict[str, Any]:
        ids = list(self.metrics.catalogue.scorecard_metrics())  # the scorecard both teams agreed
        return {"scorecard": tuple(self._scores(pack, ids, self._flags()))}

    def _definitions(self, pack: Pack, notes: list[str]) -> dict[str, Any]:
        g = cast(P.Grain, pack.grain)
        last = P.end(P.end(pack.start, g), g) - dt.timedelta(days=1)
        window: dict[str, Any] = {"definitions_range": (pack.start, last)}
        if self.proposals is None:
            notes.append("Definition changes are not shown: no proposals history was given.")
            return window
        try:
            found = agreed(
                self.proposals,
                self.metrics.definitions,
                since=dt.datetime.combine(pack.start, dt.time()),
                until=dt.datetime.combine(last + dt.timedelta(days=1), dt.time()),
            )
        except (AppDatabaseError, ProgrammingError) as exc:  # not migrated, or not reachable
            problem = exc.problem if isinstance(exc, AppDatabaseError) else str(exc.orig)
            notes.append(
                "Definition changes are not shown: the application database could not be read ("
                f"{problem.splitlines()[0] if problem else type(exc).__name__}); "
                "`revteam db upgrade` adds the proposals tables."
            )
            return window
        return window | {"definitions": tuple(found)}

    def _changes(self, pack: Pack, notes: list[str]) -> dict[str, Any]:
        found: list[tuple[float, str, str, dict[str, Any]]] = []
        scanned = 0
        candidates = [s.id for s in self.metrics.list(owners="shared") if self._is_rate(s.id)]
        for metric in candidates:
            for dim in ("", *self.settings.change_dimensions):
                if dim and dim not in self.metrics.dimensions(metric):
                    continue
                try:
                    table = self.stats.anomalies(
                        metric,
                        by=[dim] if dim else [],
                        grain=pack.grain,
                        alpha=self.settings.fdr,
                        as_of=pack.as_of,
                    )
                except (StatsError, MetricError):
                    continue
                scanned += 1
                found += [
                    (r["p_adjusted"], metric, dim, r)
                    for r in table.to_pylist()
                    if r["period"] == pack.start
                ]
        found.sort(key=lambda t: (t[0], t[1], t[2], str(t[3]["segment"])))
        names = self._campaign_names()
        changes = [
            self._explain(pack, metric, dim, row, names)
            for _, metric, dim, row in found[: self.settings.max_changes]
        ]
        if len(found) > self.settings.max_changes:
            notes.append(
                f"{len(found) - self.settings.max_changes} more changes beyond noise are not "
                f"shown (review.max_changes = {self.settings.max_changes})."
            )
        return {"changes": tuple(changes), "changes_scanned": scanned}

    def _is_rate(self, metric: str) -> bool:
        """A share of records (cohort rates, count ratios): binomial noise is known exactly.

        Counts and sums move with campaign flights, seasons and single large deals; a pack that
        called each of those a change would bury the real ones, so it scans rates only.
        """
        spec = self.metrics.get(metric)
        if spec.kind == "cohort_rate":
            return True
        if spec.kind != "ratio" or spec.unit != "percent":
            return False
        parts = [p for p in (spec.numerator, spec.denominator) if p is not None]
        return len(parts) == 2 and all(
            p.aggregate == "count"
            or (p.metric is not None and self.metrics.get(p.metric).kind == "count")
            for p in parts
        )

    def _campaign_names(self) -> dict[str, tuple[str, str]]:
        table = self.metrics.relation("campaigns", ["campaign_id", "name", "channel"])
        return {
            r["campaign_id"]: (r["name"] or r["campaign_id"], r["channel"] or "")
            for r in table.to_pylist()
        }

    def _explain(
        self,
        pack: Pack,
        metric: str,
        dim: str,
        row: dict[str, Any],
        names: dict[str, tuple[str, str]],
    ) -> Change:
        spec = self.metrics.get(metric)
        unit = spec.unit
        segment = "" if row["segment"] is None else str(row["segment"])
        label = _segment_label(dim, segment, names)
        where_dim, where_value = dim, segment
        if dim == "campaign" and segment in names and names[segment][1]:
            where_dim, where_value = "channel", names[segment][1]
        fell = row["direction"] == "down"
        size = _amount(abs(row["change"]), unit, pack.currency)
        verb = "fell" if fell else "rose"
        p_text = f"adjusted p {row['p_adjusted']:.1g}"
        if row["kind"] == "shift" and row.get("level") is not None:
            headline = (
                f"{spec.label} {verb} {size} in {label} from {pack.period}: a lasting shift from "
                f"{pack.fmt(row['expected'], unit)} to {pack.fmt(row['level'], unit)} "
                f"({pack.fmt(row['value'], unit)} in {pack.period}; {p_text})."
            )
        else:
            headline = (
                f"{spec.label} {verb} {size} in {label} in {pack.period}: "
                f"{pack.fmt(row['value'], unit)} against {pack.fmt(row['expected'], unit)} "
                f"expected (a one-period spike; {p_text})."
            )
        driver = self._driver(pack, metric, where_dim, where_value, dim, segment, names)
        return Change(
            metric=metric,
            label=spec.label,
            unit=unit,
            dimension=dim or "total",
            segment=segment,
            segment_label=label,
            kind=row["kind"],
            direction=row["direction"],
            value=row["value"],
            expected=row["expected"],
            level=row.get("level"),
            change=row["change"],
            p_adjusted=row["p_adjusted"],
            good=(row["direction"] == "up") == (spec.direction == "higher"),
            headline=headline,
            driver=driver,
            series=self._series(pack, metric, dim, segment),
        )

    def _driver(
        self,
        pack: Pack,
        metric: str,
        where_dim: str,
        where_value: str,
        dim: str,
        segment: str,
        names: dict[str, tuple[str, str]],
    ) -> str:
        """The change of the enclosing segment split by the finer dimension, in a sentence."""
        by = DRIVER_BY.get(where_dim, "channel") if where_dim else "channel"
        where = {where_dim: [where_value]} if where_dim else None
        try:
            table = self.stats.drivers(
                metric, by=by, period=pack.start, grain=pack.grain, where=where, as_of=pack.as_of
            )
        except (StatsError, MetricError) as exc:
            return f"No decomposition: {exc}"
        from revteam.stats import meta_of

        meta = meta_of(table)
        rows = table.to_pylist()
        if dim == by:  # the anomaly's own segment first: it is what the meeting asks about
            rows.sort(key=lambda r: r["segment"] != segment)
        if not rows:
            return "No segment explains it."
        top = rows[0]
        spec = self.metrics.get(metric)
        unit = spec.unit
        scope = _segment_label(where_dim, where_value, names) if where_dim else "the company"
        before, after = meta.get("value_before"), meta.get("value_after")
        total = meta.get("change")
        what = _segment_label(by, str(top["segment"]), names)
        if top["effect"] == "rate":
            part = (
                f"{what}'s rate {'fell' if top['value_after'] < top['value_before'] else 'rose'} "
                f"from {pack.fmt(top['value_before'], unit)} to "
                f"{pack.fmt(top['value_after'], unit)}"
            )
        elif top["effect"] == "mix":
            part = (
                f"{what}'s share moved from {pack.fmt(top['share_before'], 'percent')} to "
                f"{pack.fmt(top['share_after'], 'percent')}"
            )
        else:
            part = (
                f"{what} went from {pack.fmt(top['value_before'], unit)} to "
                f"{pack.fmt(top['value_after'], unit)}"
            )
        noise = "" if top.get("significant") else " (could be noise)"
        return (
            f"In {scope}, {spec.label} went from {pack.fmt(before, unit)} to "
            f"{pack.fmt(after, unit)} ({_signed(total, unit, pack.currency)}) against "
            f"{meta.get('baseline_period')}: {part}, "
            f"{_signed(top['contribution'], unit, pack.currency)} of it{noise}."
        )

    def _series(
        self, pack: Pack, metric: str, dim: str, segment: str
    ) -> tuple[tuple[str, float | None], ...]:
        first = P.shift(pack.start, pack.grain, -11)  # type: ignore[arg-type]
        result = self.metrics.query(
            metric,
            grain=pack.grain,
            start=first,
            end=pack.end,
            where={dim: [segment]} if dim else None,
            as_of=pack.as_of,
        )
        rows = [r for r in result.to_pylist() if r["is_total"]]
        rows.sort(key=lambda r: r["period"])
        return tuple((str(r["period_label"]), r["value"]) for r in rows)

    def _sla(self, pack: Pack, notes: list[str]) -> dict[str, Any]:
        ids = [m for m in (*SLA_MARKETING, *SLA_SALES, SLA_OPEN) if m in self.metrics.catalogue]
        scores = {s.metric: s for s in self._scores(pack, ids, {})}
        sides = []
        for side, owners, metrics in (
            ("Marketing: MQL volume", "marketing", SLA_MARKETING),
            ("Sales: follow-up", "sales", SLA_SALES),
        ):
            rows = tuple(scores[m] for m in metrics if m in scores)
            breaches = tuple(
                f"{s.label}: {pack.fmt(s.value, s.unit)} against a target of "
                f"{pack.fmt(s.goal['target'], s.unit)} ({s.goal['status'].replace('_', ' ')})"
                for s in rows
                if s.goal and s.goal["status"] != "on_track"
            )
            sides.append(SlaSide(side, owners, rows, breaches))
        open_ = scores.get(SLA_OPEN)
        return {"sla": tuple(sides), "sla_not_worked": open_.value if open_ else None}

    def _campaigns(self, pack: Pack, notes: list[str]) -> dict[str, Any]:
        metric = self.settings.rank_metric
        if metric not in self.metrics.catalogue:
            notes.append(f"review.rank_metric {metric!r} is not a metric: no campaign ranking.")
            return {}
        # A cohort rate of a period still inside its window cannot rank yet: rank the newest
        # mature months instead (as many as the period has, at least three), and say so.
        start, end = (
            pack.start,
            self.metrics.mature_end(metric, pack.end, grain="month", as_of=pack.as_of),
        )
        if end < pack.end:
            months = max(3, P.count(pack.start, pack.end, "month"))
            start = P.shift(P.floor(end, "month"), "month", 1 - months)
            notes.append(
                f"Campaigns are ranked over {start} to {end}: the {self.metrics.get(metric).label}"
                f" cohorts of {pack.period} are still inside their window."
            )
        if end < start:
            notes.append(f"No campaign ranking: no mature {metric} cohorts yet.")
            return {"rank_metric": metric, "rank_label": self.metrics.get(metric).label}
        try:
            table = self.stats.rank(metric, by="campaign", start=start, end=end, as_of=pack.as_of)
        except (StatsError, MetricError) as exc:
            notes.append(f"No campaign ranking: {exc}")
            return {"rank_metric": metric, "rank_label": self.metrics.get(metric).label}
        names = self._campaign_names()
        ranked = [
            Ranked(
                rank=int(r["rank"]),
                segment=str(r["segment"]),
                name=names.get(str(r["segment"]), (str(r["segment"]), ""))[0],
                shrunk=float(r["shrunk_rate"]),
                low=float(r["ci_low"]),
                high=float(r["ci_high"]),
                raw=float(r["raw_rate"]),
                n=int(r["denominator"]),
                small=bool(r["small_sample"]),
            )
            for r in table.to_pylist()
            if r["segment"] is not None
        ]
        k = self.settings.top_campaigns
        top = ranked[:k]
        bottom = [r for r in ranked[-k:] if r not in top]
        return {
            "campaigns_top": tuple(top),
            "campaigns_bottom": tuple(bottom),
            "rank_range": (start, end),
            "rank_metric": metric,
            "rank_label": self.metrics.get(metric).label,
        }

    def _attribution(self, pack: Pack, notes: list[str]) -> dict[str, Any]:
        cat = self.metrics.catalogue
        ids = [m for m in RETURN_METRICS if m in cat]
        try:
            result = self.metrics.query(
                ids,
                grain="all",
                start=pack.start,
                end=pack.end,
                by=["channel"],
                as_of=pack.as_of,
            )
        except MetricError as exc:
            notes.append(f"No return by channel: {exc}")
            return {}
        rows: dict[tuple[bool, str | None], dict[str, float | None]] = {}
        models = set()
        for r in result.to_pylist():
            rows.setdefault((bool(r["is_total"]), r["channel"]), {})[r["metric"]] = r["value"]
            if r.get("attribution_model"):
                models.add(r["attribution_model"])
        revenue = "attributed_revenue"
        ordered = sorted(
            rows.items(),
            key=lambda kv: (kv[0][0], -(kv[1].get(revenue) or 0.0), str(kv[0][1])),
        )
        return {
            "returns": tuple(ChannelReturn(ch, total, v) for (total, ch), v in ordered),
            "returns_columns": tuple((m, cat[m].label, cat[m].unit) for m in ids),
            "returns_model": ", ".join(sorted(models)),
        }

    def _cohorts(self, pack: Pack, notes: list[str]) -> dict[str, Any]:
        ids = [s.id for s in self.metrics.list() if s.kind == "cohort_rate"]
        result = self.metrics.query(
            ids, grain=pack.grain, start=pack.start, end=pack.end, as_of=pack.as_of
        )
        out = []
        for r in sorted(result.to_pylist(), key=lambda r: r["metric"]):
            if r["is_total"] and r["period"] == pack.start and r["immature"]:
                spec = self.metrics.get(r["metric"])
                out.append(
                    Maturing(
                        metric=r["metric"],
                        label=spec.label,
                        value=r["value"],
                        age_days=r["age_days"],
                        window_days=r["window_days"],
                        n=r["n"],
                    )
                )
        return {"cohorts": tuple(out)}

    def _actions(self, pack: Pack, notes: list[str]) -> dict[str, Any]:
        since = dt.datetime.combine(pack.start, dt.time())
        items = self.actions.list(closed_since=since)
        return {
            "actions_open": tuple(i for i in items if i.status == "open"),
            "actions_closed": tuple(i for i in items if i.status == "closed"),
        }

    def _data(self, pack: Pack, notes: list[str]) -> dict[str, Any]:
        status = self._status()
        if pack.as_of.date() < pack.end:
            notes.append(
                f"The data ends on {pack.as_of:%Y-%m-%d}, before {pack.period} does: its counts "
                "and sums are not final."
            )
        out = []
        for t in sorted(status.tables, key=lambda t: t.name):
            latest = t.max_time
            day = latest.date() if isinstance(latest, dt.datetime) else latest
            out.append(
                TableFreshness(
                    table=t.name,
                    rows=int(t.rows),
                    latest=None if latest is None else str(latest)[:19],
                    refused=int(status.quarantine_counts.get(t.name, 0)),
                    # Sparse tables (accounts, campaigns) need not have a record every day, but
                    # a table with none since the period began has not been loaded for it.
                    stale=bool(t.rows) and isinstance(day, dt.date) and day < pack.start,
                )
            )
        return {"data": tuple(out)}


def _replace(pack: Pack, **changes: Any) -> Pack:
    from dataclasses import replace

    return replace(pack, **changes)


def _segment_label(dim: str, segment: str, names: dict[str, tuple[str, str]]) -> str:
    if not dim:
        return "the company"
    if not segment:
        return f"records without a {dim.replace('_', ' ')}"
    if dim == "campaign" and segment in names:
        name, channel = names[segment]
        return f"campaign {segment} “{name}” ({channel})" if channel else f"campaign {segment}"
    return f"{dim.replace('_', ' ')} {segment}"


def _amount(value: float, unit: str, currency: str) -> str:
    if unit == "percent":
        return f"{value * 100:.1f} pts"
    return display(value, unit, currency=currency)


def _signed(value: float | None, unit: str, currency: str) -> str:
    if value is None:
        return "—"
    sign = "+" if value >= 0 else MINUS
    return sign + _amount(abs(value), unit, currency)
