"""Agreed definition changes: what each one changed, why, and who signed it off.

A metric's definition changes only by a proposal its owners sign off (:mod:`revteam.proposals`);
each agreed change is a version. :func:`agreed` lists the versions agreed in a span of time, each
with its changed fields (old → new) against what it replaced: the metric's previous version or,
for the first, the catalogue definition. Both sides are the fields people write
(:func:`~revteam.proposals.impact.definition_text`) of the catalogue as it stood just before and
just after the change, so a field written out at its default value is no change.

The review pack's ``definitions`` section and the ``definition_change`` alert both read it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import yaml

from revteam.exceptions import CatalogueError, ProposalError, UnknownProposalError
from revteam.proposals.impact import definition_text
from revteam.proposals.store import entry_of

if TYPE_CHECKING:
    from revteam.metrics import Definitions
    from revteam.metrics.catalogue import Catalogue
    from revteam.proposals import Proposal, Version

MAX_VALUE = 160
"""Characters of an old or new value shown (a long description is cut with …)."""
NEW_METRIC = "nothing (a new metric)"
SCORECARD_LABEL = "Shared scorecard"


def is_metric(subject: str) -> bool:
    """A proposal's subject is a metric; the shared scorecard's (``_scorecard``) is not.

    Metric ids start with a letter.
    """
    return not subject.startswith("_")


class History(Protocol):
    """Where agreed versions and their proposals are read (``ws.proposals`` is one)."""

    def versions(self, metric: str | None = None) -> list[Version]: ...

    def get(self, proposal_id: int) -> Proposal: ...


@dataclass(frozen=True)
class FieldChange:
    """One field of a definition: its value before and after (``None``: not set)."""

    field: str
    before: str | None
    after: str | None

    def describe(self) -> str:
        if self.before is None:
            return f"{self.field}: set to {self.after}"
        if self.after is None:
            return f"{self.field}: removed (was {self.before})"
        return f"{self.field}: {self.before} → {self.after}"


@dataclass(frozen=True)
class DefinitionChange:
    """One agreed version of a metric's definition, as the meeting and the owners read it."""

    metric: str
    label: str
    owners: str
    version: int
    proposal_id: int
    reason: str
    proposed_by: str
    approved_by: tuple[tuple[str, str], ...]
    """(team, e-mail) of each approval, by team."""
    approved_at: dt.datetime
    """Naive UTC, as the proposals store records it."""
    replaced: str
    """What it replaced: ``version 1``, ``the catalogue definition``, or :data:`NEW_METRIC`."""
    fields: tuple[FieldChange, ...]

    @property
    def signers(self) -> tuple[str, ...]:
        """The proposer (when an e-mail address, not ``cli``) and each approver, once each."""
        people = [self.proposed_by.strip().lower(), *(e for _, e in self.approved_by)]
        return tuple(dict.fromkeys(p for p in people if "@" in p))

    def signed(self) -> str:
        """``Proposed by a@x; signed off for marketing by b@x and for sales by c@x``."""
        teams = " and ".join(f"for {t} by {e}" if t else f"by {e}" for t, e in self.approved_by)
        return f"Proposed by {self.proposed_by}; signed off {teams or 'by nobody recorded'}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "label": self.label,
            "owners": self.owners,
            "version": self.version,
            "proposal_id": self.proposal_id,
            "reason": self.reason,
            "proposed_by": self.proposed_by,
            "approved_by": dict(self.approved_by),
            "approved_at": self.approved_at.isoformat(timespec="seconds"),
            "replaced": self.replaced,
            "changes": [
                {"field": f.field, "before": f.before, "after": f.after} for f in self.fields
            ],
        }


def agreed(
    history: History,
    definitions: Definitions,
    *,
    since: dt.datetime,
    until: dt.datetime | None = None,
    metrics: Iterable[str] = (),
) -> list[DefinitionChange]:
    """The versions agreed from ``since`` (inclusive) to ``until`` (exclusive), oldest first.

    Naive UTC bounds; ``metrics`` keeps only those metrics' versions (empty: every metric).
    """
    wanted = set(metrics)
    ordered = sorted(history.versions(), key=lambda v: (v.approved_at, v.metric, v.version))
    builds = _Builds(definitions)
    state: dict[str, Version] = {}
    out = []
    for v in ordered:
        before = dict(state)
        state[v.metric] = v
        late = until is not None and v.approved_at >= until
        if v.approved_at < since or late or (wanted and v.metric not in wanted):
            continue
        out.append(_change(v, history, builds, before, dict(state)))
    return out


