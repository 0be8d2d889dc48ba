"""Time the synthetic-company generator: seconds per table, rows, total and peak memory.

Run ``python benchmarks/bench_generate.py --leads 1000000``; the target (ARCHITECTURE.md) is a
1M-lead company with all tables in under a minute on two cores. A table's time is the time since
the previous table was finished, so it includes the shared work done first for it (people before
``people``, deals before ``opportunities``).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

from revteam.generate import GeneratorConfig, generate_company


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000, help="leads to generate")
    parser.add_argument("--months", type=int, default=24, help="months of history")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    config = GeneratorConfig(n_leads=args.leads, months=args.months, seed=args.seed)
    times: dict[str, float] = {}
    last = start = time.perf_counter()

    def progress(name: str) -> None:
        nonlocal last
        now = time.perf_counter()
        times[name] = now - last
        last = now

    company = generate_company(config, progress=progress)
    total = time.perf_counter() - start
    truth_time = time.perf_counter() - last
    print(f"{'table':<20} {'seconds':>8} {'rows':>12}")
    for name, table in company.tables.items():
        print(f"{name:<20} {times[name]:>8.2f} {table.num_rows:>12,}")
    print(f"{'(truth)':<20} {truth_time:>8.2f}")
    rows = sum(t.num_rows for t in company.tables.values())
    print(f"{'total':<20} {total:>8.2f} {rows:>12,}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is KiB on Linux, bytes on macOS
    print(f"peak RSS: {peak * scale / 2**30:.2f} GiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
