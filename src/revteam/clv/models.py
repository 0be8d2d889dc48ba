"""Customer-base models by maximum likelihood: BG/NBD, Gamma-Gamma and shifted-beta-geometric.

Pure numpy/scipy over per-customer summaries; the warehouse never appears here (the component
reads the orders through the metric layer, :mod:`revteam.clv.summary` summarises them).

- **BG/NBD** (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while alive,
  a customer buys at a Poisson rate λ ~ Gamma(r, α); after each purchase they drop out with
  probability p ~ Beta(a, b). Data per customer: ``x`` repeat transactions, the time ``t_x``
  of the last one and ``T`` of observation, both from the first transaction.
- **Gamma-Gamma** (Fader, Hardie & Lee 2005b; Fader & Hardie 2013 note): a customer's
  transaction values are Gamma(p, ν) around their mean, ν ~ Gamma(q, γ) across customers,
  independent of the purchase process. Data: ``x`` > 0 and the mean repeat value ``z̄``.
- **sBG** (Fader & Hardie 2007, "How to project customer retention"): at each renewal a
  customer churns with probability θ ~ Beta(α, β). Data: per customer the period they churned
  in, or the last period they were seen alive (censored).

Each fit maximises the log-likelihood over log-parameters with analytic gradients (L-BFGS-B,
several starts, the best kept); standard errors come from the observed information (the
Hessian of the negative log-likelihood in natural parameters, by central differences of the
analytic gradient). A fit that does not converge, or whose Hessian is not positive definite,
says so in ``warnings`` with what to do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
from scipy import optimize  # type: ignore[import-untyped]
from scipy.special import (  # type: ignore[import-untyped]
    betaln,
    digamma,
    expit,
    gammaln,
    hyp2f1,
)

from revteam.exceptions import ClvError

F64 = npt.NDArray[np.float64]
Objective = Callable[[F64], tuple[float, F64]]
"""Natural parameters → (negative log-likelihood, its gradient)."""

MIN_REPEAT = 10
"""Customers with a repeat purchase a repeat-purchase model needs at the very least."""
SUBSAMPLE = 20_000
"""Above this many customers, the starting points are tried on a random subsample of this
size, and the best is polished on everyone (falling back to every start if that fails)."""


@dataclass(frozen=True)
class Fit:
    """A fitted model: parameters, standard errors, log-likelihood and what to beware of."""

    model: str
    params: dict[str, float]
    se: dict[str, float]
    """Standard errors (NaN where the Hessian does not give one: see ``warnings``)."""
    log_likelihood: float
    n: int
    """Customers (or cohort members) fitted."""
    converged: bool
    iterations: int
    warnings: tuple[str, ...] = ()
    optimiser: str = "L-BFGS-B"
    """``L-BFGS-B`` from several starts, or ``Newton`` from a subsample's best (many customers)."""
    cov: tuple[tuple[float, ...], ...] = field(default=(), repr=False)
    """Covariance of the parameters (inverse observed information), in ``params`` order."""
    derived: dict[str, float] = field(default_factory=dict)
    """What the data determines even when the parameters one by one are loose: the mean churn
    α/(α+β) (sBG), the mean purchase rate r/α and drop-out a/(a+b) (BG/NBD), the mean spend
    pγ/(q−1) (Gamma-Gamma)."""
    derived_se: dict[str, float] = field(default_factory=dict)
    """Their standard errors (the delta method)."""

    def vector(self) -> F64:
        return np.array(list(self.params.values()), dtype=np.float64)

    def as_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            "params": self.params,
            "se": self.se,
            "log_likelihood": self.log_likelihood,
            "n": self.n,
            "converged": self.converged,
            "iterations": self.iterations,
            "optimiser": self.optimiser,
            "derived": {
                k: {"value": v, "se": self.derived_se.get(k, float("nan"))}
                for k, v in self.derived.items()
            },
            "warnings": list(self.warnings),
        }


# -- BG/NBD -----------------------------------------------------------------------------------
BG_NBD = ("r", "alpha", "a", "b")


@dataclass(frozen=True)
class RepeatData:
    """Per customer (or per distinct row, with ``weight``): x, t_x, T and the mean repeat value.

    ``zbar`` is NaN without a repeat transaction.
    """

    x: F64
    t_x: F64
    T: F64
    zbar: F64
    weight: F64

    @classmethod
    def of(
        cls,
        x: Sequence[float] | F64,
        t_x: Sequence[float] | F64,
        T: Sequence[float] | F64,
        zbar: Sequence[float] | F64 | None = None,
        weight: Sequence[float] | F64 | None = None,
    ) -> RepeatData:
        xs = np.asarray(x, dtype=np.float64)
        out = cls(
            x=xs,
            t_x=np.asarray(t_x, dtype=np.float64),
            T=np.asarray(T, dtype=np.float64),
            zbar=np.full(len(xs), np.nan) if zbar is None else np.asarray(zbar, np.float64),
            weight=np.ones(len(xs)) if weight is None else np.asarray(weight, np.float64),
        )
        out.check()
        return out

    def check(self) -> None:
        n = len(self.x)
        if any(len(v) != n for v in (self.t_x, self.T, self.zbar, self.weight)):
            raise ClvError("x, t_x, T, zbar and weight must have one entry per customer.")
        bad = (
            (self.x < 0)
            | (self.x != np.floor(self.x))
            | (self.t_x < 0)
            | (self.t_x > self.T)
            | ((self.x == 0) & (self.t_x != 0))
        )
        if np.any(bad | ~np.isfinite(self.T) | ~np.isfinite(self.t_x)):
            raise ClvError(
                f"{int(bad.sum())} customers have an impossible summary (x a whole number ≥ 0, "
                "0 ≤ t_x ≤ T, t_x = 0 without a repeat transaction).",
                "Summarise transactions with revteam.clv.summary.summarise.",
            )


