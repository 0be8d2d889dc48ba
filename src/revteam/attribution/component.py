"""``ws.attribution``: who gets credit for a conversion, under every model, side by side.

>>> ws.attribution.run(model="markov", conversion="opportunity", by="channel")  # doctest: +SKIP
>>> ws.attribution.compare(conversion="won", by="campaign")                     # doctest: +SKIP
>>> ws.attribution.audit(model="shapley", conversion="won", limit=100)          # doctest: +SKIP

Journeys come from the metric layer (:mod:`revteam.attribution.journeys`), credit from the
models (:mod:`revteam.attribution.models`). Results are cached per data version, definitions
and options: the same data and seed always give the same credit. See docs/attribution.md.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from revteam.attribution import journeys as J
from revteam.attribution.models import MODELS, Credit, attribute, bootstrap
from revteam.attribution.paths import group
from revteam.exceptions import AttributionError
from revteam.metrics.request import DateLike, check_year, to_as_of
from revteam.metrics.sources import SOURCING_RULES

if TYPE_CHECKING:
    from revteam.metrics import MetricsComponent
    from revteam.settings import Settings

KEPT = 32
"""Results kept per component (journeys of a 1M-lead company are tens of MB)."""
SORTED_KEPT = 2
"""Sorted touch tables kept (by person and by account: a 1M-lead company's are ~200 MB)."""
CREDITED = ("lead", "opportunity", "won", "customer")
"""The conversions attributed KPIs read (``attribution_credits``)."""
KEEP_TOUCHES = 10_000_000
"""Journeys (and sorted touches) of at most this many touches are kept for the next model's
credit (a 1M-lead company's: ~4M, a few hundred MB each); larger ones (10M leads: 43M touches,
gigabytes each) are dropped once credited, so memory holds one conversion's at a time."""
SHARED_KEPT = 4
"""Credit tables kept per process across opens of a warehouse (a 1M-lead company's: ~60 MB)."""
_SHARED: OrderedDict[tuple[Any, ...], pa.Table] = OrderedDict()
_SHARED_LOCK = threading.Lock()
MAX_AUDIT = 100_000


@dataclass(frozen=True)
class Attribution:
    """Credit by channel or campaign under one model, for one conversion."""

    model: str
    conversion: str
    by: str
    metric: str
    """The catalogue metric whose records are the conversions."""
    rows: tuple[dict[str, Any], ...]
    """Per segment: ``channel``/``campaign``, ``credit``, ``amount``, ``share``, and with
    intervals ``credit_low``/``credit_high``; largest credit first."""
    conversions: float
    amount: float
    journeys: int
    non_converting: int
    dropped: int
    """Conversions with no touch in their window: not attributed (named in ``notes``)."""
    start: dt.date | None
    end: dt.date | None
    as_of: dt.datetime
    options: dict[str, Any]
    details: dict[str, Any]
    notes: tuple[str, ...] = ()
    level: float | None = None

    def to_arrow(self) -> pa.Table:
        return pa.Table.from_pylist(list(self.rows))

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "conversion": self.conversion,
            "by": self.by,
            "metric": self.metric,
            "conversions": self.conversions,
            "amount": self.amount,
            "journeys": self.journeys,
            "non_converting": self.non_converting,
            "dropped": self.dropped,
            "start": self.start,
            "end": self.end,
            "as_of": self.as_of,
            "options": self.options,
            "level": self.level,
            "notes": list(self.notes),
            "details": _jsonable(self.details),
            "rows": list(self.rows),
        }


@dataclass
class _Cache:
    touches: OrderedDict[tuple[Any, ...], J.Sorted] = field(default_factory=OrderedDict)
    built: OrderedDict[tuple[Any, ...], J.Built] = field(default_factory=OrderedDict)
    credit: OrderedDict[tuple[Any, ...], Credit] = field(default_factory=OrderedDict)
    intervals: OrderedDict[tuple[Any, ...], tuple[Any, Any]] = field(default_factory=OrderedDict)


