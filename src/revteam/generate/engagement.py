"""Touchpoints (marketing interactions) and sales activities (calls, e-mails, meetings).

Every person's first touch is on their own channel and campaign at ``created_at``; the nurture
touches that reached them (:mod:`revteam.generate.nurture`) fall strictly between it and the touch
that tipped MQLs over just before ``mql_at`` (for other people: before the moment they would
have converted); everyone gets a few return visits afterwards. Each MQL's first sales activity
comes after the owning SDR's own (planted) speed to lead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from revteam.generate import nurture, params
from revteam.generate._private import (
    DAY,
    MISSING,
    Bool,
    Gather,
    Int,
    Ordered,
    build,
    id_width,
    labels,
    lag_seconds,
    repeat_rows,
    serial_ids,
    stream,
    timestamps,
)
from revteam.generate.campaigns import Campaigns
from revteam.generate.deals import Deals
from revteam.generate.funnel import People
from revteam.generate.org import Accounts, Team
from revteam.generate.pipeline import opportunity_ids
from revteam.generate.timeline import Span
from revteam.model import enums

_CH = {c: i for i, c in enumerate(enums.CHANNELS)}
_TT = {t: i for i, t in enumerate(enums.TOUCHPOINT_TYPES)}
FIRST_TOUCH = {
    "paid_search": "ad_click",
    "paid_social": "ad_click",
    "organic_search": "web_visit",
    "organic_social": "social_click",
    "email": "email_click",
    "events": "event",
    "webinar": "webinar_registration",
    "content": "content_download",
    "referral": "web_visit",
    "partner": "form_submit",
    "direct": "web_visit",
    "outbound": "campaign_member",
    "other": "web_visit",
}
"""Type of the first touch by the person's channel."""
_FORM_AFTER: tuple[str, ...] = ("paid_search", "paid_social", "organic_search", "organic_social")
_FORM_AFTER += ("email", "referral", "direct", "other")
# later touches: (type, channel, share); return visits, so that after the first touch, content,
# webinar, event and ad touches are the nurture touches (see `nurture`) and their effects alone
_LATER = (("web_visit", "direct", 0.75), ("chat", "direct", 0.25))
# the high-intent touch that tips a lead over to MQL: a pricing-page visit, a demo request, a chat
_TIPPING = (("web_visit", "direct", 0.5), ("form_submit", "direct", 0.3), ("chat", "direct", 0.2))
WEBINAR_ATTENDANCE = 0.55
NO_SHOWS = 0.3
"""Share of people who register for a webinar they do not attend while they consider (no effect);
with the nurture webinars, a little over half of the registrants attend."""
RETURN_VISITS = (0.0, 1.6)
"""Mean return visits in the half year after creation of people who do not / do become MQLs:
leads who go cold do not come back, so their journeys end on their last nurture touch."""


@dataclass(frozen=True)
class Touches:
    """Touches as (person, channel, campaign, type, time) arrays."""

    person: Int
    channel: Int
    campaign: Int
    type: Int
    at: Int


_COMPACT = {"person": np.int32, "channel": np.int8, "campaign": np.int16, "type": np.int8}
"""Narrower types that hold every value of these touch fields (people < 2**31, campaigns
< 2**15), for the tens of millions of touches of a large company."""


def _concat(parts: list[Touches], *, compact: bool = False) -> Touches:
    def field(name: str) -> Int:
        dtype = _COMPACT.get(name, np.int64) if compact else None
        return np.concatenate([getattr(p, name) for p in parts], dtype=dtype)

    return Touches(*(field(f) for f in Touches.__dataclass_fields__))


def touchpoints_table(
    seed: int,
    span: Span,
    people: People,
    accounts: Accounts,
    campaigns: Campaigns,
    email_clicks: Touches,
) -> pa.Table:
    rng = stream(seed, "touchpoints")
    parts = _first(rng, people)
    mql = np.flatnonzero(people.mql != MISSING)
    gap = rng.integers(60, 1800, len(mql))
    # strictly after creation, so the first touch is always the one on the person's own channel
    trigger_at = np.maximum(people.mql[mql] - gap, people.created[mql] + 1)
    parts += _later(rng, span, people, campaigns, mql, trigger_at)
    parts.append(email_clicks)
    parts.append(_attendance(rng, parts))
    parts += _nurture(stream(seed, "touchpoints.nurture"), span, people, campaigns, trigger_at)
    touches = _concat(parts, compact=True)
    del parts  # the parts take twice the memory of their compact concatenation
    columns = {name: getattr(touches, name) for name in Touches.__dataclass_fields__}
    del touches
    rows = Ordered(columns, columns["at"] < span.as_of, by=("person", "at"))
    # widest sources first, each let go once its column is made
    occurred_at = timestamps(rows.pop("at"), span.epoch)
    person = rows.pop("person")
    return build(
        "touchpoints",
        {
            "occurred_at": occurred_at,
            "person_id": people.ids(person),
            "account_id": accounts.ids(Gather(people.account, person)),
            "campaign_id": campaigns.ids(rows.pop("campaign")),
            "channel": labels(enums.CHANNELS, rows.pop("channel")),
            "type": labels(enums.TOUCHPOINT_TYPES, rows.pop("type")),
            "touch_id": serial_ids("T", len(rows), id_width(len(rows), 8)),
        },
    )


