"""The events of an account or a person, as one SQL query over the canonical tables.

Every kind of event is one ``SELECT`` over the table it comes from (a *branch*), filtered to
the subject's rows inside the branch; the branches are joined with ``UNION ALL`` and DuckDB
sorts and pages the result (``ORDER BY … LIMIT … OFFSET …``). Only the page is joined to
``users``, ``campaigns``, ``people`` and ``opportunities`` for names, so a page of an account
with a hundred thousand touches reads the touches' keys and times once and returns 50 rows.

Which rows belong to a subject:

- an **account**: its own row (created); its people (``people.account_id``) and their
  lifecycle stamps; every touchpoint, sales activity and order with the account's
  ``account_id`` or one of its people; its people's e-mail events; every opportunity with the
  account's ``account_id`` or one of its people as contact, and those opportunities' stage
  history;
- a **person**: the person's records (the person and, once identity resolution has run, the
  records linked to it), their stamps, touchpoints, e-mail events, sales activities, orders,
  the opportunities they are the contact of, and those opportunities' stage history.

Events are ordered by time, then by kind (:data:`KINDS` order), then by the source row's key,
then by the step within a row (lead before MQL; created before closed), so every page of the
same question is the same.

Each event names an owner (:data:`OWNER_OF`): the row's own ``owner_id`` where its table has
one, else the owner of the record the row belongs to (a deal stage's deal, a touch's person, an
order's account). Owners are the warehouse's current ones: it keeps no history of owners.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any, Literal

from revteam.exceptions import TimelineError
from revteam.metrics.format import display

Subject = Literal["account", "person"]

KINDS: dict[str, str] = {
    "account": "the account was created (account timelines only)",
    "stage": "a person's lifecycle stage: lead (created_at), MQL, SQL, opportunity, customer, "
    "disqualified (with the reason)",
    "touch": "a marketing touch (touchpoints other than web visits and form fills), with its "
    "campaign and channel",
    "web": "a web visit or form fill (touchpoints of type web_visit or form_submit)",
    "email": "a marketing e-mail event: sent, delivered, open, click, bounce, unsubscribe",
    "activity": "a sales call, e-mail or meeting (sales_activities), with its owner",
    "opportunity": "an opportunity created, closed won (amount) or closed lost (amount, reason)",
    "deal_stage": "an opportunity entering a stage (opportunity_stages)",
    "order": "an order (amount, product)",
}
"""Every kind of event, in the order that breaks ties between events at the same time."""

WEB_TYPES = ("web_visit", "form_submit")
"""Touchpoint types that are person-level web activity (``web_traffic`` is by day only)."""

OWNER_OF: dict[str, str] = {
    "account": "accounts",
    "stage": "people",
    "touch": "people",
    "web": "people",
    "email": "people",
    "activity": "sales_activities",
    "opportunity": "opportunities",
    "deal_stage": "opportunities",
    "order": "accounts",
}
"""Whose ``owner_id`` an event of each kind carries: the table of the row's own owner, or of the
record the row belongs to (touches and e-mail events have no owner of their own)."""

BORROWED: dict[str, str] = {"touch": "p", "web": "p", "email": "p", "deal_stage": "o", "order": "a"}
"""Kinds whose rows have no owner: the alias (in :func:`page_sql`) of the record lending one."""

REASONS: frozenset[tuple[str, str]] = frozenset(
    {("stage", "disqualified"), ("opportunity", "closed_lost")}
)
"""(kind, event) pairs whose ``reason`` is given: why a lead was disqualified, a deal lost."""

MAX_LIMIT = 500
MAX_OFFSET = 10**9
END_OF_TIME = dt.datetime(9999, 12, 31, 23, 59, 59)
"""The as-of time of a question without one."""

_RANK = {kind: i for i, kind in enumerate(KINDS)}
_MONEY = "DECIMAL(18, 2)"
_STAGES = (
    ("lead", "created_at"),
    ("mql", "mql_at"),
    ("sql", "sql_at"),
    ("opportunity", "opportunity_at"),
    ("customer", "customer_at"),
    ("disqualified", "disqualified_at"),
)
"""Lifecycle stamps of ``people``, in their order."""


@dataclass(frozen=True)
class Event:
    """One thing that happened to an account or a person."""

    at: dt.datetime
    kind: str
    event: str
    """What happened within the kind: ``mql``, ``closed_won``, ``click``, ``call`` …"""
    description: str
    owner_id: str | None
    """Who owned it: the row's own owner, or that of the deal, person or account it belongs to."""
    owner: str | None
    """The owner's name (``users.name``)."""
    owner_of: str | None
    """The table whose ``owner_id`` this is (:data:`OWNER_OF`); empty without an owner."""
    person_id: str | None
    person: str | None
    account_id: str | None
    opportunity_id: str | None
    campaign_id: str | None
    campaign: str | None
    channel: str | None
    amount: Decimal | None
    reason: str | None
    """Why: a disqualified lead's ``disqualification_reason``, a lost deal's ``lost_reason``."""
    source_table: str
    source_key: str
    """The source row's key (composite keys joined with ``|``)."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


COLUMNS: tuple[str, ...] = tuple(Event.__dataclass_fields__)
"""The columns of an event, as the API and the CSV export give them."""


def check_kinds(kinds: Iterable[str] | str | None) -> tuple[str, ...]:
    """The kinds asked for, in :data:`KINDS` order (all of them for ``None`` or empty)."""
    if kinds is None:
        return tuple(KINDS)
    items = [kinds] if isinstance(kinds, str) else list(kinds)
    wanted = {k.strip() for item in items for k in str(item).split(",") if k.strip()}
    unknown = sorted(wanted - set(KINDS))
    if unknown:
        raise TimelineError(
            f"Unknown event kind {', '.join(repr(k[:40]) for k in unknown[:5])}.",
            f"Choose from {', '.join(KINDS)} (comma-separated, or repeated).",
        )
    return tuple(k for k in KINDS if k in wanted) or tuple(KINDS)


def check_page(limit: int, offset: int) -> None:
    if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise TimelineError(
            f"limit={limit!r} is not a page size.", f"Ask for 1 to {MAX_LIMIT} events a page."
        )
    if not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
        raise TimelineError(
            f"offset={offset!r} is not a position.", f"Give 0 to {MAX_OFFSET:,} events to skip."
        )


def _scope(subject: Subject) -> str:
    """CTEs naming the subject's people and opportunities; ``$1`` is the parameter."""
    if subject == "account":
        people = "SELECT person_id FROM people WHERE account_id = $1"
        opps = (
            "SELECT opportunity_id FROM opportunities WHERE account_id = $1 "
            "OR person_id IN (SELECT person_id FROM _people)"
        )
    else:
        people = "SELECT DISTINCT unnest(CAST($1 AS VARCHAR[])) AS person_id"
        opps = (
            "SELECT opportunity_id FROM opportunities "
            "WHERE person_id IN (SELECT person_id FROM _people)"
        )
    return f"_people AS ({people}), _opps AS ({opps})"