def bg_nbd_log_likelihood(params: Sequence[float] | F64, data: RepeatData) -> F64:
    """Per customer: the BG/NBD log-likelihood of (x, t_x, T) (FHL 2005, eq. 6)."""
    return _bg_nbd(np.asarray(params, dtype=np.float64), data, gradient=False)[0]


def _bg_nbd(theta: F64, d: RepeatData, *, gradient: bool) -> tuple[F64, F64]:
    r, alpha, a, b = theta
    x, t_x, T = d.x, d.t_x, d.T
    rx = r + x
    log_at, log_ax = np.log(alpha + T), np.log(alpha + t_x)
    a1 = gammaln(rx) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -rx * log_at
    repeat = x > 0
    a4 = np.full(len(x), -np.inf)
    a4[repeat] = np.log(a) - np.log(b + x[repeat] - 1) - rx[repeat] * log_ax[repeat]
    mix = np.logaddexp(a3, a4)
    ll = a1 + a2 + mix
    if not gradient:
        return ll, np.zeros(0)
    w3, w4 = np.exp(a3 - mix), np.exp(a4 - mix)
    g = np.empty((4, len(x)))
    g[0] = digamma(rx) - digamma(r) + np.log(alpha) - w3 * log_at - w4 * log_ax
    g[1] = r / alpha - w3 * rx / (alpha + T) - w4 * rx / (alpha + t_x)
    psi_ab, psi_abx = digamma(a + b), digamma(a + b + x)
    g[2] = psi_ab - psi_abx + w4 / a
    inv = np.zeros(len(x))
    inv[repeat] = 1.0 / (b + x[repeat] - 1)
    g[3] = psi_ab + digamma(b + x) - digamma(b) - psi_abx - w4 * inv
    return ll, g


class _BgNbdObjective:
    """The BG/NBD negative log-likelihood and its gradient, summed fast over many customers.

    Terms in x alone are computed once per distinct x (a few hundred values) and weighted by
    how many customers have it; per customer are only the two logarithms of T and t_x, one
    log-sum-exp and one exponential (the two weights of the mixture sum to 1).
    """

    def __init__(self, d: RepeatData) -> None:
        self.W = float(d.weight.sum())
        self.ux, inv = np.unique(d.x, return_inverse=True)
        self.Wx = np.bincount(inv.ravel(), weights=d.weight, minlength=len(self.ux))
        rep = d.x > 0
        # x = 0: no mixture, and only T matters: one row per distinct T
        self.T0, at = np.unique(d.T[~rep], return_inverse=True)
        self.w0 = np.bincount(at.ravel(), weights=d.weight[~rep], minlength=len(self.T0))
        self.x, self.tx, self.T, self.w = d.x[rep], d.t_x[rep], d.T[rep], d.weight[rep]
        self.inv_rep = inv.ravel()[rep]

    def __call__(self, theta: F64) -> tuple[float, F64]:
        r, alpha, a, b = (float(v) for v in theta)
        ux, Wx, W = self.ux, self.Wx, self.W
        # the x-only parts, per distinct x
        ll = float(Wx @ gammaln(r + ux)) - W * gammaln(r) + W * r * np.log(alpha)
        ll += W * (gammaln(a + b) - gammaln(b)) + float(
            Wx @ (gammaln(b + ux) - gammaln(a + b + ux))
        )
        g = np.zeros(4)
        g[0] = float(Wx @ digamma(r + ux)) - W * digamma(r) + W * np.log(alpha)
        g[1] = W * r / alpha
        psi_abx = digamma(a + b + ux)
        g[2] = W * digamma(a + b) - float(Wx @ psi_abx)
        g[3] = W * (digamma(a + b) - digamma(b)) + float(Wx @ (digamma(b + ux) - psi_abx))
        # customers without a repeat purchase: (α + T)^-r
        log_t0 = np.log(alpha + self.T0)
        ll -= r * float(self.w0 @ log_t0)
        g[0] -= float(self.w0 @ log_t0)
        g[1] -= r * float(self.w0 @ (1.0 / (alpha + self.T0)))
        # repeat customers: a mixture of "alive at T" and "dropped out after t_x"
        x, w = self.x, self.w
        rx = r + x
        log_at, log_ax = np.log(alpha + self.T), np.log(alpha + self.tx)
        per_x = np.log(a) - np.log(b + np.maximum(ux, 1) - 1)  # x = 0 has no such term
        c = per_x[self.inv_rep]
        a3 = -rx * log_at
        d = c + rx * (log_at - log_ax)  # a4 - a3: the log-odds of "dropped out after t_x"
        ll += float(w @ (a3 + np.logaddexp(0.0, d)))
        w4 = expit(d)
        w3 = 1.0 - w4
        g[0] -= float(w @ (w3 * log_at + w4 * log_ax))
        g[1] -= float(w @ (rx * (w3 / (alpha + self.T) + w4 / (alpha + self.tx))))
        g[2] += float(w @ w4) / a
        g[3] -= float(w @ (w4 / (b + x - 1)))
        return -ll, -g