def _touch(person: Int, channel: Int, campaign: Int, kind: str, at: Int) -> Touches:
    return Touches(person, channel, campaign, np.full(len(person), _TT[kind]), at)


def _first(rng: np.random.Generator, people: People) -> list[Touches]:
    """Each person's first touch at creation, and the form they then filled on some channels."""
    rows = np.arange(people.n, dtype=np.int64)
    first_type = np.array([_TT[FIRST_TOUCH[c]] for c in enums.CHANNELS])[people.channel]
    form = np.isin(people.channel, [_CH[c] for c in _FORM_AFTER])
    return [
        Touches(rows, people.channel, people.campaign, first_type, people.created),
        _touch(
            rows[form],
            people.channel[form],
            people.campaign[form],
            "form_submit",
            people.created[form] + rng.integers(30, 900, int(form.sum())),
        ),
    ]


def _attendance(rng: np.random.Generator, parts: list[Touches]) -> Touches:
    """Some registrations are followed by attending the webinar a few days later."""
    registered = _concat([_where(p, p.type == _TT["webinar_registration"]) for p in parts])
    attended = rng.random(len(registered.at)) < WEBINAR_ATTENDANCE
    return _touch(
        registered.person[attended],
        registered.channel[attended],
        registered.campaign[attended],
        "webinar_attended",
        registered.at[attended] + rng.integers(DAY, 10 * DAY, int(attended.sum())),
    )


def _where(touches: Touches, rows: Bool) -> Touches:
    return Touches(*(getattr(touches, f)[rows] for f in Touches.__dataclass_fields__))


