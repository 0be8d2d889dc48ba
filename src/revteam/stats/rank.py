"""Rank segments by rate without rewarding luck: empirical-Bayes beta-binomial shrinkage.

A campaign with 2 conversions out of 2 leads has a raw rate of 100 % and tops any raw league
table; nobody believes it. Each segment's true rate ``p_i`` is modelled as drawn from a common
Beta(alpha, beta) prior and its conversions as ``k_i ~ Binomial(n_i, p_i)``. The prior is fitted to
all segments at once (by default by maximising the beta-binomial marginal likelihood, starting
from Kleinman's method-of-moments estimate), and each segment is ranked by its posterior mean
``(alpha + k_i) / (alpha + beta + n_i)``: small segments are pulled strongly towards the
common mean, large ones keep their own rate. Intervals are equal-tailed posterior intervals of
Beta(alpha + k_i, beta + n_i - k_i).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from scipy import optimize  # type: ignore[import-untyped]
from scipy import special as spf
from scipy import stats as sps

from revteam.exceptions import InsufficientDataError, StatsOptionError
from revteam.stats._private import Float, check_level, floats, nullable, with_meta
from revteam.stats.intervals import MIN_N

PriorMethod = Literal["marginal_likelihood", "moments"]
PRIOR_METHODS: tuple[str, ...] = ("marginal_likelihood", "moments")
MAX_STRENGTH = 1e7
"""Cap of alpha + beta: a prior this strong means "all segments share one rate" (full pooling)."""
MIN_RHO = 1.0 / (MAX_STRENGTH + 1)


@dataclass(frozen=True)
class BetaPrior:
    """The fitted Beta(alpha, beta) prior of the segments' true rates."""

    alpha: float
    beta: float
    method: str

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    @property
    def strength(self) -> float:
        """Alpha + beta: how many records' worth of evidence the prior adds to each segment."""
        return self.alpha + self.beta


def moments_prior(k: object, n: object) -> BetaPrior:
    """Method-of-moments Beta prior that allows for unequal segment sizes.

    With ``mu = Σk/Σn`` and the weighted dispersion ``S = Σ n_i (k_i/n_i - mu)²``, the
    intra-segment correlation is ``rho = (S/(mu(1-mu)) - (m-1)) / (N - Σn_i²/N - (m-1))`` and
    ``alpha + beta = 1/rho - 1`` (``m`` segments, ``N = Σn``).

    References
    ----------
    Kleinman, J. C. (1973). Proportions with extraneous variance: single and independent
    samples. *JASA* 68(341), 46-54.
    """
    k, n = _checked(k, n)
    total, m = n.sum(), n.size
    mu = k.sum() / total
    if mu in (0.0, 1.0):
        return _prior(mu, MAX_STRENGTH, "moments")
    s = float(np.sum(n * (k / n - mu) ** 2))
    denom = total - np.sum(n**2) / total - (m - 1)
    rho = (s / (mu * (1 - mu)) - (m - 1)) / denom if denom > 0 else 0.0
    rho = float(np.clip(rho, MIN_RHO, 1 - 1e-6))
    return _prior(mu, 1 / rho - 1, "moments")


def beta_binomial_loglik(alpha: float, beta: float, k: object, n: object) -> float:
    """Log marginal likelihood Σ log BetaBinomial(k_i | n_i, alpha, beta) of the segments."""
    k, n = floats(k), floats(n)
    comb = spf.gammaln(n + 1) - spf.gammaln(k + 1) - spf.gammaln(n - k + 1)
    return float(np.sum(comb + spf.betaln(k + alpha, n - k + beta) - spf.betaln(alpha, beta)))


def marginal_likelihood_prior(k: object, n: object) -> BetaPrior:
    """Beta prior maximising the beta-binomial marginal likelihood of all segments.

    Unlike the moments estimate it weighs each segment by what its size says, so a few tiny
    segments with extreme rates cannot inflate the fitted spread.

    References
    ----------
    Skellam, J. G. (1948). A probability distribution derived from the binomial distribution
    by regarding the probability of success as variable between the sets of trials. *JRSS B*
    10(2), 257-261.
    """
    k, n = _checked(k, n)
    # The segments in a fixed order, whatever order the warehouse grouped them in: sums in
    # another order differ in the last bits, enough to move the optimum's last digits.
    fixed = np.lexsort((k, n))
    k, n = k[fixed], n[fixed]
    start = moments_prior(k, n)
    if start.mean in (0.0, 1.0):
        return BetaPrior(start.alpha, start.beta, "marginal_likelihood")

    def loss(theta: Float) -> float:
        mean, strength = spf.expit(theta[0]), np.exp(theta[1])
        return -beta_binomial_loglik(mean * strength, (1 - mean) * strength, k, n)

    # Search over logit(mean) and log(strength): the two are nearly orthogonal there.
    x0 = np.array([spf.logit(start.mean), np.log(start.strength)])
    bounds = [(-20.0, 20.0), (np.log(1e-2), np.log(MAX_STRENGTH))]
    fit = optimize.minimize(loss, x0, method="L-BFGS-B", bounds=bounds)
    mean, strength = float(spf.expit(fit.x[0])), float(np.exp(fit.x[1]))
    alpha, beta = mean * strength, (1 - mean) * strength
    return BetaPrior(float(alpha), float(beta), "marginal_likelihood")


