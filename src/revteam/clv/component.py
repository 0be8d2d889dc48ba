"""``ws.clv``: customer-value models fitted on the workspace's orders and renewals.

>>> ws.clv.fit("bg_nbd", start="2024-01-01", end="2025-06-30")  # doctest: +SKIP
>>> ws.clv.fit("sbg")                                            # doctest: +SKIP

Transactions are the ``orders`` relation as every metric reads it (customer = account); renewals
are the won and lost ``renewal`` opportunities. Fits are cached per data version and options.
See docs/clv.md.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from revteam.clv import models as M
from revteam.clv.bootstrap import Part, group_intervals
from revteam.clv.summary import DAYS, TIME_UNITS, Summary, summarise
from revteam.exceptions import ClvError
from revteam.metrics.request import DateLike, check_year, to_as_of

if TYPE_CHECKING:
    from revteam.metrics import MetricsComponent
    from revteam.settings import Settings

MODELS = ("bg_nbd", "gamma_gamma", "sbg")
KEPT = 16
DRAWS = 200
"""Parameter draws of the predictions' intervals (parametric bootstrap)."""
MAX_GROUPS = 500
"""Groups predicted CLV's intervals are computed for at most (one bootstrap each)."""
PER_SEGMENT = 1_000
"""Customers per segment the draws are evaluated on (a fixed random subset beyond it)."""


class ValueBy(TypedDict):
    """:meth:`ClvComponent.value_by`'s answer."""

    rows: list[dict[str, Any]]
    intervals_note: str | None


@dataclass(frozen=True)
class ClvFit:
    """A model fitted on the workspace: the fit, and what it was fitted on."""

    fit: M.Fit
    start: dt.date
    end: dt.date
    time_unit: str
    """The unit of t_x, T and of rates (repeat-purchase models); renewals are periods (sbg)."""
    as_of: dt.datetime
    customers: int
    """Customers in the calibration cohort (acquired from ``start`` to ``end``)."""
    repeat_customers: int
    """Of them, those who bought again in the period (repeat-purchase models)."""
    transactions: int
    """Transactions (customer-days) summarised, or renewal decisions seen (sbg)."""
    expected_lifetime: float | None = None
    """sbg: the discounted expected residual lifetime (DERL, Fader & Hardie 2010) of a
    customer just won: Σ over renewals t ≥ 1 of S(t) / (1+d)^(t−1), with d ``[clv]
    discount_rate`` per contract period. Times one contract's margin, what the renewals of a
    new customer are worth at their first renewal."""

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.fit.as_dict(),
            "expected_lifetime": self.expected_lifetime,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "time_unit": self.time_unit,
            "as_of": self.as_of.isoformat(),
            "customers": self.customers,
            "repeat_customers": self.repeat_customers,
            "transactions": self.transactions,
        }


