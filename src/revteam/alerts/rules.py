"""What an alert rule is: a kind with its options, a schedule, channels, an owner.

Kinds (``KINDS``), each with its own options; an option another kind takes is refused, so a
rule means what it says:

- ``threshold``: a catalogue metric's latest complete period (for a cohort rate, its newest
  mature one) at ``grain`` compared with ``op`` and ``value`` (in the metric's unit: a rate is
  ``0.4`` or ``"40%"``), optionally for one ``segment``;
- ``off_pace``: a goal (``goal`` id, or ``metric`` and ``period`` with an optional ``segment``)
  whose pacing is ``off_track``, or also ``at_risk`` with ``at_risk``;
- ``anomaly``: a metric moving beyond noise at false-discovery rate ``fdr``, in total or by one
  ``dimension``, in the latest complete period (a lasting shift counts while it is recent);
- ``sla_breach``: the SLA metrics (``mqls_worked_1h_rate``, ``mqls_worked_24h_rate``,
  ``mqls_not_worked``, or those named) off track against their goals;
- ``stale_data``: no successful load, or no new records (in ``tables``), for ``hours``;
- ``review_pack``: the review pack of the latest complete ``grain`` (week, month, quarter),
  ``attach`` as PDF or HTML, sent on its ``schedule`` (required);
- ``definition_change``: a definition (of one of ``metrics``, or any) agreed by its owners after
  the rule was added; besides the rule's channels, the proposer and the approver of each team
  are e-mailed, so it may have no channel of its own;
- ``score_degraded``: the lead score's monitoring (``ws.scoring.monitor``) finds its latest
  month's scores drifted far from those it was measured on, or ranking worse than then.

Channels are e-mail addresses and webhook URLs (``json``: a generic body, ``slack``: Slack's
``{"text", "blocks"}``). Webhook URLs often carry a secret, so they are only ever shown
shortened (:meth:`Channel.label`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import urlsplit

from revteam.alerts.schedule import parse_schedule
from revteam.exceptions import AlertError, GoalError, UnknownGoalError
from revteam.metrics import periods as P

if TYPE_CHECKING:
    from revteam.goals import GoalBook
    from revteam.metrics import Definitions, MetricSpec

Kind = Literal[
    "threshold",
    "off_pace",
    "anomaly",
    "sla_breach",
    "stale_data",
    "review_pack",
    "definition_change",
    "score_degraded",
]
KINDS: tuple[str, ...] = (
    "threshold",
    "off_pace",
    "anomaly",
    "sla_breach",
    "stale_data",
    "review_pack",
    "definition_change",
    "score_degraded",
)
SIGNED_OFF = ("definition_change",)
"""Kinds whose alerts also go to the people who signed the change off: their channels are
optional."""
OPS: dict[str, str] = {"<": "below", "<=": "at or below", ">": "above", ">=": "at or above"}
THRESHOLD_GRAINS = ("day", "week", "month", "quarter", "year")
ANOMALY_GRAINS = ("week", "month", "quarter")
PACK_GRAINS = ("week", "month", "quarter")
SLA_METRICS = ("mqls_worked_1h_rate", "mqls_worked_24h_rate", "mqls_not_worked")
DEFAULT_FDR = 0.01
"""The statistics package's default: alerts go to busy people, a false alarm costs most."""
MAX_NAME, MAX_CHANNELS, MAX_TARGET, MAX_OWNER = 100, 20, 2000, 320
MAX_SEGMENT, MAX_TABLES, MAX_HOURS, MAX_METRICS = 3, 20, 24 * 366, 20
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
OPTIONS = (
    "metric",
    "op",
    "value",
    "segment",
    "grain",
    "dimension",
    "fdr",
    "goal",
    "period",
    "at_risk",
    "metrics",
    "hours",
    "tables",
    "attach",
)
"""Every kind-specific option of :class:`RuleSpec`."""
_OPTIONS: dict[str, tuple[str, ...]] = {
    "threshold": ("metric", "op", "value", "segment", "grain"),
    "off_pace": ("goal", "metric", "period", "segment", "at_risk"),
    "anomaly": ("metric", "dimension", "fdr", "grain"),
    "sla_breach": ("metrics", "at_risk"),
    "stale_data": ("hours", "tables"),
    "review_pack": ("grain", "attach"),
    "definition_change": ("metrics",),
    "score_degraded": (),
}
"""The options each kind takes (``RuleSpec`` field names)."""
MANY_METRICS: tuple[str, ...] = tuple(k for k, o in _OPTIONS.items() if "metrics" in o)
"""Kinds that watch several metrics (``metrics``; the faces' repeatable ``--metric``)."""


