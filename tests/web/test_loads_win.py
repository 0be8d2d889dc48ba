"""Loads win: under steady cache-miss traffic a load still gets the warehouse, within its wait.

A load announces itself (``revteam.storage.announce``); the web app stops opening the
warehouse while it runs and serves the last numbers it has (stale), or 503 with Retry-After.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from tests.web.conftest import TestClient, add_members

import revteam
from revteam.generate import GeneratorConfig, generate_company
from revteam.storage.announce import Announcement
from revteam.web import WebOptions, create_app

ACCOUNTS = "account_id,name,created_at\nZ1,Zeta,2024-01-01\nZ2,Eta,2024-01-02\n"


@pytest.fixture(scope="module")
def loaded_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("loads-win")
    generate_company(GeneratorConfig(n_leads=2_000, seed=5)).write(root / "data")
    with revteam.init(root / "ws") as ws:
        ws.ingest.load_directory(root / "data")
    return root / "ws"


@pytest.fixture(scope="module")
def viewer(loaded_ws: Path) -> dict[str, str]:
    return add_members(loaded_ws)["viewer"].bearer


def miss(i: int) -> dict[str, str]:
    """A query no earlier request asked: a cache miss that needs the warehouse.

    Distinct and valid for any ``i`` below ~200,000 (the span stays within ``max_periods``):
    the traffic keeps going for as long as a slow load takes, so the ends must never cross.
    """
    start = dt.date(2024, 1, 1) - dt.timedelta(days=i // 200)
    end = dt.date(2024, 12, 31) - dt.timedelta(days=i % 200)
    return {"metrics": "leads", "grain": "day", "start": start.isoformat(), "end": end.isoformat()}


def test_an_announced_load_makes_the_app_let_go_and_stay_away(loaded_ws, viewer):
    application = create_app(loaded_ws, options=WebOptions(warm=False, idle_seconds=30))
    warehouse = loaded_ws / "warehouse.duckdb"
    with TestClient(application, headers=viewer) as client:
        fresh = client.get("/api/v1/query", params=miss(0))
        assert fresh.status_code == 200
        gate = application.state.runtime.gate
        assert gate.is_open
        load = Announcement.claim(warehouse, deadline=time.monotonic())
        try:
            cached = client.get("/api/v1/query", params=miss(0))
            assert cached.status_code == 200 and cached.json()["rows"] == fresh.json()["rows"]
            cold = client.get("/api/v1/query", params=miss(1))
            assert cold.status_code == 503 and int(cold.headers["retry-after"]) >= 1
            assert not gate.is_open  # let go at once, not after idle_seconds
            # Once the load has written, the last answer is served marked stale; also when
            # the result it was made from has left the cache (only its JSON bytes are left).
            cache = application.state.runtime.cache
            for key in [k for k in cache._items if k[0] == "api-query"]:
                del cache._items[key]
            os.utime(warehouse)
            stale = client.get("/api/v1/query", params=miss(0))
            assert stale.status_code == 200 and stale.json()["stale"] is True
            assert stale.json()["rows"] == fresh.json()["rows"]
        finally:
            load.withdraw()
        assert client.get("/api/v1/query", params=miss(1)).status_code == 200


@contextmanager
def served(ws: Path) -> Iterator[str]:
    """The app under uvicorn on a free port, in a thread; yields the base URL."""
    import uvicorn

    application = create_app(ws, options=WebOptions(warm=False, idle_seconds=30))
    config = uvicorn.Config(application, host="127.0.0.1", port=0, log_config=None)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(60)


class Traffic:
    """A few clients asking for a new query each time until stopped; every answer is kept."""

    def __init__(self, base: str, headers: dict[str, str], clients: int = 3) -> None:
        self.answers: list[tuple[float, int, str | None, bool]] = []
        self._next = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(base, headers)) for _ in range(clients)
        ]

    def _run(self, base: str, headers: dict[str, str]) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
            while not self._stop.is_set():
                with self._lock:
                    i, self._next = self._next, self._next + 1
                r = http.get("/api/v1/query", params=miss(i))
                stale = r.status_code == 200 and r.json()["stale"]
                with self._lock:
                    self.answers.append(
                        (time.monotonic(), r.status_code, r.headers.get("retry-after"), stale)
                    )

    def count(self, since: float = 0.0, status: int = 200) -> int:
        with self._lock:
            return sum(1 for t, s, _, _ in self.answers if t >= since and s == status)

    def went_wrong(self) -> bool:
        """An answer other than 200 or 503: stop waiting and let the asserts say which."""
        with self._lock:
            return any(s not in (200, 503) for _, s, _, _ in self.answers)

    def __enter__(self) -> Traffic:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(120)


def until(condition, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_load_gets_in_under_steady_cache_miss_traffic(loaded_ws, viewer, tmp_path):
    src = tmp_path / "accounts.csv"
    src.write_text(ACCOUNTS)
    ingest = [sys.executable, "-m", "revteam", "-w", str(loaded_ws), "ingest", "accounts"]
    with served(loaded_ws) as base, Traffic(base, viewer) as traffic:
        until(
            lambda: traffic.went_wrong() or traffic.count() >= 10
        )  # the app reads the warehouse, query after query
        load = subprocess.run(
            [*ingest, str(src), "--wait", "60"], capture_output=True, text=True, timeout=300
        )
        finished = time.monotonic()
        until(
            lambda: traffic.went_wrong() or traffic.count(since=finished) >= 5
        )  # ... and reads again afterwards
    assert load.returncode == 0, load.stderr
    codes = {status for _, status, _, _ in traffic.answers}
    assert codes <= {200, 503}, codes
    assert all(after and int(after) >= 1 for _, s, after, _ in traffic.answers if s == 503)
    with revteam.open(loaded_ws, read_only=True) as ws:
        zeta = ws.warehouse.con.execute("SELECT count(*) FROM accounts WHERE name = 'Zeta'")
        assert zeta.fetchall() == [(1,)]
