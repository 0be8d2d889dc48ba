"""The sales forecast: open deals' win probabilities calibrated on history, and what they bring.

The CRM's probability belongs to a stage (10% in qualification, 60% in negotiation …) and says
nothing about a renewal against a new logo, an enterprise deal against a small one, or a deal
that has sat in a stage for four months. revteam learns the probability from the company's own
history instead:

- **Snapshots.** Every ``forecast_snapshot_days`` days over the ``forecast_history_days`` before
  ``as_of - forecast_horizon_days``, every open deal is seen as it was then: its stage (from
  ``opportunity_stages``, read through the metric layer's ``stage_visits``), days in that stage,
  type and account segment, and whether it was won within ``forecast_horizon_days`` after. Those
  outcomes are all known at ``as_of``, so nothing is censored and nothing from after ``as_of``
  is read.
- **Calibrated probability.** The win rate of the snapshots in the deal's cell (stage x type x
  segment x age-in-stage band), shrunk towards the rate of the coarser cell (stage x type x
  segment, then stage x type, then stage) with ``forecast_prior`` deals' weight. Each deal
  counts once however many snapshots it appears in, so a deal stuck for months does not
  outvote the others. The result is a cell frequency: calibrated by construction, and its
  Brier score against the CRM's is measured (``backtest``).
- **Timing.** When a deal in that stage (and type) is won, how many days after the snapshot:
  the share of a period's days that such wins fell in, times the win probability, is the chance
  the deal closes won inside that period.
- **Band.** Deals close independently: the expected value is Σ aᵢpᵢ, the variance
  Σ aᵢ²pᵢ(1-pᵢ), and the interval comes from ``SIMULATIONS`` draws (a few large deals make the
  sum lumpy, so the draws' quantiles, not a normal, give the band).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from revteam.exceptions import StatsError
from revteam.metrics import periods as P
from revteam.metrics.sources import OPEN_STAGES
from revteam.settings import GoalSettings

if TYPE_CHECKING:
    from revteam.metrics import MetricsComponent
    from revteam.metrics.spec import MetricSpec

DAY_S = 86_400.0
AGE_BANDS: tuple[float, ...] = (7.0, 14.0, 30.0, 60.0, 120.0)
"""Upper bounds (days in stage) of the age bands; the last band is open."""
SIMULATIONS = 4000
CHUNK = 250
"""Simulations drawn at once (memory: CHUNK x open deals)."""
MIN_TRAINING_DEALS = 30
"""Fewer deals than this in the snapshots, and there is no history to calibrate on."""
MIN_TIMING_WINS = 15
"""Won deals a cell needs for its own timing curve, else its coarser cell's."""
NONE = "(none)"
ROWS_KEPT = 4
"""Cuts whose rows are kept (a report reads the same cut three times)."""
MODELS_KEPT = 64
"""Fitted models kept (one per as-of time and data version; backtests fit many)."""
LEVELS: tuple[tuple[str, ...], ...] = (
    ("stage",),
    ("stage", "type"),
    ("stage", "type", "segment"),
    ("stage", "type", "segment", "age_band"),
)
"""Cells from coarse to fine; each is shrunk towards the one before."""


def age_band(days: NDArray[np.float64]) -> NDArray[np.str_]:
    """The age band label of each number of days in stage (``0-7``, ``7-14`` … ``120+``)."""
    edges = np.asarray(AGE_BANDS)
    labels = [f"{int(a)}-{int(b)}" for a, b in zip((0.0, *AGE_BANDS[:-1]), AGE_BANDS, strict=True)]
    labels.append(f"{int(AGE_BANDS[-1])}+")
    return np.asarray(labels)[np.searchsorted(edges, days, side="right")]