class AttributionComponent:
    """Journeys and credit over the metric layer (``ws.attribution``)."""

    def __init__(self, *, metrics: MetricsComponent, settings: Settings) -> None:
        self._metrics = metrics
        self._settings = settings
        self._cache = _Cache()

    @property
    def models(self) -> tuple[str, ...]:
        return MODELS

    def journeys(
        self,
        conversion: str = "opportunity",
        *,
        by: str = "channel",
        start: DateLike | None = None,
        end: DateLike | None = None,
        as_of: DateLike | None = None,
    ) -> J.Built:
        """The journeys the models read (cached per data version and definitions)."""
        return self._built(conversion, by, start, end, as_of)[1]

    def _built(
        self,
        conversion: str,
        by: str,
        start: DateLike | None,
        end: DateLike | None,
        as_of: DateLike | None,
    ) -> tuple[tuple[Any, ...], J.Built]:
        first, last, cut = self._range(start, end, as_of)
        key = (conversion, by, first, last, cut, *self._stamp())
        found = self._cache.built.get(key)
        if found is None:
            found = J.build(
                self._metrics,
                self._settings.attribution,
                conversion=conversion,
                by=by,
                start=first,
                end=last,
                as_of=cut,
                touches=self._sorted(conversion, cut),
            )
            _keep(self._cache.built, key, found)
        return key, found

    def _sorted(self, conversion: str, cut: dt.datetime) -> J.Sorted:
        """The cut's touches sorted by the conversion's subject, shared by every conversion."""
        cfg = self._settings.attribution
        accounts = J.on_account(self._metrics, cfg, conversion)
        key = (cut, accounts, *self._stamp())
        found = self._cache.touches.get(key)
        if found is None:
            found = J.sort_touches(
                self._metrics, cfg, cut, accounts=accounts, read=self._read_kept(cut, accounts)
            )
            _keep(self._cache.touches, key, found, SORTED_KEPT)
        return found

    def _read_kept(self, cut: dt.datetime, accounts: bool) -> J.Read | None:
        """The touches already read for the other subject kind, if kept (read once for both)."""
        other = self._cache.touches.get((cut, not accounts, *self._stamp()))
        return other.read if other is not None else None

    def _stamp(self) -> tuple[Any, ...]:
        """What kept journeys depend on besides their options: definitions, data, settings."""
        return (self._metrics.catalogue.fingerprint, self._version(), self._cfg())

    def run(
        self,
        model: str | None = None,
        *,
        conversion: str = "opportunity",
        by: str = "channel",
        start: DateLike | None = None,
        end: DateLike | None = None,
        as_of: DateLike | None = None,
        order: int | None = None,
        half_life_days: float | None = None,
        intervals: bool = False,
        level: float = 0.9,
    ) -> Attribution:
        """Credit by ``by`` under ``model`` (default ``[attribution] model``)."""
        chosen = self._model(model)
        key, built = self._built(conversion, by, start, end, as_of)
        options = self._options(chosen, order, half_life_days)
        credit = self._credit(key, built, chosen, options)
        low = high = None
        if intervals:
            if not 0.5 <= level < 1:
                raise AttributionError(
                    f"level {level} is not a confidence level.", "Use 0.5 to 0.99."
                )
            low, high = self._intervals(key, built, chosen, options, level)
        return _result(built, credit, options, low, high, level if intervals else None)

    def compare(
        self,
        models: Iterable[str] | None = None,
        *,
        conversion: str = "opportunity",
        by: str = "channel",
        start: DateLike | None = None,
        end: DateLike | None = None,
        as_of: DateLike | None = None,
        order: int | None = None,
        half_life_days: float | None = None,
        intervals: bool = False,
        level: float = 0.9,
    ) -> list[Attribution]:
        """Every model (or ``models``) on the same journeys, in :data:`MODELS` order."""
        chosen = [self._model(m) for m in (models or MODELS)]
        return [
            self.run(
                m,
                conversion=conversion,
                by=by,
                start=start,
                end=end,
                as_of=as_of,
                order=order,
                half_life_days=half_life_days,
                intervals=intervals,
                level=level,
            )
            for m in chosen
        ]

    def audit(
        self,
        models: Sequence[str] | None = None,
        *,
        conversion: str = "opportunity",
        by: str = "channel",
        start: DateLike | None = None,
        end: DateLike | None = None,
        as_of: DateLike | None = None,
        conversion_id: str | None = None,
        limit: int = 1000,
        offset: int = 0,
    ) -> pa.Table:
        """One row per touch of converting journeys: its credit under each model.

        ``conversion_id`` keeps one conversion (a person or an opportunity id). Each
        conversion's credits sum to 1 under every model (``amount``: its share of the amount).
        """
        if not 0 <= limit <= MAX_AUDIT or offset < 0:
            raise AttributionError(
                f"limit {limit} / offset {offset} is out of bounds.",
                f"Ask for at most {MAX_AUDIT:,} touches a page (offset ≥ 0).",
            )
        chosen = [self._model(m) for m in (models or MODELS)]
        key, built = self._built(conversion, by, start, end, as_of)
        j = built.journeys
        converting = np.flatnonzero(j.conversions[j.journey] > 0)
        if conversion_id is not None:
            wanted = np.flatnonzero(
                pc.equal(built.conversion_id, conversion_id)
                .fill_null(False)
                .to_numpy(zero_copy_only=False)
            )
            converting = converting[np.isin(j.journey[converting], wanted)]
        page = converting[offset : offset + limit]
        read = built.touch_columns(["person_id", "type", "channel"], page)
        columns: dict[str, Any] = {
            "conversion_id": built.conversion_id.take(pa.array(j.journey[page])),
            "converted_at": built.converted_at[j.journey[page]],
            "amount": j.value[j.journey[page]],
            "touch_at": built.touch_at[page],
            **{name: read.column(name) for name in read.column_names},
        }
        if by == "campaign":
            columns["campaign"] = pa.array(j.channels).take(pa.array(j.channel[page]))
        columns["days_before"] = j.days_before[page]
        for m in chosen:
            credit = self._credit(key, built, m, self._options(m, None, None))
            columns[m] = credit.touch_credit[page]
        return pa.table(columns)

    def credit_rows(
        self, model: str, as_of: dt.datetime, *, metrics: MetricsComponent | None = None
    ) -> pa.Table:
        """One model's credit for attributed KPIs: a row per conversion, channel and campaign.

        Lead, opportunity, won and new-customer conversions (all, to ``as_of``), credited by
        channel; a channel's credit in a journey goes to its touches' campaigns in proportion
        to their touch credit. ``metrics``: another view of the metric layer (a proposal's, or
        as defined on a day), whose definitions the conversions then follow.
        """
        if metrics is not None and metrics is not self._metrics:
            return AttributionComponent(metrics=metrics, settings=self._settings).credit_rows(
                model, as_of
            )
        chosen = self._model(model)
        # kept per process, not per component: the web app reopens the warehouse after each
        # idle spell, and a 1M-lead company's credit takes seconds to compute
        identity = self._metrics.data_identity()
        options = tuple(sorted(self._options(chosen, None, None).items()))
        shared = None
        if identity is not None:
            shared = (identity, self._metrics.catalogue.fingerprint, chosen, options, as_of)
            shared += self._cfg()
            with _SHARED_LOCK:
                found = _SHARED.get(shared)
                if found is not None:
                    _SHARED.move_to_end(shared)
                    return found
        parts = self._credit_parts(chosen, dict(options), as_of)
        table = pa.concat_tables([parts[c] for c in CREDITED], promote_options="permissive")
        if shared is not None:
            with _SHARED_LOCK:
                _keep(_SHARED, shared, table, SHARED_KEPT)
        return table

    def _credit_parts(
        self, model: str, options: dict[str, Any], as_of: dt.datetime
    ) -> dict[str, pa.Table]:
        """Each credited conversion's credit table, one conversion at a time.

        Journeys of more than :data:`KEEP_TOUCHES` touches are not kept: at 10M leads one
        conversion's take gigabytes, so they are built, credited and dropped in turn, person
        journeys then account journeys (one sort of the touches alive at a time). Smaller ones
        are kept for the next model, as ``journeys()`` keeps them; cached ones are reused.
        """
        cfg = self._settings.attribution
        cut = self._range(None, None, as_of)[2]
        stamp = self._stamp()
        kinds = {c: J.on_account(self._metrics, cfg, c) for c in CREDITED}
        parts: dict[str, pa.Table] = {}
        read: J.Read | None = None
        for accounts in sorted(set(kinds.values())):
            sorted_key = (cut, accounts, *stamp)
            touches = self._cache.touches.get(sorted_key)
            for conversion in (c for c in CREDITED if kinds[c] == accounts):
                key = (conversion, "channel", None, None, cut, *stamp)
                built = self._cache.built.get(key)
                if built is None:
                    if touches is None:
                        read = read or self._read_kept(cut, accounts)
                        read = read or J.read_touches(self._metrics, cfg, cut)
                        touches = J.sort_touches(
                            self._metrics, cfg, cut, accounts=accounts, read=read
                        )
                    keep = len(touches.at) <= KEEP_TOUCHES
                    built = J.build(
                        self._metrics,
                        cfg,
                        conversion=conversion,
                        as_of=cut,
                        touches=touches,
                        milestones=keep or model == "w_shaped",  # kept: any model may read it
                    )
                    if keep:
                        _keep(self._cache.touches, sorted_key, touches, SORTED_KEPT)
                        _keep(self._cache.built, key, built)
                if built.journeys.n_touches == 0:  # no touch at all: nothing is attributed
                    empty = np.zeros(0)
                    credit = Credit(model, empty, empty, empty)
                else:
                    keep = built.journeys.n_touches <= KEEP_TOUCHES
                    credit = self._credit(key, built, model, options, keep=keep)
                parts[conversion] = _credit_table(built, credit, model)
                del built, credit
            del touches
        return parts

    def sourcing(
        self,
        *,
        start: DateLike | None = None,
        end: DateLike | None = None,
        as_of: DateLike | None = None,
    ) -> list[dict[str, Any]]:
        """Sourced versus influenced pipeline: the three sourcing rules side by side.

        Per rule: ``marketing_sourced_pipeline`` and its share of ``pipeline_created`` as the
        metric layer computes them with that rule (``active``: the catalogue's); then the
        pipeline *influenced* by marketing: deals whose (account's) journey had a touch on a
        marketing channel before the deal was created.
        """
        first, last, cut = self._range(start, end, as_of)
        cat = self._metrics.catalogue
        options: dict[str, Any] = {"grain": "all", "start": first, "end": last, "as_of": cut}
        rows: list[dict[str, Any]] = []
        for rule in SOURCING_RULES:
            variant = replace(cat, sourcing=cat.sourcing.model_copy(update={"rule": rule}))
            found = self._metrics.using(variant).query(
                ["marketing_sourced_pipeline", "pipeline_created"], **options
            )
            value = {r["metric"]: r["value"] for r in found.to_pylist() if r["is_total"]}
            sourced, pipeline = (
                value.get("marketing_sourced_pipeline"),
                value.get("pipeline_created"),
            )
            rows.append(
                {
                    "view": "sourced",
                    "rule": rule,
                    "active": rule == cat.sourcing.rule,
                    "pipeline": sourced,
                    "share": sourced / pipeline if sourced is not None and pipeline else None,
                    "total_pipeline": pipeline,
                }
            )
        built = self.journeys("opportunity", start=first, end=last, as_of=cut)
        j = built.journeys
        marketing = set(cat.sourcing.marketing_channels)
        codes = [i for i, c in enumerate(built.channel_names) if c in marketing]
        touched = np.isin(built.channel_code, codes)
        hit = np.zeros(j.n_journeys, dtype=bool)
        hit[j.journey[touched]] = True
        hit &= j.conversions > 0
        influenced = float(j.value[hit].sum())
        total = rows[0]["total_pipeline"]
        rows.append(
            {
                "view": "influenced",
                "rule": "any marketing touch before the deal",
                "active": False,
                "pipeline": influenced,
                "share": influenced / total if total else None,
                "total_pipeline": total,
            }
        )
        return rows

    def budget(
        self,
        model: str | None = None,
        *,
        grain: str = "month",
        start: DateLike | None = None,
        end: DateLike | None = None,
        as_of: DateLike | None = None,
    ) -> pa.Table:
        """Campaign budget versus spend versus attributed return, per period.

        ``budget``: the campaign's budget spread evenly over its days (an open-ended campaign's
        from its start to the as-of day); ``spend``: its ``marketing_cost``; the attributed
        pipeline and revenue under ``model`` and the ROI they make of the spend.
        """
        chosen = self._model(model)
        first, last, cut = self._range(start, end, as_of)
        found = self._metrics.query(
            ["marketing_cost", "attributed_pipeline", "attributed_revenue"],
            by="campaign",
            grain=grain,
            start=first,
            end=last,
            as_of=cut,
            totals=False,
            where={"attribution_model": [chosen]},
        )
        cells: dict[tuple[Any, str], dict[str, Any]] = {}
        for r in found.to_pylist():
            if r["campaign"] is None:
                continue
            cell = cells.setdefault(
                (r["period"], r["campaign"]), {"period_label": r["period_label"]}
            )
            cell[r["metric"]] = r["value"]
        about = {c["campaign_id"]: c for c in self._campaigns(cut)}
        margin = self._settings.gross_margin
        rows = []
        for (period, campaign), cell in sorted(cells.items()):
            info = about.get(campaign, {})
            spend = cell.get("marketing_cost") or 0.0
            revenue = cell.get("attributed_revenue") or 0.0
            budget = _budget_in(info, period, grain, cut.date())
            rows.append(
                {
                    "period": cell["period_label"],
                    "campaign": campaign,
                    "campaign_name": info.get("name"),
                    "channel": info.get("channel"),
                    "budget": budget,
                    "spend": spend,
                    "spend_of_budget": spend / budget if budget else None,
                    "attributed_pipeline": cell.get("attributed_pipeline") or 0.0,
                    "attributed_revenue": revenue,
                    "roi": (revenue * margin - spend) / spend if spend else None,
                    "model": chosen,
                }
            )
        return pa.Table.from_pylist(rows)

    def _campaigns(self, cut: dt.datetime) -> list[dict[str, Any]]:
        cols = ["campaign_id", "name", "channel", "start_date", "end_date", "budget"]
        rows: list[dict[str, Any]] = self._metrics.relation(
            "campaigns", cols, as_of=cut
        ).to_pylist()
        return rows

    # -- internals -----------------------------------------------------------------------------
    def _model(self, model: str | None) -> str:
        chosen = model or self._settings.attribution.model
        if chosen not in MODELS:
            raise AttributionError(
                f"Unknown model {chosen!r}.", f"Use one of: {', '.join(MODELS)}."
            )
        return chosen

    def _options(self, model: str, order: int | None, half_life: float | None) -> dict[str, Any]:
        cfg = self._settings.attribution
        if order is not None and not 1 <= order <= 3:
            raise AttributionError(f"Markov order {order} is not supported.", "Use 1, 2 or 3.")
        if half_life is not None and half_life <= 0:
            raise AttributionError(f"half-life {half_life} is not positive.", "Give days > 0.")
        out: dict[str, Any] = {}
        if model == "time_decay":
            out["half_life_days"] = half_life or cfg.half_life_days
        if model == "last_non_direct":
            out["direct"] = cfg.direct_channel
        if model == "markov":
            out["order"] = order or cfg.markov_order
        if model == "shapley":
            out["shapley_value"] = cfg.shapley_value
            out["shapley_exact_max"] = cfg.shapley_exact_max
            out["seed"] = cfg.seed
        return out

    def _credit(
        self,
        built_key: tuple[Any, ...],
        built: J.Built,
        model: str,
        options: dict[str, Any],
        *,
        keep: bool = True,
    ) -> Credit:
        key = (built_key, model, tuple(sorted(options.items())))
        found = self._cache.credit.get(key)
        if found is None:
            try:
                found = attribute(built.journeys, model, **options)
            except ValueError as exc:
                raise AttributionError(f"{model}: {exc}") from None
            if keep:
                _keep(self._cache.credit, key, found)
        return found

    def _intervals(
        self,
        built_key: tuple[Any, ...],
        built: J.Built,
        model: str,
        options: dict[str, Any],
        level: float,
    ) -> tuple[Any, Any]:
        cfg = self._settings.attribution
        key = (built_key, model, tuple(sorted(options.items())), level)
        found = self._cache.intervals.get(key)
        if found is None:
            try:
                found = bootstrap(
                    built.journeys,
                    model,
                    replicates=cfg.bootstrap_replicates,
                    level=level,
                    seed=cfg.seed,
                    **{k: v for k, v in options.items() if k != "seed"},
                )
            except ValueError as exc:
                raise AttributionError(f"{model}: {exc}") from None
            _keep(self._cache.intervals, key, found)
        return found

    def _range(
        self, start: DateLike | None, end: DateLike | None, as_of: DateLike | None
    ) -> tuple[dt.date | None, dt.date | None, dt.datetime]:
        years = self._settings.plausible_years
        first = _day(start, "start")
        last = _day(end, "end")
        for value, name in ((first, "start"), (last, "end")):
            check_year(value, name, years)
        if first and last and first > last:
            raise AttributionError(f"start {first} is after end {last}.", "Swap them.")
        cut = to_as_of(as_of) or self._metrics.as_of()
        return first, last, cut

    def _version(self) -> int:
        return self._metrics.data_version

    def _cfg(self) -> tuple[Any, ...]:
        return tuple(sorted(self._settings.attribution.model_dump().items(), key=str))


