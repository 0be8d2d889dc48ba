"""Lead scoring on a generated company: fitting, and scoring every lead.

    python benchmarks/bench_scoring.py                   # 1M leads (built once, then reused)
    python benchmarks/bench_scoring.py --leads 100000
    python benchmarks/bench_scoring.py --workspace /path/to/ws

Targets (issue 17): fitting on 1M leads ≤ 2 min; scoring 1M leads (features and model) ≤ 60 s,
on 2 cores. Steps, each timed once in one process: reading the leads and their engagement
through the metric layer; ``ws.scoring.fit()`` (the examples at every scoring age, features,
the checked model, the calibration resamples, the refit); the features of every lead a week
after its creation and their calibrated scores; ``ws.scoring.score()`` (the open leads now);
the threshold curve; then the peak resident memory.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import revteam
from bench_dashboard import build
from revteam.scoring.features import US_PER_DAY, features


def timed(name: str, run: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    out = run()
    print(f"{name:<60} {time.perf_counter() - started:7.2f} s")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--workspace", type=Path, default=None)
    args = parser.parse_args()
    root = (args.workspace or Path(tempfile.gettempdir()) / f"revteam-goals-{args.leads}").resolve()
    if args.workspace is None:
        build(root, args.leads, reuse=True)
    with revteam.open(root, read_only=True) as ws:
        cut = ws.metrics.as_of()
        leads = timed("read leads, fit attributes and engagement", lambda: ws.scoring._read(cut))
        n = len(leads.created_us)
        print(f"  {n:,} leads, {len(leads.touches.at_us):,} touches, "
              f"{len(leads.emails.at_us):,} e-mail opens and clicks")  # fmt: skip
        fit = timed("fit (time split, calibration, resamples, refit)", ws.scoring.fit)
        print(f"  examples {fit.examples}; holdout AUC at 7 days {fit.by_age[7].auc:.3f}, "
              f"ECE {fit.by_age[7].ece:.4f}")  # fmt: skip
        rows = np.arange(n, dtype=np.int64)
        moments = leads.created_us + 7 * US_PER_DAY

        def score_all() -> Any:
            x = features(leads, rows, moments, half_life_days=ws.settings.scoring.half_life_days)
            return fit.scorer.predict(x)

        scores = timed(f"score every lead a week old ({n:,}: features + model)", score_all)
        print(f"  mean score {float(np.mean(scores)):.4f}")
        table = timed("score the open leads now", ws.scoring.score)
        print(f"  {table.num_rows:,} open leads")
        timed("threshold curve", ws.scoring.threshold)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak resident memory {peak:.2f} GiB")


if __name__ == "__main__":
    main()