@dataclass(frozen=True)
class WinModel:
    """Calibrated win probabilities (won within ``horizon_days``) and win timing at ``as_of``."""

    as_of: dt.datetime
    horizon_days: int
    cells: tuple[pd.DataFrame, ...]
    """Per level of :data:`LEVELS`: the cell keys, ``n`` and ``wins`` (deal-weighted), ``rate``."""
    base_rate: float
    timing: Mapping[tuple[str, ...], NDArray[np.float64]]
    """Sorted days from snapshot to win, per cell of :data:`LEVELS` with enough wins."""
    snapshots: int
    deals: int

    def probability(self, frame: pd.DataFrame) -> NDArray[np.float64]:
        """The calibrated probability of each row (columns stage, type, segment, age_band)."""
        return self.beta(frame)[0]

    def beta(
        self, frame: pd.DataFrame
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """Each row's rate and the Beta(a, b) its finest known cell's evidence gives it.

        The Beta carries how sure the history is of the rate, so simulations can let deals of
        one cell be lucky or unlucky together.
        """
        rate = np.full(len(frame), self.base_rate)
        a, b = rate.copy(), 1.0 - rate
        for keys, cells in zip(LEVELS, self.cells, strict=True):
            merged = frame[list(keys)].merge(cells, how="left", on=list(keys))
            found = merged["rate"].to_numpy(dtype=np.float64, na_value=np.nan)
            hit = ~np.isnan(found)
            rate = np.where(hit, found, rate)
            a = np.where(hit, merged["a"].to_numpy(dtype=np.float64, na_value=np.nan), a)
            b = np.where(hit, merged["b"].to_numpy(dtype=np.float64, na_value=np.nan), b)
        return rate, a, b

    def timing_share(
        self, frame: pd.DataFrame, lo: NDArray[np.float64], hi: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Share of wins that came ``lo`` to ``hi`` days after the snapshot, for each row.

        From the finest cell of the row (:data:`LEVELS`) with enough wins: an enterprise deal
        closes later than a small one in the same stage.
        """
        keys = frame[list(LEVELS[-1])].astype(str).to_numpy()
        out = np.zeros(len(frame))
        for i, row in enumerate(keys):
            days = None
            for depth in range(len(LEVELS), 0, -1):
                days = self.timing.get(tuple(row[:depth]))
                if days is not None:
                    break
            if days is None or not len(days):
                continue
            a = np.searchsorted(days, lo[i], side="right")
            b = np.searchsorted(days, hi[i], side="right")
            out[i] = (b - a) / len(days)
        return out

    def table(self) -> pd.DataFrame:
        """The finest cells with their deal counts and rates, for people to read."""
        return self.cells[-1].sort_values(list(LEVELS[-1])).reset_index(drop=True)


@dataclass(frozen=True)
class OpenDeals:
    """The deals open at ``as_of`` with their state then, both probabilities and amounts."""

    as_of: dt.datetime
    frame: pd.DataFrame
    """Columns: opportunity_id, name, account_id, owner_id, type, segment, stage, days_in_stage,
    age_band, amount, crm_probability, probability, expected_close_date, forecast_category (the
    CRM's, as it is now)."""


@dataclass(frozen=True)
class PeriodForecast:
    """Expected won revenue of one period from the deals open at the as-of time."""

    label: str
    start: dt.date
    end: dt.date
    """Exclusive."""
    won_to_date: float
    expected: float
    low: float
    high: float
    sd: float
    crm_weighted: float
    """The CRM's own view: Σ amount x CRM probability of open deals expected to close in it."""
    crm_expected_close: float
    """Σ amount of open deals whose expected close date falls in the period."""
    deals: int
    """Open deals with a chance of closing won in the period."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": self.label,
            "start": self.start.isoformat(),
            "end": (self.end - dt.timedelta(days=1)).isoformat(),
            "won_to_date": round(self.won_to_date, 2),
            "expected_from_pipeline": round(self.expected, 2),
            "expected_low": round(self.low, 2),
            "expected_high": round(self.high, 2),
            "expected_total": round(self.won_to_date + self.expected, 2),
            "sd": round(self.sd, 2),
            "crm_weighted": round(self.crm_weighted, 2),
            "crm_expected_close_amount": round(self.crm_expected_close, 2),
            "deals": self.deals,
        }


class Forecaster:
    """Fits :class:`WinModel` on the metric layer's rows and forecasts periods from open deals."""

    def __init__(
        self, metrics: MetricsComponent, settings: GoalSettings | None = None, fy_start: int = 1
    ) -> None:
        self.metrics = metrics
        self.settings = settings or GoalSettings()
        self.fy_start = fy_start
        self._lock = threading.Lock()
        self._read: OrderedDict[tuple[dt.datetime, int], tuple[pd.DataFrame, pd.DataFrame]]
        self._read = OrderedDict()
        self._open: OrderedDict[tuple[dt.datetime, int], pd.DataFrame] = OrderedDict()
        self._models: OrderedDict[tuple[dt.datetime, int, int], WinModel] = OrderedDict()

    # -- data --------------------------------------------------------------------------------
    def _rows(self, as_of: dt.datetime) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Stage visits and deals (with segment) as known at ``as_of`` (kept for a few cuts)."""
        key = (as_of, self.metrics.data_version)
        found = self._read.get(key)
        if found is None:
            found = self._fetch(as_of)
            with self._lock:
                self._read[key] = found
                while len(self._read) > ROWS_KEPT:
                    self._read.popitem(last=False)
        return found

    def _fetch(self, as_of: dt.datetime) -> tuple[pd.DataFrame, pd.DataFrame]:
        visits = self.metrics.relation(
            "stage_visits",
            ["opportunity_id", "stage", "entered_at", "left_at", "amount", "probability"],
            as_of=as_of,
        ).to_pandas()
        deals = self.metrics.relation(
            "opportunities",
            [
                "opportunity_id",
                "name",
                "account_id",
                "owner_id",
                "type",
                "created_at",
                "closed_at",
                "is_won",
                "stage",
                "amount",
                "probability",
                "expected_close_date",
                "forecast_category",
            ],
            as_of=as_of,
        ).to_pandas()
        accounts = self.metrics.relation("accounts", ["account_id", "segment"]).to_pandas()
        deals = deals.merge(accounts, how="left", on="account_id")
        deals["segment"] = deals["segment"].fillna(NONE)
        deals["type"] = deals["type"].fillna(NONE)
        deals = deals[deals["created_at"] <= pd.Timestamp(as_of)]
        return visits, deals

    # -- fitting -----------------------------------------------------------------------------
    def model(self, as_of: dt.datetime | None = None) -> WinModel:
        """The win model fitted on the history known at ``as_of`` (default: the data's)."""
        cut = as_of or self.metrics.as_of()
        key = (cut, self.settings.forecast_horizon_days, self.metrics.data_version)
        found = self._models.get(key)
        if found is None:
            visits, deals = self._rows(cut)
            found = fit(visits, deals, cut, self.settings)
            with self._lock:
                self._models[key] = found
                while len(self._models) > MODELS_KEPT:
                    self._models.popitem(last=False)
        return found

    def open_deals(
        self,
        as_of: dt.datetime | None = None,
        *,
        where: Mapping[str, Sequence[str | None]] | None = None,
    ) -> OpenDeals:
        """Every deal open at ``as_of``, with its calibrated and CRM probabilities.

        ``where``: only the deals the metric layer's ``open_pipeline`` counts for those
        dimension values, so a segment means what it means in every KPI.
        """
        cut = as_of or self.metrics.as_of()
        key = (cut, self.metrics.data_version)
        frame = self._open.get(key)
        if frame is None:
            model = self.model(cut)
            visits, deals = self._rows(cut)
            frame = open_at(visits, deals, cut)
            frame["probability"] = model.probability(frame)
            with self._lock:
                self._open[key] = frame
                while len(self._open) > ROWS_KEPT:
                    self._open.popitem(last=False)
        if where:
            ids = np.array(sorted(self._open_ids(cut, where)), dtype=object)
            keep = np.isin(frame["opportunity_id"].to_numpy(dtype=object), ids)
            frame = frame[keep].reset_index(drop=True)
        return OpenDeals(cut, frame)

    def _open_ids(self, cut: dt.datetime, where: Mapping[str, Sequence[str | None]]) -> set[str]:
        day = cut.date()
        found = self.metrics.records(
            "open_pipeline",
            columns=["opportunity_id"],
            grain="day",
            start=day,
            end=day,
            where={k: list(v) for k, v in where.items()},
            as_of=cut,
        )
        return set(found.column("opportunity_id").to_pylist())

    # -- forecasting -------------------------------------------------------------------------
    def forecast(
        self,
        as_of: dt.datetime | None = None,
        *,
        grain: str = "quarter",
        periods: int = 2,
        where: Mapping[str, Sequence[str | None]] | None = None,
    ) -> list[PeriodForecast]:
        """Won revenue expected per period, from the period holding ``as_of`` on."""
        if grain not in ("month", "quarter", "year"):
            raise StatsError(f"grain {grain!r} is not one of month, quarter, year")
        g = P.check_grain(grain)
        if not 1 <= periods <= 8:
            raise StatsError(f"periods must be 1 to 8 (got {periods})")
        cut = as_of or self.metrics.as_of()
        deals = self.open_deals(cut, where=where)
        fy = self.fy_start
        first = P.floor(cut.date(), g, fy)
        starts = [P.shift(first, g, k) for k in range(periods + 1)]
        bounds = [(starts[k], starts[k + 1]) for k in range(periods)]
        share = self.shares(deals, [end for _, end in bounds])
        frame = deals.frame
        amount = frame["amount"].to_numpy(dtype=np.float64, na_value=0.0)
        _, a, b = self.model(cut).beta(frame)
        draws = simulate(amount, share, _seed(cut, where), (a, b))
        won = self._won(first, cut, where)
        tail = (1 - self.settings.level) / 2
        out = []
        crm = frame["crm_probability"].to_numpy(dtype=np.float64, na_value=0.0)
        close = pd.to_datetime(frame["expected_close_date"])
        for k, (start, end) in enumerate(bounds):
            q = share[:, k]
            inside = (close >= pd.Timestamp(start)) & (close < pd.Timestamp(end))
            lo, hi = np.quantile(draws[:, k], [tail, 1 - tail])
            out.append(
                PeriodForecast(
                    label=P.label(start, g, fy),
                    start=start,
                    end=end,
                    won_to_date=won if k == 0 else 0.0,
                    expected=float(amount @ q),
                    low=float(lo),
                    high=float(hi),
                    sd=float(np.sqrt(((amount**2) * q * (1 - q)).sum())),
                    crm_weighted=float((amount * crm)[inside.to_numpy()].sum()),
                    crm_expected_close=float(amount[inside.to_numpy()].sum()),
                    deals=int((q > 0).sum()),
                )
            )
        return out

    def shares(self, deals: OpenDeals, ends: Sequence[dt.date]) -> NDArray[np.float64]:
        """Chance each deal closes won in each period (deals x periods).

        The first period runs from ``as_of`` to ``ends[0]``, the next ones from end to end.
        """
        model = self.model(deals.as_of)
        frame = deals.frame
        p = frame["probability"].to_numpy(dtype=np.float64)
        cut = pd.Timestamp(deals.as_of)
        edges = [0.0] + [max(0.0, (pd.Timestamp(e) - cut).total_seconds() / DAY_S) for e in ends]
        out = np.zeros((len(frame), len(ends)))
        for k in range(len(ends)):
            lo = np.full(len(frame), edges[k])
            hi = np.full(len(frame), edges[k + 1])
            out[:, k] = p * model.timing_share(frame, lo, hi)
        return out

    def _won(
        self, start: dt.date, cut: dt.datetime, where: Mapping[str, Sequence[str | None]] | None
    ) -> float:
        result = self.metrics.query(
            "revenue",
            grain="all",
            start=start,
            end=cut.date(),
            where={k: list(v) for k, v in where.items()} if where else None,
            as_of=cut,
        )
        rows = [r for r in result.to_pylist() if r["is_total"]]
        return float(rows[0]["value"] or 0.0) if rows else 0.0

    def backtest(self, as_ofs: Sequence[dt.datetime]) -> list[dict[str, Any]]:
        """Brier scores of the calibrated and the CRM's probabilities at each ``as_of``.

        Fits at each date on what was known then, and scores every deal open then on whether it
        was won within the horizon, using the data's own later outcomes (so each date must lie
        a horizon before the data's as-of).
        """
        horizon = dt.timedelta(days=self.settings.forecast_horizon_days)
        latest = self.metrics.as_of()
        _, deals_now = self._rows(latest)
        outcome = deals_now.set_index("opportunity_id")
        out = []
        for cut in as_ofs:
            if cut + horizon > latest:
                raise StatsError(
                    f"as_of {cut:%Y-%m-%d} is less than forecast_horizon_days before the data's "
                    f"as-of ({latest:%Y-%m-%d}): its outcomes are not known yet"
                )
            frame = self.open_deals(cut).frame
            known = outcome.reindex(frame["opportunity_id"])
            won = (
                known["is_won"].fillna(False).astype(bool)
                & (known["closed_at"] <= pd.Timestamp(cut + horizon))
            ).to_numpy()
            p = frame["probability"].to_numpy(dtype=np.float64)
            crm = frame["crm_probability"].to_numpy(dtype=np.float64, na_value=np.nan)
            has = ~np.isnan(crm)
            out.append(
                {
                    "as_of": cut.date().isoformat(),
                    "deals": len(frame),
                    "won_share": float(won.mean()) if len(won) else None,
                    "brier_calibrated": _brier(p[has], won[has]),
                    "brier_crm": _brier(crm[has], won[has]),
                    "brier_calibrated_all": _brier(p, won),
                    "deals_with_crm_probability": int(has.sum()),
                }
            )
        return out


def is_won_amount(spec: MetricSpec) -> bool:
    """Whether a metric sums won deals' amounts by close date (like ``revenue``).

    The rest of such a metric's period comes partly from the open pipeline.
    """
    measure = spec.measure
    return (
        spec.kind == "sum"
        and spec.table == "opportunities"
        and spec.time == "closed_at"
        and measure is not None
        and measure.column == "amount"
        and [(f.column, f.op, f.value) for f in spec.filters] == [("is_won", "eq", True)]
    )


def open_at(visits: pd.DataFrame, deals: pd.DataFrame, cut: dt.datetime) -> pd.DataFrame:
    """The deals open at ``cut``: their stage then, days in it, amount and CRM probability.

    A deal open at ``cut`` without any stage history (a CRM export without it) takes its
    current stage, in it since it was created.
    """
    at = pd.Timestamp(cut)
    open_deals = deals[deals["closed_at"].isna() | (deals["closed_at"] > at)]
    cur = visits[
        (visits["entered_at"] <= at)
        & (visits["left_at"].isna() | (visits["left_at"] > at))
        & visits["stage"].isin(OPEN_STAGES)
    ]
    cur = cur.sort_values(["opportunity_id", "entered_at"]).drop_duplicates(
        "opportunity_id", keep="last"
    )
    frame = open_deals.merge(
        cur.rename(
            columns={"stage": "stage_then", "amount": "amount_then", "probability": "p_then"}
        ),
        how="left",
        on="opportunity_id",
    )
    has_history = np.isin(
        frame["opportunity_id"].to_numpy(dtype=object),
        visits["opportunity_id"].unique().astype(object),
    )
    without = ~has_history & frame["stage"].isin(OPEN_STAGES)
    frame = frame[frame["stage_then"].notna() | without].copy()
    no_row = frame["stage_then"].isna()
    frame.loc[no_row, "stage_then"] = frame.loc[no_row, "stage"]
    frame.loc[no_row, "entered_at"] = frame.loc[no_row, "created_at"]
    frame["amount_then"] = frame["amount_then"].where(frame["amount_then"].notna(), frame["amount"])
    frame["p_then"] = frame["p_then"].where(~no_row, frame["probability"])
    days = (at - pd.to_datetime(frame["entered_at"])).dt.total_seconds() / DAY_S
    out = pd.DataFrame(
        {
            "opportunity_id": frame["opportunity_id"].to_numpy(),
            "name": frame["name"].to_numpy(),
            "account_id": frame["account_id"].to_numpy(),
            "owner_id": frame["owner_id"].to_numpy(),
            "type": frame["type"].to_numpy(),
            "segment": frame["segment"].to_numpy(),
            "stage": frame["stage_then"].to_numpy(),
            "days_in_stage": days.to_numpy(dtype=np.float64),
            "amount": pd.to_numeric(frame["amount_then"]).astype("float64").to_numpy(),
            "crm_probability": pd.to_numeric(frame["p_then"]).astype("float64").to_numpy(),
            "expected_close_date": frame["expected_close_date"].to_numpy(),
            "forecast_category": frame["forecast_category"].to_numpy(),
        }
    )
    out["age_band"] = age_band(out["days_in_stage"].to_numpy())
    return out.sort_values("opportunity_id").reset_index(drop=True)


def snapshots(
    visits: pd.DataFrame, deals: pd.DataFrame, cut: dt.datetime, settings: GoalSettings
) -> pd.DataFrame:
    """Every open deal at every snapshot a horizon or more before ``cut``, with its outcome."""
    horizon = dt.timedelta(days=settings.forecast_horizon_days)
    last = cut - horizon
    step = dt.timedelta(days=settings.forecast_snapshot_days)
    count = settings.forecast_history_days // settings.forecast_snapshot_days + 1
    # The first months of a CRM's history hold only young deals: those already deep in the
    # funnel moved fast, and would teach the model that deals close sooner than they do.
    born = pd.to_datetime(deals["created_at"]).min()
    burn_in = born + pd.Timedelta(days=settings.forecast_horizon_days // 2)
    grid = np.array(
        sorted(
            np.datetime64(last - k * step, "s")
            for k in range(count)
            if pd.isna(born) or pd.Timestamp(last - k * step) >= burn_in
        ),
        dtype="datetime64[s]",
    )
    cur = visits[visits["stage"].isin(OPEN_STAGES)]
    entered = cur["entered_at"].to_numpy(dtype="datetime64[s]")
    left = cur["left_at"].to_numpy(dtype="datetime64[s]")
    left = np.where(np.isnat(left), np.datetime64(cut, "s"), left)
    lo = np.searchsorted(grid, entered, side="left")
    hi = np.searchsorted(grid, left, side="left")
    n = np.maximum(hi - lo, 0)
    row = np.repeat(np.arange(len(cur)), n)
    offset = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    at = grid[lo[row] + offset]
    snap = pd.DataFrame(
        {
            "opportunity_id": cur["opportunity_id"].to_numpy()[row],
            "stage": cur["stage"].to_numpy()[row],
            "crm_probability": pd.to_numeric(cur["probability"]).to_numpy(dtype=np.float64)[row],
            "at": at,
            "days_in_stage": (at - entered[row]).astype("timedelta64[s]").astype(np.float64)
            / DAY_S,
        }
    )
    snap = snap.merge(
        deals[["opportunity_id", "type", "segment", "created_at", "closed_at", "is_won"]],
        how="inner",
        on="opportunity_id",
    )
    at_ts = pd.to_datetime(snap["at"])
    closed = pd.to_datetime(snap["closed_at"])
    snap = snap[(snap["created_at"] <= at_ts) & (closed.isna() | (closed > at_ts))].copy()
    closed = pd.to_datetime(snap["closed_at"])
    at_ts = pd.to_datetime(snap["at"])
    snap["won"] = snap["is_won"].fillna(False).astype(bool) & (
        closed <= at_ts + pd.Timedelta(horizon)
    )
    snap["days_to_close"] = (closed - at_ts).dt.total_seconds() / DAY_S
    snap["age_band"] = age_band(snap["days_in_stage"].to_numpy())
    snap["weight"] = 1.0 / snap.groupby("opportunity_id")["at"].transform("count")
    return snap.reset_index(drop=True)


def fit(
    visits: pd.DataFrame, deals: pd.DataFrame, cut: dt.datetime, settings: GoalSettings
) -> WinModel:
    """The win model of the snapshots before ``cut`` (see the module's docstring)."""
    snap = snapshots(visits, deals, cut, settings)
    n_deals = snap["opportunity_id"].nunique()
    if n_deals < MIN_TRAINING_DEALS:
        raise StatsError(
            f"the sales forecast needs the outcomes of at least {MIN_TRAINING_DEALS} deals open "
            f"{settings.forecast_horizon_days}+ days before {cut:%Y-%m-%d}, and the history has "
            f"{n_deals}: load opportunities with their stage history (opportunity_stages), or "
            "shorten goals.forecast_horizon_days"
        )
    prior = settings.forecast_prior
    snap["wins_w"] = snap["weight"] * snap["won"]
    base = float(snap["wins_w"].sum() / snap["weight"].sum())
    cells: list[pd.DataFrame] = []
    parent: pd.DataFrame | None = None
    for keys in LEVELS:
        agg = snap.groupby(list(keys), as_index=False).agg(
            n=("weight", "sum"), wins=("wins_w", "sum"), snapshots=("won", "size")
        )
        if parent is None:
            toward = np.full(len(agg), base)
        else:
            up = agg[list(keys[:-1])].merge(parent, how="left", on=list(keys[:-1]))
            toward = up["rate"].to_numpy(dtype=np.float64)
        agg["a"] = agg["wins"] + prior * toward
        agg["b"] = agg["n"] - agg["wins"] + prior * (1.0 - toward)
        agg["rate"] = agg["a"] / (agg["a"] + agg["b"])
        cells.append(agg)
        parent = agg[[*keys, "rate"]]
    wins = snap[snap["won"]]
    timing: dict[tuple[str, ...], NDArray[np.float64]] = {}
    for keys in LEVELS:
        for key, group in wins.groupby(list(keys)):
            if keys == LEVELS[0] or group["opportunity_id"].nunique() >= MIN_TIMING_WINS:
                timing[tuple(str(k) for k in key)] = np.sort(group["days_to_close"].to_numpy())
    return WinModel(
        as_of=cut,
        horizon_days=settings.forecast_horizon_days,
        cells=tuple(cells),
        base_rate=base,
        timing=timing,
        snapshots=len(snap),
        deals=n_deals,
    )


def simulate(
    amount: NDArray[np.float64],
    share: NDArray[np.float64],
    seed: int,
    evidence: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None,
) -> NDArray[np.float64]:
    """Won amount per simulation and period: each deal lands in at most one period.

    With ``evidence`` (each deal's Beta(a, b)), every simulation first draws each cell's win
    rate from its Beta, so the deals of a cell share their luck and the band includes how
    little history some cells have.
    """
    rng = np.random.default_rng(seed)
    out = np.zeros((SIMULATIONS, share.shape[1]))
    live = share.sum(axis=1) > 0  # deals that cannot close won in any period add nothing
    amount, share = amount[live], share[live]
    n, k = share.shape
    if n == 0:
        return out
    cum = np.cumsum(share, axis=1)
    if evidence is not None:
        a, b = evidence[0][live], evidence[1][live]
        cells, cell_of = np.unique(np.column_stack([a, b]), axis=0, return_inverse=True)
        cell_of = cell_of.reshape(-1)
        mean = cells[:, 0] / (cells[:, 0] + cells[:, 1])
    cum32 = cum.astype(np.float32)
    for first in range(0, SIMULATIONS, CHUNK):
        size = min(CHUNK, SIMULATIONS - first)
        # float32 draws: a deal's chance is known to far fewer digits than float32 carries
        u = rng.random((size, n), dtype=np.float32)
        if evidence is not None:
            drawn = rng.beta(cells[:, 0], cells[:, 1], size=(size, len(cells)))
            u *= (mean / np.maximum(drawn, 1e-12)).astype(np.float32)[:, cell_of]
        below = np.zeros_like(u, dtype=bool)
        for j in range(k):
            inside = (u < cum32[:, j]) & ~below
            out[first : first + size, j] = inside.astype(np.float64) @ amount
            below |= inside
    return out


def _brier(p: NDArray[np.float64], won: NDArray[np.bool_]) -> float | None:
    return float(np.mean((p - won.astype(np.float64)) ** 2)) if len(p) else None


def _seed(cut: dt.datetime, where: Mapping[str, Sequence[str | None]] | None) -> int:
    text = f"{cut.isoformat()}|{sorted((k, tuple(v)) for k, v in (where or {}).items())}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
