"""Account timelines on a big account: pages of an account with 100k events.

    python benchmarks/bench_timeline.py                      # 100k leads, +100k touches
    python benchmarks/bench_timeline.py --leads 1000000 --events 100000

Builds a generated company (reused between runs), adds ``--events`` touchpoints to one of its
accounts, then times, best of ``--repeat``: the first page of 50 events, a page in the middle
and the last page (the counts per kind kept from the first, as for a user paging), the first
page with the counts taken afresh, a page of one kind, a page of 500, the header (identity, who
owned what and the account's KPIs, warm), the whole timeline as an Arrow table (the CSV
export), and, for scale, reading every touch of the account into Python, as a pager that does
not push down would for every page. Target (issue 19): a page of a 100k-event account fast —
well under the dashboard's 300 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

import revteam
from bench_dashboard import build
from revteam.workspace import Workspace

ACCOUNT_MARK = "bench-timeline"


def add_touches(ws: Workspace, root: Path, events: int) -> str:
    """``events`` touchpoints for the account with the most people; its id."""
    con = ws.warehouse.con
    (account, person) = con.execute(
        """SELECT p.account_id, min(p.person_id) FROM people p WHERE p.account_id IS NOT NULL
        GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"""
    ).fetchone()
    done = con.execute("SELECT count(*) FROM touchpoints WHERE touch_id LIKE 'BENCH%'").fetchone()[
        0
    ]
    if done >= events:
        return str(account)
    start = dt.datetime(2025, 1, 1)
    table = pa.table(
        {
            "touch_id": [f"BENCH{i:08d}" for i in range(events)],
            "person_id": [person] * events,
            "account_id": [account] * events,
            "campaign_id": [None] * events,
            "channel": ["paid_search"] * events,
            "type": ["ad_click" if i % 3 else "web_visit" for i in range(events)],
            "occurred_at": [start + dt.timedelta(minutes=7 * i) for i in range(events)],
        }
    )
    path = root.parent / f"{root.name}-bench-touches.parquet"
    pq.write_table(table, path)
    ws.ingest.load("touchpoints", path)
    path.unlink()
    return str(account)


def best(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.gettempdir()) / f"revteam-timeline-{args.leads}"
    build(root.resolve(), args.leads, reuse=True)
    with revteam.open(root) as ws:
        account = add_touches(ws, root, args.events)
    with revteam.open(root, read_only=True) as ws:
        tl = ws.timeline
        started = time.perf_counter()
        first = tl.account(account, limit=50)
        cold = time.perf_counter() - started
        total = first.total

        def fresh_counts() -> object:  # a new data version: the counts are taken again
            tl._counted.clear()
            return tl.account(account, limit=50, header=False)

        last_offset = max(0, total - 50)
        timings = {
            "first page (50 events)": best(
                args.repeat, lambda: tl.account(account, limit=50, header=False)
            ),
            "first page, counts per kind not kept yet": best(args.repeat, fresh_counts),
            "middle page": best(
                args.repeat,
                lambda: tl.account(account, limit=50, offset=total // 2, header=False),
            ),
            "last page": best(
                args.repeat, lambda: tl.account(account, limit=50, offset=last_offset, header=False)
            ),
            "a page of one kind (opportunity)": best(
                args.repeat,
                lambda: tl.account(account, limit=50, kinds="opportunity", header=False),
            ),
            "page of 500": best(
                args.repeat, lambda: tl.account(account, limit=500, offset=1000, header=False)
            ),
            "header (identity, owners, KPIs; warm)": best(
                args.repeat, lambda: tl.account(account, limit=1, header=True)
            ),
            "export every event (Arrow)": best(
                1, lambda: tl.export("account", account, max_rows=10_000_000)
            ),
        }

        def everything() -> int:  # what a pager without pushdown would read per page
            ids = ws.warehouse.arrow(
                "SELECT * FROM touchpoints WHERE account_id = $1 ORDER BY occurred_at", [account]
            ).to_pylist()
            return len(ids)

        timings["reference: every touch of the account into Python"] = best(args.repeat, everything)
    print(f"Account {account} on {root.name}: {total:,} events ({dict(first.counts)})")
    print(f"  first call, cold (header, counts, page): {cold * 1000:.0f} ms")
    for what, seconds in timings.items():
        print(f"  {what}: {seconds * 1000:.1f} ms")
    page = statistics.mean(
        timings[k] for k in ("first page (50 events)", "middle page", "last page")
    )
    print(f"A page of a {total:,}-event account: {page * 1000:.0f} ms on average")


if __name__ == "__main__":
    main()
