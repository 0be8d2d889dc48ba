"""Marketing e-mail: a send every two weeks to a sample of the people known by then.

Each recipient gets ``sent``, then ``bounce`` (a fixed 3 % of addresses are bad) or
``delivered``; some open (several times), a few click, fewer unsubscribe and are never mailed
again. Clicks also become ``email_click`` touchpoints.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from revteam.generate._private import (
    DAY,
    Int,
    Ordered,
    build,
    id_width,
    ids,
    labels,
    repeat_rows,
    serial_ids,
    stream,
    timestamps,
)
from revteam.generate.campaigns import Campaigns
from revteam.generate.engagement import Touches
from revteam.generate.funnel import People
from revteam.generate.timeline import Span
from revteam.model import enums

SEND_EVERY_DAYS = 14
RECIPIENTS_PER_LEAD = 1.2
"""Total recipients over all sends per lead: keeps events at about three rows per lead."""
BAD_ADDRESS = 0.03
CLICK_GIVEN_OPEN = 0.15
UNSUBSCRIBE = 0.004
_TYPE = {t: i for i, t in enumerate(enums.EMAIL_EVENT_TYPES)}
_EMAIL = enums.CHANNELS.index("email")
_DTYPES = (np.int16, np.int32, np.int8, np.int64)
"""Types of the (send, person, type, time) event fields: narrow ones hold every value (sends
< 2**15, people < 2**31) and halve the memory of tens of millions of events."""


def email_events(
    seed: int, span: Span, people: People, campaigns: Campaigns
) -> tuple[pa.Table, Touches]:
    rng = stream(seed, "email")
    send_day = np.arange(3, span.n_days - 1, SEND_EVERY_DAYS, dtype=np.int64)
    send_at = send_day * DAY + 14 * 3600 + rng.integers(0, 3600, len(send_day))
    campaign = campaigns.choose(rng, np.full(len(send_day), _EMAIL), send_day)
    known = np.searchsorted(people.created, send_at)  # people are sorted by creation
    share = RECIPIENTS_PER_LEAD * people.n / max(int(known.sum()), 1)
    bad = rng.random(people.n) < BAD_ADDRESS
    unsubscribed = np.zeros(people.n, dtype=bool)
    open_rate = rng.beta(25, 75, len(send_day))
    parts: list[tuple[Int, Int, Int, Int]] = []  # (send, person, type, time)
    draws = np.empty(int(known.max(initial=0)))  # one buffer for every send's draws
    for s in range(len(send_day)):  # sends are sequential: unsubscribes stop later sends
        who = np.flatnonzero(rng.random(out=draws[: known[s]]) < share)
        who = who[~unsubscribed[who]]
        parts += _events(rng, s, who, int(send_at[s]), bad, float(open_rate[s]), unsubscribed)
    columns = {
        name: np.concatenate([p[k] for p in parts])
        for k, name in enumerate(("send", "person", "kind", "at"))
    }
    del parts
    rows = Ordered(columns, columns["at"] < span.as_of, by=("kind", "person", "at"))
    send, kind = rows["send"].whole(), rows["kind"].whole()  # narrow: cheap to hold whole
    clicks = rows.order[kind == _TYPE["click"]]
    touches = Touches(
        columns["person"][clicks],
        np.full(len(clicks), _EMAIL),
        campaign[columns["send"][clicks]],
        np.full(len(clicks), enums.TOUCHPOINT_TYPES.index("email_click")),
        columns["at"][clicks],
    )
    table = build(
        "email_events",
        {
            "event_id": serial_ids("E", len(rows), id_width(len(rows), 8)),
            "email_id": ids("EM", send, id_width(len(send_day), 4)),
            "campaign_id": campaigns.ids(campaign[send]),
            "person_id": people.ids(rows["person"]),
            "type": labels(enums.EMAIL_EVENT_TYPES, kind),
            "occurred_at": timestamps(rows["at"], span.epoch),
        },
    )
    return table, touches


def _events(
    rng: np.random.Generator,
    send: int,
    who: Int,
    at: int,
    bad: np.ndarray,
    open_rate: float,
    unsubscribed: np.ndarray,
) -> list[tuple[Int, Int, Int, Int]]:
    n = len(who)
    ok = ~bad[who]
    delivered = who[ok]
    bounced = who[~ok]
    delivered_at = at + rng.integers(1, 120, len(delivered))
    opened = rng.random(len(delivered)) < open_rate
    openers = delivered[opened]
    open_lag = (rng.lognormal(np.log(3.0), 1.2, len(openers)) * 3600).astype(np.int64)
    first_open = delivered_at[opened] + 1 + open_lag
    extra_row = repeat_rows(rng.geometric(0.6, len(openers)) - 1)
    extra_at = first_open[extra_row] + rng.integers(600, 3 * DAY, len(extra_row))
    clicked = rng.random(len(openers)) < CLICK_GIVEN_OPEN
    quits = rng.random(len(delivered)) < UNSUBSCRIBE
    unsubscribed[delivered[quits]] = True
    quit_at = at + rng.integers(3600, 2 * DAY, int(quits.sum()))

    def rows(person: Int, kind: str, when: Int | int) -> tuple[Int, Int, Int, Int]:
        m = len(person)
        times = np.broadcast_to(np.asarray(when, dtype=np.int64), (m,))
        return (
            np.full(m, send, dtype=_DTYPES[0]),
            person.astype(_DTYPES[1]),
            np.full(m, _TYPE[kind], dtype=_DTYPES[2]),
            times,
        )

    return [
        rows(who, "sent", np.full(n, at)),
        rows(bounced, "bounce", at + rng.integers(10, 300, len(bounced))),
        rows(delivered, "delivered", delivered_at),
        rows(openers, "open", first_open),
        rows(openers[extra_row], "open", extra_at),
        rows(
            openers[clicked],
            "click",
            first_open[clicked] + rng.integers(5, 600, int(clicked.sum())),
        ),
        rows(delivered[quits], "unsubscribe", quit_at),
    ]
