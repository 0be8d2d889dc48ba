"""Tables of the application database (SQLAlchemy 2 declarative models).

The schema itself is created and changed only by the Alembic migrations in
``revteam/app/migrations``; a test checks that the migrations produce exactly these models.
Timestamps are naive UTC (SQLite has no time zones; PostgreSQL stores them the same way).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ROLES: dict[str, str] = {
    "admin": "Everything, including users and data administration",
    "editor": "Read everything; edit shared definitions, goals and targets",
    "viewer": "Read dashboards and the API",
}
"""The roles, most powerful first; ``ROLE_RANK`` orders them."""

TEAMS: dict[str, str] = {
    "sales": "Sales",
    "marketing": "Marketing",
    "leadership": "Leadership",
    "revops": "Revenue operations",
}

ROLE_RANK: dict[str, int] = {"viewer": 0, "editor": 1, "admin": 2}


def utcnow() -> dt.datetime:
    """Now, as naive UTC, the form every timestamp of the application database takes."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Role(Base):
    __tablename__ = "roles"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    description: Mapped[str] = mapped_column(String(200))
    rank: Mapped[int] = mapped_column(Integer)


class Team(Base):
    __tablename__ = "teams"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    label: Mapped[str] = mapped_column(String(100))


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    """Lower-cased; the sign-in name."""
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(ForeignKey("roles.name"))
    team: Mapped[str] = mapped_column(ForeignKey("teams.name"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    password_changed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class ApiToken(Base):
    """A personal token for the REST API; only its SHA-256 is stored (the token is random)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(20))
    """The first characters of the token, shown so that people can tell tokens apart."""
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    """Why it was revoked: by its owner or an admin, or with its user's credentials (a password
    change or reset, or the user disabled)."""


class WebSession(Base):
    """A signed-in browser; the cookie holds a random id, the table only its SHA-256."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(300), nullable=True)


class LoginThrottle(Base):
    """Failed sign-ins of one account from one address, or from one address to any account."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    """``pair:<email>|<address>`` or ``ip:<address>``."""
    account: Mapped[str | None] = mapped_column(String(320), nullable=True, index=True)
    """The e-mail as typed (lower-cased) for a pair, so that an admin can unlock an account."""
    address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class AuditEvent(Base):
    """Who did what to whom: sign-ins, user and token changes, data administration."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    actor: Mapped[str] = mapped_column(String(320))
    """E-mail of the actor at the time (kept when the user is gone), or ``cli`` / ``system``."""
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str | None] = mapped_column(String(320), nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)


class GoalRow(Base):
    """A target for one metric, period and segment (see :mod:`revteam.goals`).

    ``scope`` is ``metric|grain|start|segment-json``, unique, so one goal per scope; overlapping
    periods of the same metric and segment are refused by the goals package before writing.
    """

    __tablename__ = "goals"
    # A deleted goal's id is never given to another (its history stays its own).
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 (SQLAlchemy reads it)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(600), unique=True)
    metric: Mapped[str] = mapped_column(String(64), index=True)
    grain: Mapped[str] = mapped_column(String(10))
    start: Mapped[dt.date] = mapped_column(Date)
    """The period's first day; the period is ``grain`` long."""
    segment: Mapped[str] = mapped_column(String(500), default="{}")
    """JSON object, dimension to value, keys sorted (``{}``: the whole company)."""
    target: Mapped[float] = mapped_column(Float)
    stretch: Mapped[float | None] = mapped_column(Float, nullable=True)
    direction: Mapped[str] = mapped_column(String(10))
    owners: Mapped[str] = mapped_column(String(1000))
    """JSON array of team names and user e-mails."""
    note: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(320))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(320))


class GoalChange(Base):
    """One change to a goal: who, when, and the goal before and after (JSON).

    Kept after the goal is deleted, so the history of a target outlives it.
    """

    __tablename__ = "goal_changes"
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 (SQLAlchemy reads it)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    goal_id: Mapped[int] = mapped_column(Integer, index=True)
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))
    """``created``, ``changed`` or ``deleted``."""
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(320))
    before: Mapped[str | None] = mapped_column(Text, nullable=True)
    after: Mapped[str | None] = mapped_column(Text, nullable=True)


class ActionItemRow(Base):
    """A decision of the joint review: who does what by when, about which metric (and segment).

    Open items carry over from pack to pack until closed; every change is in the audit log.
    """

    __tablename__ = "action_items"
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 (SQLAlchemy reads it)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(300))
    owner: Mapped[str] = mapped_column(String(320), index=True)
    """E-mail of the user who owns it (and may close it)."""
    team: Mapped[str] = mapped_column(String(40))
    due: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    metric: Mapped[str | None] = mapped_column(String(64), nullable=True)
    segment: Mapped[str] = mapped_column(String(500), default="{}")
    """JSON object: dimension → value the item is about (empty: the whole company)."""
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)
    """``open`` or ``closed``."""
    note: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(320))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(320), nullable=True)