class ClvComponent:
    """Customer value over the metric layer (``ws.clv``)."""

    def __init__(self, *, metrics: MetricsComponent, settings: Settings) -> None:
        self._metrics = metrics
        self._settings = settings
        self._fits: OrderedDict[tuple[Any, ...], ClvFit] = OrderedDict()

    def summary(
        self,
        *,
        start: DateLike | None = None,
        end: DateLike | None = None,
        time_unit: str | None = None,
        as_of: DateLike | None = None,
        segment: str | None = None,
    ) -> Summary:
        """Per customer acquired from ``start`` to ``end``: (x, t_x, T, z̄) of their orders.

        ``segment``: only the accounts of that segment (``accounts.segment``).
        """
        cut = self._cut(as_of)
        unit = time_unit or self._settings.clv.time_unit
        if unit not in DAYS:
            raise ClvError(f"Unknown time unit {unit!r}.", f"Use one of: {', '.join(TIME_UNITS)}.")
        orders = self._metrics.relation(
            "orders", ["account_id", "ordered_at", "amount", "product"], as_of=cut
        )
        if segment is not None:
            orders = orders.filter(self._in_segment(orders.column("account_id"), segment, cut))
        first, last = self._range(start, end, cut, orders.column("ordered_at"))
        products = self._settings.clv.repeat_products
        repeat = (
            pc.is_in(orders.column("product"), pa.array(products, pa.string()))
            if products
            else None
        )
        return summarise(
            orders.column("account_id"),
            orders.column("ordered_at"),
            orders.column("amount"),
            start=first,
            end=last,
            unit=unit,
            repeat=repeat,
        )

    def lifetimes(
        self,
        *,
        start: DateLike | None = None,
        end: DateLike | None = None,
        as_of: DateLike | None = None,
        segment: str | None = None,
    ) -> tuple[M.Lifetimes, int, dt.date, dt.date]:
        """Renewals of the customers acquired from ``start`` to ``end``.

        Returns their lifetimes, how many they are, and the period (defaults filled in). A
        customer's periods are their renewal decisions (the metric layer's
        ``renewal_decisions``, in the order they were due): the first one lost is their churn;
        with none lost they are alive after the renewals won. A decision is seen once it was
        due (expected close date) and closed by ``end``; open ones are not decided yet.
        """
        data, ids, first, last = self._renewals(start, end, as_of, segment)
        return data, len(ids), first, last

    def holdout(
        self,
        *,
        weeks: int = 26,
        as_of: DateLike | None = None,
        segment: str | None = None,
        top: int = 7,
    ) -> dict[str, Any]:
        """BG/NBD's holdout check: predicted against actual repeat purchases of the last weeks.

        Fit up to ``weeks`` before the data ends, predict each customer's repeat purchases in
        those weeks, and compare with what they did. ``rows``: per number of repeat purchases
        in the calibration period (0 … ``top``, the last row "``top``+"), the customers and
        their mean ``predicted`` and ``actual`` repeat purchases in the holdout (the papers'
        conditional-expectations plot); ``total`` the same summed over everyone. Each prediction
        carries a 90% interval from the parameters' uncertainty (``predicted_low``/``_high``;
        ``None`` when the fit has no standard errors): the customers' own randomness widens it
        further, so an actual outside it by a little is not yet a misfit. A model that tracks
        the holdout can be trusted with the future; one that does not says so here before its
        CLV is used.
        """
        if not 1 <= weeks <= 520:
            raise ClvError(f"A holdout of {weeks} weeks is out of range.", "Give 1 to 520.")
        cut = self._cut(as_of)
        end = cut.date()
        calibration_end = end - dt.timedelta(weeks=weeks)
        first_order = self._metrics.relation("orders", ["ordered_at"], as_of=cut).column(
            "ordered_at"
        )
        earliest = pc.min(first_order).as_py() if len(first_order) else None
        if earliest is None or calibration_end <= earliest.date():
            raise ClvError(
                f"A holdout of {weeks} weeks starts on {calibration_end}, before any order "
                f"({earliest.date() if earliest else 'none loaded'}): nothing is left to fit on.",
                "Give fewer --weeks.",
            )
        options: dict[str, Any] = {"as_of": cut, "segment": segment}
        calibration = self.summary(end=calibration_end, **options)
        fit = self.fit("bg_nbd", end=calibration_end, **options)
        span = weeks * 7 / DAYS[calibration.unit]
        predicted = M.bg_nbd_expected(fit.fit.vector(), calibration.data, span)
        later = self.summary(start=calibration.start, end=end, **options)
        where = pc.index_in(calibration.customers, value_set=later.customers)
        x_later = later.data.x[np.asarray(where.to_numpy(zero_copy_only=False), np.int64)]
        actual = x_later - calibration.data.x
        group = np.minimum(calibration.data.x, top).astype(np.int64)
        # the parameters' uncertainty: the predictions under draws from the estimate's
        # asymptotic normal (none when the fit has no standard errors)
        try:
            draws = M.draw_params(fit.fit, DRAWS, seed=4)
        except ClvError:
            draws = np.zeros((0, 4))
        under = np.array([M.bg_nbd_expected(d, calibration.data, span) for d in draws])
        tail = 0.05
        rows = []
        for x in range(top + 1):
            mine = group == x
            n = int(mine.sum())
            low = high = None
            if n and len(under):
                low, high = (
                    float(v) for v in np.quantile(under[:, mine].mean(axis=1), [tail, 1 - tail])
                )
            rows.append(
                {
                    "repeat_purchases": f"{x}+" if x == top else str(x),
                    "customers": n,
                    "predicted": float(predicted[mine].mean()) if n else None,
                    "predicted_low": low,
                    "predicted_high": high,
                    "actual": float(actual[mine].mean()) if n else None,
                }
            )
        totals = under.sum(axis=1) if len(under) else None
        return {
            "calibration_end": calibration_end.isoformat(),
            "end": end.isoformat(),
            "weeks": weeks,
            "params": fit.fit.params,
            "rows": rows,
            "total": {
                "customers": calibration.n,
                "predicted": float(predicted.sum()),
                "predicted_low": float(np.quantile(totals, tail)) if totals is not None else None,
                "predicted_high": (
                    float(np.quantile(totals, 1 - tail)) if totals is not None else None
                ),
                "actual": float(actual.sum()),
            },
        }

    def triangle(
        self, *, grain: str = "quarter", as_of: DateLike | None = None, segment: str | None = None
    ) -> list[dict[str, Any]]:
        """Retention by acquisition cohort: the share still a customer after each renewal.

        Rows: ``cohort`` (the period its customers were acquired in, by ``grain``: month,
        quarter or year), ``customers``, and ``retained`` — per renewal k = 1, 2, …, of the
        customers observed at k, the share who renewed k times, with ``observed`` the number
        behind each (``None`` where none is yet). A customer is observed at k once their k-th
        renewal is decided, or, having churned earlier, once k years have passed since they
        were acquired (a renewal due but still open is not yet decided).
        """
        if grain not in ("month", "quarter", "year"):
            raise ClvError(f"Unknown grain {grain!r}.", "Use month, quarter or year.")
        cut = self._cut(as_of)
        data, ids, _, _ = self._renewals(None, None, cut, segment)
        if len(ids) == 0:
            return []
        cols = ["account_id", "closed_at", "is_first_win"]
        first = self._metrics.relation("opportunities", cols, as_of=cut)
        first = first.filter(pc.fill_null(first.column("is_first_win"), False))
        where = pc.index_in(ids, value_set=first.column("account_id").combine_chunks())
        acquired = first.column("closed_at").combine_chunks().take(where).to_pylist()
        cohorts = [_period_start(a, grain) if a is not None else None for a in acquired]
        years_in = np.array([(cut - a).days / 365.25 if a is not None else 0.0 for a in acquired])
        depth = int(data.period.max()) if len(data.period) else 0
        rows = []
        for cohort in sorted({c for c in cohorts if c is not None}):
            mine = np.array([c == cohort for c in cohorts])
            period, alive, age = data.period[mine], data.alive[mine], years_in[mine]
            retained: list[float | None] = []
            observed: list[int] = []
            for k in range(1, depth + 1):
                # renewal k decided (renewed at least k times, or lost at it), or lost earlier
                # by a customer acquired at least k years ago (their k-th would be due by now)
                seen = (period >= k) | ((~alive) & (period < k) & (age >= k))
                kept = seen & ~((~alive) & (period <= k))
                n = int(seen.sum())
                observed.append(n)
                retained.append(float(kept.sum() / n) if n else None)
            rows.append(
                {
                    "cohort": cohort.isoformat(),
                    "customers": int(mine.sum()),
                    "retained": retained,
                    "observed": observed,
                }
            )
        return rows

    def _renewals(
        self,
        start: DateLike | None,
        end: DateLike | None,
        as_of: DateLike | None,
        segment: str | None,
    ) -> tuple[M.Lifetimes, pa.Array, dt.date, dt.date]:
        """:meth:`lifetimes`, with the cohort's account ids (sorted) in the lifetimes' order.

        The metric layer's meaning throughout: a customer is acquired by their first win
        (``is_first_win``) and decides at each of their ``renewal_decisions`` (the retention
        KPIs' rows), in the order they were due.
        """
        cut = self._cut(as_of)
        wins = self._metrics.relation(
            "opportunities", ["account_id", "closed_at", "is_first_win"], as_of=cut
        )
        wins = wins.filter(pc.fill_null(wins.column("is_first_win"), False))
        if segment is not None:
            wins = wins.filter(self._in_segment(wins.column("account_id"), segment, cut))
        first, last = self._range(start, end, cut, wins.column("closed_at"))
        day = pc.cast(wins.column("closed_at"), pa.date32())
        cohort = wins.filter(
            pc.and_(
                pc.greater_equal(day, pa.scalar(first, pa.date32())),
                pc.less_equal(day, pa.scalar(last, pa.date32())),
            )
        )
        ids = pc.unique(cohort.column("account_id")).sort()
        decisions = self._metrics.relation(
            "renewal_decisions",
            ["account_id", "opportunity_id", "due_at", "closed_at", "renewed"],
            as_of=cut,
        )
        # a decision counts once it was due by the end and made: counting every deal closed by
        # then would over-count losses, which close early, against wins, at the anniversary
        end_of = pa.scalar(dt.datetime.combine(last + dt.timedelta(days=1), dt.time()))
        decisions = decisions.filter(
            pc.and_(
                pc.less(decisions.column("due_at"), end_of),
                pc.less(decisions.column("closed_at"), end_of),
            )
        )
        decisions = decisions.append_column(
            "slot", pc.index_in(decisions.column("account_id"), value_set=ids)
        )
        decisions = decisions.filter(pc.is_valid(decisions.column("slot"))).sort_by(
            [("slot", "ascending"), ("due_at", "ascending"), ("opportunity_id", "ascending")]
        )
        slot = np.asarray(decisions.column("slot").to_numpy(), dtype=np.int64)
        is_won = np.asarray(
            pc.fill_null(decisions.column("renewed"), False).to_numpy(zero_copy_only=False),
            dtype=bool,
        )
        n = len(ids)
        # k: each decision's number (1, 2, …) within its customer
        starts = np.searchsorted(slot, np.arange(n))
        k = np.arange(len(slot)) - starts[slot] + 1
        churned_at = np.full(n, np.iinfo(np.int64).max)
        np.minimum.at(churned_at, slot[~is_won], k[~is_won])
        renewed = np.bincount(slot[is_won & (k < churned_at[slot])], minlength=n)
        churned = churned_at < np.iinfo(np.int64).max
        period = np.where(churned, churned_at, renewed).astype(np.float64)
        lifetimes = M.Lifetimes(period=period, alive=~churned, weight=np.ones(n))
        return lifetimes, ids, first, last

    def predict(
        self,
        *,
        start: DateLike | None = None,
        end: DateLike | None = None,
        time_unit: str | None = None,
        as_of: DateLike | None = None,
        segment: str | None = None,
    ) -> pa.Table:
        """Per customer of the calibration cohort: what BG/NBD and Gamma-Gamma expect of them.

        Columns: ``account_id``, ``segment``, ``first_purchase``, ``x``, ``t_x``, ``T``,
        ``p_alive`` (at the end of the period), ``expected_purchases`` (repeat purchases over
        ``[clv] horizon_months``), ``expected_spend`` (mean value of a purchase), and
        ``predicted_value``: the expected purchases of each month of the horizon, discounted
        at ``[clv] discount_rate`` a year, × expected spend × gross margin.
        """
        summary, bg, gg = self._repeat_models(start, end, time_unit, as_of, segment)
        d = summary.data
        params = bg.vector()
        spend = M.gamma_gamma_mean(gg.vector(), d)
        horizon = self._settings.clv.horizon_months * self._month(summary.unit)
        cut = self._cut(as_of)
        return pa.table(
            {
                "account_id": summary.customers,
                "segment": self._segments(summary.customers, cut),
                "first_purchase": pa.array(summary.first, pa.date32()),
                "x": pa.array(d.x.astype(np.int64)),
                "t_x": d.t_x,
                "T": d.T,
                "p_alive": M.bg_nbd_p_alive(params, d),
                "expected_purchases": M.bg_nbd_expected(params, d, horizon),
                "expected_spend": spend,
                "predicted_value": self._value(params, gg.vector(), d, summary.unit),
            }
        )

    def intervals(
        self,
        *,
        start: DateLike | None = None,
        end: DateLike | None = None,
        time_unit: str | None = None,
        as_of: DateLike | None = None,
        segment: str | None = None,
        level: float = 0.9,
        draws: int = DRAWS,
    ) -> dict[str, tuple[float, float]]:
        """Per segment and ``(all)``: an interval of the mean predicted value per customer.

        A parametric bootstrap: BG/NBD and Gamma-Gamma parameters drawn ``draws`` times from
        their estimates' asymptotic normal distributions (:func:`models.draw_params`), the
        predictions recomputed under each, and the ``level`` percentile interval of the mean.
        Each draw is evaluated on at most ``PER_SEGMENT`` customers of a segment (a fixed
        random subset) over quarters, its ratio to the estimate's mean there (also over
        quarters) scaling the whole segment's; all customers' interval weighs the segments'
        draws by their sizes. It covers the parameters' uncertainty, not the customers' own
        randomness.
        """
        if not 0.5 <= level < 1:
            raise ClvError(f"level {level} is out of range.", "Give 0.5 ≤ level < 1.")
        summary, bg, gg = self._repeat_models(start, end, time_unit, as_of, segment)
        cut = self._cut(as_of)
        names = self._segments(summary.customers, cut).to_pylist()
        bg_draws = M.draw_params(bg, draws, seed=1)
        gg_draws = M.draw_params(gg, draws, seed=2)
        rng = np.random.default_rng(0)
        labels = np.array([n if n is not None else "" for n in names], dtype=object)
        full = self._value(bg.vector(), gg.vector(), summary.data, summary.unit)
        ratios: dict[str, npt.NDArray[np.float64]] = {}
        sizes: dict[str, tuple[int, float]] = {}
        for name in sorted(set(labels.tolist())):
            rows = np.flatnonzero(labels == name)
            some = (
                rows
                if len(rows) <= PER_SEGMENT
                else np.sort(rng.choice(rows, PER_SEGMENT, replace=False))
            )
            part = _subset(summary.data, some)
            # the ratio to the estimate, both over quarters: a third of the work of months
            base = float(self._value(bg.vector(), gg.vector(), part, summary.unit, 3).mean())
            ratios[name] = np.array(
                [
                    self._value(b, g, part, summary.unit, 3).mean() / base if base else 1.0
                    for b, g in zip(bg_draws, gg_draws, strict=True)
                ]
            )
            sizes[name] = (len(rows), float(full[rows].mean()))
        tail = (1 - level) / 2
        out: dict[str, tuple[float, float]] = {}
        for name, ratio in ratios.items():
            if name:
                mean = sizes[name][1]
                low, high = np.quantile(ratio, [tail, 1 - tail])
                out[name] = (mean * float(low), mean * float(high))
        # everyone: each draw's segment means, weighted by the segments' sizes
        total = sum(n * m * ratios[k] for k, (n, m) in sizes.items()) / summary.n
        low, high = np.quantile(total, [tail, 1 - tail])
        out["(all)"] = (float(low), float(high))
        return out

    def _repeat_models(
        self,
        start: DateLike | None,
        end: DateLike | None,
        time_unit: str | None,
        as_of: DateLike | None,
        segment: str | None,
    ) -> tuple[Summary, M.Fit, M.Fit]:
        """The calibration summary and the BG/NBD and Gamma-Gamma fits on it."""
        options: dict[str, Any] = {
            "start": start,
            "end": end,
            "time_unit": time_unit,
            "as_of": as_of,
            "segment": segment,
        }
        summary = self.summary(**options)
        bg = self.fit("bg_nbd", **options).fit
        gg = self.fit("gamma_gamma", **options).fit
        M.check_mean_spend(gg.params["q"])  # the likelier cause, and its own fix, first
        for fit in (bg, gg):
            _usable(fit)
        return summary, bg, gg

    def _value(
        self,
        bg: npt.NDArray[np.float64],
        gg: npt.NDArray[np.float64],
        d: M.RepeatData,
        unit: str,
        months: int = 1,
    ) -> npt.NDArray[np.float64]:
        """Discounted expected purchases over the horizon × expected spend × gross margin.

        Each step of ``months`` months (one: the predicted value's definition) is discounted
        at its end.
        """
        cfg = self._settings.clv
        step = self._month(unit) * months
        per_step = (1 + cfg.discount_rate) ** (months / 12) - 1
        horizon = cfg.horizon_months * self._month(unit)
        discounted = M.bg_nbd_discounted(bg, d, horizon=horizon, step=step, discount=per_step)
        out: npt.NDArray[np.float64] = (
            discounted * M.gamma_gamma_mean(gg, d) * self._settings.gross_margin
        )
        return out

    @staticmethod
    def _month(unit: str) -> float:
        return 365.25 / 12 / DAYS[unit]

    def _segments(self, customers: pa.Array, cut: dt.datetime) -> pa.Array:
        accounts = self._metrics.relation("accounts", ["account_id", "segment"], as_of=cut)
        where = pc.index_in(customers, value_set=accounts.column("account_id").combine_chunks())
        out: pa.Array = accounts.column("segment").combine_chunks().take(where)
        return out

    def lifetime_values(
        self, model: str, as_of: dt.datetime, *, metrics: MetricsComponent | None = None
    ) -> pa.Table:
        """One row per customer for ``clv_predicted`` (the ``clv_values`` relation).

        The customers are the records of the catalogue's ``clv`` cohort (accounts with a first
        won deal by ``as_of``), read through the metric layer with their revenue to date, so
        the historical and the predicted CLV describe the same customers. ``future_value``:
        under ``bg_nbd`` the predicted value of repeat purchases (:meth:`predict`; 0 for a
        customer without orders); under ``sbg`` the contract's margin over the renewals the
        fitted churn leaves expected within the horizon, discounted (0 once churned); under
        ``both`` the two added (contracts renewed, and purchases at will besides).
        ``metrics``: another view of the metric layer (a proposal's, or as defined on a day).
        """
        if model not in ("bg_nbd", "sbg", "both"):
            raise ClvError(f"Unknown [clv] model {model!r}.", "Use bg_nbd, sbg or both.")
        layer = metrics or self._metrics
        cols = [
            "opportunity_id",
            "account_id",
            "person_id",
            "owner_id",
            "type",
            "channel",
            "campaign_id",
            "closed_at",
            "is_first_win",
            "account_revenue_to_date",
        ]
        first = layer.relation("opportunities", cols, as_of=as_of)
        first = first.filter(pc.fill_null(first.column("is_first_win"), False))
        first = first.sort_by("account_id")  # the same rows in the same order, every time
        margin = self._settings.gross_margin
        to_date = pc.multiply(
            pc.cast(first.column("account_revenue_to_date"), pa.float64()), margin
        )
        ids = first.column("account_id").combine_chunks()
        future = np.zeros(len(ids))
        for part in self._parts(ids, as_of, model):
            future += part.value
        lifetime = pc.add(pc.fill_null(to_date, 0.0), pa.array(future))
        return pa.table(
            {
                "account_id": ids,
                "person_id": first.column("person_id"),
                "owner_id": first.column("owner_id"),
                "type": first.column("type"),
                "channel": first.column("channel"),
                "campaign_id": first.column("campaign_id"),
                "acquired_at": pc.cast(first.column("closed_at"), pa.timestamp("us")),
                "value_to_date": to_date,
                "future_value": pa.array(future),
                "lifetime_value": lifetime,
            }
        )

    def _parts(self, ids: pa.Array, as_of: dt.datetime, model: str, draws: int = 0) -> list[Part]:
        """The future value of each customer in ``ids`` under ``model``, one part per model.

        ``bg_nbd``: the predicted value of repeat purchases (0 for a customer without
        orders); ``sbg``: the contract's margin over the renewals the fitted churn leaves
        expected within the horizon, discounted (0 once churned); ``both``: the two. With
        ``draws``, each part carries that many parameter draws (for intervals).
        """
        parts = []
        if model in ("bg_nbd", "both"):
            parts.append(self._repeat_part(ids, as_of, draws))
        if model in ("sbg", "both"):
            parts.append(self._renewal_part(ids, as_of, draws))
        if model == "both":
            # a customer who lost their contract buys no more add-ons: only the living buy
            data, accounts, _, _ = self._renewals(None, None, as_of, None)
            where = pc.index_in(ids, value_set=accounts).fill_null(-1).to_numpy()
            churned = np.r_[~data.alive, False][np.asarray(where, dtype=np.int64)]
            repeat = parts[0]

            def living(
                params: npt.NDArray[np.float64], rows: npt.NDArray[np.int64]
            ) -> npt.NDArray[np.float64]:
                return np.where(churned[rows], 0.0, repeat.evaluate(params, rows))

            parts[0] = replace(repeat, value=np.where(churned, 0.0, repeat.value), evaluate=living)
        return parts

    def _repeat_part(self, ids: pa.Array, as_of: dt.datetime, draws: int) -> Part:
        summary, bg, gg = self._repeat_models(None, None, None, as_of, None)
        where = np.asarray(
            pc.index_in(ids, value_set=summary.customers)
            .fill_null(-1)
            .to_numpy(zero_copy_only=False),
            dtype=np.int64,
        )
        unit, k = summary.unit, len(bg.params)

        def evaluate(
            params: npt.NDArray[np.float64], rows: npt.NDArray[np.int64], months: int = 3
        ) -> npt.NDArray[np.float64]:
            at = where[rows]
            out = np.zeros(len(rows))
            mine = at >= 0
            out[mine] = self._value(
                params[:k], params[k:], _subset(summary.data, at[mine]), unit, months
            )
            return out

        estimate = np.r_[bg.vector(), gg.vector()]
        drawn = (
            np.hstack([M.draw_params(bg, draws, seed=1), M.draw_params(gg, draws, seed=2)])
            if draws
            else np.zeros((0, len(estimate)))
        )
        value = evaluate(estimate, np.arange(len(where)), months=1)
        return Part(value=value, estimate=estimate, draws=drawn, evaluate=evaluate)

    def _renewal_part(self, ids: pa.Array, as_of: dt.datetime, draws: int) -> Part:
        """Contract × margin × Σ over the renewals due in the horizon of survival, discounted.

        Each renewal j ahead counts S(n+1+j)/S(n), discounted from when it is due. A living
        customer's next renewal is due ``[clv] renewal_months`` after their last renewal (or
        acquisition), or now if that has passed undecided; then every ``renewal_months``.
        Only those due within ``[clv] horizon_months`` count.
        """
        cfg = self._settings.clv
        fit = self.fit("sbg", as_of=as_of).fit
        _usable(fit)
        data, accounts, _, _ = self._renewals(None, None, as_of, None)
        where = np.asarray(
            pc.index_in(ids, value_set=accounts).fill_null(-1).to_numpy(zero_copy_only=False),
            dtype=np.int64,
        )
        contract = self._contracts(accounts, as_of) * self._settings.gross_margin
        period = cfg.renewal_months * 365.25 / 12
        horizon = cfg.horizon_months * 365.25 / 12
        # days from now to each account's next renewal (0 when overdue)
        last = self._last_renewed(accounts, as_of).astype(np.int64)
        since = (_micros(as_of) - last) / 86_400e6
        first_due = np.maximum(period - since, 0.0)
        j = np.arange(int(np.ceil(horizon / period)) + 1)

        def evaluate(
            params: npt.NDArray[np.float64], rows: npt.NDArray[np.int64]
        ) -> npt.NDArray[np.float64]:
            at = where[rows]
            out = np.zeros(len(rows))
            mine = at >= 0
            at = at[mine]
            n = data.period[at]
            due = first_due[at][:, None] + j[None, :] * period
            survival = (
                M.sbg_survival(params, n[:, None] + 1 + j[None, :])
                / M.sbg_survival(params, n)[:, None]
            )
            weight = np.where(due <= horizon, (1 + cfg.discount_rate) ** (-due / 365.25), 0.0)
            expected = np.where(data.alive[at], (survival * weight).sum(axis=1), 0.0)
            out[mine] = expected * contract[at]
            return out

        estimate = fit.vector()
        drawn = M.draw_params(fit, draws, seed=3) if draws else np.zeros((0, len(estimate)))
        value = evaluate(estimate, np.arange(len(where)))
        return Part(value=value, estimate=estimate, draws=drawn, evaluate=evaluate)

    def _last_renewed(self, accounts: pa.Array, as_of: dt.datetime) -> npt.NDArray[Any]:
        """Per account: when its current contract began (datetime64[us]).

        The due date of its last renewal won (the metric layer's ``renewal_decisions``), else
        its acquisition (its first win).
        """
        wins = self._metrics.relation(
            "opportunities", ["account_id", "closed_at", "is_first_win"], as_of=as_of
        )
        wins = wins.filter(pc.fill_null(wins.column("is_first_win"), False))
        decisions = self._metrics.relation(
            "renewal_decisions", ["account_id", "due_at", "renewed"], as_of=as_of
        )
        decisions = decisions.filter(
            pc.and_(
                pc.fill_null(decisions.column("renewed"), False),
                pc.less_equal(decisions.column("due_at"), pa.scalar(as_of, pa.timestamp("us"))),
            )
        )
        begun = pa.concat_tables(
            [
                wins.select(["account_id", "closed_at"]).rename_columns(["account_id", "at"]),
                decisions.select(["account_id", "due_at"]).rename_columns(["account_id", "at"]),
            ],
            promote_options="permissive",
        )
        latest = begun.group_by("account_id").aggregate([("at", "max")])
        where = pc.index_in(accounts, value_set=latest.column("account_id").combine_chunks())
        at = pc.cast(latest.column("at_max"), pa.timestamp("us")).combine_chunks()
        out: npt.NDArray[Any] = np.asarray(
            at.take(where).to_numpy(zero_copy_only=False), dtype="datetime64[us]"
        )
        return out

    def _contracts(self, accounts: pa.Array, as_of: dt.datetime) -> npt.NDArray[np.float64]:
        """Per account: its current contract, the latest won new-business or renewal amount."""
        cols = ["account_id", "type", "is_won", "closed_at", "amount"]
        deals = self._metrics.relation("opportunities", cols, as_of=as_of)
        won = deals.filter(
            pc.and_(
                pc.fill_null(deals.column("is_won"), False),
                pc.is_in(deals.column("type"), pa.array(["new_business", "renewal"])),
            )
        )
        won = won.set_column(
            won.column_names.index("amount"),
            "amount",
            pc.cast(won.column("amount"), pa.float64()),
        ).sort_by([("account_id", "ascending"), ("closed_at", "ascending")])
        latest = won.group_by("account_id", use_threads=False).aggregate([("amount", "last")])
        where = pc.index_in(accounts, value_set=latest.column("account_id").combine_chunks())
        amount = np.r_[latest.column("amount_last").to_numpy(zero_copy_only=False), 0.0]
        out: npt.NDArray[np.float64] = np.nan_to_num(
            amount[np.asarray(where.fill_null(-1).to_numpy(zero_copy_only=False), np.int64)]
        )
        return out

    def value_by(
        self,
        by: str | None = None,
        *,
        start: DateLike | None = None,
        end: DateLike | None = None,
        as_of: DateLike | None = None,
        level: float = 0.9,
        draws: int = DRAWS,
    ) -> ValueBy:
        """``clv_predicted`` (and ``clv_to_cac_predicted``) per group of ``by``, with intervals.

        The values are the catalogue's KPIs for the customers acquired from ``start`` to
        ``end`` (the metric layer's groups and numbers); each carries the ``level`` interval
        of a parametric bootstrap of the workspace model (:mod:`revteam.clv.bootstrap`), and
        CLV:CAC the same interval over the group's CAC. The last row is everyone's. A model
        whose standard errors are undefined gives the values without intervals, and says why
        in ``intervals_note``.
        """
        if not 0.5 <= level < 1:
            raise ClvError(f"level {level} is out of range.", "Give 0.5 ≤ level < 1.")
        cut = self._cut(as_of)
        dims = [by] if by else []
        options: dict[str, Any] = {
            "grain": "all",
            "by": dims,
            "start": start,
            "end": end,
            "as_of": cut,
        }
        if by is not None and by not in self._metrics.dimensions("clv_predicted"):
            raise ClvError(
                f"Predicted CLV cannot be grouped by {by!r}.",
                f"Use one of: {', '.join(self._metrics.dimensions('clv_predicted'))}.",
            )
        members = self._metrics.records(
            "clv_predicted", columns=["account_id", "value_to_date"], **options
        )
        labels = members.column(by).to_pylist() if by else [None] * members.num_rows
        if len(set(labels)) > MAX_GROUPS:
            raise ClvError(
                f"{len(set(labels)):,} groups of {by!r}: intervals are for at most {MAX_GROUPS}.",
                "Group by a coarser dimension, or narrow --start/--end.",
            )
        ids = members.column("account_id").combine_chunks()
        model = self._settings.clv.model
        note = None
        try:
            parts = self._parts(ids, cut, model, draws)
        except ClvError as exc:  # a model without standard errors: values, without intervals
            if "no standard errors" not in exc.problem:
                raise
            parts, note = self._parts(ids, cut, model), str(exc)
        to_date = np.nan_to_num(
            members.column("value_to_date").to_numpy(zero_copy_only=False).astype(np.float64)
        )
        groups, everyone = group_intervals(labels, to_date, parts, level=level)
        ratio = by is None or by in self._metrics.dimensions("clv_to_cac_predicted")
        wanted = ["clv_predicted", "clv_to_cac_predicted"] if ratio else ["clv_predicted"]
        kpis: dict[tuple[bool, Any], dict[str, Any]] = {}
        for r in self._metrics.query(wanted, **options).to_pylist():
            kpis.setdefault((r["is_total"], r.get(by) if by else None), {})[r["metric"]] = r[
                "value"
            ]
        out = []
        ordered = sorted(groups, key=lambda g: (g.group is None, str(g.group))) if by else []
        for g, is_total in [*((g, False) for g in ordered), (everyone, True)]:
            found = kpis.get((is_total, None if is_total else g.group), {})
            value = found.get("clv_predicted")
            to_cac = found.get("clv_to_cac_predicted")
            # CLV:CAC moves with CLV: the same interval over the group's CAC
            scale = to_cac / value if to_cac is not None and value else None
            out.append(
                {
                    "group": "(all)" if is_total else g.group,
                    "customers": g.customers,
                    "value_to_date": g.value_to_date,
                    "future_value": g.future_value,
                    "clv_predicted": value,
                    "low": None if note else g.low,
                    "high": None if note else g.high,
                    "clv_to_cac_predicted": to_cac,
                    "clv_to_cac_low": g.low * scale if scale is not None and not note else None,
                    "clv_to_cac_high": g.high * scale if scale is not None and not note else None,
                }
            )
        return ValueBy(rows=out, intervals_note=note)

    def by_segment(self, predictions: pa.Table) -> list[dict[str, Any]]:
        """Per segment and for all customers: the predictions summed or averaged."""
        out = []
        segments = sorted({s for s in predictions.column("segment").to_pylist() if s is not None})
        for name in [*segments, None]:
            part = (
                predictions
                if name is None
                else predictions.filter(pc.equal(predictions.column("segment"), name))
            )
            n = part.num_rows
            value = part.column("predicted_value").to_numpy()
            out.append(
                {
                    "segment": name if name is not None else "(all)",
                    "customers": n,
                    "p_alive": float(np.mean(part.column("p_alive").to_numpy())) if n else None,
                    "expected_purchases": float(part.column("expected_purchases").to_numpy().sum()),
                    "expected_spend": (
                        float(np.mean(part.column("expected_spend").to_numpy())) if n else None
                    ),
                    "predicted_value": float(value.mean()) if n else None,
                    "predicted_value_total": float(value.sum()),
                }
            )
        return out

    def fit(
        self,
        model: str = "bg_nbd",
        *,
        start: DateLike | None = None,
        end: DateLike | None = None,
        time_unit: str | None = None,
        as_of: DateLike | None = None,
        segment: str | None = None,
    ) -> ClvFit:
        """Fit ``model`` (bg_nbd, gamma_gamma or sbg) on the calibration period.

        ``segment``: on the accounts of one segment only (a model per segment).
        """
        if model not in MODELS:
            raise ClvError(f"Unknown model {model!r}.", f"Use one of: {', '.join(MODELS)}.")
        cut = self._cut(as_of)
        unit = time_unit or self._settings.clv.time_unit
        key = (model, start, end, unit, cut, segment, self._metrics.data_version)
        found = self._fits.get(key)
        if found is not None:
            return found
        if model == "sbg":
            data, n, first, last = self.lifetimes(start=start, end=end, as_of=cut, segment=segment)
            if n == 0:
                raise ClvError(
                    "No customer was acquired in the period: nothing to fit.",
                    "Widen --start/--end, or load won deals.",
                )
            fit = M.fit_sbg(data)
            cfg = self._settings.clv
            per_period = (1 + cfg.discount_rate) ** (cfg.renewal_months / 12) - 1
            derl = (
                float(M.sbg_derl(fit.vector(), per_period, 0.0))
                if per_period > 0 and fit.converged
                else None
            )
            found = ClvFit(
                expected_lifetime=derl,
                fit=fit,
                start=first,
                end=last,
                time_unit="renewal",
                as_of=cut,
                customers=n,
                # renewed at least once; every decision, kept or lost, is a transaction
                repeat_customers=int((data.period - ~data.alive >= 1).sum()),
                transactions=int(data.period.sum()),
            )
        else:
            summary = self.summary(start=start, end=end, time_unit=unit, as_of=cut, segment=segment)
            fitter = M.fit_bg_nbd if model == "bg_nbd" else M.fit_gamma_gamma
            fit = fitter(summary.data)
            found = ClvFit(
                fit=fit,
                start=summary.start,
                end=summary.end,
                time_unit=unit,
                as_of=cut,
                customers=summary.n,
                repeat_customers=int((summary.data.x > 0).sum()),
                transactions=summary.transactions,
            )
        self._fits[key] = found
        while len(self._fits) > KEPT:
            self._fits.popitem(last=False)
        return found

    # -- internals -----------------------------------------------------------------------------
    def _cut(self, as_of: DateLike | None) -> dt.datetime:
        """The as-of time asked for, refused past the end of the data.

        A model reads the time since a customer's last purchase as time without purchases, so
        an as-of after the data ends would quietly age every customer.
        """
        data_end = self._metrics.as_of()
        cut = to_as_of(as_of)
        if cut is None:
            return data_end
        if cut.date() > data_end.date():
            raise ClvError(
                f"as_of {cut.date()} is after the data ends ({data_end.date()}): the models would "
                "read the days in between as days without purchases.",
                f"Give an as-of on or before {data_end.date()}, or leave it out.",
            )
        return min(cut, data_end)

    def _in_segment(self, accounts: pa.ChunkedArray, segment: str, cut: dt.datetime) -> pa.Array:
        found = self._metrics.relation("accounts", ["account_id", "segment"], as_of=cut)
        known = set(pc.unique(found.column("segment")).drop_null().to_pylist())
        if segment not in known:
            raise ClvError(
                f"No account is in segment {segment!r}.",
                f"Use one of: {', '.join(sorted(known))}." if known else "Load accounts first.",
            )
        ids = found.filter(pc.equal(found.column("segment"), segment)).column("account_id")
        return pc.is_in(accounts, value_set=ids.combine_chunks())

    def _range(
        self,
        start: DateLike | None,
        end: DateLike | None,
        cut: dt.datetime,
        times: pa.ChunkedArray,
    ) -> tuple[dt.date, dt.date]:
        """The calibration period, checked.

        ``start`` defaults to the first transaction, ``end`` to the as-of day.
        """
        years = self._settings.plausible_years
        first = _day(start, "start")
        last = _day(end, "end") or cut.date()
        if first is None:
            earliest = pc.min(times).as_py() if len(times) else None
            first = earliest.date() if isinstance(earliest, dt.datetime) else last
        for value, name in ((first, "start"), (last, "end")):
            check_year(value, name, years)
        if last > cut.date():
            raise ClvError(
                f"end {last} is after the as-of day ({cut.date()}).",
                "End the calibration period on or before the as-of day.",
            )
        if first > last:
            if start is not None and end is not None:
                raise ClvError(f"start {first} is after end {last}.", "Swap them.")
            raise ClvError(
                f"start {first} is after the calibration period's end ({last}).",
                f"Give a start on or before {last}.",
            )
        return first, last