def _result(
    built: J.Built,
    credit: Credit,
    options: dict[str, Any],
    low: Any,
    high: Any,
    level: float | None,
) -> Attribution:
    j = built.journeys
    total = float(j.conversions.sum())
    amount = float(j.value.sum())
    label = "channel" if built.by == "channel" else "campaign"
    rows = []
    for i, name in enumerate(j.channels):
        row: dict[str, Any] = {label: name}
        if built.by == "campaign":
            about = built.about.get(name, {})
            row["campaign_name"] = about.get("name")
            row["channel"] = about.get("channel")
        row |= {
            "credit": float(credit.channel_credit[i]),
            "amount": float(credit.channel_value[i]),
            "share": float(credit.channel_credit[i] / total) if total else None,
            "model": credit.model,
        }
        if low is not None and high is not None:
            row["credit_low"], row["credit_high"] = float(low[i]), float(high[i])
        rows.append(row)
    rows.sort(key=lambda r: (-r["credit"], str(r[label])))
    notes = list(credit.details.get("notes", ()))
    if built.dropped:
        notes.append(
            f"{built.dropped:,} {built.conversion} conversions had no touch in their lookback "
            "window ([attribution] lookback_days) and are not attributed."
        )
    return Attribution(
        model=credit.model,
        conversion=built.conversion,
        by=built.by,
        metric=built.metric,
        rows=tuple(rows),
        conversions=total,
        amount=amount,
        journeys=j.n_journeys,
        non_converting=int((j.conversions == 0).sum()),
        dropped=built.dropped,
        start=built.start,
        end=built.end,
        as_of=built.as_of,
        options=options,
        details={k: v for k, v in credit.details.items() if k != "notes"},
        notes=tuple(notes),
        level=level,
    )


