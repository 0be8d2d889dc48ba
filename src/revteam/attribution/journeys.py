"""Journeys from the metric layer: each conversion's touches before it, and the non-converters'.

What a conversion *is* comes from the metric layer, never from here: a conversion of ``mql`` is
a record of the ``mqls`` metric, one of ``won`` a record of ``revenue`` (whose ``value`` is the
deal's amount), so a change to a definition changes the journeys too. The touches are the
``touchpoints`` relation as every metric reads it (plus, where configured, e-mail clicks and
sales activities), cut at the as-of time.

A conversion's journey is its subject's touches in the lookback window up to and including the
conversion time: the person's, or for deals (``opportunity``, ``won``) the account's, every
touch of its people, the buying committee (``[attribution] accounts``). A subject with touches
in the range and no conversion in it is one non-converting journey (its touches in the range),
which the data-driven models need. The matching is vectorised: touches sorted by subject and
time, each window found with a binary search.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from revteam.attribution.paths import Journeys
from revteam.exceptions import AttributionError

if TYPE_CHECKING:
    from revteam.metrics import MetricsComponent
    from revteam.settings import AttributionSettings

Conversion = Literal["lead", "mql", "sql", "opportunity", "won", "customer"]
By = Literal["channel", "campaign"]
CONVERSIONS: tuple[str, ...] = get_args(Conversion)
BYS: tuple[str, ...] = get_args(By)
METRIC_OF: dict[str, str] = {
    "lead": "leads",
    "mql": "mqls",
    "sql": "sqls",
    "opportunity": "pipeline_created",
    "won": "revenue",
    "customer": "new_customers",
}
"""The catalogue metric whose records are the conversions (its ``value``: the amount)."""
NO_CAMPAIGN = "(no campaign)"
"""The segment of touches without a campaign when crediting campaigns."""
_S = 1_000_000  # microseconds per second
_DAY = 86_400 * _S

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Built:
    """Journeys and what the models do not need but the audit and the faces show."""

    journeys: Journeys
    conversion: str
    by: str
    metric: str
    """The catalogue metric whose records are the conversions."""
    conversion_id: tuple[str, ...]
    """Per journey: the converting record (person or opportunity id); a subject id for a
    non-converting journey."""
    converted_at: npt.NDArray[np.datetime64]
    """Per journey: the conversion time (the last touch for a non-converting journey)."""
    touch_at: npt.NDArray[np.datetime64]
    touch_person: tuple[str | None, ...]
    touch_type: tuple[str, ...]
    touch_channel: tuple[str, ...]
    """Per touch: its channel (also when ``by`` is campaign)."""
    touch_campaign: tuple[str | None, ...]
    """Per touch: its campaign (also when ``by`` is channel)."""
    start: dt.date | None
    end: dt.date | None
    as_of: dt.datetime
    dropped: int
    """Conversions without any touch in their window (they cannot be attributed)."""
    about: dict[str, dict[str, str | None]]
    """Per campaign segment: its ``name`` and ``channel`` (empty when crediting channels)."""


def build(
    metrics: MetricsComponent,
    settings: AttributionSettings,
    *,
    conversion: str,
    by: str = "channel",
    start: dt.date | None = None,
    end: dt.date | None = None,
    as_of: dt.datetime | None = None,
) -> Built:
    """The journeys of ``conversion`` events in ``start``..``end`` (inclusive; all when None)."""
    if conversion not in METRIC_OF:
        raise AttributionError(
            f"Unknown conversion {conversion!r}.", f"Use one of: {', '.join(CONVERSIONS)}."
        )
    if by not in BYS:
        raise AttributionError(f"Unknown segment {by!r}.", f"Use one of: {', '.join(BYS)}.")
    metric = METRIC_OF[conversion]
    spec = metrics.get(metric)
    cut = as_of or metrics.as_of()
    deals = spec.table == "opportunities"
    on_account = deals and settings.accounts
    ids = ["opportunity_id", "person_id", "account_id"] if deals else ["person_id", "account_id"]
    assert spec.time is not None
    records = metrics.records(
        metric, start=start, end=end, grain="all", as_of=cut, columns=[*ids, spec.time]
    )
    touches = _touches(metrics, settings, cut)
    subject_col = "account_id" if on_account else "person_id"
    conv_subject = records.column(subject_col).to_pylist()
    if on_account:  # a deal without an account is its contact's
        people = records.column("person_id").to_pylist()
        conv_subject = [
            a if a is not None else f"person:{p}" for a, p in zip(conv_subject, people, strict=True)
        ]
    touch_subject = touches.column(subject_col).to_pylist()
    if on_account:
        tp = touches.column("person_id").to_pylist()
        touch_subject = [
            a if a is not None else f"person:{p}" for a, p in zip(touch_subject, tp, strict=True)
        ]
    codes: dict[str | None, int] = {}
    t_subj = np.fromiter((codes.setdefault(s, len(codes)) for s in touch_subject), np.int64)
    c_subj = np.fromiter((codes.get(s, -1) for s in conv_subject), np.int64)
    t_at = _micros(touches.column("occurred_at"))
    c_at = _micros(records.column(spec.time))
    order = np.lexsort((t_at, t_subj))
    t_subj, t_at = t_subj[order], t_at[order]
    touches = touches.take(pa.array(order))
    # one sorted key, subject then time (times as dense ranks so that it fits in 64 bits):
    # each window is two binary searches
    lookback = settings.lookback_days * _DAY
    times = np.unique(np.concatenate([t_at, c_at, c_at - lookback]))
    span = len(times) + 1
    key = t_subj * span + np.searchsorted(times, t_at)
    lo = np.searchsorted(key, c_subj * span + np.searchsorted(times, c_at - lookback), "left")
    hi = np.searchsorted(key, c_subj * span + np.searchsorted(times, c_at), "right")
    hi = np.where(c_subj < 0, lo, hi)
    has = hi > lo
    dropped = int((~has).sum())
    amount = (
        pc.cast(records.column("value"), pa.float64()).to_numpy(zero_copy_only=False)
        if "value" in records.column_names
        else np.zeros(records.num_rows)
    )
    amount = np.nan_to_num(amount)
    conv_ids = records.column(ids[0]).to_pylist()

    # non-converting subjects: touches in the range, no conversion in it
    in_range = np.ones(len(t_at), dtype=bool)
    if start is not None:
        in_range &= t_at >= _micros_of(dt.datetime.combine(start, dt.time()))
    if end is not None:
        in_range &= t_at < _micros_of(dt.datetime.combine(end + dt.timedelta(days=1), dt.time()))
    converted_subjects = np.zeros(len(codes), dtype=bool)
    converted_subjects[c_subj[c_subj >= 0]] = True
    null_touch = in_range & ~converted_subjects[t_subj]
    null_idx = np.flatnonzero(null_touch)
    null_subj = t_subj[null_idx]
    # journeys: converting first (in record order), then one per non-converting subject
    conv_rows = np.flatnonzero(has)
    lengths = (hi - lo)[conv_rows]
    conv_touch = _ranges(lo[conv_rows], lengths)
    conv_journey = np.repeat(np.arange(len(conv_rows), dtype=np.int64), lengths)
    null_subjects, null_journey_local = np.unique(null_subj, return_inverse=True)
    null_journey = null_journey_local.astype(np.int64) + len(conv_rows)
    touch_idx = np.concatenate([conv_touch, null_idx])
    journey = np.concatenate([conv_journey, null_journey])
    n_conv, n_null = len(conv_rows), len(null_subjects)
    # the end of each journey: the conversion, or a non-converting journey's last touch
    ends = np.empty(n_conv + n_null, dtype=np.int64)
    ends[:n_conv] = c_at[conv_rows]
    if n_null:
        last = np.zeros(n_null, dtype=np.int64)
        np.maximum.at(last, null_journey_local, t_at[null_idx])
        ends[n_conv:] = last
    days_before = (ends[journey] - t_at[touch_idx]) / _DAY
    segment_col = "channel" if by == "channel" else "campaign_id"
    seg_values = touches.column(segment_col).to_pylist()
    if by == "campaign":
        seg_values = [NO_CAMPAIGN if v is None else v for v in seg_values]
    seg_codes: dict[str, int] = {}
    seg_of_touch = np.fromiter(
        (seg_codes.setdefault(v, len(seg_codes)) for v in seg_values), np.int64
    )
    lead_touch, opportunity_touch = _milestones(
        metrics, records, touches, deals, touch_idx, journey, n_conv, conv_rows, t_at, cut
    )
    journeys = Journeys(
        channels=tuple(seg_codes),
        journey=journey,
        channel=seg_of_touch[touch_idx],
        days_before=np.maximum(days_before, 0.0),
        conversions=np.concatenate([np.ones(n_conv), np.zeros(n_null)]),
        nulls=np.concatenate([np.zeros(n_conv), np.ones(n_null)]),
        value=np.concatenate([amount[conv_rows], np.zeros(n_null)]),
        lead_touch=lead_touch,
        opportunity_touch=opportunity_touch,
    )
    names = {v: k for k, v in codes.items()}
    channels = touches.column("channel").to_pylist()
    campaigns = touches.column("campaign_id").to_pylist()
    persons = touches.column("person_id").to_pylist()
    types = touches.column("type").to_pylist()
    t_np = t_at.astype("datetime64[us]")
    return Built(
        journeys=journeys,
        conversion=conversion,
        by=by,
        metric=metric,
        conversion_id=tuple(
            [str(conv_ids[i]) for i in conv_rows] + [str(names[s]) for s in null_subjects]
        ),
        converted_at=ends.astype("datetime64[us]"),
        touch_at=t_np[touch_idx],
        touch_person=tuple(persons[i] for i in touch_idx),
        touch_type=tuple(types[i] for i in touch_idx),
        touch_channel=tuple(channels[i] for i in touch_idx),
        touch_campaign=tuple(campaigns[i] for i in touch_idx),
        start=start,
        end=end,
        as_of=cut,
        dropped=dropped,
        about=_campaigns(metrics, cut) if by == "campaign" else {},
    )


def _campaigns(metrics: MetricsComponent, cut: dt.datetime) -> dict[str, dict[str, str | None]]:
    found = metrics.relation("campaigns", ["campaign_id", "name", "channel"], as_of=cut)
    return {
        row["campaign_id"]: {"name": row["name"], "channel": row["channel"]}
        for row in found.to_pylist()
    }


def _touches(
    metrics: MetricsComponent, settings: AttributionSettings, cut: dt.datetime
) -> pa.Table:
    """Touchpoints (and configured extra touches) at or before ``cut``, as metrics read them."""
    cols = ["person_id", "account_id", "campaign_id", "channel", "type", "occurred_at"]
    parts = [metrics.relation("touchpoints", cols, as_of=cut)]
    if settings.touch_types:
        parts[0] = parts[0].filter(
            pc.is_in(parts[0].column("type"), pa.array(settings.touch_types))
        )
    if settings.email_clicks:
        clicks = metrics.relation(
            "email_events", ["person_id", "campaign_id", "type", "occurred_at"], as_of=cut
        )
        clicks = clicks.filter(pc.equal(clicks.column("type"), "click"))
        campaigns = metrics.relation("campaigns", ["campaign_id", "channel"], as_of=cut)
        channel_of = dict(
            zip(
                campaigns.column("campaign_id").to_pylist(),
                campaigns.column("channel").to_pylist(),
                strict=True,
            )
        )
        people = metrics.relation("people", ["person_id", "account_id"], as_of=cut)
        account_of = dict(
            zip(
                people.column("person_id").to_pylist(),
                people.column("account_id").to_pylist(),
                strict=True,
            )
        )
        parts.append(
            pa.table(
                {
                    "person_id": clicks.column("person_id"),
                    "account_id": pa.array(
                        [account_of.get(p) for p in clicks.column("person_id").to_pylist()],
                        pa.string(),
                    ),
                    "campaign_id": clicks.column("campaign_id"),
                    "channel": pa.array(
                        [
                            channel_of.get(c) or "email"
                            for c in clicks.column("campaign_id").to_pylist()
                        ],
                        pa.string(),
                    ),
                    "type": pa.array(["email_click"] * clicks.num_rows, pa.string()),
                    "occurred_at": clicks.column("occurred_at"),
                }
            )
        )
    if settings.sales_activities:
        acts = metrics.relation(
            "sales_activities", ["person_id", "account_id", "type", "occurred_at"], as_of=cut
        )
        parts.append(
            pa.table(
                {
                    "person_id": acts.column("person_id"),
                    "account_id": acts.column("account_id"),
                    "campaign_id": pa.nulls(acts.num_rows, pa.string()),
                    "channel": pa.array(["outbound"] * acts.num_rows, pa.string()),
                    "type": pc.binary_join_element_wise("sales_", acts.column("type"), ""),
                    "occurred_at": acts.column("occurred_at"),
                }
            )
        )
    table = pa.concat_tables([p.select(cols).cast(parts[0].select(cols).schema) for p in parts])
    return table.filter(pc.is_valid(table.column("occurred_at")))


def _milestones(
    metrics: MetricsComponent,
    records: pa.Table,
    touches: pa.Table,
    deals: bool,
    touch_idx: I64,
    journey: I64,
    n_conv: int,
    conv_rows: I64,
    t_at: I64,
    cut: dt.datetime,
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """W-shaped's milestones: the last touch at or before the lead's (and the deal's) creation.

    Both within the journey; a deal's milestone only for opportunity and won conversions.
    """
    n = len(touch_idx)
    lead = np.zeros(n, dtype=bool)
    opp = np.zeros(n, dtype=bool)
    conv_of_touch = journey < n_conv
    if not conv_of_touch.any():
        return lead, opp
    # the stage times are the metric layer's: a lead is created when `leads` counts it
    created_at = _time_of(metrics, "lead")
    people = metrics.relation("people", ["person_id", created_at], as_of=cut)
    created = dict(
        zip(
            people.column("person_id").to_pylist(),
            _micros(people.column(created_at)).tolist(),
            strict=True,
        )
    )
    persons = records.column("person_id").to_pylist()
    lead_at = np.array(
        [created.get(persons[r], -1) if persons[r] is not None else -1 for r in conv_rows],
        dtype=np.int64,
    )
    lead[:] = _last_at_or_before(journey, t_at[touch_idx], lead_at, n_conv)
    if deals:
        opp_created = _opportunity_created(metrics, records, conv_rows, cut)
        opp[:] = _last_at_or_before(journey, t_at[touch_idx], opp_created, n_conv)
    return lead, opp


def _opportunity_created(
    metrics: MetricsComponent, records: pa.Table, conv_rows: I64, cut: dt.datetime
) -> I64:
    created_at = _time_of(metrics, "opportunity")
    opps = metrics.relation("opportunities", ["opportunity_id", created_at], as_of=cut)
    created = dict(
        zip(
            opps.column("opportunity_id").to_pylist(),
            _micros(opps.column(created_at)).tolist(),
            strict=True,
        )
    )
    ids = records.column("opportunity_id").to_pylist()
    return np.array([created.get(ids[r], -1) for r in conv_rows], dtype=np.int64)


def _last_at_or_before(journey: I64, at: I64, milestone: I64, n_conv: int) -> npt.NDArray[np.bool_]:
    """Per touch: whether it is its converting journey's last touch at or before the milestone."""
    out = np.zeros(len(journey), dtype=bool)
    conv = journey < n_conv
    idx = np.flatnonzero(conv & (at <= milestone[np.minimum(journey, n_conv - 1)]))
    idx = idx[milestone[journey[idx]] >= 0]
    if len(idx) == 0:
        return out
    # the last such touch of each journey (touches are in time order within a journey)
    last = np.full(n_conv, -1, dtype=np.int64)
    np.maximum.at(last, journey[idx], idx)
    out[last[last >= 0]] = True
    return out


def _time_of(metrics: MetricsComponent, conversion: str) -> str:
    """The time column of a conversion's metric (when the catalogue places its records)."""
    time = metrics.get(METRIC_OF[conversion]).time
    if time is None:
        raise AttributionError(
            f"The metric {METRIC_OF[conversion]} has no time column.",
            "Give it one in the catalogue (its records are the conversions).",
        )
    return time


def _ranges(starts: I64, lengths: I64) -> I64:
    """The indices ``starts[i] .. starts[i] + lengths[i] - 1`` of every ``i``, concatenated."""
    if len(lengths) == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    out: I64 = np.arange(int(lengths.sum()), dtype=np.int64) + offsets.astype(np.int64)
    return out


def _micros(column: pa.ChunkedArray | pa.Array) -> I64:
    """Timestamps as microseconds since the epoch (missing: the minimum int64)."""
    values = pc.cast(column, pa.timestamp("us")).cast(pa.int64())
    out: I64 = values.fill_null(np.iinfo(np.int64).min).to_numpy()
    return out


def _micros_of(value: dt.datetime) -> int:
    return int((value - dt.datetime(1970, 1, 1)).total_seconds() * _S)
