"""Definition proposals and their sign-off: a metric changes only by agreement.

An editor proposes a metric's whole definition (the YAML of one catalogue entry); it is checked
against the catalogue at once, so a proposal that cannot be computed never waits for votes. The
owners vote: a metric owned by one team needs an approval from that team, a shared one from
Sales *and* Marketing (two different people, editors or admins of their team). When the last
needed approval arrives the definition is written to ``metrics/approved/<metric>.yaml`` and
recorded as the metric's next version (who proposed, who signed, when, why), in one
transaction. A rejection carries its reason and ends the proposal.

Each proposal remembers the agreed version it was made from. If another proposal for the same
metric was approved in between, approving this one is refused with :class:`ProposalConflictError`
until it is rebased, so no agreed change is silently overwritten. A rebase keeps the votes given
before it — each remembers the version it was given on — but only votes on the current base count
toward approval, so the owners sign anew; every proposal, vote and version stays in the history.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from revteam.app import CLI, Actor
from revteam.app.agreed import agreed_definitions
from revteam.app.models import MetricProposal, MetricVersion, ProposalVote, User, utcnow
from revteam.app.signoff import TEAMS_OF, signer
from revteam.app.users import record
from revteam.exceptions import (
    CatalogueError,
    PermissionDeniedError,
    ProposalConflictError,
    ProposalError,
    UnknownProposalError,
)
from revteam.metrics import Definitions
from revteam.metrics.catalogue import APPROVED_DIR, Catalogue
from revteam.metrics.request import check_year
from revteam.storage import AppDatabase

Status = Literal["open", "approved", "rejected", "withdrawn"]
"""Which teams must approve a change to a metric of these owners."""
MAX_TEXT = 20_000
MAX_REASON = 2000
SCORECARD = "_scorecard"
"""The subject of a proposal for the shared scorecard (never a metric id: those start with a
letter); agreed, it is written to ``metrics/approved/_scorecard.yaml``."""


@dataclass(frozen=True)
class Vote:
    voter: str
    team: str
    vote: str
    reason: str
    at: dt.datetime
    base_version: int = 0
    """The agreed version the proposal was based on when this vote was given."""


@dataclass(frozen=True)
class Proposal:
    id: int
    metric: str
    text: str
    reason: str
    base_version: int
    status: Status
    created_at: dt.datetime
    created_by: str
    decided_at: dt.datetime | None
    decision: str
    votes: tuple[Vote, ...]
    needs: tuple[str, ...]
    """The teams whose approval it needs (the current and the proposed owners')."""

    @property
    def current_votes(self) -> tuple[Vote, ...]:
        """The votes given on the current base (those before a rebase no longer count)."""
        return tuple(v for v in self.votes if v.base_version == self.base_version)

    @property
    def approved_by(self) -> dict[str, str]:
        """Team → the e-mail that approved for it (on the current base)."""
        return {v.team: v.voter for v in self.current_votes if v.vote == "approve"}

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(t for t in self.needs if t not in self.approved_by)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "metric": self.metric,
            "text": self.text,
            "reason": self.reason,
            "base_version": self.base_version,
            "status": self.status,
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "created_by": self.created_by,
            "decided_at": None
            if self.decided_at is None
            else self.decided_at.isoformat(timespec="seconds"),
            "decision": self.decision,
            "needs": list(self.needs),
            "missing": list(self.missing),
            "votes": [
                {
                    "voter": v.voter,
                    "team": v.team,
                    "vote": v.vote,
                    "reason": v.reason,
                    "at": v.at.isoformat(timespec="seconds"),
                    "base_version": v.base_version,
                    "counts": v.base_version == self.base_version,
                }
                for v in self.votes
            ],
        }


@dataclass(frozen=True)
class Version:
    metric: str
    version: int
    text: str
    reason: str
    proposal_id: int
    proposed_by: str
    approved_by: tuple[str, ...]
    approved_at: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "version": self.version,
            "text": self.text,
            "reason": self.reason,
            "proposal_id": self.proposal_id,
            "proposed_by": self.proposed_by,
            "approved_by": list(self.approved_by),
            "approved_at": self.approved_at.isoformat(timespec="seconds"),
        }


@dataclass(frozen=True)
class Draft:
    """What a proposal's YAML asks for: one metric's definition, or the shared scorecard."""

    subject: str
    """The metric id, or :data:`SCORECARD`."""
    text: str
    """The canonical YAML written to ``metrics/approved/`` when it is agreed."""


def draft_of(text: str) -> Draft:
    """A proposal's YAML checked for shape: one metric, or ``scorecard:`` alone."""
    data = _load(text)
    if isinstance(data, dict) and set(data) == {"scorecard"}:
        return Draft(SCORECARD, _dump({"scorecard": data["scorecard"]}))
    entry = _entry(data)
    return Draft(str(entry["id"]), canonical(entry))