def _credit_table(built: J.Built, credit: Credit, model: str) -> pa.Table:
    """Touch credits summed per conversion, channel and campaign (converting journeys only).

    Grouped on integer codes (journey, channel, campaign + 1), never on strings per touch.
    """
    j = built.journeys
    keep = np.flatnonzero((j.conversions[j.journey] > 0) & (credit.touch_credit != 0))
    journey = j.journey[keep]
    n_ch, n_camp = len(built.channel_names), len(built.campaign_names) + 1
    code = (journey * n_ch + built.channel_code[keep]) * n_camp + built.campaign_code[keep] + 1
    groups, which_group, _ = group(code)
    credit_sum = np.bincount(
        which_group, weights=credit.touch_credit[keep] * j.conversions[journey]
    )
    amount_sum = np.bincount(which_group, weights=credit.touch_credit[keep] * j.value[journey])
    which, rest = np.divmod(groups, n_ch * n_camp)
    channel, campaign = np.divmod(rest, n_camp)
    campaign -= 1
    n = len(groups)
    return pa.table(
        {
            "model": _constant(model, n),
            "conversion": _constant(built.conversion, n),
            "conversion_id": built.conversion_id.take(pa.array(which)),
            "converted_at": pa.array(built.converted_at[which], pa.timestamp("us")),
            "channel": _coded(channel, built.channel_names),
            "campaign_id": _coded(campaign, built.campaign_names),
            "credit": pa.array(credit_sum, pa.float64()),
            "amount": pa.array(amount_sum, pa.float64()),
        }
    )


