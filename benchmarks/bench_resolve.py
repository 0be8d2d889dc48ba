"""Time identity resolution on DuckDB and on Spark: the same records, the same model.

Run ``python benchmarks/bench_resolve.py --leads 100000 --engines duckdb spark`` (Spark needs the
spark extra and Java 17). The people of a generated company get 2% copies with the kinds of
noise other systems add (a typo in the last name, a plus-tagged e-mail, changed case); the
report gives seconds, pairs compared, clusters, and how many copies were merged with the person
they copy (recall) and how many distinct generated people were merged (false merges, counting
the generator's own namesakes, which no model can tell apart). The Spark run's time includes
its first session start-up, which is reported on its own line.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from typing import Any

import pyarrow as pa

from revteam.generate import GeneratorConfig, generate_company
from revteam.resolve import resolve_records


def _records(leads: int, seed: int) -> tuple[pa.Table, dict[str, str]]:
    """Person records with injected copies, and each copy's original."""
    people = generate_company(GeneratorConfig(n_leads=leads, seed=seed)).tables["people"]
    rows = people.select(["person_id", "first_name", "last_name", "email", "company_name"])
    base = rows.to_pylist()
    rng = random.Random(seed)
    copies: dict[str, str] = {}
    extra = []
    for i, person in enumerate(rng.sample(base, len(base) // 50)):
        dup = dict(person, person_id=f"D{i:07d}")
        local, domain = person["email"].split("@")
        if i % 3 == 0 and len(person["last_name"]) > 3:
            j = rng.randrange(1, len(person["last_name"]) - 2)
            name = person["last_name"]
            dup["last_name"] = name[:j] + name[j + 1] + name[j] + name[j + 2 :]
        elif i % 3 == 1:
            dup["email"] = f"{local}+event@{domain}"
        else:
            dup["email"], dup["first_name"] = person["email"].upper(), person["first_name"].upper()
        extra.append(dup)
        copies[dup["person_id"]] = person["person_id"]
    table = pa.Table.from_pylist(base + extra).rename_columns(
        ["record_id", "first_name", "last_name", "email", "company"]
    )
    return table, copies


def _report(engine: str, seconds: float, result: Any, copies: dict[str, str]) -> None:
    unified = dict(
        zip(result.clusters["record_id"].to_pylist(), result.clusters["unified_id"].to_pylist(),
            strict=True)
    )  # fmt: skip
    merged = sum(unified[c] == unified[o] for c, o in copies.items())
    originals = Counter(u for r, u in unified.items() if not r.startswith("D"))
    false_merges = sum(n - 1 for n in originals.values() if n > 1)
    print(
        f"{engine:<8} {seconds:>9.1f} {result.records:>10,} {result.pairs_compared:>14,} "
        f"{result.cluster_count:>10,} {merged:>8,}/{len(copies):<8,} {false_merges:>12,}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000, help="leads of the company")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--engines", nargs="+", default=["duckdb", "spark"])
    parser.add_argument("--spark-master", default="local[*]")
    args = parser.parse_args(argv)

    records, copies = _records(args.leads, args.seed)
    print(f"{records.num_rows:,} person records, {len(copies):,} of them injected copies")
    print(
        f"{'engine':<8} {'seconds':>9} {'records':>10} {'pairs compared':>14} {'clusters':>10} "
        f"{'copies merged':>17} {'false merges':>12}"
    )
    for engine in args.engines:
        spark = None
        if engine == "spark":
            from revteam.resolve.spark import session

            started = time.perf_counter()
            spark = session(args.spark_master)
            print(f"{'(spark session start-up)':<27} {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        result = resolve_records(records, spark=spark)
        _report(engine, time.perf_counter() - started, result, copies)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