def entry_of(text: str) -> dict[str, Any]:
    """The one metric a proposal's YAML holds (a mapping, or ``metrics:`` with one entry)."""
    return _entry(_load(text))


def _load(text: str) -> Any:
    if len(text) > MAX_TEXT:
        raise ProposalError(f"The definition has {len(text):,} characters; at most {MAX_TEXT:,}.")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProposalError(f"The definition is not valid YAML: {exc}") from None


def _entry(data: Any) -> dict[str, Any]:
    if isinstance(data, dict) and "metrics" in data:
        entries = data.get("metrics")
        if not isinstance(entries, list) or len(entries) != 1 or set(data) != {"metrics"}:
            raise ProposalError(
                "A proposal is one metric.",
                "Give one metric's fields (id, label, kind …), or `metrics:` with one entry.",
            )
        data = entries[0]
    if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not data["id"]:
        raise ProposalError(
            "A proposal is one metric (a mapping with at least an `id`) or the scorecard "
            "(`scorecard:` with its `sections`).",
            "See docs/metrics.md for a metric's fields and docs/definitions.md for the scorecard.",
        )
    return data


def canonical(entry: dict[str, Any]) -> str:
    """The text written to ``metrics/approved/``: one catalogue file with one metric."""
    return _dump({"metrics": [entry]})