def fit_beta_prior(
    k: object, n: object, *, method: PriorMethod = "marginal_likelihood"
) -> BetaPrior:
    """The Beta prior of the segments' rates, by ``marginal_likelihood`` or ``moments``."""
    if method == "marginal_likelihood":
        return marginal_likelihood_prior(k, n)
    if method == "moments":
        return moments_prior(k, n)
    raise StatsOptionError("prior", method, f"one of {', '.join(PRIOR_METHODS)}")


def posterior(
    k: object, n: object, prior: BetaPrior, level: float = 0.95
) -> tuple[Float, Float, Float]:
    """Posterior mean and equal-tailed interval of each segment's rate under ``prior``.

    References
    ----------
    Efron, B., Morris, C. (1975). Data analysis using Stein's estimator and its
    generalizations. *JASA* 70(350), 311-319.
    """
    k, n = floats(k), floats(n)
    a, b = prior.alpha + k, prior.beta + n - k
    tail = (1 - check_level(level)) / 2
    return a / (a + b), sps.beta.ppf(tail, a, b), sps.beta.isf(tail, a, b)


def rank_rates(
    segments: Sequence[str],
    k: object,
    n: object,
    *,
    level: float = 0.95,
    method: PriorMethod = "marginal_likelihood",
    higher_is_better: bool = True,
    min_n: int = MIN_N,
) -> pa.Table:
    """Segments ranked by shrunk rate, with raw and shrunk values side by side.

    Columns: ``rank``, ``segment``, ``numerator``, ``denominator``, ``raw_rate``,
    ``raw_rank``, ``shrunk_rate``, ``ci_low``, ``ci_high`` (posterior interval),
    ``small_sample``. The fitted prior is in the schema metadata (``revteam.stats``).
    """
    k, n = floats(k), floats(n)
    keep = np.flatnonzero(n > 0)
    segments, (k, n) = [segments[i] for i in keep.tolist()], _checked(k[keep], n[keep])
    if k.size < 2:
        raise InsufficientDataError("Shrinkage ranking", "at least 2 segments", f"{k.size}")
    prior = fit_beta_prior(k, n, method=method)
    shrunk, low, high = posterior(k, n, prior, level)
    raw = k / n
    sign = -1.0 if higher_is_better else 1.0
    order = np.lexsort((np.asarray(segments, dtype=object).astype(str), sign * shrunk))
    raw_rank = _ranks(sign * raw)
    table = pa.table(
        {
            "rank": pa.array(np.arange(1, k.size + 1)),
            "segment": pa.array([segments[i] for i in order], type=pa.string()),
            "numerator": nullable(k[order]),
            "denominator": nullable(n[order]),
            "raw_rate": nullable(raw[order]),
            "raw_rank": pa.array(raw_rank[order]),
            "shrunk_rate": nullable(shrunk[order]),
            "ci_low": nullable(low[order]),
            "ci_high": nullable(high[order]),
            "small_sample": pa.array(n[order] < min_n),
        }
    )
    return with_meta(
        table,
        {
            "prior": {
                "alpha": prior.alpha,
                "beta": prior.beta,
                "method": prior.method,
                "mean": prior.mean,
                "strength": prior.strength,
            },
            "level": level,
        },
    )


def _ranks(keys: Float) -> npt.NDArray[np.int64]:
    """Competition ranks (1, 2, 2, 4) of ``keys`` ascending."""
    return np.asarray(sps.rankdata(keys, method="min"), dtype=np.int64)


def _checked(k: object, n: object) -> tuple[Float, Float]:
    k, n = floats(k), floats(n)
    keep = np.isfinite(k) & np.isfinite(n) & (n > 0)
    if keep.sum() == 0:
        raise InsufficientDataError("Fitting a beta prior", "segments with records", "none")
    if np.any((k[keep] < 0) | (k[keep] > n[keep])):
        raise StatsOptionError("numerators", "outside 0..denominator", "counts within 0..n")
    return k[keep], n[keep]


def _prior(mean: float, strength: float, method: str) -> BetaPrior:
    strength = min(float(strength), MAX_STRENGTH)
    mean = float(np.clip(mean, 1e-9, 1 - 1e-9))
    return BetaPrior(mean * strength, (1 - mean) * strength, method)