def _micros(at: dt.datetime) -> int:
    """Microseconds since the epoch of a naive UTC time (as the warehouse's timestamps)."""
    return (at - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1)


def _usable(fit: M.Fit) -> None:
    """Refuse to predict from a fit that did not converge: its numbers would look like any."""
    if not fit.converged:
        raise ClvError(
            f"The {fit.model} fit did not converge, so it predicts nothing: "
            + " ".join(fit.warnings),
            f"See revteam clv fit --model {fit.model}; widen the calibration period.",
        )


def _period_start(at: dt.datetime, grain: str) -> dt.date:
    if grain == "year":
        return dt.date(at.year, 1, 1)
    if grain == "quarter":
        return dt.date(at.year, 3 * ((at.month - 1) // 3) + 1, 1)
    return dt.date(at.year, at.month, 1)


def _subset(d: M.RepeatData, rows: npt.NDArray[np.int64]) -> M.RepeatData:
    return M.RepeatData(
        x=d.x[rows], t_x=d.t_x[rows], T=d.T[rows], zbar=d.zbar[rows], weight=d.weight[rows]
    )


def _day(value: DateLike | None, name: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date | dt.datetime):
        return value.date() if isinstance(value, dt.datetime) else value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ClvError(f"{name} {value!r} is not a date.", "Give it as YYYY-MM-DD.") from None