@dataclass(frozen=True)
class Channel:
    """Where a rule's alerts go: an e-mail address, or a webhook URL with its body format."""

    type: Literal["email", "webhook"]
    target: str
    format: Literal["email", "json", "slack"] = "email"

    @classmethod
    def email(cls, address: str) -> Channel:
        return cls("email", address)

    @classmethod
    def webhook(cls, url: str, fmt: str = "json") -> Channel:
        if fmt not in ("json", "slack"):
            raise AlertError(f"A webhook's format is json or slack, not {fmt!r}.")
        return cls("webhook", url, cast(Literal["json", "slack"], fmt))

    def label(self) -> str:
        """How the channel is shown: a webhook's path is shortened (it often holds a secret)."""
        if self.type == "email":
            return self.target
        parts = urlsplit(self.target)
        rest = (parts.path + ("?" + parts.query if parts.query else "")).strip("/")
        tail = f"/…{rest[-4:]}" if len(rest) > 4 else ("/" + rest if rest else "")
        host = parts.hostname or ""
        try:
            port = f":{parts.port}" if parts.port else ""
        except ValueError:
            port = ""
        return f"{self.format} webhook {parts.scheme}://{host}{port}{tail}"

    def as_dict(self, *, reveal: bool = False) -> dict[str, str]:
        target = self.target if reveal or self.type == "email" else self.label()
        return {"type": self.type, "target": target, "format": self.format}


@dataclass(frozen=True)
class RuleSpec:
    """A rule as a person writes it (CLI, API, the Alerts page); :func:`check` validates it."""

    name: str
    kind: str
    channels: Sequence[Channel] = ()
    metric: str | None = None
    op: str | None = None
    value: float | str | None = None
    segment: Mapping[str, str] = field(default_factory=dict)
    grain: str | None = None
    dimension: str | None = None
    fdr: float | None = None
    goal: int | None = None
    period: str | None = None
    at_risk: bool = False
    metrics: Sequence[str] = ()
    hours: float | None = None
    tables: Sequence[str] = ()
    attach: str | None = None
    schedule: str | None = None
    enabled: bool = True
    owner: str | None = None
    """A team or a user's e-mail; default: whoever adds the rule."""


@dataclass(frozen=True)
class Rule:
    """A checked rule; ``id`` is 0 until it is saved. The state fields are the runner's."""

    name: str
    kind: Kind
    params: Mapping[str, Any]
    channels: tuple[Channel, ...]
    schedule: str | None
    enabled: bool
    owner: str
    id: int = 0
    created_at: dt.datetime | None = None
    created_by: str = ""
    checked_at: dt.datetime | None = None
    checked_inputs: str | None = None
    last_due: dt.datetime | None = None
    last_error: str | None = None
    last_error_at: dt.datetime | None = None

    def describe(self) -> str:
        """The rule in words: ``anomaly of sales_qualification_rate by campaign (FDR 5%)``."""
        p = self.params
        seg = ", ".join(f"{d}={v}" for d, v in p.get("segment", {}).items())
        where = f" ({seg})" if seg else ""
        if self.kind == "threshold":
            return (
                f"{p['metric']}{where} {OPS[p['op']]} {p['value']:g} per {p['grain']} "
                "(latest complete period)"
            )
        if self.kind == "off_pace":
            goal = f"goal {p['goal']}" if p.get("goal") else f"goal {p['metric']} {p['period']}"
            return f"{goal}{where} {'not on track' if p['at_risk'] else 'off track'}"
        if self.kind == "anomaly":
            by = f" by {p['dimension']}" if p.get("dimension") else ""
            return f"anomalies of {p['metric']}{by} per {p['grain']} (FDR {p['fdr']:.0%})"
        if self.kind == "sla_breach":
            state = "not on track" if p["at_risk"] else "off track"
            return f"SLA goals {state}: {', '.join(p['metrics'])}"
        if self.kind == "stale_data":
            tables = f" in {', '.join(p['tables'])}" if p.get("tables") else ""
            return f"no load or no new records{tables} for {p['hours']:g} h"
        if self.kind == "definition_change":
            which = ", ".join(p.get("metrics") or ()) or "any metric or the scorecard"
            return f"definition changes agreed ({which}), to their signers too"
        if self.kind == "score_degraded":
            return "the lead score drifts or ranks worse than when it was measured"
        return f"review pack of the latest {p['grain']} as {p['attach'].upper()}"

    def as_dict(self, *, reveal: bool = False) -> dict[str, Any]:
        def when(value: dt.datetime | None) -> str | None:
            return None if value is None else value.isoformat(timespec="seconds")

        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "description": self.describe(),
            "params": dict(self.params),
            "channels": [c.as_dict(reveal=reveal) for c in self.channels],
            "schedule": self.schedule,
            "enabled": self.enabled,
            "owner": self.owner,
            "created_at": when(self.created_at),
            "created_by": self.created_by,
            "checked_at": when(self.checked_at),
            "last_error": self.last_error,
            "last_error_at": when(self.last_error_at),
        }