def _dump(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


class ProposalStore:
    """Proposals, votes and agreed versions (application database) over a workspace's metrics."""

    def __init__(self, db: AppDatabase, definitions: Definitions, folder: Path) -> None:
        self._db, self.definitions, self._folder = db, definitions, folder

    # -- reading -----------------------------------------------------------------------------
    def get(self, proposal_id: int) -> Proposal:
        with self._db.session() as s:
            row = s.get(MetricProposal, proposal_id)
            if row is None:
                raise UnknownProposalError(proposal_id)
            return self._proposal(s, row)

    def list(self, *, status: Status | None = "open", metric: str | None = None) -> list[Proposal]:
        stmt = select(MetricProposal).order_by(MetricProposal.id.desc())
        if status is not None:
            stmt = stmt.where(MetricProposal.status == status)
        if metric is not None:
            stmt = stmt.where(MetricProposal.metric == metric)
        with self._db.session() as s:
            return [self._proposal(s, r) for r in s.scalars(stmt.limit(500))]

    def versions(self, metric: str | None = None) -> builtins.list[Version]:
        """Agreed versions, newest first (of one metric, or all)."""
        stmt = select(MetricVersion).order_by(MetricVersion.approved_at.desc(), MetricVersion.id)
        if metric is not None:
            stmt = stmt.where(MetricVersion.metric == metric)
        with self._db.session() as s:
            return [_version(r) for r in s.scalars(stmt)]

    def current_version(self, metric: str) -> int:
        with self._db.session() as s:
            return _current(s, metric)

    def catalogue_on(self, day: dt.date) -> Catalogue:
        """The definitions as they stood at the end of ``day``.

        Each metric's newest version agreed by then, over the shipped and workspace files. A
        day outside ``plausible_years`` is refused, as every other day of a request is.
        """
        check_year(day, "defined_on", self.definitions.plausible_years)
        cut = dt.datetime.combine(day, dt.time.max)
        latest: dict[str, Version] = {}
        for v in reversed(self.versions()):
            if v.approved_at <= cut:
                latest[v.metric] = v
        texts = [(f"approved {m} v{v.version}", v.text) for m, v in sorted(latest.items())]
        return self.definitions.build(texts)

    def member(self, email: str) -> tuple[Actor, str]:
        """The actor and role of an active user acting from the command line (``--as``)."""
        with self._db.session() as s:
            user = s.scalar(select(User).where(User.email == email.strip().lower()))
            if user is None or not user.is_active:
                raise ProposalError(
                    f"{email!r} is not an active user.", "Act as a user who can sign in."
                )
            return Actor(user.email, user.id), user.role

    def restore(self, *, actor: Actor = CLI) -> tuple[builtins.list[str], builtins.list[str]]:
        """Write the agreed definitions back into ``metrics/approved/`` where they differ.

        Returns the subjects written, and the files there that nobody agreed (left alone: move
        them out and propose them). Recorded in the audit log.
        """
        agreed = agreed_definitions(self._db)
        folder = self._folder / APPROVED_DIR
        written = []
        for subject, found in sorted(agreed.items()):
            path = folder / f"{subject}.yaml"
            if not path.is_file() or path.read_text(encoding="utf-8") != found.text:
                _write_atomic(path, found.text)
                written.append(subject)
        if written:
            with self._db.session(write=True) as s:
                record(s, actor, "definition.restore", None, subjects=written)
        files = sorted(folder.glob("*.y*ml")) if folder.is_dir() else []
        return written, [f"metrics/{APPROVED_DIR}/{p.name}" for p in files if p.stem not in agreed]

    def revision(self) -> tuple[int, int]:
        """Changes with every proposal, vote and version: a cache key."""
        with self._db.session() as s:
            props = s.scalar(select(func.count(MetricProposal.id))) or 0
            votes = s.scalar(select(func.count(ProposalVote.id))) or 0
        return int(props), int(votes)

    # -- proposing -----------------------------------------------------------------------------
    def preview(self, text: str) -> tuple[Draft, Catalogue]:
        """The proposal's draft and the catalogue it would make (refused if it cannot work)."""
        draft = draft_of(text)
        mine = draft.subject
        others = [(n, t) for n, t in self.definitions.approved_files() if Path(n).stem != mine]
        name = "the scorecard" if mine == SCORECARD else mine
        try:
            catalogue = self.definitions.build([*others, (f"proposal for {name}", draft.text)])
        except CatalogueError as exc:
            raise ProposalError(f"The proposed definition does not work: {exc}") from None
        return draft, catalogue

    def propose(
        self, text: str, *, reason: str, actor: Actor = CLI, role: str = "admin"
    ) -> Proposal:
        """Propose a metric's new definition (editors and admins); it waits for sign-off."""
        _need(role, "Proposing a definition")
        draft, _ = self.preview(text)
        why = (reason or "").strip()
        if not why:
            raise ProposalError(
                "A proposal needs a reason.", "Say why the definition should change."
            )
        if len(why) > MAX_REASON:
            raise ProposalError(f"The reason has {len(why):,} characters; at most {MAX_REASON}.")
        mid = draft.subject
        with self._db.session(write=True) as s:
            row = MetricProposal(
                metric=mid,
                text=draft.text,
                reason=why,
                base_version=_current(s, mid),
                status="open",
                created_at=utcnow(),
                created_by=actor.name,
                decision="",
            )
            s.add(row)
            s.flush()
            record(s, actor, "definition.propose", mid, proposal=row.id, reason=why)
            return self._proposal(s, row)

    def vote(
        self,
        proposal_id: int,
        vote: Literal["approve", "reject"],
        *,
        voter: str,
        reason: str = "",
        actor: Actor | None = None,
    ) -> Proposal:
        """An owner's approval or rejection; the last needed approval applies the change.

        ``voter`` is the e-mail of an active editor or admin whose team must sign off. A
        rejection needs a reason and ends the proposal.
        """
        who = actor or Actor(voter)
        with self._db.session(write=True) as s:
            row = s.get(MetricProposal, proposal_id)
            if row is None:
                raise UnknownProposalError(proposal_id)
            if row.status != "open":
                raise ProposalConflictError(f"Proposal {proposal_id} is already {row.status}.")
            proposal = self._proposal(s, row)
            user = signer(
                s,
                voter,
                proposal.needs,
                action="Signing off a definition",
                subject=named(row.metric),
                refuse=ProposalError,
            )
            if any(v.voter == user.email for v in proposal.current_votes):
                raise ProposalConflictError(f"{user.email} has already voted on {proposal_id}.")
            why = (reason or "").strip()
            if vote == "reject" and not why:
                raise ProposalError("A rejection needs a reason.", "Say what should change.")
            s.add(
                ProposalVote(
                    proposal_id=row.id,
                    voter=user.email,
                    team=user.team,
                    vote=vote,
                    reason=why[:MAX_REASON],
                    at=utcnow(),
                    base_version=row.base_version,
                )
            )
            s.flush()
            record(s, who, f"definition.{vote}", row.metric, proposal=row.id, reason=why)
            proposal = self._proposal(s, row)
            if vote == "reject":
                row.status, row.decided_at = "rejected", utcnow()
                row.decision = f"rejected by {user.email} ({user.team}): {why}"
            elif not proposal.missing:
                self._apply(s, row, proposal, who)
            s.flush()
            done = self._proposal(s, row)
        if done.status == "approved":
            # written once the version is committed: the file never holds what the application
            # database does not record (a crash in between leaves the file behind, refused
            # until `revteam metrics restore` writes it)
            _write_atomic(self._folder / APPROVED_DIR / f"{row.metric}.yaml", row.text)
        return done

    def rebase(self, proposal_id: int, *, actor: Actor = CLI, role: str = "admin") -> Proposal:
        """Move an open proposal onto the metric's current agreed version; its votes restart.

        The votes given before stay in its history, marked with the version they were given
        on; they no longer count toward approval.
        """
        _need(role, "Rebasing a proposal")
        with self._db.session(write=True) as s:
            row = s.get(MetricProposal, proposal_id)
            if row is None:
                raise UnknownProposalError(proposal_id)
            if row.status != "open":
                raise ProposalConflictError(f"Proposal {proposal_id} is already {row.status}.")
            self.preview(row.text)
            now = _current(s, row.metric)
            if now != row.base_version:
                record(
                    s,
                    actor,
                    "definition.rebase",
                    row.metric,
                    proposal=row.id,
                    to=now,
                    previous=row.base_version,
                )
                row.base_version = now
            s.flush()
            return self._proposal(s, row)

    def withdraw(self, proposal_id: int, *, actor: Actor = CLI, role: str = "admin") -> Proposal:
        _need(role, "Withdrawing a proposal")
        with self._db.session(write=True) as s:
            row = s.get(MetricProposal, proposal_id)
            if row is None:
                raise UnknownProposalError(proposal_id)
            if row.status != "open":
                raise ProposalConflictError(f"Proposal {proposal_id} is already {row.status}.")
            if role != "admin" and actor.name != row.created_by:
                raise PermissionDeniedError(
                    f"Withdrawing {row.created_by}'s proposal", "admin", role
                )
            row.status, row.decided_at, row.decision = (
                "withdrawn",
                utcnow(),
                f"withdrawn by {actor.name}",
            )
            record(s, actor, "definition.withdraw", row.metric, proposal=row.id)
            s.flush()
            return self._proposal(s, row)

    # -- internals -----------------------------------------------------------------------------
    def _apply(self, s: Session, row: MetricProposal, proposal: Proposal, who: Actor) -> None:
        now = _current(s, row.metric)
        if now != row.base_version:
            raise ProposalConflictError(
                f"{named(row.metric)} changed since proposal {row.id} was made (agreed version "
                f"{row.base_version}, now {now}).",
                f"Rebase it (`revteam metrics rebase {row.id}`), check its impact again, and "
                "sign it off anew.",
            )
        self.preview(row.text)  # still computable next to the definitions agreed since
        approvers = sorted(proposal.approved_by.values())
        s.add(
            MetricVersion(
                metric=row.metric,
                version=now + 1,
                text=row.text,
                reason=row.reason,
                proposal_id=row.id,
                proposed_by=row.created_by,
                approved_by=json.dumps(approvers),
                approved_at=utcnow(),
            )
        )
        row.status, row.decided_at = "approved", utcnow()
        row.decision = f"approved by {', '.join(approvers)}: version {now + 1}"
        record(s, who, "definition.approved", row.metric, proposal=row.id, version=now + 1)

    def _proposal(self, s: Session, row: MetricProposal) -> Proposal:
        votes = tuple(
            Vote(v.voter, v.team, v.vote, v.reason, v.at, v.base_version)
            for v in s.scalars(
                select(ProposalVote)
                .where(ProposalVote.proposal_id == row.id)
                .order_by(ProposalVote.id)
            )
        )
        return Proposal(
            id=row.id,
            metric=row.metric,
            text=row.text,
            reason=row.reason,
            base_version=row.base_version,
            status=row.status,  # type: ignore[arg-type]
            created_at=row.created_at,
            created_by=row.created_by,
            decided_at=row.decided_at,
            decision=row.decision,
            votes=votes,
            needs=self._needs(row),
        )

    def _needs(self, row: MetricProposal) -> tuple[str, ...]:
        if row.metric == SCORECARD:
            return TEAMS_OF["shared"]
        owners = {str(entry_of(row.text).get("owners", "shared"))}
        catalogue = self.definitions.catalogue
        if row.metric in catalogue:
            owners.add(catalogue[row.metric].owners)
        teams = {t for o in owners for t in TEAMS_OF.get(o, ("marketing", "sales"))}
        return tuple(sorted(teams))


def named(subject: str) -> str:
    """A proposal's subject in a sentence: the metric id, or "the shared scorecard"."""
    return "the shared scorecard" if subject == SCORECARD else subject


def _current(s: Session, metric: str) -> int:
    found = s.scalar(select(func.max(MetricVersion.version)).where(MetricVersion.metric == metric))
    return int(found or 0)


def _version(r: MetricVersion) -> Version:
    return Version(
        metric=r.metric,
        version=r.version,
        text=r.text,
        reason=r.reason,
        proposal_id=r.proposal_id,
        proposed_by=r.proposed_by,
        approved_by=tuple(json.loads(r.approved_by)),
        approved_at=r.approved_at,
    )


def _need(role: str, action: str) -> None:
    if role not in ("editor", "admin"):
        raise PermissionDeniedError(action, "editor", role)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