def fit_bg_nbd(data: RepeatData, *, starts: Sequence[Sequence[float]] | None = None) -> Fit:
    """Maximum-likelihood BG/NBD parameters (r, α, a, b) of ``data``."""
    _enough_repeat(data, "bg_nbd")
    scale = float(np.average(data.T, weights=data.weight)) or 1.0
    default = [[1.0, scale, 1.0, 1.0], [0.25, scale / 10, 0.8, 2.5], [2.0, scale, 0.5, 5.0]]
    n = int(data.weight.sum())
    objective = _BgNbdObjective(data)
    if starts is None and len(data.x) > SUBSAMPLE:
        start, guess = _subsample_start(data, default, _BgNbdObjective)
        found = _fit("bg_nbd", BG_NBD, objective, [start], n, polish=guess)
        if found.converged:
            return found
    return _fit("bg_nbd", BG_NBD, objective, starts or default, n)


def bg_nbd_p_alive(params: Sequence[float] | F64, data: RepeatData) -> F64:
    """P(alive at T | x, t_x, T) (FHL 2005, eq. 11)."""
    r, alpha, a, b = (float(v) for v in params)
    x = data.x
    out = np.ones(len(x))
    repeat = x > 0
    xr = x[repeat]
    log_odds = (
        np.log(a)
        - np.log(b + xr - 1)
        + (r + xr) * (np.log(alpha + data.T[repeat]) - np.log(alpha + data.t_x[repeat]))
    )
    out[repeat] = 1.0 / (1.0 + np.exp(log_odds))
    return out


def bg_nbd_expected(params: Sequence[float] | F64, data: RepeatData, t: float | F64) -> F64:
    """Expected transactions in (T, T + t] given (x, t_x, T) (FHL 2005, eq. 10)."""
    r, alpha, a, b = (float(v) for v in params)
    x, t_x, T = data.x, data.t_x, data.T
    t = np.asarray(t, dtype=np.float64)
    rx = r + x
    ratio = (alpha + T) / (alpha + T + t)
    hyper = hyp2f1(rx, b + x, a + b + x - 1, t / (alpha + T + t))
    head = (a + b + x - 1) / (a - 1) * (1 - np.exp(rx * np.log(ratio)) * hyper)
    repeat = x > 0
    odds = np.zeros(len(x))
    xr = x[repeat]
    odds[repeat] = np.exp(
        np.log(a)
        - np.log(b + xr - 1)
        + (r + xr) * (np.log(alpha + T[repeat]) - np.log(alpha + t_x[repeat]))
    )
    out: F64 = head / (1 + odds)
    return out


def bg_nbd_unconditional(params: Sequence[float] | F64, t: float | F64) -> F64:
    """E[X(t)] for a customer just acquired (FHL 2005, eq. 9): the holdout benchmark curve."""
    r, alpha, a, b = (float(v) for v in params)
    t = np.asarray(t, dtype=np.float64)
    hyper = hyp2f1(r, b, a + b - 1, t / (alpha + t))
    out: F64 = (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyper)
    return out


def bg_nbd_discounted(
    params: Sequence[float] | F64,
    data: RepeatData,
    *,
    horizon: float,
    step: float,
    discount: float,
) -> F64:
    """Expected purchases in (T, T + horizon], each step's discounted to T.

    Σ_k (E[Y(k·step)] − E[Y((k−1)·step)]) / (1 + discount)^k over the steps of the horizon:
    the purchases of each step (e.g. a month) valued at its end. ``discount`` is per step.
    """
    steps = max(1, round(horizon / step))
    out = np.zeros(len(data.x))
    before = np.zeros(len(data.x))
    for k in range(1, steps + 1):
        upto = bg_nbd_expected(params, data, min(k * step, horizon))
        out += (upto - before) / (1 + discount) ** k
        before = upto
    return out


def draw_params(fit: Fit, draws: int, *, seed: int = 0) -> F64:
    """Parameters drawn from the estimate's asymptotic normal distribution: (draws, k).

    Drawn over log-parameters, whose covariance is the natural one scaled by the estimate
    (the delta method), so every draw is positive: the parametric bootstrap of the
    predictions' intervals.
    """
    theta = fit.vector()
    cov = np.asarray(fit.cov, dtype=np.float64)
    if cov.shape != (len(theta), len(theta)) or not np.all(np.isfinite(cov)):
        raise ClvError(
            f"The {fit.model} fit has no standard errors, so no intervals.",
            "See its warnings: fit on more customers or a longer period.",
        )
    scale = np.diag(1.0 / theta)
    rng = np.random.default_rng(seed)
    phi = rng.multivariate_normal(np.log(theta), scale @ cov @ scale, size=draws)
    out: F64 = np.exp(phi)
    return out