def check(
    spec: RuleSpec,
    definitions: Definitions,
    *,
    goals: GoalBook | None = None,
    fy_start: int = 1,
    actor: str = "cli",
) -> Rule:
    """``spec`` as a :class:`Rule`, or :class:`AlertError` naming what is wrong and the fix."""
    name = " ".join((spec.name or "").split())
    if not name or len(name) > MAX_NAME:
        raise AlertError(
            f"A rule needs a name of 1 to {MAX_NAME} characters.", "Say what it watches."
        )
    if spec.kind not in KINDS:
        close = difflib.get_close_matches(str(spec.kind), KINDS, n=1)
        raise AlertError(
            f"{spec.kind!r} is not a kind of rule.",
            (f"Did you mean {close[0]}? " if close else "") + f"Use one of {', '.join(KINDS)}.",
        )
    kind = cast(Kind, spec.kind)
    _refuse_others(spec, kind)
    params = _PARAMS[kind](spec, definitions, goals, fy_start)
    schedule = None
    if spec.schedule is not None and spec.schedule.strip():
        schedule = str(parse_schedule(spec.schedule))
    elif kind == "review_pack":
        raise AlertError(
            "A review_pack rule needs a schedule.", "For example --schedule 'weekly MON 08:00'."
        )
    channels = _channels(spec.channels, required=kind not in SIGNED_OFF)
    owner = _owner(spec.owner or actor)
    return Rule(name, kind, params, channels, schedule, bool(spec.enabled), owner)


def _refuse_others(spec: RuleSpec, kind: Kind) -> None:
    defaults = RuleSpec(name="", kind="")
    given = [
        f for f in OPTIONS if getattr(spec, f) not in (getattr(defaults, f), None, "", (), [], {})
    ]
    wrong = [f for f in given if f not in _OPTIONS[kind]]
    if wrong:
        raise AlertError(
            f"A {kind} rule takes no {', '.join(wrong)}.",
            f"Its options are {', '.join(_OPTIONS[kind])}.",
        )


def is_email(text: str) -> bool:
    """``text`` is one e-mail address (no spaces, no header tricks), as channels are checked."""
    return bool(_EMAIL.match(text)) and len(text) <= MAX_OWNER


def _metric(definitions: Definitions, metric: str | None, kind: str) -> MetricSpec:
    catalogue = definitions.catalogue
    if not metric:
        raise AlertError(f"A {kind} rule needs a metric.", "See `revteam metrics list`.")
    if metric not in catalogue:
        close = difflib.get_close_matches(metric, [s.id for s in catalogue], n=3, cutoff=0.6)
        raise AlertError(
            f"There is no metric {metric!r} in the catalogue.",
            (f"Did you mean {', '.join(close)}? " if close else "") + "See `revteam metrics list`.",
        )
    return catalogue[metric]


def _segment(segment: Mapping[str, str]) -> dict[str, str]:
    if len(segment) > MAX_SEGMENT:
        raise AlertError(f"A rule's segment fixes at most {MAX_SEGMENT} dimensions.")
    clean = {str(d).strip(): str(v).strip() for d, v in segment.items()}
    if any(not d or not v or len(d) > 64 or len(v) > 200 for d, v in clean.items()):
        raise AlertError(
            "A segment is DIMENSION=VALUE pairs, neither empty (values up to 200 characters).",
            "For example channel=paid_social.",
        )
    return dict(sorted(clean.items()))


def _grain(grain: str | None, allowed: tuple[str, ...], kind: str) -> str:
    chosen = grain or "month"
    if chosen not in allowed:
        raise AlertError(
            f"A {kind} rule's grain is one of {', '.join(allowed)}, not {chosen!r}.", ""
        )
    return chosen


