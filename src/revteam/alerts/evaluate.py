"""Evaluating a rule: what it finds now, as :class:`~revteam.alerts.store.Finding` objects.

Every number is a question to the components below (the metric layer, the statistics package,
the goals' pacing, the review pack, ``ws.status()``); this module only chooses which question
each kind asks and keys what it finds, so the same condition has the same key every time:

- ``threshold``: the metric (and segment) and the period it breached;
- ``off_pace`` and ``sla_breach``: the goal;
- ``anomaly``: the metric, dimension, segment and direction of the move. The detector dates a
  lasting shift at its first period but can only see it once the periods after it are in, so a
  shift counts while it began within the detector's window before the latest scored period;
  a spike counts in the latest scored period. A shift and the spikes inside it are one
  condition, alerted once;
- ``stale_data``: ``load``, or ``records`` (``records:TABLE`` per table named);
- ``review_pack``: the pack's period and the scheduled time (an event: sent once);
- ``definition_change``: the metric and version (an event: sent once), for every version agreed
  since the rule was added; its signers are the finding's own recipients;
- ``score_degraded``: ``score``, with the month it was found in (one condition a month).

The rule sees the data as of the earlier of now and the data's own as-of time, so a clock
moved back (tests, replays) sees the data as it was then.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, urlencode, urlsplit
from zoneinfo import ZoneInfo

from revteam.alerts.rules import OPS, Rule, find_goal
from revteam.alerts.store import Attachment, Finding
from revteam.exceptions import AlertError, MetricError, ScoringError, StatsError
from revteam.metrics import periods as P
from revteam.metrics.format import display
from revteam.settings import Settings

if TYPE_CHECKING:
    from revteam.goals import Goal, GoalsComponent, Pacing
    from revteam.ingest.status import WorkspaceStatus
    from revteam.metrics import MetricsComponent, MetricSpec
    from revteam.proposals import ProposalStore
    from revteam.review import ReviewComponent
    from revteam.review.definitions import DefinitionChange
    from revteam.scoring import ScoringComponent
    from revteam.stats import StatsComponent

PUBLIC_URL_ENV = "REVTEAM_PUBLIC_URL"
STATUS_TEXT = {"on_track": "on track", "at_risk": "at risk", "off_track": "off track"}


class Facts(Protocol):
    """What a rule may ask: a workspace (``revteam.open``) is one."""

    @property
    def metrics(self) -> MetricsComponent: ...
    @property
    def stats(self) -> StatsComponent: ...
    @property
    def goals(self) -> GoalsComponent: ...
    @property
    def review(self) -> ReviewComponent: ...
    @property
    def proposals(self) -> ProposalStore: ...
    @property
    def scoring(self) -> ScoringComponent: ...
    @property
    def data_version(self) -> int: ...
    def status(self) -> WorkspaceStatus: ...


@dataclass(frozen=True)
class Moment:
    """When a rule is evaluated: now (naive UTC), now in the workspace's zone, the due time."""

    now: dt.datetime
    local: dt.datetime
    due: dt.datetime | None = None
    """The scheduled occurrence (naive UTC) a scheduled rule runs for."""

    @classmethod
    def at(cls, now: dt.datetime, timezone: str, due: dt.datetime | None = None) -> Moment:
        local = now.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(timezone)).replace(tzinfo=None)
        return cls(now, local, due)


def public_url() -> str:
    """``REVTEAM_PUBLIC_URL`` without its trailing slash; empty (relative links) if unset."""
    url = os.environ.get(PUBLIC_URL_ENV, "").strip().rstrip("/")
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else ""


def records_link(
    metric: str,
    start: dt.date | None,
    end: dt.date | None,
    *,
    grain: str = "month",
    segment: dict[str, str] | None = None,
    base: str = "",
) -> str:
    """The Records page behind a number (``{REVTEAM_PUBLIC_URL}/records?metric=…``)."""
    params: list[tuple[str, str]] = [("metric", metric)]
    params += [(k, v.isoformat()) for k, v in (("start", start), ("end", end)) if v]
    if grain != "month":
        params.append(("grain", grain))
    params += sorted((segment or {}).items())
    return f"{base}/records?{urlencode(params)}"


