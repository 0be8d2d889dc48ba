"""Attributed KPIs on a 1M-lead company: journeys from the warehouse, credit, the first query.

    python benchmarks/bench_attribution_kpis.py                       # 1M leads (built once)
    python benchmarks/bench_attribution_kpis.py --leads 100000
    python benchmarks/bench_attribution_kpis.py --workspace /path/to/ws

In one process over a read-only workspace, in order:

1. the first attributed KPI query (``attributed_revenue`` and ``attributed_roi`` by channel,
   by month over the last year) under the workspace's model: cold, so it reads and sorts the
   touches, builds the lead, opportunity, won and customer journeys, credits them and runs
   the SQL. Target: well within ``[limits] query_seconds`` (30 s), the web request's bound;
2. the same query again (warm: the metric layer's result cached, as in the web app);
3. the same KPIs under ``markov`` and ``shapley`` (journeys reused, one new credit each);
4. each step on its own, cold, in a fresh component: reading the touches, sorting them (by
   person, by account), building each conversion's journeys (touches sorted once per kind,
   so the first of each kind includes its sort), and the credit rows of the model.

Reports the peak resident memory of the process at the end. ``--credit-only``: only the cold
credit rows of the workspace's model (the warmer's work; at 10M leads the steps above would
keep every conversion's journeys at once).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import revteam
from bench_dashboard import build
from revteam.attribution import AttributionComponent
from revteam.attribution import journeys as J
from revteam.attribution.component import clear_shared_credit

KPIS = ["attributed_revenue", "attributed_roi"]


def timed(what: str, run: Any) -> Any:
    started = time.perf_counter()
    out = run()
    print(f"{what:<58} {time.perf_counter() - started:7.2f} s", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--workspace", type=Path, default=None)
    parser.add_argument(
        "--credit-only",
        action="store_true",
        help="only the cold credit rows of the workspace's model, and the peak memory (10M)",
    )
    args = parser.parse_args()
    root = (args.workspace or Path(tempfile.gettempdir()) / f"revteam-goals-{args.leads}").resolve()
    if args.workspace is None:
        build(root, args.leads, reuse=True)
    (credit if args.credit_only else steps)(root)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak resident memory: {peak:.2f} GiB")


def credit(root: Path) -> None:
    """The credit rows of the workspace's model, cold in a fresh component (what the web
    warmer computes for the Campaigns page)."""
    with revteam.open(root, read_only=True) as ws:
        model, as_of = ws.settings.attribution.model, ws.metrics.as_of()
        fresh = AttributionComponent(metrics=ws.metrics, settings=ws.settings)
        rows = timed(f"credit rows under {model}, cold", lambda: fresh.credit_rows(model, as_of))
        print(f"  {rows.num_rows:,} rows, {rows.nbytes / 2**20:,.0f} MB")


def steps(root: Path) -> None:
    """The attributed query cold and warm, under other models, then each step on its own."""
    with revteam.open(root, read_only=True) as ws:
        as_of = ws.metrics.as_of()
        model = ws.settings.attribution.model
        options: dict[str, Any] = {
            "grain": "month",
            "by": ["channel"],
            "start": (as_of.date().replace(day=1).replace(year=as_of.year - 1)).isoformat(),
            "end": as_of.date().isoformat(),
        }
        result = timed(
            f"first attributed query ({model}, cold)", lambda: ws.metrics.query(KPIS, **options)
        )
        print(f"  {result.table.num_rows:,} rows")
        timed(f"the same query ({model}, warm)", lambda: ws.metrics.query(KPIS, **options))
        for other in ("markov", "shapley"):
            where = {"attribution_model": other}
            timed(
                f"the same KPIs under {other} (journeys reused)",
                lambda w=where: ws.metrics.query(KPIS, where=w, **options),
            )
        cfg = ws.settings.attribution
        read = timed("read the touches", lambda: J.read_touches(ws.metrics, cfg, as_of))
        print(f"  {read.table.num_rows:,} touches")
        for accounts in (False, True):
            timed(
                f"sort them by {'account' if accounts else 'person'}",
                lambda a=accounts: J.sort_touches(ws.metrics, cfg, as_of, accounts=a, read=read),
            )
        clear_shared_credit()
        fresh = AttributionComponent(metrics=ws.metrics, settings=ws.settings)
        for conversion in ("lead", "opportunity", "won", "customer"):
            built = timed(
                f"journeys of {conversion}",
                lambda c=conversion: fresh.journeys(c, as_of=as_of),
            )
            print(f"  {built.journeys.n_journeys:,} journeys, {built.journeys.n_touches:,} touches")
        rows = timed(f"credit rows under {model}", lambda: fresh.credit_rows(model, as_of))
        print(f"  {rows.num_rows:,} rows")


if __name__ == "__main__":
    main()