def _threshold(
    spec: RuleSpec, definitions: Definitions, goals: GoalBook | None, fy_start: int
) -> dict[str, Any]:
    metric = _metric(definitions, spec.metric, "threshold")
    if spec.op not in OPS:
        raise AlertError(
            f"A threshold rule's op is one of {' '.join(OPS)} (got {spec.op!r}).",
            "For example --op '<' --value 40%.",
        )
    from revteam.goals.model import parse_target

    try:
        value = parse_target(spec.value, metric, "threshold")
    except GoalError as exc:
        raise AlertError(exc.problem, exc.fix) from None
    grain = _grain(spec.grain, THRESHOLD_GRAINS, "threshold")
    segment = _segment(spec.segment)
    definitions.check(metric.id, {"grain": grain, "where": {d: [v] for d, v in segment.items()}})
    return {"metric": metric.id, "op": spec.op, "value": value, "segment": segment, "grain": grain}


def _off_pace(
    spec: RuleSpec, definitions: Definitions, goals: GoalBook | None, fy_start: int
) -> dict[str, Any]:
    segment = _segment(spec.segment)
    if spec.goal is not None:
        if spec.metric or spec.period or segment:
            raise AlertError(
                "An off_pace rule names its goal by id or by metric and period, not both.",
                "Give --goal ID alone, or --metric and --period (and --segment).",
            )
        if not 1 <= spec.goal <= 2**31 - 1:
            raise AlertError(f"{spec.goal} is not a goal id.", "See `revteam goals list`.")
        if goals is not None:
            try:
                goals.get(spec.goal)
            except UnknownGoalError as exc:
                raise AlertError(exc.problem, exc.fix) from None
        return {"goal": spec.goal, "at_risk": bool(spec.at_risk)}
    metric = _metric(definitions, spec.metric, "off_pace")
    if not spec.period:
        raise AlertError(
            "An off_pace rule needs --goal ID, or --metric with --period.",
            "For example --metric mqls --period 2026-Q4.",
        )
    try:
        start, grain = P.parse_label(spec.period.strip().upper(), fy_start)
    except Exception as exc:
        raise AlertError(
            f"{spec.period!r} is not a period: {exc}", "Write 2026-Q4 or 2026-11."
        ) from None
    period = P.label(start, grain, fy_start)
    if goals is not None and find_goal(goals, metric.id, period, segment) is None:
        raise AlertError(
            f"There is no goal for {metric.id} in {period}"
            + (f" ({', '.join(f'{d}={v}' for d, v in segment.items())})" if segment else "")
            + ".",
            "Set it first (`revteam goals set`), or name the goal by --goal ID.",
        )
    return {"metric": metric.id, "period": period, "segment": segment, "at_risk": spec.at_risk}


def find_goal(goals: GoalBook, metric: str, period: str, segment: Mapping[str, str]) -> Any | None:
    """The goal of ``metric``, ``period`` and ``segment`` (``None``: not set)."""
    wanted = tuple(sorted(segment.items()))
    return next((g for g in goals.list(metric) if g.period == period and g.segment == wanted), None)


def _anomaly(
    spec: RuleSpec, definitions: Definitions, goals: GoalBook | None, fy_start: int
) -> dict[str, Any]:
    metric = _metric(definitions, spec.metric, "anomaly")
    fdr = DEFAULT_FDR if spec.fdr is None else spec.fdr
    if isinstance(fdr, bool) or not isinstance(fdr, int | float) or not 0 < fdr < 0.5:
        raise AlertError(
            f"An anomaly rule's FDR is above 0 and below 0.5 (got {fdr!r}).",
            "0.01 (the default) alerts rarely and surely; 0.05 alerts more.",
        )
    grain = _grain(spec.grain, ANOMALY_GRAINS, "anomaly")
    dimension = (spec.dimension or "").strip() or None
    definitions.check(metric.id, {"grain": grain, "by": [dimension] if dimension else []})
    return {"metric": metric.id, "dimension": dimension, "fdr": float(fdr), "grain": grain}


def _sla(
    spec: RuleSpec, definitions: Definitions, goals: GoalBook | None, fy_start: int
) -> dict[str, Any]:
    chosen = tuple(dict.fromkeys(m.strip() for m in spec.metrics if m.strip())) or SLA_METRICS
    wrong = [m for m in chosen if m not in SLA_METRICS]
    if wrong:
        raise AlertError(
            f"{', '.join(wrong)} is not an SLA metric.", f"Use {', '.join(SLA_METRICS)}."
        )
    known = [m for m in chosen if m in definitions.catalogue]
    if not known:
        raise AlertError("The catalogue has none of the SLA metrics.", "")
    return {"metrics": known, "at_risk": bool(spec.at_risk)}