# -- Gamma-Gamma ------------------------------------------------------------------------------
GAMMA_GAMMA = ("p", "q", "gamma")


def _gamma_gamma(theta: F64, d: RepeatData, *, gradient: bool) -> tuple[F64, F64]:
    p, q, gamma = theta
    x, z = d.x, d.zbar
    px = p * x
    log_gz = np.log(gamma + x * z)
    ll = (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * np.log(z)
        + px * np.log(x)
        - (px + q) * log_gz
    )
    if not gradient:
        return ll, np.zeros(0)
    psi = digamma(px + q)
    g = np.empty((3, len(x)))
    g[0] = x * (psi - digamma(px) + np.log(z) + np.log(x) - log_gz)
    g[1] = psi - digamma(q) + np.log(gamma) - log_gz
    g[2] = q / gamma - (px + q) / (gamma + x * z)
    return ll, g


def _repeaters(data: RepeatData) -> RepeatData:
    keep = (data.x > 0) & np.isfinite(data.zbar)
    if np.any(data.zbar[keep] <= 0):
        raise ClvError(
            f"{int((data.zbar[keep] <= 0).sum())} repeat customers spend 0 or less on average.",
            "Gamma-Gamma models positive spend: leave out free orders and credit notes.",
        )
    return RepeatData(
        x=data.x[keep], t_x=data.t_x[keep], T=data.T[keep], zbar=data.zbar[keep],
        weight=data.weight[keep],
    )  # fmt: skip


def gamma_gamma_log_likelihood(params: Sequence[float] | F64, data: RepeatData) -> F64:
    """Per repeat customer: the Gamma-Gamma log-likelihood of (x, z̄)."""
    return _gamma_gamma(np.asarray(params, dtype=np.float64), _repeaters(data), gradient=False)[0]


class _GammaGammaObjective:
    """The Gamma-Gamma negative log-likelihood and gradient over the repeat customers.

    Per distinct x for the Gamma functions; per customer one logarithm, log(γ + x z̄).
    """

    def __init__(self, d: RepeatData) -> None:
        self.W = float(d.weight.sum())
        self.ux, inv = np.unique(d.x, return_inverse=True)
        self.Wx = np.bincount(inv.ravel(), weights=d.weight, minlength=len(self.ux))
        self.x, self.xz, self.w = d.x, d.x * d.zbar, d.weight
        log_z = np.log(d.zbar)
        self.sum_xlogz = float(d.weight @ (d.x * log_z))
        self.sum_logz = float(d.weight @ log_z)
        self.sum_xlogx = float(self.Wx @ (self.ux * np.log(self.ux)))

    def __call__(self, theta: F64) -> tuple[float, F64]:
        p, q, gamma = (float(v) for v in theta)
        ux, Wx, W, w = self.ux, self.Wx, self.W, self.w
        pu = p * ux
        log_gz = np.log(gamma + self.xz)
        s_l, s_xl = float(w @ log_gz), float(w @ (self.x * log_gz))
        ll = float(Wx @ (gammaln(pu + q) - gammaln(pu))) - W * gammaln(q) + W * q * np.log(gamma)
        ll += p * self.sum_xlogz - self.sum_logz + p * self.sum_xlogx - p * s_xl - q * s_l
        psi = digamma(pu + q)
        g = np.empty(3)
        g[0] = float(Wx @ (ux * (psi - digamma(pu)))) + self.sum_xlogz + self.sum_xlogx - s_xl
        g[1] = float(Wx @ psi) - W * digamma(q) + W * np.log(gamma) - s_l
        g[2] = W * q / gamma - float(w @ ((p * self.x + q) / (gamma + self.xz)))
        return -ll, -g


def fit_gamma_gamma(data: RepeatData, *, starts: Sequence[Sequence[float]] | None = None) -> Fit:
    """Maximum-likelihood Gamma-Gamma parameters (p, q, γ) over the repeat customers."""
    _enough_repeat(data, "gamma_gamma")
    rep = _repeaters(data)
    mean = float(np.average(rep.zbar, weights=rep.weight))
    default = [[1.0, 1.0, mean], [5.0, 3.0, mean * 2], [2.0, 5.0, mean * 4]]
    n = int(rep.weight.sum())
    objective = _GammaGammaObjective(rep)
    if starts is None and len(rep.x) > SUBSAMPLE:
        start, guess = _subsample_start(rep, default, _GammaGammaObjective)
        found = _fit("gamma_gamma", GAMMA_GAMMA, objective, [start], n, polish=guess)
        if found.converged:
            return found
    return _fit("gamma_gamma", GAMMA_GAMMA, objective, starts or default, n)


def gamma_gamma_mean(params: Sequence[float] | F64, data: RepeatData) -> F64:
    """E[mean transaction value | x, z̄] (FH 2013, eq. 5); the population mean for x = 0."""
    p, q, gamma = (float(v) for v in params)
    check_mean_spend(q)
    x = data.x
    z = np.where(x > 0, np.nan_to_num(data.zbar), 0.0)
    out: F64 = (gamma + x * z) * p / (p * x + q - 1)
    return out


