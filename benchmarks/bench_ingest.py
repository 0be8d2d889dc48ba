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


def timed_load(folder: Path, files: dict[str, Path], ext: str) -> tuple[float, float, int]:
    ws = revteam.init(folder / f"ws-{ext}")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = make_files(folder, args.rows)
        for ext, target in (("parquet", 500_000), ("csv", 150_000)):
            load, reload, n = timed_load(folder, files, ext)
            size = files[f"people.{ext}"].stat().st_size / 1e6
            print(
                f"{ext:8} {n:>10,} rows ({size:,.0f} MB): first load {load:6.2f} s = "
                f"{n / load:>9,.0f} rows/s (target {target:,}); identical re-load "
                f"{reload:6.2f} s = {n / reload:>9,.0f} rows/s"
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:,.0f} MB")


if __name__ == "__main__":
    main()