def _mine(subject: Subject, alias: str) -> str:
    """The rows of a table with ``person_id`` and ``account_id`` that belong to the subject."""
    by_person = f"{alias}.person_id IN (SELECT person_id FROM _people)"
    if subject == "account":
        return f"({alias}.account_id = $1 OR {by_person})"
    return by_person


def _select(
    *,
    at: str,
    kind: str,
    step: str,
    event: str,
    table: str,
    key: str,
    person: str = "NULL",
    account: str = "NULL",
    opportunity: str = "NULL",
    campaign: str = "NULL",
    channel: str = "NULL",
    amount: str = "NULL",
    owner: str = "NULL",
    detail: str = "NULL",
) -> str:
    return (
        f"CAST({at} AS TIMESTAMP) AS ts, '{kind}' AS kind, {_RANK[kind]} AS rank, "
        f"CAST({step} AS INTEGER) AS step, CAST({event} AS VARCHAR) AS event, "
        f"'{table}' AS source_table, CAST({key} AS VARCHAR) AS source_key, "
        f"CAST({person} AS VARCHAR) AS person_id, CAST({account} AS VARCHAR) AS account_id, "
        f"CAST({opportunity} AS VARCHAR) AS opportunity_id, "
        f"CAST({campaign} AS VARCHAR) AS campaign_id, CAST({channel} AS VARCHAR) AS channel, "
        f"CAST({amount} AS {_MONEY}) AS amount, CAST({owner} AS VARCHAR) AS owner_id, "
        f"CAST({detail} AS VARCHAR) AS detail"
    )