def check_mean_spend(q: float) -> None:
    """Gamma-Gamma's mean spend is finite only for q > 1: refuse, saying why, otherwise."""
    if q <= 1:
        raise ClvError(
            f"q = {q:.3f} ≤ 1: the Gamma-Gamma mean spend is infinite (a few very large "
            "orders dominate).",
            "If some orders are contract invoices rather than purchases at will, set [clv] "
            'repeat_products to the products bought at will (or [clv] model = "sbg" for '
            "renewals); otherwise check the order amounts.",
        )


# -- shifted-beta-geometric --------------------------------------------------------------------
SBG = ("alpha", "beta")


@dataclass(frozen=True)
class Lifetimes:
    """Per customer (or per distinct row, with ``weight``): when they churned, or were last seen.

    ``period``: the renewal they did not make (1 = did not renew the first time), or when
    ``alive``, the renewals made so far (the last period observed).
    """

    period: F64
    alive: npt.NDArray[np.bool_]
    weight: F64

    @classmethod
    def from_survivors(cls, survivors: Sequence[float]) -> Lifetimes:
        """From a cohort's counts alive at periods 0, 1, …, n (the paper's table)."""
        counts = np.asarray(survivors, dtype=np.float64)
        if len(counts) < 2 or np.any(np.diff(counts) > 0) or counts[-1] < 0:
            raise ClvError(
                "Survivors must be a cohort's counts at periods 0, 1, … that never grow.",
                "Give at least two counts, e.g. [1000, 631, 468].",
            )
        churned = -np.diff(counts)
        periods = np.arange(1, len(counts), dtype=np.float64)
        return cls(
            period=np.r_[periods, periods[-1]],
            alive=np.r_[np.zeros(len(periods), dtype=bool), True],
            weight=np.r_[churned, counts[-1]],
        )


def _sbg(theta: F64, d: Lifetimes, *, gradient: bool) -> tuple[F64, F64]:
    al, be = theta
    t = d.period
    # churned in t: B(α + 1, β + t − 1) / B(α, β); alive after t: B(α, β + t) / B(α, β)
    x1 = np.where(d.alive, al, al + 1)
    x2 = np.where(d.alive, be + t, be + t - 1)
    ll = betaln(x1, x2) - betaln(al, be)
    if not gradient:
        return ll, np.zeros(0)
    psi12, psi = digamma(x1 + x2), digamma(al + be)
    g = np.empty((2, len(t)))
    g[0] = digamma(x1) - psi12 - digamma(al) + psi
    g[1] = digamma(x2) - psi12 - digamma(be) + psi
    return ll, g


def fit_sbg(data: Lifetimes, *, starts: Sequence[Sequence[float]] | None = None) -> Fit:
    """Maximum-likelihood sBG parameters (α, β)."""
    if not np.any(~data.alive & (data.weight > 0)):
        raise ClvError(
            "No customer churned in the data: the churn model cannot be fitted.",
            "Fit over a longer period (renewals due and missed), or on more cohorts.",
        )

    def objective(theta: F64) -> tuple[float, F64]:
        ll, g = _sbg(theta, data, gradient=True)
        return -float(data.weight @ ll), -(g @ data.weight)

    if not np.any((data.weight > 0) & (data.period >= 2)):
        return _sbg_first_round(data)
    default = [[1.0, 1.0], [0.5, 2.0], [2.0, 8.0]]
    found = _fit("sbg", SBG, objective, starts or default, int(data.weight.sum()))
    if np.all(np.isfinite(found.cov)) and sum(found.params.values()) < ALIKE:
        return found
    return _sbg_on_ridge(found, objective)


ALIKE = 1e4
"""α + β above which churn is alike across customers (their churn rates' spread is under half
a point): the fit is on the likelihood's ridge, where only α/(α+β) is determined."""

HOMOGENEOUS = 1e6
"""α + β when the data cannot tell how churn varies across customers: one churn rate for all."""
FLAT = "The likelihood is flat"
STOPPED = "The optimiser stopped"


def _sbg_first_round(data: Lifetimes) -> Fit:
    """Only first renewals decided: the likelihood is m^churned (1 − m)^renewed, m = α/(α+β).

    It is flat along α + β, so the churn is the share that churned and the spread across
    customers is set to none (α + β large): later renewals are projected at the same churn,
    the cautious choice, as heterogeneity only ever makes retention rise.
    """
    churned = float(data.weight[~data.alive].sum())
    renewed = float(data.weight[data.alive & (data.period >= 1)].sum())
    if renewed == 0:
        raise ClvError(
            f"All {churned:.0f} customers due a renewal churned at it: there is no retention "
            "to model.",
            "Check the renewal deals' won/lost flags, or fit over a longer period.",
        )
    m = churned / (churned + renewed)
    variance = m * (1 - m) / (churned + renewed)
    fit = Fit(
        model="sbg",
        params={"alpha": m * HOMOGENEOUS, "beta": (1 - m) * HOMOGENEOUS},
        se=dict.fromkeys(SBG, HOMOGENEOUS * float(np.sqrt(variance))),
        log_likelihood=churned * float(np.log(m)) + renewed * float(np.log1p(-m)),
        n=int(data.weight.sum()),
        converged=True,
        iterations=0,
        optimiser="closed form",
        warnings=(
            f"Only first renewals have been decided: they give the churn ({m:.1%} ± "
            f"{np.sqrt(variance):.1%}) but not how it varies across customers, which decides how "
            "retention rises at later renewals. Later renewals are projected at the same churn "
            "(the cautious choice); refit once second renewals are in.",
        ),
        cov=_along_ridge(HOMOGENEOUS, variance),
    )
    return _with_derived(fit)


