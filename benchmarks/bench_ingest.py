"""Ingest throughput: load 1M `people` rows from Parquet and from CSV with validation on.

Targets (ARCHITECTURE.md): >= 500k rows/s from Parquet, >= 150k rows/s from CSV.
The data is made with DuckDB here (realistic widths, nulls, stage stamps, account references) so
the benchmark does not depend on the generator's speed. Run:

    uv run python benchmarks/bench_ingest.py --rows 1000000
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import duckdb

import revteam
import revteam.model

PEOPLE_SQL = """
SELECT 'P' || lpad(i::VARCHAR, 8, '0') AS person_id,
       'person' || i || '@company' || (i % 150000) || '.com' AS email,
       'First' || (i % 997) AS first_name, 'Last' || (i % 7919) AS last_name,
       'Head of Growth' AS title,
       ['executive','manager','practitioner','technical','other'][1 + i % 5] AS persona,
       'A' || lpad((i % 150000)::VARCHAR, 7, '0') AS account_id,
       'Company ' || (i % 150000) AS company_name,
       ['paid_search','paid_social','organic_search','email','webinar','content'][1 + i % 6]
           AS channel,
       'google' AS source_detail, NULL AS first_campaign_id, 'U' || (i % 30) AS owner_id,
       ['north_america','emea','apac','latam'][1 + i % 4] AS region, 'US' AS country,
       TIMESTAMP '2024-11-01' + to_seconds(i * 60) AS created_at,
       CASE WHEN i % 3 = 0 THEN TIMESTAMP '2024-11-01' + to_seconds(i * 60 + 86400) END AS mql_at,
       CASE WHEN i % 9 = 0 THEN TIMESTAMP '2024-11-01' + to_seconds(i * 60 + 864000) END AS sql_at,
       NULL::TIMESTAMP AS opportunity_at, NULL::TIMESTAMP AS customer_at,
       CASE WHEN i % 11 = 1 THEN TIMESTAMP '2024-11-01' + to_seconds(i * 60 + 3 * 86400) END
           AS disqualified_at,
       CASE WHEN i % 11 = 1 THEN 'no_budget' END AS disqualification_reason
FROM range({rows}) t(i)
"""
ACCOUNTS_SQL = """
SELECT 'A' || lpad(i::VARCHAR, 7, '0') AS account_id, 'Company ' || i AS name,
       TIMESTAMP '2024-01-01' AS created_at
FROM range(150000) t(i)
"""


def make_files(folder: Path, rows: int) -> dict[str, Path]:
    con = duckdb.connect()
    out = {}
    for name, sql in {"accounts": ACCOUNTS_SQL, "people": PEOPLE_SQL.format(rows=rows)}.items():
        for ext, opts in (("parquet", "FORMAT parquet"), ("csv", "FORMAT csv, HEADER")):
            path = folder / f"{name}.{ext}"
            con.execute(f"COPY ({sql}) TO '{path}' ({opts})")
            out[f"{name}.{ext}"] = path
    return out


def timed_load(
    folder: Path, files: dict[str, Path], ext: str, run: int
) -> tuple[float, float, int]:
    ws = revteam.init(folder / f"ws-{ext}-{run}")
    ws.ingest.load("accounts", files[f"accounts.{ext}"])
    started = time.perf_counter()
    [first] = ws.ingest.load("people", files[f"people.{ext}"])
    load = time.perf_counter() - started
    started = time.perf_counter()
    [again] = ws.ingest.load("people", files[f"people.{ext}"])
    reload = time.perf_counter() - started
    assert first.inserted == first.rows_read and first.quarantined == 0, first
    assert again.unchanged == first.rows_read, again
    ws.close()
    return load, reload, first.rows_read


def floor(folder: Path, files: dict[str, Path], ext: str, run: int) -> float:
    """Plain DuckDB: the same file into the same table in one statement, no validation at all."""
    con = duckdb.connect(str(folder / f"floor-{ext}-{run}.duckdb"))
    con.execute(revteam.model.table("people").create_sql())
    reader = "read_parquet" if ext == "parquet" else "read_csv"
    started = time.perf_counter()
    con.execute(
        f"INSERT INTO people SELECT *, 'f', CAST(now() AS TIMESTAMP), 'r' "
        f"FROM {reader}('{files[f'people.{ext}']}')"
    ).fetchall()
    con.close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = make_files(folder, args.rows)
        for ext, target in (("parquet", 500_000), ("csv", 150_000)):
            runs = [timed_load(folder, files, ext, i) for i in range(args.repeat)]
            load = min(r[0] for r in runs)
            reload = min(r[1] for r in runs)
            n = runs[0][2]
            plain = min(floor(folder, files, ext, i) for i in range(args.repeat))
            size = files[f"people.{ext}"].stat().st_size / 1e6
            print(
                f"{ext:8} {n:>10,} rows ({size:,.0f} MB), best of {args.repeat}: first load "
                f"{load:5.2f} s = {n / load:>9,.0f} rows/s (target {target:,}); identical "
                f"re-load {reload:5.2f} s = {n / reload:>9,.0f} rows/s; plain DuckDB insert "
                f"without validation {plain:5.2f} s (revteam = {load / plain:.2f}x)"
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:,.0f} MB")


if __name__ == "__main__":
    main()