def _nurture(
    rng: np.random.Generator, span: Span, people: People, campaigns: Campaigns, trigger_at: Int
) -> list[Touches]:
    """The nurture touches that reached each person (:mod:`revteam.generate.nurture`).

    They fall strictly between creation and the touch that made an MQL (``trigger_at``, one per
    MQL), or for other people the moment they would have become one (a fresh MQL lag). An
    attended webinar comes with its registration up to ten days before (not before creation);
    some people register for one they then miss (:data:`NO_SHOWS`), which changes nothing.
    """
    converted = people.mql != MISSING
    decided = people.created + lag_seconds(rng, params.LAGS["mql"], people.n)
    decided[converted] = trigger_at
    person, which = nurture.draw(rng, converted)
    no_show = np.flatnonzero(rng.random(people.n) < NO_SHOWS)
    person = np.concatenate([person, no_show]).astype(np.int64)
    channel = np.concatenate([nurture.CHANNEL_CODES[which], np.full(len(no_show), _CH["webinar"])])
    kind = np.concatenate(
        [nurture.TOUCH_TYPES[which], np.full(len(no_show), _TT["webinar_registration"])]
    )
    start = people.created[person] + 1
    room = np.maximum(decided[person] - start - 1, 0)
    at = start + (rng.random(len(person)) * room).astype(np.int64)
    campaign = campaigns.choose(rng, channel, np.minimum(at // DAY, span.n_days - 1))
    webinar = np.flatnonzero(kind == _TT["webinar_attended"])
    lead = rng.integers(DAY, 10 * DAY, len(webinar))
    registered = np.maximum(at[webinar] - lead, start[webinar])
    return [
        _touch(
            person[webinar],
            channel[webinar],
            campaign[webinar],
            "webinar_registration",
            registered,
        ),
        Touches(person, channel, campaign, kind, at),
    ]


def _later(
    rng: np.random.Generator,
    span: Span,
    people: People,
    campaigns: Campaigns,
    mql: Int,
    trigger_at: Int,
) -> list[Touches]:
    """The (direct, high-intent) touch that made each MQL, and a few return visits later."""
    is_mql = people.mql != MISSING
    count = rng.poisson(np.where(is_mql, RETURN_VISITS[1], RETURN_VISITS[0]))
    person = repeat_rows(count)
    horizon = np.minimum(people.created[person] + 180 * DAY, span.as_of)
    at = (
        people.created[person]
        + 1
        + (rng.random(len(person)) * (horizon - people.created[person])).astype(np.int64)
    )
    who = np.concatenate([mql, person])
    when = np.concatenate([trigger_at, at])
    kinds = [_kinds(rng, _TIPPING, len(mql)), _kinds(rng, _LATER, len(person))]
    channel, touch_type = (np.concatenate([k[i] for k in kinds]) for i in range(2))
    campaign = campaigns.choose(rng, channel, np.minimum(when // DAY, span.n_days - 1))
    return [Touches(who, channel, campaign, touch_type, when)]


def _kinds(
    rng: np.random.Generator, table: tuple[tuple[str, str, float], ...], n: int
) -> tuple[Int, Int]:
    """Channels and touch types of ``n`` touches drawn from a (type, channel, share) table."""
    shares = np.array([s for _, _, s in table])
    kind = rng.choice(len(table), n, p=shares / shares.sum())
    channel: Int = np.array([_CH[c] for _, c, _ in table], dtype=np.int64)[kind]
    touch_type: Int = np.array([_TT[t] for t, _, _ in table], dtype=np.int64)[kind]
    return channel, touch_type


_CALL, _EMAIL, _MEETING = (enums.ACTIVITY_TYPES.index(t) for t in ("call", "email", "meeting"))
Activities = tuple[Int, Int, Int, Int, Int, Int]
"""Activity rows as (person, account, deal row or -1, owner user row, type, time)."""


def sales_activities_table(
    seed: int, span: Span, people: People, deals: Deals, accounts: Accounts, team: Team
) -> pa.Table:
    rng = stream(seed, "sales_activities")
    parts = [*_lead_follow_up(rng, people, team), _meetings(people, accounts, team)]
    parts.append(_deal_work(rng, span, deals))
    columns = {
        name: np.concatenate([p[k] for p in parts])
        for k, name in enumerate(("person", "account", "deal", "owner", "kind", "at"))
    }
    del parts
    rows = Ordered(columns, columns["at"] < span.as_of, by=("owner", "person", "at"))
    return build(
        "sales_activities",
        {
            "occurred_at": timestamps(rows.pop("at"), span.epoch),
            "person_id": people.ids(rows.pop("person")),
            "account_id": accounts.ids(rows.pop("account")),
            "opportunity_id": opportunity_ids(deals, rows.pop("deal")),
            "owner_id": labels(team.user_ids, rows.pop("owner")),
            "type": labels(enums.ACTIVITY_TYPES, rows.pop("kind")),
            "activity_id": serial_ids("SA", len(rows), id_width(len(rows), 8)),
        },
    )


def _lead_follow_up(rng: np.random.Generator, people: People, team: Team) -> list[Activities]:
    """The SDR's first call or e-mail after each MQL (their planted speed), then follow-ups."""
    mql = np.flatnonzero(people.mql != MISSING)
    sdr = people.sdr[mql]
    hours = rng.lognormal(np.log(team.sdr_speed_hours[sdr]), params.SPEED_TO_LEAD_SIGMA)
    delay = (np.minimum(hours, params.SPEED_TO_LEAD_CAP_HOURS) * 3600).astype(np.int64)
    first = people.mql[mql] + delay
    row = repeat_rows(np.minimum(rng.poisson(1.5, len(mql)), 5))
    later = first[row] + rng.integers(DAY // 2, 20 * DAY, len(row))
    return [
        _activities(
            mql, people.account[mql], team.sdr_user[sdr], _pick_call(rng, 0.6, len(mql)), first
        ),
        _activities(
            mql[row],
            people.account[mql[row]],
            team.sdr_user[sdr[row]],
            _pick_call(rng, 0.5, len(row)),
            later,
        ),
    ]


def _meetings(people: People, accounts: Accounts, team: Team) -> Activities:
    """The qualifying meeting with the account's AE at ``sql_at``."""
    sql = np.flatnonzero(people.sql != MISSING)
    owner = team.ae_user[accounts.owner_ae[people.account[sql]]]
    return _activities(
        sql, people.account[sql], owner, np.full(len(sql), _MEETING), people.sql[sql]
    )


def _deal_work(rng: np.random.Generator, span: Span, deals: Deals) -> Activities:
    """Two or more calls, e-mails and meetings while each deal is open."""
    row = repeat_rows(2 + rng.poisson(2.0, len(deals.created)))
    end = np.minimum(deals.history.closed[row], span.as_of)
    start = deals.created[row]
    at = start + (rng.random(len(row)) * (end - start)).astype(np.int64)
    kind = rng.choice([_CALL, _EMAIL, _MEETING], len(row), p=[0.3, 0.3, 0.4])
    return deals.person[row], deals.account[row], row, deals.owner[row], kind, at


def _pick_call(rng: np.random.Generator, share: float, n: int) -> Int:
    return np.where(rng.random(n) < share, _CALL, _EMAIL)


def _activities(person: Int, account: Int, owner: Int, kind: Int, at: Int) -> Activities:
    return person, account, np.full(len(person), -1, dtype=np.int64), owner, kind, at
