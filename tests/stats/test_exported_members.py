"""The public names of ``revteam.stats`` are pinned."""

from __future__ import annotations

import revteam.stats


def test_exported_members():
    assert set(revteam.stats.__all__) == {
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
    }
    for name in revteam.stats.__all__:
        assert hasattr(revteam.stats, name)