def _coded(codes: npt.NDArray[np.int64], names: Sequence[str]) -> pa.DictionaryArray:
    """Strings as a dictionary array (-1: null): a few distinct values over many rows."""
    indices = pa.array(codes.astype(np.int32), mask=codes < 0)
    return pa.DictionaryArray.from_arrays(indices, pa.array(names, pa.string()))


def _constant(value: str, n: int) -> pa.DictionaryArray:
    return _coded(np.zeros(n, dtype=np.int64), [value])


def _budget_in(
    campaign: dict[str, Any], period: dt.date, grain: str, as_of: dt.date
) -> float | None:
    """The share of a campaign's budget that falls in a period (even per day of its run)."""
    from revteam.metrics import periods as P

    budget, begin = campaign.get("budget"), campaign.get("start_date")
    if budget is None or begin is None:
        return None
    finish = campaign.get("end_date") or as_of
    days = (finish - begin).days + 1
    if days <= 0:
        return None
    first = period
    last = P.end(period, P.check_grain(grain)) - dt.timedelta(days=1) if grain != "all" else finish
    overlap = (min(last, finish) - max(first, begin)).days + 1
    share: float = float(budget) * max(overlap, 0) / days
    return share


def _day(value: DateLike | None, name: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise AttributionError(f"{name} {value!r} is not a day.", "Write YYYY-MM-DD.") from None


def clear_shared_credit() -> None:
    """Forget the credit tables kept per process (benchmarks time a cold credit with it)."""
    with _SHARED_LOCK:
        _SHARED.clear()


def _keep(cache: OrderedDict[Any, Any], key: Any, value: Any, kept: int = KEPT) -> None:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > kept:
        cache.popitem(last=False)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


__all__ = ["Attribution", "AttributionComponent"]