def _sbg_on_ridge(fit: Fit, objective: Objective) -> Fit:
    """α and β not separately determined: the churn's error at the fitted α + β.

    With churn alike across customers the likelihood rises towards α + β → ∞ and is flat
    there; only the mean churn m = α/(α+β) is pinned down, so its information is taken along
    m with α + β held (the other direction carries none).
    """
    al, be = (float(v) for v in fit.vector())
    # far out on the ridge the likelihood no longer changes (and its digammas lose precision):
    # hold α + β where churn is one for all, and take m to its best there, as the optimiser
    # may stop anywhere along the ridge ("abnormally")
    kappa = min(al + be, HOMOGENEOUS)

    def slope(mm: float) -> float:
        g = objective(np.array([mm * kappa, (1 - mm) * kappa]))[1]
        return kappa * float(g[0] - g[1])

    def curvature(mm: float) -> float:
        h = 1e-5 * min(mm, 1 - mm)
        return (slope(mm + h) - slope(mm - h)) / (2 * h)

    # Newton's steps along m (the slope is exact where the likelihood's value has lost digits)
    m = al / (al + be)
    for _ in range(5):
        information = curvature(m)
        if not information > 0:
            return fit
        m = float(np.clip(m - slope(m) / information, 1e-9, 1 - 1e-9))
    information = curvature(m)
    if not information > 0:
        return fit
    variance = 1 / information
    at_best = abs(slope(m)) * np.sqrt(variance) < 1e-3
    fit = replace(
        fit,
        params={"alpha": m * kappa, "beta": (1 - m) * kappa},
        log_likelihood=-objective(np.array([m * kappa, (1 - m) * kappa]))[0],
    )
    kept = tuple(
        w
        for w in fit.warnings
        if not (w.startswith((FLAT, STOPPED)) and at_best) and "barely" not in w and "edge" not in w
    )
    note = (
        f"Churn hardly varies across customers, so α and β are not determined one by one (only "
        f"their ratio): the mean churn is {m:.1%} ± {np.sqrt(variance):.1%}, and later renewals "
        "are projected at about that churn."
    )
    return _with_derived(
        replace(
            fit,
            se=dict.fromkeys(SBG, kappa * float(np.sqrt(variance))),
            converged=fit.converged or bool(at_best),
            cov=_along_ridge(kappa, variance),
            warnings=(*kept, note),
        )
    )


def _along_ridge(kappa: float, variance: float) -> tuple[tuple[float, ...], ...]:
    """The covariance of (α, β) = (mκ, (1 − m)κ) when only m varies: rank one."""
    c = kappa**2 * variance
    return ((c, -c), (-c, c))


def sbg_survival(params: Sequence[float] | F64, t: float | F64) -> F64:
    """S(t) = B(α, β + t) / B(α, β): the share of a cohort still a customer after t renewals."""
    al, be = (float(v) for v in params)
    out: F64 = np.exp(betaln(al, be + np.asarray(t, dtype=np.float64)) - betaln(al, be))
    return out


def sbg_retention(params: Sequence[float] | F64, t: float | F64) -> F64:
    """r(t) = (β + t − 1) / (α + β + t − 1): the retention rate at renewal t (it rises)."""
    al, be = (float(v) for v in params)
    t = np.asarray(t, dtype=np.float64)
    out: F64 = (be + t - 1) / (al + be + t - 1)
    return out


def sbg_derl(params: Sequence[float] | F64, discount: float, renewals: float | F64) -> F64:
    """Discounted expected residual lifetime, in periods, after ``renewals`` renewals.

    For a customer who has renewed n times, just before their next renewal decision, with a
    payment at each period's start: (β + n) / (α + β + n) · ₂F₁(1, β + n + 1; α + β + n + 1;
    1 / (1 + d)) (Fader & Hardie 2010).
    """
    al, be = (float(v) for v in params)
    if discount <= 0:
        raise ClvError("The discount rate must be > 0.", "Give it per period, e.g. 0.1.")
    n = np.asarray(renewals, dtype=np.float64)
    out: F64 = (be + n) / (al + be + n) * hyp2f1(1, be + n + 1, al + be + n + 1, 1 / (1 + discount))
    return out


# -- fitting ----------------------------------------------------------------------------------
def _enough_repeat(data: RepeatData, model: str) -> None:
    repeat = float(data.weight[data.x > 0].sum())
    if repeat < MIN_REPEAT:
        raise ClvError(
            f"Only {repeat:.0f} customers bought again in the calibration period: {model} needs "
            f"at least {MIN_REPEAT} (and gives wide intervals below a few hundred).",
            "Widen the period (--start/--end), or use the contractual model (--model sbg) if "
            "customers renew rather than buy again.",
        )