def _branch(kind: str, subject: Subject) -> str | None:
    """The ``SELECT`` of one kind's events for ``subject`` (``None``: the kind does not apply)."""
    if kind == "account":
        if subject != "account":
            return None
        cols = _select(
            at="a.created_at",
            kind=kind,
            step="0",
            event="'created'",
            table="accounts",
            key="a.account_id",
            account="a.account_id",
            owner="a.owner_id",
            detail="a.name",
        )
        return f"SELECT {cols} FROM accounts a WHERE a.account_id = $1"
    if kind == "stage":
        stamps = ", ".join(
            f"struct_pack(step := {i}, event := '{name}', at := CAST(p.{column} AS TIMESTAMP))"
            for i, (name, column) in enumerate(_STAGES)
        )
        cols = _select(
            at="s.at",
            kind=kind,
            step="s.step",
            event="s.event",
            table="people",
            key="s.person_id",
            person="s.person_id",
            account="s.account_id",
            campaign="CASE WHEN s.step = 0 THEN s.first_campaign_id END",
            channel="CASE WHEN s.step = 0 THEN s.channel END",
            owner="s.owner_id",
            detail="CASE WHEN s.event = 'disqualified' THEN s.disqualification_reason END",
        )
        return (
            f"SELECT {cols} FROM (SELECT p.person_id, p.account_id, p.owner_id, p.channel, "
            "p.first_campaign_id, p.disqualification_reason, "
            f"unnest([{stamps}], recursive := true) "
            "FROM people p WHERE p.person_id IN (SELECT person_id FROM _people)) s "
            "WHERE s.at IS NOT NULL"
        )
    if kind in ("touch", "web"):
        web = ", ".join(f"'{t}'" for t in WEB_TYPES)
        cols = _select(
            at="t.occurred_at",
            kind=kind,
            step="0",
            event="t.type",
            table="touchpoints",
            key="t.touch_id",
            person="t.person_id",
            account="t.account_id",
            campaign="t.campaign_id",
            channel="t.channel",
        )
        where = f"t.type {'IN' if kind == 'web' else 'NOT IN'} ({web})"
        return f"SELECT {cols} FROM touchpoints t WHERE {_mine(subject, 't')} AND {where}"
    if kind == "email":
        cols = _select(
            at="e.occurred_at",
            kind=kind,
            step="0",
            event="e.type",
            table="email_events",
            key="e.event_id",
            person="e.person_id",
            campaign="e.campaign_id",
            detail="e.email_id",
        )
        return (
            f"SELECT {cols} FROM email_events e "
            "WHERE e.person_id IN (SELECT person_id FROM _people)"
        )
    if kind == "activity":
        cols = _select(
            at="x.occurred_at",
            kind=kind,
            step="0",
            event="x.type",
            table="sales_activities",
            key="x.activity_id",
            person="x.person_id",
            account="x.account_id",
            opportunity="x.opportunity_id",
            owner="x.owner_id",
        )
        return f"SELECT {cols} FROM sales_activities x WHERE {_mine(subject, 'x')}"
    if kind == "opportunity":
        common = {
            "kind": kind,
            "table": "opportunities",
            "key": "o.opportunity_id",
            "person": "o.person_id",
            "account": "o.account_id",
            "opportunity": "o.opportunity_id",
            "campaign": "o.campaign_id",
            "channel": "o.channel",
            "amount": "o.amount",
            "owner": "o.owner_id",
        }
        created = _select(at="o.created_at", step="0", event="'created'", detail="o.type", **common)
        closed = _select(
            at="o.closed_at",
            step="1",
            event="CASE WHEN o.is_won THEN 'closed_won' ELSE 'closed_lost' END",
            detail="CASE WHEN NOT o.is_won THEN o.lost_reason END",
            **common,
        )
        mine = "o.opportunity_id IN (SELECT opportunity_id FROM _opps)"
        return (
            f"SELECT {created} FROM opportunities o WHERE {mine} UNION ALL "
            f"SELECT {closed} FROM opportunities o WHERE {mine} AND o.closed_at IS NOT NULL"
        )
    if kind == "deal_stage":
        cols = _select(
            at="s.entered_at",
            kind=kind,
            step="0",
            event="s.stage",
            table="opportunity_stages",
            key="s.opportunity_id || '|' || CAST(s.entered_at AS VARCHAR) || '|' || s.stage",
            opportunity="s.opportunity_id",
            amount="s.amount",
            detail="CAST(s.probability AS VARCHAR)",
        )
        return (
            f"SELECT {cols} FROM opportunity_stages s "
            "WHERE s.opportunity_id IN (SELECT opportunity_id FROM _opps)"
        )
    if kind == "order":
        cols = _select(
            at="r.ordered_at",
            kind=kind,
            step="0",
            event="'order'",
            table="orders",
            key="r.order_id",
            person="r.person_id",
            account="r.account_id",
            amount="r.amount",
            detail="r.product",
        )
        return f"SELECT {cols} FROM orders r WHERE {_mine(subject, 'r')}"
    raise AssertionError(kind)  # pragma: no cover (kinds are checked before)


