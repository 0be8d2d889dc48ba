"""BG/NBD + Gamma-Gamma on 1M customers: revteam against lifetimes, in one run.

    uv run python benchmarks/bench_clv.py                     # 1M customers
    uv run python benchmarks/bench_clv.py --customers 100000  # a quick look

Simulates ``--customers`` customers from known parameters once (BG/NBD purchases over 26-78
weeks, Gamma-Gamma spends; untimed), then times, best of ``--repeat``:

- revteam's ``fit_bg_nbd`` and ``fit_gamma_gamma`` (three starting points each, standard errors
  from the Hessian included). Target: both together ≤ 10 s on 2 cores;
- lifetimes 0.11.3's ``BetaGeoFitter().fit`` and ``GammaGammaFitter().fit`` on the same
  summaries (its defaults; it computes no standard errors unless asked, which costs more).
  Target: revteam ≥ 10× faster;
- ``summarise``: the summary from 1M customers' transactions (about 2.7M customer-days).

Both fits must agree (parameters within 0.5%), or the timing means nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa

from revteam.clv import RepeatData, fit_bg_nbd, fit_gamma_gamma, summarise

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from lifetimes import BetaGeoFitter, GammaGammaFitter

TRUE_BG = {"r": 0.6, "alpha": 8.0, "a": 0.7, "b": 3.0}
TRUE_GG = {"p": 5.0, "q": 4.0, "gamma": 300.0}


def simulate(n: int, seed: int) -> tuple[RepeatData, pa.Table]:
    """Customers and their transactions (days), vectorised over customers per purchase."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(TRUE_BG["r"], 1 / TRUE_BG["alpha"], n)
    p = rng.beta(TRUE_BG["a"], TRUE_BG["b"], n)
    nu = rng.gamma(TRUE_GG["q"], 1 / TRUE_GG["gamma"], n)
    T = np.floor(rng.uniform(26, 78, n) * 7) / 7  # whole days, as a summary of dates gives
    t = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    who, when = [np.arange(n)], [np.zeros(n)]
    while alive.any():
        idx = np.flatnonzero(alive)
        t[idx] += rng.exponential(1.0, len(idx)) / lam[idx]
        alive[idx] = t[idx] <= T[idx]
        idx = np.flatnonzero(alive)
        who.append(idx)
        when.append(np.floor(t[idx] * 7) / 7)  # whole days
        alive[idx] = rng.random(len(idx)) >= p[idx]
    customer = np.concatenate(who)
    week = np.concatenate(when)
    value = rng.gamma(TRUE_GG["p"], 1 / nu[customer])
    end = dt.date(2026, 1, 1)
    first = np.datetime64(end) - (T * 7).astype("timedelta64[D]")
    day = first[customer] + (week * 7).round().astype("timedelta64[D]")
    transactions = pa.table(
        {"customer": pa.array(customer.astype(str)), "day": pa.array(day), "value": value}
    )
    summary = summarise(
        transactions["customer"],
        transactions["day"],
        transactions["value"],
        start=dt.date(2000, 1, 1),
        end=end,
        unit="week",
    )
    return summary.data, transactions


def best(repeat: int, run: Callable[[], Any]) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - started)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    data, transactions = simulate(args.customers, args.seed)
    print(
        f"{args.customers:,} customers, {transactions.num_rows:,} transactions, "
        f"{int((data.x > 0).sum()):,} repeat customers (simulated in "
        f"{time.perf_counter() - started:.1f} s)"
    )
    t_sum, _ = best(
        args.repeat,
        lambda: summarise(
            transactions["customer"],
            transactions["day"],
            transactions["value"],
            start=dt.date(2000, 1, 1),
            end=dt.date(2026, 1, 1),
            unit="week",
        ),
    )
    t_bg, bg = best(args.repeat, lambda: fit_bg_nbd(data))
    t_gg, gg = best(args.repeat, lambda: fit_gamma_gamma(data))
    repeat = data.x > 0
    t_lbg, lbg = best(args.repeat, lambda: BetaGeoFitter().fit(data.x, data.t_x, data.T))
    t_lgg, lgg = best(
        args.repeat, lambda: GammaGammaFitter().fit(data.x[repeat], data.zbar[repeat])
    )
    print(f"{'':<28}{'revteam':>10}{'lifetimes':>12}{'ratio':>9}")
    for what, ours, theirs in (
        ("BG/NBD fit", t_bg, t_lbg),
        ("Gamma-Gamma fit", t_gg, t_lgg),
        ("both", t_bg + t_gg, t_lbg + t_lgg),
    ):
        print(f"{what:<28}{ours:>9.2f}s{theirs:>11.2f}s{ours / theirs:>8.3f}×")
    print(f"{'summarise (transactions)':<28}{t_sum:>9.2f}s")
    print("parameters (revteam / lifetimes / true):")
    for name, value in bg.params.items():
        print(f"  {name:<6}{value:>12.4f}{lbg.params_[name]:>12.4f}{TRUE_BG[name]:>10}")
    for name, value in gg.params.items():
        theirs = lgg.params_["v" if name == "gamma" else name]
        print(f"  {name:<6}{value:>12.4f}{theirs:>12.4f}{TRUE_GG[name]:>10}")
    gaps = [abs(v / lbg.params_[k] - 1) for k, v in bg.params.items()]
    gaps += [abs(v / lgg.params_["v" if k == "gamma" else k] - 1) for k, v in gg.params.items()]
    print(f"largest relative difference from lifetimes: {max(gaps):.1e}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak resident memory: {peak:.2f} GiB")
    if max(gaps) > 5e-3:
        raise SystemExit("revteam and lifetimes disagree: the timings compare different fits")


if __name__ == "__main__":
    main()
