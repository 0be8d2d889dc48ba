"""Pacing 50 goals: ten metrics for the whole company and four channels, the running quarter.

    python benchmarks/bench_goals.py                       # 1M leads (built once, then reused)
    python benchmarks/bench_goals.py --leads 100000
    python benchmarks/bench_goals.py --workspace /path/to/ws

Counts and sums (leads, MQLs, SQLs, new customers, revenue, pipeline created), cohort rates
(SQR, MQL rate) and other rates (win rate, average deal size), each for the whole company and
four channels. Reports the first pacing (cold: the metric layer computes the daily values and
cohorts) and the best of ``--repeat`` warm ones (the metric layer's results cached, as in a
running web app, which also caches the pacing itself). Target (issue 13): warm ≤ 2 s on 1M leads.
Revenue goals add the open pipeline's expected wins (the sales forecast's calibrated
probabilities), so the cold run includes fitting the win model once.

Then the forecast report (the Forecast page): cold (the win model fitted, plus a second fit a
horizon back for its Brier score), and warm for another segment (models reused).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path

import revteam
from bench_dashboard import build
from revteam.goals import GoalSpec
from revteam.goals.component import pacer_for
from revteam.goals.model import check
from revteam.metrics import periods as P

METRICS = (
    "leads",
    "mqls",
    "sqls",
    "new_customers",
    "revenue",
    "pipeline_created",
    "sales_qualification_rate",
    "mql_rate",
    "win_rate",
    "avg_deal_size",
)
SEGMENTS: tuple[dict[str, str], ...] = (
    {},
    {"channel": "paid_search"},
    {"channel": "paid_social"},
    {"channel": "organic_search"},
    {"channel": "events"},
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--workspace", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    root = (args.workspace or Path(tempfile.gettempdir()) / f"revteam-goals-{args.leads}").resolve()
    if args.workspace is None:
        build(root, args.leads, reuse=True)
    with revteam.open(root, read_only=True) as ws:
        as_of = ws.metrics.as_of().date()
        quarter = P.label(P.floor(as_of, "quarter"), "quarter")
        goals = [
            check(
                GoalSpec(m, quarter, 1, segment=s, owners=["marketing", "sales"]),
                ws.metrics.definitions,
            )
            for m in METRICS
            for s in SEGMENTS
        ]
        pacer = pacer_for(ws.metrics, ws.stats, ws.settings)
        started = time.perf_counter()
        paced = pacer.pace(goals, as_of=as_of)
        cold = time.perf_counter() - started
        warm = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            again = pacer.pace(goals, as_of=as_of)
            warm.append(time.perf_counter() - started)
            assert again == paced, "pacing must be deterministic"
        started = time.perf_counter()
        report = ws.goals.forecast_report(as_of=as_of)
        report_cold = time.perf_counter() - started
        started = time.perf_counter()
        ws.goals.forecast_report(as_of=as_of, where={"channel": ["paid_search"]})
        report_warm = time.perf_counter() - started
        open_deals = sum(p.deals for p in report.periods[:1])
    methods = Counter(p.method.split(",")[0] for p in paced)
    print(f"{len(goals)} goals for {quarter} as of {as_of} on {root.name}")
    print(f"  cold {cold:.2f} s, warm best of {args.repeat} {min(warm):.2f} s")
    print("  statuses:", dict(Counter(p.status for p in paced)))
    for method, n in methods.most_common():
        print(f"  {n:>3} x {method}")
    print(f"Warm pacing of 50 goals ≤ 2 s: {'met' if min(warm) <= 2 else 'NOT met'}")
    model = report.model
    print(
        f"Forecast report: cold {report_cold:.2f} s (win model on {model['deals']:,} deals, "
        f"{model['snapshots']:,} snapshots; {open_deals:,} open deals in play), "
        f"another segment {report_warm:.2f} s"
    )


if __name__ == "__main__":
    main()