def union_sql(subject: Subject, kinds: Sequence[str]) -> str:
    """``WITH`` the subject's scope (``$1``), ``_events`` as the union of the kinds' branches.

    Events after ``$2`` (the as-of time) are left out.
    """
    branches = [b for k in kinds if (b := _branch(k, subject)) is not None]
    if not branches:  # an account-only kind asked of a person: no events, same columns
        empty = _select(at="NULL", kind="account", step="0", event="NULL", table="", key="NULL")
        branches = [f"SELECT {empty} WHERE FALSE"]
    body = " UNION ALL ".join(f"({b})" for b in branches)
    return f"WITH {_scope(subject)}, _events AS (SELECT * FROM ({body}) WHERE ts <= $2)"


ORDER = "ts, rank, source_key, step"


def _owner_sql() -> str:
    """The owner of a page's event (:data:`OWNER_OF`), from its row or the record it is of."""
    cases = " ".join(f"WHEN '{kind}' THEN {alias}.owner_id" for kind, alias in BORROWED.items())
    return f"CASE e.kind {cases} ELSE e.owner_id END"


def page_sql(subject: Subject, kinds: Sequence[str]) -> str:
    """One page (``$3`` events from ``$4``) in order, with the names and owners joined to it.

    Only the page's rows meet ``users``, ``people``, ``opportunities`` and ``accounts``, so the
    owners of touches (their person's) cost nothing on an account with many of them.
    """
    return f"""{union_sql(subject, kinds)},
        _page AS (SELECT * FROM _events ORDER BY {ORDER} LIMIT $3 OFFSET $4)
        SELECT e.* REPLACE ({_owner_sql()} AS owner_id), u.name AS owner, c.name AS campaign,
               COALESCE(e.channel, c.channel) AS channel_or_campaigns,
               NULLIF(concat_ws(' ', p.first_name, p.last_name), '') AS person,
               COALESCE(e.account_id, o.account_id, p.account_id) AS belongs_to,
               COALESCE(e.person_id, o.person_id) AS person_or_contact,
               o.name AS opportunity, o.type AS opportunity_type
        FROM _page e
        LEFT JOIN campaigns c ON c.campaign_id = e.campaign_id
        LEFT JOIN opportunities o ON o.opportunity_id = e.opportunity_id
        LEFT JOIN people p ON p.person_id = COALESCE(e.person_id, o.person_id)
        LEFT JOIN accounts a ON a.account_id = e.account_id AND e.kind = 'order'
        LEFT JOIN users u ON u.user_id = {_owner_sql()}
        ORDER BY {", ".join(f"e.{c.strip()}" for c in ORDER.split(","))}"""


