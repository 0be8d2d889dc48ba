"""Soak: mixed traffic, a load every minute and a few hostile requests, for minutes on end.

    python benchmarks/bench_soak.py                          # 100k leads, 20 clients, 10 minutes
    python benchmarks/bench_soak.py --minutes 3 --leads 50000
    python benchmarks/bench_soak.py --workspace /tmp/soak-ws --reuse

Builds (or reuses) a demo workspace and serves it as bench_dashboard.py does (uvicorn, one
worker, on 127.0.0.1). Then, for ``--minutes``:

- ``--clients`` clients, each with its own API token, ask without pause: seven times in ten a
  view the cache holds (the Overview and Campaigns pages, a dashboard API query), three times
  in ten (``--uncached``) a query or page no one asked before (a new date range), which needs
  the warehouse;
- every minute (first after 30 s) ``revteam ingest`` loads a few new accounts in another
  process, which bumps the data version, so the next views are recomputed;
- every few seconds one hostile request: a page from the year 4, a day grain over a century,
  a 2 MiB body, a wrong password.

Reports latency (p50/p95/p99) and answers by status per kind of request, each load's time
and outcome, the server's peak RSS and whether RSS stayed flat: the mean of the last third of
the run against the first, whose difference must stay within the cache's budget
(``[limits] cache_megabytes``), the only memory allowed to grow. Fails (exit 1) on a 5xx
answer, a failed load or RSS growth past the budget. Loopback only, bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench_dashboard import TARGETS, build, free_port, pct, serve, wait_up
from revteam.app import CLI, load_secret_key, open_app
from revteam.settings import load_settings

FIRST_DAY, LAST_DAY = dt.date(2024, 11, 1), dt.date(2026, 10, 31)
"""The demo company's span (GeneratorConfig's defaults): new ranges are cut inside it."""
HOSTILE_EVERY = 5.0
"""Seconds between two hostile requests."""
HOSTILE = ("year 4", "century", "2 MiB", "password")
"""A page from the year 4, a day grain over a century, a body over the 1 MiB limit, a wrong
password; taken in turn."""
WRONG_PASSWORD = "not the password, not even close"


@dataclass
class Tally:
    """Every answer's latency and status, by kind of request."""

    seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def add(self, kind: str, started: float, status: str) -> None:
        self.seconds[kind].append(time.perf_counter() - started)
        self.statuses[kind][status] += 1


def tokens(root: Path, clients: int) -> list[str]:
    """One viewer and token per client, so the per-user queue limit is the real one."""
    out = []
    with open_app(root) as app:
        for i in range(clients):
            email = f"soak-{i}@revteam.example"
            try:
                user = app.users.get(email)
            except KeyError:
                user, _ = app.users.add(email, role="viewer", team="revops")
            out.append(app.tokens.create(user.id, "soak", days=1, actor=CLI)[1])
        try:
            app.users.get("target@revteam.example")
        except KeyError:
            app.users.add("target@revteam.example", role="viewer", team="revops")
    load_secret_key(root)
    return out