def _fit(
    model: str,
    names: tuple[str, ...],
    objective: Objective,
    starts: Sequence[Sequence[float]],
    n: int,
    *,
    polish: F64 | None = None,
) -> Fit:
    """Fit from ``starts``.

    ``polish``: a Hessian over log-parameters, to take Newton steps from the one start (near
    the optimum) instead of L-BFGS-B from each.
    """
    in_logs = _in_logs(objective)
    best = _newton(in_logs, starts[0], hessian=polish) if polish is not None else None
    optimiser = "Newton"
    if best is None or not best.success:
        best, optimiser = _optimise(in_logs, starts), "L-BFGS-B"
    theta = np.exp(best.x)
    warnings: list[str] = []
    # L-BFGS-B may end "abnormally" in its line search once at the optimum: what matters is
    # that the gradient (in log-parameters, so relative) vanishes there
    _, slope = in_logs(best.x)
    converged = bool(best.success) or bool(np.max(np.abs(slope)) < 1e-6 * max(1.0, abs(best.fun)))
    if not converged:
        why = str(best.message).strip(": ") or "no reason given"
        warnings.append(
            f"{STOPPED} before converging ({why}). The parameters may be "
            "off: fit on more customers or a longer period, or give other starting values."
        )
    at_bound = np.abs(best.x) >= 19.9
    if np.any(at_bound):
        which = ", ".join(n for n, b in zip(names, at_bound, strict=True) if b)
        warnings.append(
            f"{which} ran to the edge of the search (near 0 or infinite): the data cannot pin "
            "it down. Widen the calibration period, or choose another model."
        )
    cov, se = _covariance(objective, theta, warnings)
    loose = [k for k, v, e in zip(names, theta, se, strict=True) if np.isfinite(e) and e > 5 * v]
    if loose:
        warnings.append(
            f"{', '.join(loose)}: barely determined by the data (standard error over five times "
            "the estimate). Use what the data does determine (e.g. the mean churn α/(α+β), the "
            "mean purchase rate r/α) or fit over a longer period with more customers."
        )
    return _with_derived(
        Fit(
            model=model,
            params={k: float(v) for k, v in zip(names, theta, strict=True)},
            se={k: float(v) for k, v in zip(names, se, strict=True)},
            log_likelihood=-float(best.fun),
            n=n,
            converged=converged,
            iterations=int(best.nit),
            warnings=tuple(warnings),
            optimiser=optimiser,
            cov=tuple(tuple(float(c) for c in row) for row in cov),
        )
    )


def _share(i: int, j: int) -> Callable[[F64], tuple[float, F64]]:
    """θi / (θi + θj) and its gradient."""

    def share(theta: F64) -> tuple[float, F64]:
        a, b = float(theta[i]), float(theta[j])
        g = np.zeros(len(theta))
        g[i], g[j] = b / (a + b) ** 2, -a / (a + b) ** 2
        return a / (a + b), g

    return share


def _ratio(i: int, j: int) -> Callable[[F64], tuple[float, F64]]:
    """θi / θj and its gradient."""

    def ratio(theta: F64) -> tuple[float, F64]:
        a, b = float(theta[i]), float(theta[j])
        g = np.zeros(len(theta))
        g[i], g[j] = 1 / b, -a / b**2
        return a / b, g

    return ratio


def _mean_spend(theta: F64) -> tuple[float, F64]:
    """E[mean spend] = pγ / (q − 1) (infinite for q ≤ 1) and its gradient."""
    p, q, gamma = (float(v) for v in theta)
    if q <= 1:
        return float("inf"), np.full(3, np.nan)
    return p * gamma / (q - 1), np.array([gamma / (q - 1), -p * gamma / (q - 1) ** 2, p / (q - 1)])


DERIVED: dict[str, dict[str, Callable[[F64], tuple[float, F64]]]] = {
    "bg_nbd": {"purchase_rate": _ratio(0, 1), "dropout": _share(2, 3)},
    "gamma_gamma": {"mean_spend": _mean_spend},
    "sbg": {"churn": _share(0, 1)},
}
"""Per model, the functions of its parameters reported with a standard error (Fit.derived)."""


def _with_derived(fit: Fit) -> Fit:
    theta, cov = fit.vector(), np.asarray(fit.cov, dtype=np.float64)
    values, errors = {}, {}
    for name, f in DERIVED.get(fit.model, {}).items():
        value, grad = f(theta)
        values[name] = value
        errors[name] = float(np.sqrt(grad @ cov @ grad)) if cov.size else float("nan")
    return replace(fit, derived=values, derived_se=errors)


def _in_logs(objective: Objective) -> Callable[[F64], tuple[float, F64]]:
    """The objective over log-parameters (so every parameter stays positive)."""

    def in_logs(phi: F64) -> tuple[float, F64]:
        theta = np.exp(phi)
        value, grad = objective(theta)
        if not np.isfinite(value):
            return 1e300, np.zeros_like(phi)
        return value, grad * theta

    return in_logs


def _optimise(
    in_logs: Callable[[F64], tuple[float, F64]],
    starts: Sequence[Sequence[float]],
    *,
    rough: bool = False,
) -> optimize.OptimizeResult:
    """L-BFGS-B from each start; the best end (``rough``: to a start's precision)."""
    tolerance = {"ftol": 1e-15, "gtol": 1e-9}
    best: optimize.OptimizeResult | None = None
    for start in starts:
        phi = np.log(np.asarray(start, dtype=np.float64))
        if rough:  # BFGS: far less overhead per step than L-BFGS-B on a few parameters
            found = optimize.minimize(
                in_logs, phi, jac=True, method="BFGS", options={"gtol": 1e-4, "maxiter": 500}
            )
        else:
            found = optimize.minimize(
                in_logs,
                phi,
                jac=True,
                method="L-BFGS-B",
                bounds=[(-20.0, 20.0)] * len(phi),
                options={"maxiter": 2000, **tolerance},
            )
        if best is None or found.fun < best.fun:
            best = found
    assert best is not None
    return best


