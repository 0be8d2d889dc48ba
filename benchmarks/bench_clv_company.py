"""Customer value on a generated company: every step the Customer value page and the KPIs take.

    python benchmarks/bench_clv_company.py                  # 1M leads (built once, then reused)
    python benchmarks/bench_clv_company.py --leads 100000
    python benchmarks/bench_clv_company.py --workspace /path/to/ws

The workspace gets ``[clv] model = "both"`` with the generator's add-ons as repeat products
(as ``revteam demo``) unless it has a ``[clv]`` section. Each step is timed once, cold, in one
process, in the order a first visitor's page needs them (later steps reuse earlier fits, as
the web app does): the calibration summary, the three fits, per-customer predictions, the
first ``clv_predicted``/``clv_to_cac_predicted`` query (building every customer's lifetime
value), the segment intervals, predicted CLV with intervals by channel and by campaign, the
holdout check and the retention triangle; then the peak resident memory.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import revteam
from bench_dashboard import build
from revteam.generate.params import ADD_ON_PRODUCTS


def with_clv(root: Path) -> None:
    toml = root / "revteam.toml"
    text = toml.read_text()
    if "[clv]" not in text:
        products = ", ".join(f'"{p}"' for p in ADD_ON_PRODUCTS)
        toml.write_text(f'{text}\n[clv]\nmodel = "both"\nrepeat_products = [{products}]\n')


def timed(name: str, run: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    out = run()
    print(f"{name:<58} {time.perf_counter() - started:7.2f} s")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--workspace", type=Path, default=None)
    args = parser.parse_args()
    root = (args.workspace or Path(tempfile.gettempdir()) / f"revteam-goals-{args.leads}").resolve()
    if args.workspace is None:
        build(root, args.leads, reuse=True)
    with_clv(root)
    with revteam.open(root, read_only=True) as ws:
        summary = timed("calibration summary from the orders", ws.clv.summary)
        print(f"  {summary.n:,} customers, {int((summary.data.x > 0).sum()):,} bought again")
        for model in ("bg_nbd", "gamma_gamma", "sbg"):
            timed(f"fit {model}", lambda m=model: ws.clv.fit(m))
        timed("predict (per customer, 36 monthly steps)", ws.clv.predict)
        timed(
            "first clv_predicted + clv_to_cac_predicted query, by quarter",
            lambda: ws.metrics.query(
                ["clv_predicted", "clv_to_cac_predicted"], grain="quarter", by=["channel"]
            ),
        )
        timed("intervals of predicted value by segment (200 draws)", ws.clv.intervals)
        for by in ("channel", "campaign"):
            found = timed(
                f"predicted CLV with intervals by {by} (200 draws)",
                lambda b=by: ws.clv.value_by(b),
            )
            print(f"  {len(found['rows']) - 1} groups")
        timed("holdout check (26 weeks)", ws.clv.holdout)
        timed("retention triangle", ws.clv.triangle)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak resident memory {peak:.2f} GiB")


if __name__ == "__main__":
    main()