def new_range(i: int) -> dict[str, str]:
    """The ``i``-th date range: a request no earlier one made, so a cache miss."""
    start = FIRST_DAY + dt.timedelta(days=(i // 400) % 300)
    end = LAST_DAY - dt.timedelta(days=i % 400)
    return {"start": start.isoformat(), "end": end.isoformat()}


async def ask(http: httpx.AsyncClient, tally: Tally, kind: str, request: httpx.Request) -> None:
    started = time.perf_counter()
    try:
        r = await http.send(request)
        status = str(r.status_code)
        if r.status_code == 503 and r.headers.get("content-type") == "application/json":
            status += f" {r.json().get('error')}"  # which bound: the queue, or a load
        if r.status_code == 503 and "retry-after" not in r.headers:
            status += " without Retry-After"
    except httpx.HTTPError as exc:
        status = type(exc).__name__
    tally.add(kind, started, status)


async def client(
    base: str, token: str, stop: float, tally: Tally, counter: list[int], uncached: float
) -> None:
    rng = random.Random(token)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as http:
        while time.monotonic() < stop:
            if rng.random() >= uncached:
                path = rng.choice(list(TARGETS.values()))
                await ask(http, tally, "cached", http.build_request("GET", path))
                continue
            counter[0] += 1
            params = new_range(counter[0])
            if counter[0] % 3:
                params |= {"metrics": "leads", "by": "channel", "grain": "week"}
                request = http.build_request("GET", "/api/v1/query", params=params)
            else:
                request = http.build_request("GET", "/marketing", params=params)
            await ask(http, tally, "uncached", request)


async def hostile(base: str, token: str, stop: float, tally: Tally) -> None:
    """One hostile request every few seconds, in turn: each must be refused, cheaply."""
    headers = {"Authorization": f"Bearer {token}"}
    century = {"metrics": "leads", "grain": "day", "start": "1970-01-01", "end": "2069-12-31"}
    big = {"metrics": ["leads"], "where": {"channel": ["x" * 1000] * 2100}}
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        for turn in range(10**9):
            if time.monotonic() >= stop:
                return
            kind = HOSTILE[turn % len(HOSTILE)]
            if kind == "year 4":
                r = http.build_request("GET", "/", params={"start": "0004-01-01"}, headers=headers)
            elif kind == "century":
                r = http.build_request("GET", "/api/v1/query", params=century, headers=headers)
            elif kind == "2 MiB":
                body = json.dumps(big).encode()
                r = http.build_request("POST", "/api/v1/query", content=body, headers=headers)
                r.headers["content-type"] = "application/json"
            else:
                form = (await http.get("/login")).text
                csrf = form.split('name="csrf_token" value="', 1)[-1].split('"', 1)[0]
                data = {"email": "target@revteam.example", "password": WRONG_PASSWORD}
                r = http.build_request("POST", "/login", data=data | {"csrf_token": csrf})
            await ask(http, tally, f"hostile: {kind}", r)
            await asyncio.sleep(HOSTILE_EVERY)


@dataclass(frozen=True)
class Load:
    seconds: float
    """From starting ``revteam ingest`` to its exit: Python's start, the wait, the load."""
    written: float
    """The load itself, as the command reports it."""
    code: int
    waited: bool
    """Whether it had to wait for the web app to let go of the warehouse."""


async def loads(root: Path, folder: Path, stop: float, out: list[Load]) -> None:
    """``revteam ingest`` of a few new accounts every minute, first after 30 s."""
    await asyncio.sleep(30)
    for minute in range(10**6):
        if time.monotonic() >= stop:
            return
        began = time.monotonic()
        path = folder / f"accounts-{minute}.csv"
        rows = [f"SOAK-{minute}-{k},Soak {minute}-{k},2025-06-0{1 + k % 9}" for k in range(20)]
        path.write_text("account_id,name,created_at\n" + "\n".join(rows) + "\n")
        cmd = [sys.executable, "-m", "revteam", "-w", str(root), "ingest", "accounts", str(path)]
        proc = await asyncio.create_subprocess_exec(
            *cmd, "--format", "json", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        stdout, err = await proc.communicate()
        seconds = time.monotonic() - began
        if proc.returncode:
            print(f"  load {minute} failed ({proc.returncode}): {err.decode()[-300:]}")
        written = sum(f.get("seconds") or 0 for f in json.loads(stdout or b"[]"))
        out.append(Load(seconds, written, proc.returncode or 0, b"Waiting up to" in err))
        await asyncio.sleep(max(0.0, min(began + 60, stop) - time.monotonic()))


async def sample_rss(pid: int, stop: float, out: list[tuple[float, float]]) -> None:
    """The server's resident memory (MB) every second (Linux: /proc)."""
    status = Path(f"/proc/{pid}/status")
    while time.monotonic() < stop:
        try:
            line = next(x for x in status.read_text().splitlines() if x.startswith("VmRSS:"))
            out.append((time.monotonic(), int(line.split()[1]) / 1024))
        except (OSError, StopIteration):
            return
        await asyncio.sleep(1)


async def soak(
    base: str, root: Path, pid: int, keys: list[str], args: argparse.Namespace
) -> dict[str, object]:
    stop = time.monotonic() + args.minutes * 60
    tally, counter = Tally(), [0]
    load_times: list[Load] = []
    rss: list[tuple[float, float]] = []
    folder = Path(tempfile.mkdtemp(prefix="revteam-soak-"))
    started = time.monotonic()
    await asyncio.gather(
        *(client(base, k, stop, tally, counter, args.uncached) for k in keys[:-1]),
        hostile(base, keys[-1], stop, tally),
        loads(root, folder, stop, load_times),
        sample_rss(pid, stop, rss),
    )
    return {"tally": tally, "loads": load_times, "rss": rss, "seconds": time.monotonic() - started}


def report(result: dict[str, object], cache_mb: int) -> bool:
    tally: Tally = result["tally"]  # type: ignore[assignment]
    load_times: list[Load] = result["loads"]  # type: ignore[assignment]
    rss: list[tuple[float, float]] = result["rss"]  # type: ignore[assignment]
    seconds: float = result["seconds"]  # type: ignore[assignment]
    every = [s for v in tally.seconds.values() for s in v]
    print(f"\n{len(every):,} requests in {seconds:.0f} s ({len(every) / seconds:,.0f}/s)")
    print(f"{'kind':<19}{'n':>8}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}  answers")
    for kind, values in [*sorted(tally.seconds.items()), ("all", every)]:
        counts = (
            tally.statuses[kind] if kind != "all" else sum(tally.statuses.values(), Counter[str]())
        )
        answers = ", ".join(f"{s}: {n:,}" for s, n in sorted(counts.items()))
        print(
            f"{kind:<19}{len(values):>8,}{1000 * statistics.median(values):>10.1f}"
            f"{1000 * pct(values, 0.95):>10.1f}{1000 * pct(values, 0.99):>10.1f}  {answers}"
        )
    answers = [(s.split()[0], s, n) for c in tally.statuses.values() for s, n in c.items()]
    server_errors = sum(n for code, _, n in answers if not code.isdigit() or code >= "500")
    unavailable = sum(n for code, s, n in answers if code == "503" and "without" not in s)
    print(f"5xx or no answer: {server_errors} (of which 503 with Retry-After: {unavailable})")
    failed = [x.code for x in load_times if x.code]
    if load_times:
        times = [x.seconds for x in load_times]
        waited = sum(1 for x in load_times if x.waited)
        print(
            f"loads: {len(load_times)}, failed {len(failed)}, waited for the app {waited}; "
            f"seconds from start to exit min {min(times):.1f} / median "
            f"{statistics.median(times):.1f} / max {max(times):.1f}, of which writing "
            f"{statistics.median(x.written for x in load_times):.2f} (median)"
        )
    third = len(rss) // 3
    first = statistics.mean(m for _, m in rss[:third]) if third else 0.0
    last = statistics.mean(m for _, m in rss[-third:]) if third else 0.0
    peak = max((m for _, m in rss), default=0.0)
    flat = last - first <= cache_mb
    minutes = [m for _, m in rss[::60]] + [m for _, m in rss[-1:]]  # one sample a second
    print("server RSS by minute (MB):", ", ".join(f"{m:,.0f}" for m in minutes))
    print(
        f"server RSS: peak {peak:,.0f} MB; mean first third {first:,.0f} MB, last third "
        f"{last:,.0f} MB ({last - first:+,.0f} MB; cache budget {cache_mb} MB): "
        f"{'flat' if flat else 'GROWING'}"
    )
    real_errors = server_errors - unavailable
    ok = not real_errors and not failed and flat
    print(f"\nNo 5xx other than 503, every load in, RSS flat: {'met' if ok else 'NOT met'}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument(
        "--uncached", type=float, default=0.3, help="share of requests no one made before"
    )
    parser.add_argument("--workspace", type=Path, default=None)
    parser.add_argument("--reuse", action="store_true", help="keep a built workspace")
    args = parser.parse_args()
    root = (args.workspace or Path(tempfile.gettempdir()) / f"revteam-soak-{args.leads}").resolve()
    build(root, args.leads, args.reuse or args.workspace is not None)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = serve(root, port, workers=1)
    try:
        wait_up(base)
        keys = tokens(root, args.clients + 1)  # the last one is the hostile client's
        print("Cold (first request of each view):")
        for name, path in TARGETS.items():
            started = time.perf_counter()
            auth = {"Authorization": f"Bearer {keys[0]}"}
            status = httpx.get(base + path, headers=auth, timeout=600).status_code
            print(f"  {name:<12}{1000 * (time.perf_counter() - started):>9.0f} ms  HTTP {status}")
        print(f"Soaking for {args.minutes:g} min with {args.clients} clients …", flush=True)
        result = asyncio.run(soak(base, root, server.pid, keys, args))
        ok = report(result, load_settings(root).limits.cache_megabytes)
    finally:
        server.terminate()
        server.wait(30)
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
