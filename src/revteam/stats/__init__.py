"""Honest statistics on every KPI: intervals, comparisons, rankings, cohorts, anomalies, drivers.

>>> ws = revteam.open("my-workspace")                                          # doctest: +SKIP
>>> stats = ws.stats   # StatsComponent(ws.metrics, fiscal_year_start_month=...)  # doctest: +SKIP
>>> stats.compare("sales_qualification_rate", by="channel", against="previous")  # doctest: +SKIP

Pure functions over numpy arrays and pyarrow tables do the statistics (each module one
concern); :class:`StatsComponent` feeds them from the metric layer. See ``docs/statistics.md``.
"""

from __future__ import annotations

from revteam.stats._private import meta_of
from revteam.stats._records import result_intervals
from revteam.stats.anomalies import find_anomalies, rate_scores, robust_scores
from revteam.stats.cohorts import (
    KaplanMeier,
    cohort_curves,
    cohort_projection,
    follow_up,
    kaplan_meier,
    loglog_interval,
)
from revteam.stats.compare import (
    benjamini_hochberg,
    compare_rates,
    compare_samples,
    differ_from_rest,
    fisher_exact_test,
    mann_whitney_test,
    newcombe_interval,
    two_proportion_ztest,
    welch_test,
)
from revteam.stats.component import StatsComponent
from revteam.stats.drivers import (
    LEVERS,
    additive,
    describe_drivers,
    lmdi,
    mix_rate,
    ranked_effects,
)
from revteam.stats.intervals import (
    MIN_N,
    add_intervals,
    bootstrap_interval,
    jeffreys_interval,
    proportion_interval,
    t_interval,
    wilson_interval,
)
from revteam.stats.rank import (
    BetaPrior,
    beta_binomial_loglik,
    fit_beta_prior,
    marginal_likelihood_prior,
    moments_prior,
    posterior,
    rank_rates,
)

__all__ = [
    "LEVERS",
    "MIN_N",
    "BetaPrior",
    "KaplanMeier",
    "StatsComponent",
    "add_intervals",
    "additive",
    "benjamini_hochberg",
    "beta_binomial_loglik",
    "bootstrap_interval",
    "cohort_curves",
    "cohort_projection",
    "compare_rates",
    "compare_samples",
    "describe_drivers",
    "differ_from_rest",
    "find_anomalies",
    "fisher_exact_test",
    "fit_beta_prior",
    "follow_up",
    "jeffreys_interval",
    "kaplan_meier",
    "lmdi",
    "loglog_interval",
    "mann_whitney_test",
    "marginal_likelihood_prior",
    "meta_of",
    "mix_rate",
    "moments_prior",
    "newcombe_interval",
    "posterior",
    "proportion_interval",
    "rank_rates",
    "ranked_effects",
    "rate_scores",
    "result_intervals",
    "robust_scores",
    "t_interval",
    "two_proportion_ztest",
    "welch_test",
    "wilson_interval",
]
