"""The MQL threshold both teams agree on: proposed, signed off by each owning team, recorded.

A threshold on the lead score decides who Sales gets: it moves Marketing's MQL count and
Sales' workload and SQR at once, so it changes only when an editor of every team that owns
the score's target KPI (``lead_to_sql_rate`` is shared: Marketing and Sales) approves it. A
rejection needs a reason and ends the proposal; one proposal is open at a time; the newest
agreed threshold is the one in force, and the one before it is kept as ``superseded``. Every
step is in the audit log with who and when.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from revteam.app import CLI, Actor
from revteam.app.models import ScoreThreshold, ScoreThresholdVote, utcnow
from revteam.app.signoff import TEAMS_OF, signer
from revteam.app.users import record
from revteam.exceptions import PermissionDeniedError, ScoringError
from revteam.storage import AppDatabase

if TYPE_CHECKING:
    from revteam.metrics.catalogue import Catalogue

MAX_NOTE = 2000
MAX_LISTED = 200


@dataclass(frozen=True)
class Vote:
    voter: str
    team: str
    vote: str
    reason: str
    at: dt.datetime


@dataclass(frozen=True)
class Agreement:
    """A proposed (or agreed) threshold and its sign-offs."""

    id: int
    threshold: float
    target: str
    objective: str
    note: str
    needs: tuple[str, ...]
    status: str
    created_at: dt.datetime
    created_by: str
    decided_at: dt.datetime | None
    decision: str
    votes: tuple[Vote, ...]

    @property
    def approved_by(self) -> dict[str, str]:
        """Team → the e-mail that approved for it."""
        return {v.team: v.voter for v in self.votes if v.vote == "approve"}

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(t for t in self.needs if t not in self.approved_by)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "threshold": self.threshold,
            "target": self.target,
            "objective": self.objective,
            "note": self.note,
            "needs": list(self.needs),
            "missing": list(self.missing),
            "status": self.status,
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "created_by": self.created_by,
            "decided_at": None
            if self.decided_at is None
            else self.decided_at.isoformat(timespec="seconds"),
            "decision": self.decision,
            "votes": [
                {
                    "voter": v.voter,
                    "team": v.team,
                    "vote": v.vote,
                    "reason": v.reason,
                    "at": v.at.isoformat(timespec="seconds"),
                }
                for v in self.votes
            ],
        }


class ThresholdAgreements:
    """Proposals of the MQL threshold and their sign-offs (the application database)."""

    def __init__(self, db: AppDatabase) -> None:
        self._db = db

    # -- reading -------------------------------------------------------------------------------
    def current(self) -> Agreement | None:
        """The threshold in force: the newest agreed one (``None`` before any agreement)."""
        with self._db.session() as s:
            row = s.scalar(
                select(ScoreThreshold)
                .where(ScoreThreshold.status == "agreed")
                .order_by(ScoreThreshold.decided_at.desc(), ScoreThreshold.id.desc())
            )
            return None if row is None else _agreement(s, row)

    def revision(self) -> tuple[int, int, int]:
        """Changes with every proposal, decision and vote: a cache key for what shows them."""
        with self._db.session() as s:
            proposals = s.execute(
                select(func.count(ScoreThreshold.id), func.coalesce(func.max(ScoreThreshold.id), 0))
            ).one()
            decided = s.scalar(
                select(func.count(ScoreThreshold.id)).where(ScoreThreshold.status != "open")
            )
            votes = s.scalar(select(func.count(ScoreThresholdVote.id)))
        return int(proposals[0]) + int(decided or 0), int(proposals[1]), int(votes or 0)

    def get(self, agreement_id: int) -> Agreement:
        with self._db.session() as s:
            row = s.get(ScoreThreshold, agreement_id)
            if row is None:
                raise ScoringError(
                    f"No threshold proposal {agreement_id}.", "See revteam score agree list."
                )
            return _agreement(s, row)

    def list(self, *, limit: int = MAX_LISTED) -> list[Agreement]:
        """Every proposal, newest first (the history of the threshold)."""
        with self._db.session() as s:
            rows = s.scalars(
                select(ScoreThreshold)
                .order_by(ScoreThreshold.id.desc())
                .limit(max(0, min(limit, MAX_LISTED)))
            )
            return [_agreement(s, r) for r in rows]

    # -- changing ------------------------------------------------------------------------------
    def propose(
        self,
        threshold: float,
        *,
        target: str,
        catalogue: Catalogue,
        objective: str = "",
        note: str = "",
        actor: Actor = CLI,
        role: str = "admin",
    ) -> Agreement:
        """Propose a threshold (editors and admins); the target's owning teams must sign it.

        ``catalogue`` says who owns ``target`` (shared: Marketing and Sales).
        """
        if role not in ("editor", "admin"):
            raise PermissionDeniedError("Proposing an MQL threshold", "editor", role)
        if not 0 <= threshold <= 1:
            raise ScoringError(
                f"threshold {threshold} is out of range.", "A score is a probability: 0 to 1."
            )
        owners = catalogue[target].owners if target in catalogue else "shared"
        needs = TEAMS_OF.get(owners, TEAMS_OF["shared"])
        with self._db.session(write=True) as s:
            open_one = s.scalar(select(ScoreThreshold).where(ScoreThreshold.status == "open"))
            if open_one is not None:
                raise ScoringError(
                    f"Threshold proposal {open_one.id} ({open_one.threshold:.3f}) is still open.",
                    "Approve, reject or withdraw it first: one threshold is decided at a time.",
                )
            row = ScoreThreshold(
                threshold=float(threshold),
                target=target,
                objective=objective[:12],
                note=(note or "").strip()[:MAX_NOTE],
                needs=json.dumps(list(needs)),
                status="open",
                created_at=utcnow(),
                created_by=actor.name,
                decision="",
            )
            s.add(row)
            s.flush()
            record(s, actor, "threshold.propose", target, proposal=row.id, threshold=threshold)
            return _agreement(s, row)

    def vote(
        self,
        agreement_id: int,
        vote: Literal["approve", "reject"],
        *,
        voter: str,
        reason: str = "",
        actor: Actor | None = None,
    ) -> Agreement:
        """An owner's approval or rejection; the last approval needed puts it in force.

        ``voter``: the e-mail of an active editor or admin of a team that must sign off. A
        rejection needs a reason and ends the proposal.
        """
        if vote not in ("approve", "reject"):
            raise ScoringError(f"Unknown vote {vote!r}.", "Use approve or reject.")
        who = actor or Actor(voter)
        with self._db.session(write=True) as s:
            row = _open(s, agreement_id)
            found = _agreement(s, row)
            user = signer(
                s,
                voter,
                found.needs,
                action="Signing off an MQL threshold",
                subject="the threshold",
                refuse=ScoringError,
            )
            if any(v.voter == user.email for v in found.votes):
                raise ScoringError(f"{user.email} has already voted on {agreement_id}.", "")
            why = (reason or "").strip()
            if vote == "reject" and not why:
                raise ScoringError("A rejection needs a reason.", "Say what should change.")
            s.add(
                ScoreThresholdVote(
                    threshold_id=row.id,
                    voter=user.email,
                    team=user.team,
                    vote=vote,
                    reason=why[:MAX_NOTE],
                    at=utcnow(),
                )
            )
            s.flush()
            record(s, who, f"threshold.{vote}", row.target, proposal=row.id, reason=why)
            found = _agreement(s, row)
            now = utcnow()
            if vote == "reject":
                row.status, row.decided_at = "rejected", now
                row.decision = f"rejected by {user.email} ({user.team}): {why}"
            elif not found.missing:
                for old in s.scalars(
                    select(ScoreThreshold).where(ScoreThreshold.status == "agreed")
                ):
                    old.status = "superseded"
                row.status, row.decided_at = "agreed", now
                row.decision = "agreed by " + ", ".join(
                    f"{e} ({t})" for t, e in sorted(found.approved_by.items())
                )
            s.flush()
            return _agreement(s, row)

    def withdraw(self, agreement_id: int, *, actor: Actor = CLI, role: str = "admin") -> Agreement:
        """Withdraw an open proposal (its proposer, or an admin)."""
        with self._db.session(write=True) as s:
            row = _open(s, agreement_id)
            if role != "admin" and actor.name != row.created_by:
                raise PermissionDeniedError(
                    "Withdrawing another's threshold proposal", "admin", role
                )
            row.status, row.decided_at, row.decision = "withdrawn", utcnow(), "withdrawn"
            record(s, actor, "threshold.withdraw", row.target, proposal=row.id)
            s.flush()
            return _agreement(s, row)


def _open(s: Session, agreement_id: int) -> ScoreThreshold:
    row = s.get(ScoreThreshold, agreement_id)
    if row is None:
        raise ScoringError(
            f"No threshold proposal {agreement_id}.", "See revteam score agree list."
        )
    if row.status != "open":
        raise ScoringError(f"Threshold proposal {agreement_id} is already {row.status}.", "")
    return row


def _agreement(s: Session, row: ScoreThreshold) -> Agreement:
    votes = s.scalars(
        select(ScoreThresholdVote)
        .where(ScoreThresholdVote.threshold_id == row.id)
        .order_by(ScoreThresholdVote.id)
    )
    return Agreement(
        id=row.id,
        threshold=row.threshold,
        target=row.target,
        objective=row.objective,
        note=row.note,
        needs=tuple(json.loads(row.needs or "[]")),
        status=row.status,
        created_at=row.created_at,
        created_by=row.created_by,
        decided_at=row.decided_at,
        decision=row.decision,
        votes=tuple(Vote(v.voter, v.team, v.vote, v.reason, v.at) for v in votes),
    )