class Evaluator:
    """Turns a rule and the workspace's facts into findings (see the module's docstring)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.fy = settings.fiscal_year_start_month

    def evaluate(self, rule: Rule, facts: Facts, moment: Moment) -> list[Finding]:
        found: list[Finding] = getattr(self, f"_{rule.kind}")(rule, facts, moment)
        return found

    # -- helpers -----------------------------------------------------------------------------
    def _fmt(self, value: float | None, unit: str) -> str:
        return display(value, unit, currency=self.settings.currency)

    @staticmethod
    def _as_of(facts: Facts, moment: Moment) -> dt.datetime:
        return min(moment.local, facts.metrics.as_of())

    @staticmethod
    def _metric(spec: MetricSpec) -> dict[str, Any]:
        return {
            "id": spec.id,
            "label": spec.label,
            "description": spec.description,
            "owners": spec.owners,
            "unit": spec.unit,
        }

    @staticmethod
    def _where(segment: dict[str, str]) -> str:
        return ", ".join(f"{d}={v}" for d, v in segment.items())

    # -- kinds -------------------------------------------------------------------------------
    def _threshold(self, rule: Rule, facts: Facts, moment: Moment) -> list[Finding]:
        p = rule.params
        metrics = facts.metrics
        spec = metrics.get(p["metric"])
        grain = p["grain"]
        segment: dict[str, str] = dict(p.get("segment") or {})
        as_of = self._as_of(facts, moment)
        start = P.latest_complete(as_of, grain, self.fy, spec.window_days)
        end = P.end(start, grain) - dt.timedelta(days=1)
        options: dict[str, Any] = {
            "grain": grain,
            "start": start,
            "end": end,
            "where": {d: [v] for d, v in segment.items()} or None,
            "as_of": as_of,
        }
        try:
            result = metrics.query(spec.id, intervals=True, **options)
        except (StatsError, MetricError):  # a metric without an interval still has a value
            result = metrics.query(spec.id, **options)
        rows = [r for r in result.to_pylist() if r["is_total"] and r["period"] == start]
        row: dict[str, Any] = rows[0] if rows else {}
        value = row.get("value")
        if value is None:
            return []
        threshold, op = float(p["value"]), p["op"]
        hit = {
            "<": value < threshold,
            "<=": value <= threshold,
            ">": value > threshold,
            ">=": value >= threshold,
        }[op]
        if not hit:
            return []
        period = P.label(start, grain, self.fy)
        where = self._where(segment)
        low, high = row.get("ci_low"), row.get("ci_high")
        title = (
            f"{spec.label}{f' ({where})' if where else ''}: {self._fmt(value, spec.unit)} in "
            f"{period}, {OPS[op]} {self._fmt(threshold, spec.unit)}"
        )
        detail = {
            "metric": self._metric(spec),
            "owners": spec.owners,
            "period": period,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "segment": segment,
            "value": value,
            "value_text": self._fmt(value, spec.unit),
            "threshold": {"op": op, "value": threshold},
            "interval": _interval(low, high, self._fmt(low, spec.unit), self._fmt(high, spec.unit)),
            "n": row.get("n"),
            "link": records_link(
                spec.id, start, end, grain=grain, segment=segment, base=public_url()
            ),
        }
        key = f"{spec.id}|{where}|{period}"
        return [Finding(key, title, detail)]

    def _goal_finding(
        self, goal: Goal, paced: Pacing, metrics: MetricsComponent, as_of: dt.date, key: str
    ) -> Finding:
        spec = metrics.get(goal.metric)
        unit = spec.unit
        segment = dict(goal.segment)
        where = self._where(segment)
        status = STATUS_TEXT.get(paced.status, paced.status)
        chance = "" if paced.probability is None else f" (chance {paced.probability:.0%})"
        title = (
            f"{spec.label} for {goal.period}{f' ({where})' if where else ''}: {status}, "
            f"projected {self._fmt(paced.projected, unit)} against a goal of "
            f"{self._fmt(goal.target, unit)}{chance}"
        )
        end = min(as_of, goal.end - dt.timedelta(days=1))
        detail = {
            "metric": self._metric(spec),
            "owners": list(goal.owners),
            "goal": {
                "id": goal.id,
                "period": goal.period,
                "target": goal.target,
                "direction": goal.direction,
                "status": paced.status,
                "state": paced.state,
                "probability": paced.probability,
            },
            "period": goal.period,
            "segment": segment,
            "value": paced.actual,
            "value_text": self._fmt(paced.actual, unit),
            "projected": paced.projected,
            "interval": _interval(
                paced.projected_low,
                paced.projected_high,
                self._fmt(paced.projected_low, unit),
                self._fmt(paced.projected_high, unit),
            ),
            "link": records_link(
                spec.id, goal.start, end, grain=goal.grain, segment=segment, base=public_url()
            ),
        }
        return Finding(key, title, detail)

    def _off_pace(self, rule: Rule, facts: Facts, moment: Moment) -> list[Finding]:
        p = rule.params
        goals = facts.goals
        if p.get("goal"):
            goal = goals.get(int(p["goal"]))
        else:
            found = find_goal(goals, p["metric"], p["period"], p.get("segment") or {})
            if found is None:
                raise AlertError(
                    f"There is no goal for {p['metric']} in {p['period']} any more.",
                    "Set it again (`revteam goals set`), or delete this rule.",
                )
            goal = found
        day = self._as_of(facts, moment).date()
        if day < goal.start:
            return []
        paced = goals.pacing([goal], as_of=min(day, goal.end - dt.timedelta(days=1)))[0]
        bad = {"off_track", "at_risk"} if p.get("at_risk") else {"off_track"}
        if paced.state == "upcoming" or paced.status not in bad:
            return []
        return [self._goal_finding(goal, paced, facts.metrics, day, f"goal {goal.id}")]

    def _sla_breach(self, rule: Rule, facts: Facts, moment: Moment) -> list[Finding]:
        p = rule.params
        wanted = set(p["metrics"])
        day = self._as_of(facts, moment).date()
        goals = facts.goals
        chosen = [g for g in goals.list() if g.metric in wanted and g.start <= day < g.end]
        if not chosen:
            example = p["metrics"][0]
            quarter = P.label(P.floor(day, "quarter", self.fy), "quarter", self.fy)
            raise AlertError(
                f"No goal of the SLA metrics ({', '.join(p['metrics'])}) covers {day}.",
                f"Set one, e.g. `revteam goals set {example} {quarter} TARGET`.",
            )
        bad = {"off_track", "at_risk"} if p.get("at_risk") else {"off_track"}
        out = []
        for goal, paced in zip(chosen, goals.pacing(chosen, as_of=day), strict=True):
            if paced.status in bad:
                key = f"{goal.metric}|{goal.period}|{self._where(dict(goal.segment))}"
                out.append(self._goal_finding(goal, paced, facts.metrics, day, key))
        return out

    def _anomaly(self, rule: Rule, facts: Facts, moment: Moment) -> list[Finding]:
        from revteam.stats.anomalies import WINDOWS

        p = rule.params
        metrics = facts.metrics
        spec = metrics.get(p["metric"])
        grain, dim = p["grain"], p.get("dimension")
        as_of = self._as_of(facts, moment)
        table = facts.stats.anomalies(
            spec.id,
            by=[dim] if dim else [],
            grain=grain,
            alpha=float(p["fdr"]),
            as_of=as_of,
            all_periods=True,
        )
        rows = table.to_pylist()
        if not rows:
            return []
        latest = max(r["period"] for r in rows)
        since = P.shift(latest, grain, 1 - WINDOWS[grain])
        recent = [
            r
            for r in rows
            if r["flagged"]
            and (r["period"] == latest or (r["kind"] == "shift" and r["period"] >= since))
        ]
        strongest: dict[tuple[str, str], dict[str, Any]] = {}
        for r in sorted(recent, key=lambda r: (r["p_adjusted"], r["period"])):
            segment = "" if not dim or r["segment"] is None else str(r["segment"])
            strongest.setdefault((segment, r["direction"]), r)
        names = self._names(metrics) if dim == "campaign" and strongest else {}
        out = []
        for (segment, direction), r in sorted(strongest.items()):
            out.append(
                self._anomaly_finding(spec, grain, dim, (segment, direction), r, names, as_of)
            )
        return out

    def _anomaly_finding(
        self,
        spec: MetricSpec,
        grain: P.Grain,
        dim: str | None,
        which: tuple[str, str],
        row: dict[str, Any],
        names: dict[str, str],
        as_of: dt.datetime,
    ) -> Finding:
        """The strongest recent row of one segment's move (``which``: segment, direction)."""
        segment, direction = which
        unit = spec.unit
        start: dt.date = row["period"]
        period = row["period_label"]
        where = {dim: segment} if dim and segment else {}
        if not dim:
            scope = "the company"
        elif not segment:
            scope = f"records without a {dim.replace('_', ' ')}"
        elif segment in names:
            scope = f"{dim} {segment} “{names[segment]}”"
        else:
            scope = f"{dim.replace('_', ' ')} {segment}"
        verb = "fell" if direction == "down" else "rose"
        p_text = f"adjusted p {row['p_adjusted']:.1g}"
        if row["kind"] == "shift" and row.get("level") is not None:
            title = (
                f"{spec.label} {verb} in {scope} from {period}: a lasting shift from "
                f"{self._fmt(row['expected'], unit)} to {self._fmt(row['level'], unit)} "
                f"({p_text})"
            )
        else:
            title = (
                f"{spec.label} {verb} in {scope} in {period}: {self._fmt(row['value'], unit)} "
                f"against {self._fmt(row['expected'], unit)} expected ({p_text})"
            )
        end = min(P.end(start, grain) - dt.timedelta(days=1), as_of.date())
        detail = {
            "metric": self._metric(spec),
            "owners": spec.owners,
            "period": period,
            "start": start.isoformat(),
            "segment": where,
            "value": row["value"],
            "value_text": self._fmt(row["value"], unit),
            "expected": row["expected"],
            "expected_text": self._fmt(row["expected"], unit),
            "anomaly": {
                "kind": row["kind"],
                "direction": direction,
                "level": row.get("level"),
                "change": row.get("change"),
                "p_adjusted": row["p_adjusted"],
            },
            "interval": None,
            "n": row.get("n"),
            "link": records_link(
                spec.id, start, end, grain=grain, segment=where, base=public_url()
            ),
        }
        key = f"{spec.id}|{dim or 'total'}|{segment}|{direction}"
        return Finding(key, title, detail)

    @staticmethod
    def _names(metrics: MetricsComponent) -> dict[str, str]:
        table = metrics.relation("campaigns", ["campaign_id", "name"])
        return {r["campaign_id"]: r["name"] for r in table.to_pylist() if r["name"]}

    def _score_degraded(self, rule: Rule, facts: Facts, moment: Moment) -> list[Finding]:
        try:
            found = facts.scoring.monitor(as_of=self._as_of(facts, moment))
        except ScoringError:
            return []  # a score the data cannot support yet has nothing to degrade
        if not found["degraded"]:
            return []
        month = found["months"][-1]["month"]
        return [
            Finding(
                f"score:{month}",
                "The lead score has degraded: " + "; ".join(found["reasons"]),
                {
                    "reasons": found["reasons"],
                    "month": month,
                    "owners": "shared",
                    "link": f"{public_url()}/lead-scoring",
                },
            )
        ]

    def _stale_data(self, rule: Rule, facts: Facts, moment: Moment) -> list[Finding]:
        p = rule.params
        hours = float(p["hours"])
        span = f"{hours:g} hour{'' if hours == 1 else 's'}"
        limit = moment.local - dt.timedelta(hours=hours)
        status = facts.status()
        out = []
        loads = [
            r["finished_at"]
            for r in status.last_runs
            if r.get("status") == "ok" and isinstance(r.get("finished_at"), dt.datetime)
        ]
        last_load = max(loads, default=None)
        if last_load is None or last_load < limit:
            when = "never" if last_load is None else f"last at {last_load:%Y-%m-%d %H:%M}"
            out.append(
                Finding(
                    "load",
                    f"No data loaded for {span} ({when})",
                    {
                        "hours": hours,
                        "last_load": None if last_load is None else last_load.isoformat(),
                        "owners": "revops",
                        "link": f"{public_url()}/data",
                    },
                )
            )
        newest: dict[str, dt.datetime] = {}
        for t in status.tables:
            moment_ = _moment(t.max_time) if t.rows else None
            if moment_ is not None:
                newest[t.name] = moment_
        groups = [[t] for t in p["tables"]] if p.get("tables") else [sorted(newest)]
        for tables in groups:
            latest = max((newest[t] for t in tables if t in newest), default=None)
            if latest is not None and latest >= limit:
                continue
            named = f" in {tables[0]}" if p.get("tables") else ""
            when = "none at all" if latest is None else f"newest {latest:%Y-%m-%d %H:%M}"
            out.append(
                Finding(
                    f"records:{tables[0]}" if p.get("tables") else "records",
                    f"No new records{named} for {span} ({when})",
                    {
                        "hours": hours,
                        "tables": tables,
                        "newest": None if latest is None else latest.isoformat(),
                        "owners": "revops",
                        "link": f"{public_url()}/data",
                    },
                )
            )
        return out

    def _review_pack(self, rule: Rule, facts: Facts, moment: Moment) -> list[Finding]:
        p = rule.params
        grain, attach = p["grain"], p["attach"]
        as_of = self._as_of(facts, moment)
        start = P.latest_complete(as_of, grain, self.fy)
        asked = start.isoformat() if grain == "week" else P.label(start, grain, self.fy)
        pack = facts.review.pack(asked, grain=grain)
        name = f"revteam-review-{pack.period}.{attach}"
        mime = "application/pdf" if attach == "pdf" else "text/html"

        def attachment() -> Attachment:
            from revteam.review import render  # the pack is built: no warehouse needed

            return Attachment(name, render(pack, attach), mime)

        changes = [c.headline for c in pack.changes]
        text = [f"The review pack of {pack.period} is attached ({attach.upper()})."]
        text += (
            [f"{len(changes)} change(s) beyond noise:", *(f"- {h}" for h in changes[:5])]
            if changes
            else ["Nothing moved beyond noise."]
        )
        agreed = [f"{d.label}, version {d.version}: {d.reason}" for d in pack.definitions]
        if agreed:
            text += [f"{len(agreed)} definition(s) changed:", *(f"- {a}" for a in agreed[:5])]
        detail = {
            "period": pack.period,
            "start": pack.start.isoformat(),
            "end": pack.end.isoformat(),
            "changes": changes,
            "definitions": agreed,
            "text": text,
            "owners": "shared",
            "link": f"{public_url()}/review?{urlencode({'period': asked, 'grain': grain})}",
        }
        due = moment.due or moment.now
        key = f"{pack.period}|{due.isoformat(timespec='minutes')}"
        title = f"Review pack {pack.period}: {len(changes)} change(s) beyond noise"
        return [Finding(key, title, detail, event=True, later=attachment)]

    def _definition_change(self, rule: Rule, facts: Facts, moment: Moment) -> list[Finding]:
        from revteam.review.definitions import agreed

        proposals = facts.proposals
        found = agreed(
            proposals,
            proposals.definitions,
            since=rule.created_at or moment.now,
            metrics=rule.params.get("metrics") or (),
        )
        return [self._definition_finding(c, proposals) for c in found]

    def _definition_finding(self, change: DefinitionChange, proposals: ProposalStore) -> Finding:
        from revteam.review.definitions import is_metric

        c = change
        catalogue = proposals.definitions.catalogue
        what = f"{c.label} ({c.metric})" if is_metric(c.metric) else c.label
        text = [
            f"Version {c.version} of the definition of {what} was agreed on "
            f"{c.approved_at:%Y-%m-%d %H:%M} UTC, replacing {c.replaced} (proposal "
            f"#{c.proposal_id}).",
            f"Why: {c.reason}",
            f"{c.signed()}.",
        ]
        if c.fields:
            text += ["What changed:", *(f"- {f.describe()}" for f in c.fields)]
        path = f"/catalogue/{quote(c.metric)}" if is_metric(c.metric) else "/catalogue"
        detail: dict[str, Any] = {
            "owners": c.owners,
            "definition": c.as_dict(),
            "text": text,
            "link": f"{public_url()}{path}",
            "link_label": "The definition",
        }
        if c.metric in catalogue:
            detail["metric"] = self._metric(catalogue[c.metric])
        title = f"{what}: definition version {c.version} agreed"
        return Finding(f"{c.metric}|v{c.version}", title, detail, event=True, recipients=c.signers)


def _interval(low: Any, high: Any, low_text: str, high_text: str) -> dict[str, Any] | None:
    if low is None or high is None:
        return None
    return {"low": low, "high": high, "text": f"{low_text} to {high_text}"}


def _moment(value: Any) -> dt.datetime | None:
    """A table's newest time as a datetime (a date counts to its end)."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time.max)
    return None