def count_sql(subject: Subject) -> str:
    """Events per kind (every kind), for the totals and the kind filter's counts."""
    return (
        f"{union_sql(subject, tuple(KINDS))} SELECT kind, count(*) AS n FROM _events GROUP BY kind"
    )


def to_events(rows: Iterable[dict[str, Any]], *, currency: str) -> list[Event]:
    """Rows of :func:`page_sql` as events, each with its one-line description."""
    return [
        Event(
            at=r["ts"],
            kind=r["kind"],
            event=r["event"],
            description=describe(r, currency),
            owner_id=r["owner_id"],
            owner=r["owner"],
            owner_of=OWNER_OF[r["kind"]] if r["owner_id"] is not None else None,
            person_id=r["person_or_contact"],
            person=r["person"],
            account_id=r["belongs_to"],
            opportunity_id=r["opportunity_id"],
            campaign_id=r["campaign_id"],
            campaign=r["campaign"],
            channel=r["channel_or_campaigns"],
            amount=r["amount"],
            reason=r["detail"] if (r["kind"], r["event"]) in REASONS else None,
            source_table=r["source_table"],
            source_key=r["source_key"],
        )
        for r in rows
    ]


_STAGE_TEXT = {
    "lead": "became a lead",
    "mql": "became a marketing-qualified lead (MQL)",
    "sql": "was accepted by Sales (SQL)",
    "opportunity": "became an opportunity",
    "customer": "became a customer",
    "disqualified": "was disqualified",
}


def _words(value: str | None) -> str:
    return (value or "").replace("_", " ")


def describe(r: dict[str, Any], currency: str) -> str:
    """One line saying what happened, from a row of :func:`page_sql`."""
    kind, event = r["kind"], r["event"]
    who = r["person"] or r["person_or_contact"] or "someone"
    owner = r["owner"] or r["owner_id"]
    by = f" by {owner}" if owner else ""
    money = display(r["amount"], "money", currency=currency) if r["amount"] is not None else ""
    campaign = r["campaign"] or r["campaign_id"]
    channel = _words(r["channel_or_campaigns"])
    via = " · ".join(x for x in (campaign, channel) if x)
    deal = r["opportunity"] or r["opportunity_id"] or "a deal"
    if kind == "account":
        return f"Account {r['detail']} created" + (f", owned by {owner}" if owner else "")
    if kind == "stage":
        text = f"{who} {_STAGE_TEXT.get(event, event)}"
        if event == "lead" and via:
            text += f" via {via}"
        if event == "disqualified" and r["detail"]:
            text += f": {_words(r['detail'])}"
        return text
    if kind in ("touch", "web"):
        return f"{who}: {_words(event)}" + (f" ({via})" if via else "")
    if kind == "email":
        return f"{who}: e-mail {_words(event)}" + (f" ({campaign})" if campaign else "")
    if kind == "activity":
        text = f"{_words(event).capitalize()} with {who}{by}"
        return text + (f" on {deal}" if r["opportunity_id"] else "")
    if kind == "opportunity":
        if event == "created":
            kind_of = _words(r["opportunity_type"])
            details = ", ".join(x for x in (kind_of, money) if x)
            return f"Opportunity {deal} created" + (f" ({details})" if details else "") + by
        if event == "closed_won":
            return f"Opportunity {deal} closed won" + (f": {money}" if money else "")
        reason = _words(r["detail"])
        details = ", ".join(x for x in (money, reason) if x)
        return f"Opportunity {deal} closed lost" + (f" ({details})" if details else "")
    if kind == "deal_stage":
        text = f"{deal} entered {_words(event)}"
        extra = [money] if money else []
        if r["detail"] is not None:
            extra.append(f"{float(r['detail']):.0%} probability")
        return text + (f" ({', '.join(extra)})" if extra else "")
    if kind == "order":
        return f"Order {r['detail'] or ''}".rstrip() + (f": {money}" if money else "")
    return f"{kind} {event}"  # pragma: no cover
