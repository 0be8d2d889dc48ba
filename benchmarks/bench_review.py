"""The monthly review pack on a big company: build, then render HTML, Markdown and PDF.

    python benchmarks/bench_review.py                      # 1M leads (built once, then reused)
    python benchmarks/bench_review.py --leads 100000
    python benchmarks/bench_review.py --workspace /path/to/ws --period 2026-03

Reports the cold build (the metric layer computes everything the pack asks), a warm one (its
results cached, as in the running web app) and each rendering. Target (issue 14): the monthly
pack on 1M leads in ≤ 30 s on 2 cores.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import revteam
from bench_dashboard import build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--workspace", type=Path, default=None)
    parser.add_argument("--period", default="2026-03")
    args = parser.parse_args()
    root = (args.workspace or Path(tempfile.gettempdir()) / f"revteam-goals-{args.leads}").resolve()
    if args.workspace is None:
        build(root, args.leads, reuse=True)
    with revteam.open(root, read_only=True) as ws:
        started = time.perf_counter()
        pack = ws.review.pack(args.period)
        cold = time.perf_counter() - started
        started = time.perf_counter()
        ws.review.pack(args.period)
        warm = time.perf_counter() - started
        timings = {}
        for fmt in ("html", "markdown", "pdf"):
            started = time.perf_counter()
            data = ws.review.render(pack, fmt)
            timings[fmt] = (time.perf_counter() - started, len(data))
    print(f"{args.period} pack on {root.name}: {len(pack.changes)} change(s) beyond noise")
    for c in pack.changes:
        print(f"  {c.headline}")
    print(f"  scanned {pack.changes_scanned} series")
    print(f"  build cold {cold:.1f} s, warm {warm:.1f} s")
    for fmt, (seconds, size) in timings.items():
        print(f"  {fmt}: {seconds:.2f} s, {size:,} bytes")
    total = cold + sum(t for t, _ in timings.values())
    print(
        f"Monthly pack (cold build + all three renderings) ≤ 30 s: {total:.1f} s, "
        f"{'met' if total <= 30 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
