"""Journeys from the metric layer: each conversion's touches before it, and the non-converters'.

What a conversion *is* comes from the metric layer, never from here: a conversion of ``mql`` is
a record of the ``mqls`` metric, one of ``won`` a record of ``revenue`` (whose ``value`` is the
deal's amount), so a change to a definition changes the journeys too. The touches are the
``touchpoints`` relation as every metric reads it (plus, where configured, e-mail clicks and
sales activities), cut at the as-of time.

A conversion's journey is its subject's touches in the lookback window up to and including the
conversion time: the person's, or for deals (``opportunity``, ``won``) the account's, every
touch of its people, the buying committee (``[attribution] accounts``). A touch or a deal
without an account is its person's account's; a person without one is a subject alone
(``person:<id>``), so a deal with no company still has its contact's touches. A subject with touches
in the range and no conversion in it is one non-converting journey (its touches in the range),
which the data-driven models need. The matching is vectorised: touches sorted by subject and
time once per cut (:func:`sort_touches`), each window found by a binary search within its
subject's run, every string kept in Arrow and every grouping done on integer codes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
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
_MISSING = np.iinfo(np.int64).min

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Built:
    """Journeys and what the models do not need but the audit and the faces show.

    Per-touch strings stay in Arrow: ``touch_row`` points each journey touch at its row of
    ``touches`` (as read, in no order), so a page of the audit takes a page of rows and the
    credit table groups integer codes, never Python strings per touch.
    """

    journeys: Journeys
    conversion: str
    by: str
    metric: str
    """The catalogue metric whose records are the conversions."""
    conversion_id: pa.Array
    """Per journey: the converting record (person or opportunity id); a subject id for a
    non-converting journey (an account id, or ``person:<id>`` for a contact without one)."""
    converted_at: npt.NDArray[np.datetime64]
    """Per journey: the conversion time (the last touch for a non-converting journey)."""
    touch_at: npt.NDArray[np.datetime64]
    touch_row: I64
    """Per touch: its row of ``touches``."""
    touches: pa.Table
    """The touches read (``person_id``, ``type``, ``channel``, ``campaign_id``, ...)."""
    channel_code: I64
    """Per touch: its channel, an index into ``channel_names`` (also when ``by`` is campaign)."""
    channel_names: tuple[str, ...]
    campaign_code: I64
    """Per touch: its campaign, an index into ``campaign_names``; -1 without one."""
    campaign_names: tuple[str, ...]
    start: dt.date | None
    end: dt.date | None
    as_of: dt.datetime
    dropped: int
    """Conversions without any touch in their window (they cannot be attributed)."""
    about: dict[str, dict[str, str | None]]
    """Per campaign segment: its ``name`` and ``channel`` (empty when crediting channels)."""

    def touch_columns(self, names: Sequence[str], touches: I64) -> pa.Table:
        """Columns of ``touches`` (indices of journey touches), as read."""
        return self.touches.select(list(names)).take(pa.array(self.touch_row[touches]))


@dataclass(frozen=True)
class Read:
    """The touches at or before a cut, as read once and shared by both subject kinds."""

    table: pa.Table
    at: I64
    """Per row: microseconds since the epoch."""
    channel_code: I64
    """Per row: an index into ``channel_names``."""
    channel_names: tuple[str, ...]
    campaign_code: I64
    """Per row: an index into ``campaign_names``; -1 without a campaign."""
    campaign_names: tuple[str, ...]
    by_time: I64
    """The rows in time order (a stable sort of ``at``): both subject kinds sort from it."""


def read_touches(
    metrics: MetricsComponent, settings: AttributionSettings, cut: dt.datetime
) -> Read:
    """The touches at or before ``cut`` (and configured extra touches), strings encoded once."""
    table = _touches(metrics, settings, cut)
    channel_code, channel_names = _codes(pc.fill_null(table.column("channel"), "(none)"))
    campaign_code, campaign_names = _codes(table.column("campaign_id"))
    at = _micros(table.column("occurred_at"))
    return Read(
        table=table,
        at=at,
        channel_code=channel_code,
        channel_names=channel_names,
        campaign_code=campaign_code,
        campaign_names=campaign_names,
        by_time=np.argsort(at, kind="stable"),
    )


@dataclass(frozen=True)
class Sorted:
    """Touches sorted by subject (person or account) then time: what every window searches.

    Sorted once per cut and subject kind, then shared by every conversion.
    """

    read: Read
    people: pa.Table | None
    """People and their accounts (journeys by account), to place conversions the same way."""
    subjects: pa.Array
    """The distinct subjects; ``subject`` indexes it."""
    row: I64
    """Per sorted touch: its row of ``read.table``."""
    subject: I64
    at: I64
    """Per sorted touch: microseconds since the epoch."""
    offsets: I64
    """Per subject ``s``: its touches are ``offsets[s]`` to ``offsets[s + 1] - 1``."""


def sort_touches(
    metrics: MetricsComponent,
    settings: AttributionSettings,
    cut: dt.datetime,
    *,
    accounts: bool,
    read: Read | None = None,
) -> Sorted:
    """The touches at or before ``cut``, by person (or account: ``accounts``) then time.

    ``read``: the cut's touches already read (:func:`read_touches`), when the caller keeps them.
    """
    touches = read if read is not None else read_touches(metrics, settings, cut)
    people = (
        metrics.relation("people", ["person_id", "account_id"], as_of=cut) if accounts else None
    )
    encoded = pc.dictionary_encode(_subject(touches.table, people))
    codes = _ints(encoded.indices.fill_null(-1))
    # one sort of int64 keys (subject, then place in time order) instead of a lexsort: the
    # same stable order (equal times keep row order), a fraction of the time on 40M touches
    n = len(codes)
    place = np.empty(n, dtype=np.int64)
    place[touches.by_time] = np.arange(n, dtype=np.int64)
    known = codes >= 0  # a touch with no one to credit it to is left out
    key = codes[known] * n + place[known]
    del place
    key.sort()
    codes, key = np.divmod(key, max(n, 1))
    order = touches.by_time[key]
    del key
    return Sorted(
        read=touches,
        people=people,
        subjects=encoded.dictionary,
        row=order,
        subject=codes,
        at=touches.at[order],
        offsets=np.concatenate(
            [[0], np.cumsum(np.bincount(codes, minlength=len(encoded.dictionary)))]
        ).astype(np.int64),
    )


def _subject(table: pa.Table, people: pa.Table | None) -> pa.Array:
    """Whose journey each row (a touch or a conversion) is on.

    Its person; or with ``people`` (journeys by account) its account, else its person's
    account, else its person alone (``person:<id>``). Only rows without an account are looked
    up, so the common case reads the account column and nothing else.
    """
    person = table.column("person_id").combine_chunks()
    if people is None:
        return person
    account = table.column("account_id").combine_chunks()
    missing = pc.is_null(account)
    if not pc.any(missing).as_py():
        return account
    who = person.filter(missing)
    theirs = pc.coalesce(_lookup(who, people), pc.binary_join_element_wise("person:", who, ""))
    return pc.replace_with_mask(account, missing, theirs)


def build(
    metrics: MetricsComponent,
    settings: AttributionSettings,
    *,
    conversion: str,
    by: str = "channel",
    start: dt.date | None = None,
    end: dt.date | None = None,
    as_of: dt.datetime | None = None,
    touches: Sorted | None = None,
    milestones: bool = True,
) -> Built:
    """The journeys of ``conversion`` events in ``start``..``end`` (inclusive; all when None).

    ``touches``: the cut's touches already sorted by the right subject (:func:`sort_touches`
    with ``accounts=on_account(...)``), when the caller keeps them. ``milestones=False``
    skips W-shaped's lead and deal creation touches (no touch is marked): only for callers
    that credit by another model, as looking them up is a third of the build at 10M leads.
    """
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
    accounts = on_account(metrics, settings, conversion)
    ids = ["opportunity_id", "person_id", "account_id"] if deals else ["person_id", "account_id"]
    assert spec.time is not None
    records = metrics.records(
        metric, start=start, end=end, grain="all", as_of=cut, columns=[*ids, spec.time]
    )
    s = touches if touches is not None else sort_touches(metrics, settings, cut, accounts=accounts)
    found = pc.index_in(_subject(records, s.people), value_set=s.subjects)
    c_subj = _ints(found.fill_null(-1))
    c_at = _micros(records.column(spec.time))
    # each window: the subject's touches from conversion - lookback to the conversion, found
    # by a binary search within the subject's run of the sorted touches (exact microseconds)
    known = (c_subj >= 0) & (c_at != _MISSING)
    if len(s.offsets) < 2:  # no touches at all: no conversion has a journey
        seg_lo = seg_hi = np.zeros(len(c_subj), dtype=np.int64)
    else:
        seg_lo = np.where(known, s.offsets[np.maximum(c_subj, 0)], 0)
        seg_hi = np.where(known, s.offsets[np.maximum(c_subj, 0) + 1], 0)
    lookback = settings.lookback_days * _DAY
    lo = _search(s.at, seg_lo, seg_hi, c_at - lookback, right=False)
    hi = _search(s.at, seg_lo, seg_hi, c_at, right=True)
    has = hi > lo
    dropped = int((~has).sum())
    amount = (
        pc.cast(records.column("value"), pa.float64()).to_numpy(zero_copy_only=False)
        if "value" in records.column_names
        else np.zeros(records.num_rows)
    )
    amount = np.nan_to_num(amount)

    # non-converting subjects: touches in the range, no conversion in it
    in_range = np.ones(len(s.at), dtype=bool)
    if start is not None:
        in_range &= s.at >= _micros_of(dt.datetime.combine(start, dt.time()))
    if end is not None:
        in_range &= s.at < _micros_of(dt.datetime.combine(end + dt.timedelta(days=1), dt.time()))
    converted_subjects = np.zeros(len(s.subjects), dtype=bool)
    converted_subjects[c_subj[known]] = True
    null_idx = np.flatnonzero(in_range & ~converted_subjects[s.subject])
    null_subj = s.subject[null_idx]  # sorted: one run per subject, in time order
    new = np.r_[True, null_subj[1:] != null_subj[:-1]] if len(null_subj) else np.zeros(0, bool)
    null_subjects = null_subj[new]
    null_journey_local = np.cumsum(new) - 1
    # journeys: converting first (in record order), then one per non-converting subject
    conv_rows = np.flatnonzero(has)
    lengths = (hi - lo)[conv_rows]
    conv_touch = _ranges(lo[conv_rows], lengths)
    conv_journey = np.repeat(np.arange(len(conv_rows), dtype=np.int64), lengths)
    n_conv, n_null = len(conv_rows), len(null_subjects)
    null_journey = null_journey_local.astype(np.int64) + n_conv
    touch_idx = np.concatenate([conv_touch, null_idx])
    journey = np.concatenate([conv_journey, null_journey])
    # the end of each journey: the conversion, or a non-converting journey's last touch
    ends = np.empty(n_conv + n_null, dtype=np.int64)
    ends[:n_conv] = c_at[conv_rows]
    if n_null:
        last_of_run = np.r_[np.flatnonzero(new)[1:] - 1, len(null_idx) - 1]
        ends[n_conv:] = s.at[null_idx[last_of_run]]
    t_at = s.at[touch_idx]
    touch_row = s.row[touch_idx]
    days_before = (ends[journey] - t_at) / _DAY
    channel_code, campaign_code = s.read.channel_code[touch_row], s.read.campaign_code[touch_row]
    channel_names, campaign_names = s.read.channel_names, s.read.campaign_names
    if by == "channel":
        segments, segment = channel_names, channel_code
    else:  # touches without a campaign are one segment of their own
        segments = (*campaign_names, NO_CAMPAIGN)
        segment = np.where(campaign_code < 0, len(campaign_names), campaign_code)
    if milestones:
        lead_touch, opportunity_touch = _milestones(
            metrics, records, deals, journey, n_conv, conv_rows, t_at, cut
        )
    else:
        lead_touch, opportunity_touch = np.zeros((2, len(journey)), dtype=bool)
    journeys = Journeys(
        channels=segments,
        journey=journey,
        channel=segment,
        days_before=np.maximum(days_before, 0.0),
        conversions=np.concatenate([np.ones(n_conv), np.zeros(n_null)]),
        nulls=np.concatenate([np.zeros(n_conv), np.ones(n_null)]),
        value=np.concatenate([amount[conv_rows], np.zeros(n_null)]),
        lead_touch=lead_touch,
        opportunity_touch=opportunity_touch,
    )
    conversion_id = pa.concat_arrays(
        [
            pc.cast(records.column(ids[0]).take(pa.array(conv_rows)), pa.string()).combine_chunks(),
            pc.cast(s.subjects.take(pa.array(null_subjects)), pa.string()),
        ]
    )
    return Built(
        journeys=journeys,
        conversion=conversion,
        by=by,
        metric=metric,
        conversion_id=conversion_id,
        converted_at=ends.astype("datetime64[us]"),
        touch_at=t_at.astype("datetime64[us]"),
        touch_row=touch_row,
        touches=s.read.table,
        channel_code=channel_code,
        channel_names=channel_names,
        campaign_code=campaign_code,
        campaign_names=campaign_names,
        start=start,
        end=end,
        as_of=cut,
        dropped=dropped,
        about=_campaigns(metrics, cut) if by == "campaign" else {},
    )


def on_account(metrics: MetricsComponent, settings: AttributionSettings, conversion: str) -> bool:
    """Whether ``conversion``'s journeys are its account's (deals, ``[attribution] accounts``)."""
    if conversion not in METRIC_OF:
        return False
    return metrics.get(METRIC_OF[conversion]).table == "opportunities" and settings.accounts


def _search(at: I64, lo: I64, hi: I64, target: I64, *, right: bool) -> I64:
    """``searchsorted`` on many sorted runs at once: per query, its run ``at[lo:hi]``.

    The first index with ``at > target`` when ``right``, else with ``at >= target``.
    """
    lo, hi = lo.copy(), hi.copy()
    active = lo < hi
    while active.any():
        mid = (lo + hi) // 2
        value = at[np.minimum(mid, len(at) - 1)]
        go_right = active & ((value <= target) if right else (value < target))
        lo = np.where(go_right, mid + 1, lo)
        hi = np.where(active & ~go_right, mid, hi)
        active = lo < hi
    return lo


def _codes(column: pa.ChunkedArray) -> tuple[I64, tuple[str, ...]]:
    """Per row an index into the distinct values (in order of appearance); -1 for null."""
    encoded = pc.dictionary_encode(column.combine_chunks())
    codes = _ints(encoded.indices.fill_null(-1))
    return codes, tuple(str(v) for v in encoded.dictionary.to_pylist())


def _ints(values: pa.Array | pa.ChunkedArray) -> I64:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    out: I64 = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.int64)
    return out


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
        people = metrics.relation("people", ["person_id", "account_id"], as_of=cut)
        parts.append(
            pa.table(
                {
                    "person_id": clicks.column("person_id"),
                    "account_id": _lookup(clicks.column("person_id"), people),
                    "campaign_id": clicks.column("campaign_id"),
                    "channel": pc.fill_null(
                        _lookup(clicks.column("campaign_id"), campaigns), "email"
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
    if table.column("occurred_at").null_count == 0:
        return table  # nothing to drop: spare a copy of every column
    return table.filter(pc.is_valid(table.column("occurred_at")))


def _lookup(keys: pa.Array | pa.ChunkedArray, table: pa.Table) -> pa.Array:
    """Per key: the second column of ``table`` on the row whose first column is the key."""
    index = pc.index_in(keys, value_set=table.column(0).combine_chunks())
    if isinstance(index, pa.ChunkedArray):
        index = index.combine_chunks()
    return table.column(1).combine_chunks().take(index)


def _milestones(
    metrics: MetricsComponent,
    records: pa.Table,
    deals: bool,
    journey: I64,
    n_conv: int,
    conv_rows: I64,
    t_at: I64,
    cut: dt.datetime,
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """W-shaped's milestones: the last touch at or before the lead's (and the deal's) creation.

    Both within the journey; a deal's milestone only for opportunity and won conversions.
    """
    n = len(journey)
    lead = np.zeros(n, dtype=bool)
    opp = np.zeros(n, dtype=bool)
    if not (journey < n_conv).any():
        return lead, opp
    # the stage times are the metric layer's: a lead is created when `leads` counts it
    rows = pa.array(conv_rows)
    lead_at = _created(metrics, "lead", records.column("person_id").take(rows), cut)
    lead[:] = _last_at_or_before(journey, t_at, lead_at, n_conv)
    if deals:
        opp_at = _created(metrics, "opportunity", records.column("opportunity_id").take(rows), cut)
        opp[:] = _last_at_or_before(journey, t_at, opp_at, n_conv)
    return lead, opp


def _created(
    metrics: MetricsComponent, conversion: str, ids: pa.ChunkedArray, cut: dt.datetime
) -> I64:
    """Per id: when ``conversion``'s metric places its record (-1 when it has none)."""
    spec = metrics.get(METRIC_OF[conversion])
    key = "opportunity_id" if spec.table == "opportunities" else "person_id"
    at = _time_of(metrics, conversion)
    assert spec.table is not None  # a metric with a time column reads a table
    found = metrics.relation(spec.table, [key, at], as_of=cut)
    where = pc.index_in(ids, value_set=found.column(key).combine_chunks())
    times = np.r_[_micros(found.column(at)), -1]  # a missing id: the -1 past the end
    out: I64 = times[_ints(where.fill_null(-1))]
    return out


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
    out: I64 = values.fill_null(_MISSING).to_numpy()
    return out


def _micros_of(value: dt.datetime) -> int:
    return int((value - dt.datetime(1970, 1, 1)).total_seconds() * _S)