class _Builds:
    """The catalogue with a set of agreed versions, built once per set."""

    def __init__(self, definitions: Definitions) -> None:
        self.definitions = definitions
        self._built: dict[tuple[tuple[str, int], ...], Catalogue | None] = {}

    def __call__(self, state: Mapping[str, Version]) -> Catalogue | None:
        key = tuple(sorted((m, v.version) for m, v in state.items()))
        if key not in self._built:
            texts = [(f"approved {m} v{v.version}", v.text) for m, v in sorted(state.items())]
            try:
                self._built[key] = self.definitions.build(texts)
            except CatalogueError:  # a version that no longer works next to today's files
                self._built[key] = None
        return self._built[key]


def _change(
    v: Version,
    history: History,
    builds: _Builds,
    before: dict[str, Version],
    after: dict[str, Version],
) -> DefinitionChange:
    old_cat, new_cat = builds(before), builds(after)
    previous = before.get(v.metric)
    old = _fields(old_cat, v.metric, previous.text if previous else None)
    new = _fields(new_cat, v.metric, v.text)
    if previous is not None:
        replaced = f"version {previous.version}"
    elif old:
        replaced = "the catalogue definition"
    else:
        replaced = NEW_METRIC
    metric = is_metric(v.metric)
    return DefinitionChange(
        metric=v.metric,
        label=str(new.get("label") or v.metric) if metric else SCORECARD_LABEL,
        owners=str(new.get("owners") or "shared") if metric else "shared",
        version=v.version,
        proposal_id=v.proposal_id,
        reason=v.reason,
        proposed_by=v.proposed_by,
        approved_by=_approvals(history, v),
        approved_at=v.approved_at,
        replaced=replaced,
        fields=diff(old, new),
    )


def _approvals(history: History, v: Version) -> tuple[tuple[str, str], ...]:
    """(team, e-mail) per approval, from the proposal's votes; bare e-mails if it is gone."""
    try:
        proposal = history.get(v.proposal_id)
    except UnknownProposalError:
        return tuple(("", e) for e in v.approved_by)
    return tuple(sorted(proposal.approved_by.items()))


def _fields(catalogue: Catalogue | None, subject: str, text: str | None) -> dict[str, Any]:
    """The fields people write of ``subject``'s definition (from its own text, failing that).

    The shared scorecard's are its sections: title → the metrics in it.
    """
    if catalogue is not None and subject in catalogue:
        found = yaml.safe_load(definition_text(catalogue, subject))
        return dict(found) if isinstance(found, dict) else {}
    if catalogue is not None and not is_metric(subject):
        return {title: list(ids) for title, ids in catalogue.scorecard_sections()}
    if text is None:
        return {}
    try:
        return entry_of(text) if is_metric(subject) else dict(yaml.safe_load(text) or {})
    except (ProposalError, yaml.YAMLError, TypeError, ValueError):
        return {}


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    """Fields whose value differs (nested ones as ``numerator.where``), in the new order."""
    before, after = _flat(old), _flat(new)
    names = [*after, *(k for k in before if k not in after)]
    return tuple(
        FieldChange(
            name,
            None if name not in before else _text(before[name]),
            None if name not in after else _text(after[name]),
        )
        for name in names
        if before.get(name, _MISSING) != after.get(name, _MISSING)
    )


_MISSING = object()


def _flat(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out |= _flat(value, f"{name}.")
        else:
            out[name] = value
    return out


def _text(value: Any) -> str:
    """A value in one short line: text (quoted when it has spaces), else YAML's flow style."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool) or value is None:
        text = {True: "true", False: "false", None: "null"}[value]
    elif isinstance(value, int | float):
        text = str(value)
    else:
        text = yaml.safe_dump(value, default_flow_style=True, width=10**6, allow_unicode=True)
    text = " ".join(text.split())
    text = text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"
    return f"“{text}”" if isinstance(value, str) and " " in text else text
