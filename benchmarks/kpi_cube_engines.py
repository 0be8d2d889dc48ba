"""The KPI cube on PostgreSQL and Spark: revteam against hand-written SQL on the same engine.

    python benchmarks/kpi_cube_engines.py --engine postgres --url postgresql://…  # 1M leads
    python benchmarks/kpi_cube_engines.py --engine spark --leads 100000

The company of ``kpi_cube.py`` (generated once into ``--workdir``, default
/tmp/revteam-bench-N) is loaded through revteam's ingest into a workspace on the engine (kept
for later runs). Then, alternating over ``--rounds``: revteam's
``ws.metrics.query(every metric that reaches channel, by="channel", grain="month")`` (its result
cache cleared, its compiled SQL kept) and ``kpi_cube.hand_sql`` spelled for the engine (one
statement per table and time column, ratios composed in Python). Both must agree on every
number. Target (issue 18): revteam within 1.5x of the hand-written SQL on each engine.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import kpi_cube


def engine_workspace(engine: str, url: str | None, workdir: Path) -> Path:
    import revteam

    root = workdir / engine
    if (root / "ready").exists():
        return root
    if engine == "postgres":
        assert url, "--url postgresql://… is needed for Postgres"
        sep = "&" if "?" in url else "?"
        settings: dict[str, Any] = {"warehouse": f"{url}{sep}schema=bench_{uuid.uuid4().hex[:6]}"}
    else:
        settings = {
            "warehouse": "spark",
            "spark": {
                "master": "local[2]",
                "database": f"bench_{uuid.uuid4().hex[:6]}",
                "location": str(workdir / "lake"),
                "conf": {"spark.driver.memory": "6g", "spark.sql.shuffle.partitions": "8"},
            },
        }
    t = time.perf_counter()
    with revteam.init(root, exist_ok=True, **settings) as ws:
        ws.ingest.load_directory(workdir / "data")
    print(f"loaded into {engine} in {time.perf_counter() - t:.0f} s")
    (root / "ready").write_text("")
    return root


def runner(ws: Any, engine: str) -> kpi_cube.Runner:
    if engine == "postgres":
        import psycopg

        con = psycopg.connect(ws.warehouse.url, autocommit=True)
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f'SET search_path = "{ws.warehouse.schema}"')

        def run_pg(sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
            cur = con.execute(sql.encode())
            return [d.name for d in cur.description or ()], cur.fetchall()

        return run_pg
    spark = ws.warehouse.spark
    spark.sql(f"USE `{ws.warehouse.database}`")

    def run_spark(sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        frame = spark.sql(sql)
        return list(frame.columns), [tuple(r) for r in frame.collect()]

    return run_spark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=["postgres", "spark"], required=True)
    parser.add_argument("--url", help="PostgreSQL URL (a database revteam may create a schema in)")
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    import revteam

    workdir = args.workdir or Path(f"/tmp/revteam-bench-{args.leads}")
    workdir.mkdir(parents=True, exist_ok=True)
    kpi_cube.prepare(args.leads, workdir)
    root = engine_workspace(args.engine, args.url, workdir)
    with revteam.open(root, read_only=True) as ws:
        as_of = ws.metrics.as_of()
        metrics = [
            s.id
            for s in ws.metrics.list(fitted=False)
            if s.id in kpi_cube.HAND_METRICS and "channel" in ws.metrics.dimensions(s.id)
        ]
        additive = [m for m in metrics if ws.metrics.get(m).kind in {"count", "sum", "snapshot"}]
        run = runner(ws, args.engine)
        times: dict[str, list[float]] = {"revteam": [], "sql": []}
        results: dict[str, kpi_cube.Results] = {}
        for _ in range(args.rounds):
            for approach in ("revteam", "sql"):
                for _ in range(args.repeat):
                    ws.metrics.clear_cache(compiled=False)
                    t = time.perf_counter()
                    if approach == "revteam":
                        results[approach] = kpi_cube.revteam_cube(ws, metrics, as_of)
                    else:
                        results[approach] = kpi_cube.hand_sql(run, as_of, args.engine)
                    times[approach].append(time.perf_counter() - t)
    report = {"metrics": metrics, "additive": additive}
    bad = kpi_cube.compare("sql", results["sql"], results["revteam"], report)
    best = {k: min(v) for k, v in times.items()}
    print(
        f"\n{args.engine}, {args.leads:,} leads: {len(metrics)} metrics by month x channel, "
        f"{len(results['revteam']):,} values; best of {args.repeat} x {args.rounds}"
    )
    for name, ts in times.items():
        print(f"  {name:<8} best {best[name]:7.2f} s  first {ts[0]:7.2f} s  all {ts}")
    print(f"revteam / hand SQL: {best['revteam'] / best['sql']:.2f}x (target <= 1.5x)")
    print("both agree" if not bad else f"{bad} disagreements")
    if bad:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