def _newton(
    in_logs: Callable[[F64], tuple[float, F64]],
    start: Sequence[float],
    *,
    hessian: F64 | None = None,
    steps: int = 50,
) -> optimize.OptimizeResult:
    """Newton's method over log-parameters from a start near the optimum.

    The Hessian (``hessian``, e.g. a subsample's scaled up, else central differences of the
    analytic gradient at the start) is kept while the steps keep the gradient falling (a chord
    method: one gradient per step); recomputed where they do not. Each step is backtracked
    until the objective falls. Far fewer evaluations than L-BFGS-B when started close (from a
    subsample's optimum): what makes a fit on a million customers take about a second.
    """
    phi = np.log(np.asarray(start, dtype=np.float64))
    f, g = in_logs(phi)
    fresh = hessian is None
    if hessian is None:
        hessian = _hessian(in_logs, phi)
    for step_number in range(1, steps + 1):
        if np.max(np.abs(g)) < 1e-8 * max(1.0, abs(f)):
            return optimize.OptimizeResult(
                x=phi, fun=f, success=True, nit=step_number, message="Newton converged"
            )
        try:
            np.linalg.cholesky(hessian)
        except np.linalg.LinAlgError:
            if fresh:
                return optimize.OptimizeResult(x=phi, fun=f, success=False, nit=step_number)
            hessian, fresh = _hessian(in_logs, phi), True
            continue
        step = -np.linalg.solve(hessian, g)
        t = 1.0
        f_new, g_new = in_logs(phi + step)
        while not (np.isfinite(f_new) and f_new <= f + 1e-4 * t * float(g @ step)):
            t /= 2
            if t < 1e-6:
                break
            f_new, g_new = in_logs(phi + t * step)
        stalled = t < 1e-6 or np.max(np.abs(g_new)) > 0.5 * np.max(np.abs(g))
        if stalled and not fresh:  # an old Hessian misleads: take a new one here
            hessian, fresh = _hessian(in_logs, phi), True
            continue
        if t < 1e-6:  # no descent even with a fresh Hessian
            return optimize.OptimizeResult(x=phi, fun=f, success=False, nit=step_number)
        phi, f, g, fresh = phi + t * step, f_new, g_new, False
    return optimize.OptimizeResult(x=phi, fun=f, success=False, nit=steps)


def _hessian(in_logs: Callable[[F64], tuple[float, F64]], phi: F64) -> F64:
    """The Hessian over log-parameters by central differences of the gradient, symmetrised."""
    k = len(phi)
    out = np.empty((k, k))
    for j in range(k):
        up, down = phi.copy(), phi.copy()
        up[j] += 1e-5
        down[j] -= 1e-5
        out[:, j] = (in_logs(up)[1] - in_logs(down)[1]) / 2e-5
    result: F64 = (out + out.T) / 2
    return result


def _subsample_start(
    data: RepeatData,
    starts: Sequence[Sequence[float]],
    objective: Callable[[RepeatData], Objective],
) -> tuple[list[float], F64]:
    """The best of ``starts`` on a random subsample, and its Hessian there scaled up.

    The seed is fixed (the same data, the same fit); the Hessian, scaled to the whole data, is
    Newton's first guess.
    """
    pick = np.sort(np.random.default_rng(0).choice(len(data.x), SUBSAMPLE, replace=False))
    small = RepeatData(
        x=data.x[pick],
        t_x=data.t_x[pick],
        T=data.T[pick],
        zbar=data.zbar[pick],
        weight=data.weight[pick],
    )
    in_logs = _in_logs(objective(small))
    best = _optimise(in_logs, starts, rough=True)
    scale = float(data.weight.sum()) / float(small.weight.sum())
    return [float(v) for v in np.exp(best.x)], _hessian(in_logs, best.x) * scale


def _covariance(objective: Objective, theta: F64, warnings: list[str]) -> tuple[F64, F64]:
    """Inverse observed information in natural parameters.

    The Hessian by central differences of the analytic gradient (relative steps), symmetrised.
    """
    k = len(theta)
    hessian = np.empty((k, k))
    for j in range(k):
        h = 1e-5 * max(abs(theta[j]), 1e-8)
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        hessian[:, j] = (objective(up)[1] - objective(down)[1]) / (2 * h)
    hessian = (hessian + hessian.T) / 2
    try:
        np.linalg.cholesky(hessian)
        cov = np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        warnings.append(
            f"{FLAT} or not at a maximum: standard errors are undefined. "
            "Fit on more data, or on a simpler model."
        )
        return np.full((k, k), np.nan), np.full(k, np.nan)
    se: F64 = np.sqrt(np.diag(cov))
    out: F64 = np.asarray(cov, dtype=np.float64)
    return out, se