class AlertRuleRow(Base):
    """A subscription: what to watch (``kind`` and ``params``), when, and whom to tell.

    Rules are added and deleted, never changed in place, so a delivery's ``channel_no`` always
    names the channel it was meant for. The rest of the row is the runner's bookkeeping.
    """

    __tablename__ = "alert_rules"
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 (SQLAlchemy reads it)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    params: Mapped[str] = mapped_column(Text)
    """JSON object: the kind's options (metric, op, value, goal, hours …), checked."""
    channels: Mapped[str] = mapped_column(Text)
    """JSON array of ``{"type": "email"|"webhook", "target": …, "format": …}``."""
    schedule: Mapped[str | None] = mapped_column(String(40), nullable=True)
    """``daily 07:30``, ``weekly MON 08:00``, ``monthly 1 08:00`` (workspace time zone)."""
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    owner: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(320))
    checked_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    checked_inputs: Mapped[str | None] = mapped_column(String(100), nullable=True)
    """What the last evaluation saw (data version, goals): unchanged inputs need no new one."""
    last_due: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    """The scheduled time the last evaluation was for (scheduled rules)."""
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_error_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class AlertConditionRow(Base):
    """One condition a rule found (a breach, an anomaly, a pack sent), first and last seen.

    Active while ``cleared_at`` is empty: the same ``key`` found again only moves
    ``last_seen``, so a condition alerts once until it clears.
    """

    __tablename__ = "alert_conditions"
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 (SQLAlchemy reads it)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule_id: Mapped[int] = mapped_column(
        ForeignKey("alert_rules.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(500))
    title: Mapped[str] = mapped_column(String(500))
    detail: Mapped[str] = mapped_column(Text)
    """JSON object: what the messages say (metric, value, interval, link …)."""
    attachment_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    attachment: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    first_seen: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    cleared_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True, index=True)


class AlertDeliveryRow(Base):
    """One attempt to tell one channel about one condition: ``pending`` until made.

    A failed attempt with attempts left queues the next one (``next_attempt_at``, doubling
    waits); the attempts of a delivery are its rows with the same condition and channel.
    """

    __tablename__ = "alert_deliveries"
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 (SQLAlchemy reads it)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule_id: Mapped[int] = mapped_column(
        ForeignKey("alert_rules.id", ondelete="CASCADE"), index=True
    )
    condition_id: Mapped[int] = mapped_column(
        ForeignKey("alert_conditions.id", ondelete="CASCADE"), index=True
    )
    channel_no: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(400))
    """The channel as shown (webhook URLs shortened: they often hold a secret)."""
    attempt: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), index=True)
    """``pending``, ``sent`` or ``failed``."""
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    """When it was queued (pending) or made."""
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    """When a pending attempt is due."""


class AlertLeaseRow(Base):
    """Who evaluates the alerts now: one row, taken by one process at a time until it expires."""

    __tablename__ = "alert_lease"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200), default="")
    """``host:pid:nonce`` of the process holding it; empty when released."""
    acquired_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class MetricProposal(Base):
    """A proposed change to a metric's definition (or a new metric), awaiting sign-off.

    ``text`` is the metric as YAML (one catalogue entry); ``base_version`` the agreed version
    it was made from, so a proposal made before another was approved must be rebased.
    """

    __tablename__ = "metric_proposals"
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 (SQLAlchemy reads it)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    metric: Mapped[str] = mapped_column(String(64), index=True)
    text: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="")
    base_version: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    """``open``, ``approved``, ``rejected`` or ``withdrawn``."""
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(320))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    decision: Mapped[str] = mapped_column(Text, default="")


class ProposalVote(Base):
    """One person's approval or rejection of a proposal, with their team at the time."""

    __tablename__ = "proposal_votes"
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 (SQLAlchemy reads it)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    proposal_id: Mapped[int] = mapped_column(Integer, index=True)
    voter: Mapped[str] = mapped_column(String(320))
    team: Mapped[str] = mapped_column(String(40))
    vote: Mapped[str] = mapped_column(String(10))
    """``approve`` or ``reject``."""
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    base_version: Mapped[int] = mapped_column(Integer, server_default="0")
    """The agreed version the proposal was based on when the vote was given: after a rebase
    the earlier votes stay in the history but no longer count."""


class MetricVersion(Base):
    """An agreed definition: who proposed it, who signed it off, when and why."""

    __tablename__ = "metric_versions"
    __table_args__ = (
        UniqueConstraint("metric", "version"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    metric: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="")
    proposal_id: Mapped[int] = mapped_column(Integer)
    proposed_by: Mapped[str] = mapped_column(String(320))
    approved_by: Mapped[str] = mapped_column(String(1000))
    """JSON list of the e-mails that signed it off."""
    approved_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)


class ScoreThreshold(Base):
    """A proposed MQL threshold on the lead score, agreed when every owning team signs it off.

    ``needs`` the teams that own the score's target KPI (JSON list); the newest agreed one is
    the threshold in force, and an agreement marks the one before it ``superseded``.
    """

    __tablename__ = "score_thresholds"
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 (SQLAlchemy reads it)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    threshold: Mapped[float] = mapped_column(Float)
    target: Mapped[str] = mapped_column(String(64))
    objective: Mapped[str] = mapped_column(String(12), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    needs: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    """``open``, ``agreed``, ``rejected``, ``withdrawn`` or ``superseded``."""
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(320))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    decision: Mapped[str] = mapped_column(Text, default="")


class ScoreThresholdVote(Base):
    """One owner's approval or rejection of a proposed threshold, with their team then."""

    __tablename__ = "score_threshold_votes"
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 (SQLAlchemy reads it)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    threshold_id: Mapped[int] = mapped_column(Integer, index=True)
    voter: Mapped[str] = mapped_column(String(320))
    team: Mapped[str] = mapped_column(String(40))
    vote: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