def _stale(
    spec: RuleSpec, definitions: Definitions, goals: GoalBook | None, fy_start: int
) -> dict[str, Any]:
    from revteam.model import TABLES

    hours = spec.hours
    if (
        hours is None
        or isinstance(hours, bool)
        or not isinstance(hours, int | float)
        or not math.isfinite(hours)
        or not 0 < hours <= MAX_HOURS
    ):
        raise AlertError(
            f"A stale_data rule needs --hours, above 0 and at most {MAX_HOURS} (got {hours!r}).",
            "For example --hours 36 for a daily load.",
        )
    tables = list(dict.fromkeys(t.strip() for t in spec.tables if t.strip()))
    wrong = [t for t in tables if t not in TABLES or TABLES[t].time_column is None]
    if wrong or len(tables) > MAX_TABLES:
        timed = [t for t, info in TABLES.items() if info.time_column]
        raise AlertError(
            f"{', '.join(wrong) or 'Too many tables'}: not a table with a time column.",
            f"Use some of {', '.join(timed)}.",
        )
    return {"hours": float(hours), "tables": tables}


def _pack(
    spec: RuleSpec, definitions: Definitions, goals: GoalBook | None, fy_start: int
) -> dict[str, Any]:
    attach = spec.attach or "pdf"
    if attach not in ("pdf", "html"):
        raise AlertError(f"A review pack is attached as pdf or html, not {attach!r}.", "")
    return {"grain": _grain(spec.grain, PACK_GRAINS, "review_pack"), "attach": attach}


def _definition(
    spec: RuleSpec, definitions: Definitions, goals: GoalBook | None, fy_start: int
) -> dict[str, Any]:
    chosen = list(dict.fromkeys(m.strip() for m in spec.metrics if m.strip()))
    if len(chosen) > MAX_METRICS:
        raise AlertError(
            f"A definition_change rule watches at most {MAX_METRICS} metrics.",
            "Name fewer, or none to watch every metric.",
        )
    return {"metrics": [_metric(definitions, m, "definition_change").id for m in chosen]}


def _score(
    spec: RuleSpec, definitions: Definitions, goals: GoalBook | None, fy_start: int
) -> dict[str, Any]:
    return {}


_PARAMS = {
    "threshold": _threshold,
    "off_pace": _off_pace,
    "anomaly": _anomaly,
    "sla_breach": _sla,
    "stale_data": _stale,
    "review_pack": _pack,
    "definition_change": _definition,
    "score_degraded": _score,
}


def _channels(given: Sequence[Channel], *, required: bool = True) -> tuple[Channel, ...]:
    if not given and required:
        raise AlertError(
            "A rule needs at least one channel.",
            "Add --email ADDRESS, --webhook URL or --slack URL.",
        )
    if len(given) > MAX_CHANNELS:
        raise AlertError(f"A rule has at most {MAX_CHANNELS} channels.", "")
    out: list[Channel] = []
    for c in given:
        target = (c.target or "").strip()
        if c.type == "email":
            if not _EMAIL.match(target) or len(target) > MAX_OWNER:
                raise AlertError(
                    f"{target!r} is not an e-mail address.", "Write it as name@company.com."
                )
            found = Channel("email", target.lower())
        elif c.type == "webhook":
            _check_url(target)
            found = Channel.webhook(target, c.format if c.format != "email" else "json")
        else:
            raise AlertError(f"A channel is an e-mail or a webhook, not {c.type!r}.", "")
        if found not in out:
            out.append(found)
    return tuple(out)


def _check_url(url: str) -> None:
    fix = "Give the full http(s) URL the receiving service showed you."
    if not url or len(url) > MAX_TARGET or _CONTROL.search(url):
        raise AlertError(
            f"A webhook URL is 1 to {MAX_TARGET} characters without spaces or control characters.",
            fix,
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise AlertError(f"{url[:80]!r} is not a URL.", fix) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
        raise AlertError(f"{url[:80]!r} is not an http or https URL.", fix)


def _owner(owner: str) -> str:
    from revteam.app import TEAMS

    text = owner.strip().lower()
    if text in TEAMS or text in ("cli", "system") or (_EMAIL.match(text) and len(text) <= 320):
        return text
    raise AlertError(
        f"The owner {owner!r} is neither a team nor an e-mail address.",
        f"Use one of {', '.join(TEAMS)}, or a user's e-mail.",
    )
