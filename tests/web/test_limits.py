"""What one request may cost: periods, rows, time, cache memory and its place in the queue.

Waiting is asserted by events and by who is still running, never by how long something took;
the bounded waits below only keep a broken build from hanging the suite.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from tests.web.conftest import Member, TestClient, add_members, sign_in
from typer.testing import CliRunner

import revteam
from revteam.cli import app as cli
from revteam.exceptions import LimitExceededError, QueryTimeoutError
from revteam.generate import GeneratorConfig, generate_company
from revteam.metrics import MetricsComponent
from revteam.settings import LimitSettings, write_settings
from revteam.web import WebOptions, create_app
from revteam.web.pages.render import Page
from revteam.web.runtime import ResultCache, size_of
from revteam.web.warmer import Warmer

GUARD = 60
"""Seconds after which a wait counts as a hang (only reached when the code under test is broken)."""
MAX_ROWS = 30
FOREVER = "SELECT sum(a.range * b.range) FROM range(100000000) a, range(100000000) b"
"""A query that would run for days: only an interrupt ends it."""


# -- periods and plausible dates (the session's app, default limits) --------------------------
@pytest.mark.parametrize("path", ["/", "/marketing", "/sales"])
@pytest.mark.parametrize("start", ["0001-01-01", "0004-01-01", "2101-01-01"])
def test_implausible_dates_on_pages_are_a_400(browser_of, path, start):
    r = browser_of["viewer"].get(path, params={"start": start})
    assert r.status_code == 400
    assert "plausible_years" in r.text and start in r.text


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/query?metrics=leads&start=0001-01-01",
        "/api/v1/query?metrics=leads&end=0004-12-31&grain=year",
        "/api/v1/query?metrics=leads&as_of=0001-01-01",
        "/api/v1/records?metric=leads&start=0001-01-01",
        "/api/v1/records/export?metric=leads&start=0001-01-01",
    ],
)
def test_implausible_dates_in_the_api_are_a_400(api, url):
    r = api.get(url)
    assert r.status_code == 400, r.text
    assert "plausible_years" in r.json()["message"]


def test_a_century_by_day_is_refused_naming_the_limit(api):
    r = api.get(
        "/api/v1/query",
        params={"metrics": "leads", "grain": "day", "start": "2000-01-01", "end": "2099-12-31"},
    )
    assert r.status_code == 400
    body = r.json()
    assert (body["error"], body["limit"], body["maximum"]) == ("limit_exceeded", "periods", 1500)
    assert body["requested"] == 36_525
    for words in ("36,525 periods", "limits.max_periods", "coarser grain", "shorter range"):
        assert words in body["message"]


def test_a_page_over_too_many_periods_is_a_400_and_presets_fit(browser_of):
    viewer = browser_of["viewer"]
    r = viewer.get("/", params={"start": "1970-01-01", "grain": "day"})
    assert r.status_code == 400 and "limits.max_periods" in r.text
    # The longest preset at the finest grain (plus the one-year cohort lookback) still fits.
    assert viewer.get("/", params={"period": "24m", "grain": "day"}).status_code == 200


# -- rows, the metric layer and the CLI (a workspace with a small max_rows) ---------------------
@pytest.fixture(scope="module")
def limited_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """400 leads, 40 campaigns, and ``[limits] max_rows = 30``."""
    root = tmp_path_factory.mktemp("limits")
    generate_company(GeneratorConfig(n_leads=400, seed=3)).write(root / "data")
    with revteam.init(root / "ws") as ws:
        ws.ingest.load_directory(root / "data")
    write_settings(root / "ws", {"limits": {"max_rows": MAX_ROWS}})
    return root / "ws"


@pytest.fixture(scope="module")
def limited_members(limited_ws: Path) -> dict[str, Member]:
    return add_members(limited_ws)


def serve(ws: Path, members: dict[str, Member], **limits: Any) -> Iterator[tuple[Any, Any]]:
    """An app over ``ws`` whose web limits (time, cache, queue) are ``limits``."""
    opts = WebOptions(warm=False, idle_seconds=30, limits=LimitSettings(**limits))
    application = create_app(ws, options=opts)
    with TestClient(application):
        yield application, members


@pytest.fixture(scope="module")
def limited(limited_ws, limited_members) -> Iterator[tuple[Any, Any]]:
    yield from serve(limited_ws, limited_members)


@pytest.fixture(scope="module")
def timed(limited_ws, limited_members) -> Iterator[tuple[Any, Any]]:
    yield from serve(limited_ws, limited_members, query_seconds=0.3)


@pytest.fixture(scope="module")
def fair(limited_ws, limited_members) -> Iterator[tuple[Any, Any]]:
    yield from serve(limited_ws, limited_members, max_queued=2, max_queued_per_user=1)


def client(application: Any, member: Member) -> TestClient:
    return TestClient(application, headers=member.bearer)


def test_answers_over_the_row_limit_are_refused(limited):
    application, members = limited
    api = client(application, members["viewer"])
    asks = {
        "/api/v1/records/export?metric=leads&period=all": "records",
        "/api/v1/query?metrics=leads&by=campaign": "rows",
        "/api/v1/dimensions/campaign/values": "values",
    }
    for url, what in asks.items():
        r = api.get(url)
        assert r.status_code == 400, (url, r.text)
        body = r.json()
        assert (body["error"], body["limit"], body["maximum"]) == ("limit_exceeded", what, 30)
        assert body["requested"] > MAX_ROWS and "limits.max_rows" in body["message"]
        assert "Narrow it" in body["message"]
    # Narrower requests pass.
    assert api.get("/api/v1/query?metrics=leads&grain=quarter").status_code == 200
    assert api.get("/api/v1/dimensions/industry/values").status_code == 200
    one_day = "/api/v1/records/export?metric=leads&grain=day&start=2025-03-10&end=2025-03-10"
    assert api.get(one_day).status_code == 200


def test_the_records_page_export_is_bounded_too(limited):
    application, members = limited
    page = TestClient(application)
    assert sign_in(page, members["viewer"].email).status_code == 303
    r = page.get("/records.csv", params={"metric": "leads", "period": "all"})
    assert r.status_code == 400 and "limits.max_rows" in r.text


def test_the_metric_layer_and_the_cli_raise_the_same_limit(limited_ws):
    with revteam.open(limited_ws, read_only=True) as ws:
        with pytest.raises(LimitExceededError) as found:
            ws.metrics.query("leads", grain="day", start="2000-01-01", end="2099-12-31")
        assert (found.value.limit, found.value.maximum) == ("periods", 1500)
        with pytest.raises(LimitExceededError, match=r"limits\.max_rows"):
            ws.metrics.query("leads", by="campaign")
    result = CliRunner().invoke(
        cli,
        ["-w", str(limited_ws), "kpis", "leads", "--grain", "day", "--start", "2000-01-01"],
    )
    assert result.exit_code == 2, result.output
    assert "limits.max_periods" in result.output


# -- the query timeout ------------------------------------------------------------------------
def test_a_slow_query_is_interrupted_and_the_connection_still_works(timed, monkeypatch):
    application, members = timed
    gate = application.state.runtime.gate
    original = MetricsComponent.dimension_values

    def forever(self: MetricsComponent, dimension: str, /, search: str = "") -> Any:
        if dimension != "country":
            return original(self, dimension, search)
        self._warehouse.arrow(FOREVER)
        raise AssertionError("not reached")

    monkeypatch.setattr(MetricsComponent, "dimension_values", forever)
    api = client(application, members["viewer"])
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(api.get, "/api/v1/dimensions/country/values")
        try:
            r = slow.result(GUARD)
        finally:
            if not slow.done() and gate._ws is not None:  # broken build: end the query
                gate._ws.warehouse.con.interrupt()
    assert r.status_code == 503
    assert r.json()["error"] == "query_timeout" and "0.3 s" in r.json()["message"]
    opened = gate.opened
    monkeypatch.setattr(MetricsComponent, "dimension_values", original)
    monkeypatch.setattr(gate, "limits", LimitSettings())  # the next query must not race 0.3 s
    after = api.get("/api/v1/query", params={"metrics": "mqls", "grain": "year"})
    assert after.status_code == 200
    assert gate.opened == opened  # the same connection answered


def test_the_gate_turns_an_interrupted_hold_into_a_timeout(timed, monkeypatch):
    application, _ = timed
    gate = application.state.runtime.gate
    with pytest.raises(QueryTimeoutError), gate.workspace() as ws:
        ws.warehouse.arrow(FOREVER)
    monkeypatch.setattr(gate, "limits", LimitSettings())
    with gate.workspace() as ws:
        assert ws.warehouse.arrow("SELECT 42 AS x").to_pylist() == [{"x": 42}]


def test_the_warmer_holds_the_warehouse_under_warm_seconds_not_query_seconds(timed, monkeypatch):
    """Background work (the attribution credit of 10M leads takes minutes) is bound by
    ``limits.warm_seconds``; a request holding as long is interrupted after ``query_seconds``."""
    application, _ = timed
    runtime = application.state.runtime
    gate = runtime.gate
    monkeypatch.setattr(gate, "limits", LimitSettings(query_seconds=0.3, warm_seconds=600))

    with pytest.raises(QueryTimeoutError, match="query_seconds"):
        runtime.read(("held", 1), lambda ws: ws.warehouse.arrow(FOREVER))

    def left(ws: Any) -> float:
        """The seconds the watchdog gives this hold (the limit it was armed with)."""
        return gate._watchdog._deadline - time.monotonic()

    given: list[float] = []
    warmer = Warmer(runtime, lambda rt: given.append(rt.read(("held", 2), left).value))
    assert warmer.step() is True
    assert 60 < given[0] <= 600
    assert runtime.read(("held", 3), left).value <= 0.3  # a request's own hold: query_seconds


# -- the cache is bounded by bytes -------------------------------------------------------------
def test_the_cache_evicts_by_bytes_least_recently_used_first():
    cache = ResultCache(max_bytes=40_000, largest=0.5)
    v = (1, "m")
    for key in ("a", "b", "c"):
        cache.put(key, v, "x" * 12_000, 0.1)
    assert cache.get("a", v) is not None  # now the most recently used
    cache.put("d", v, "y" * 12_000, 0.1)
    assert cache.get("b", v) is None and cache.get("a", v) is not None
    assert cache.bytes <= cache.max_bytes and cache.evicted == 1
    cache.put("huge", v, "z" * 30_000, 0.1)  # over half the budget: served, not kept
    assert cache.get("huge", v) is None and cache.too_large == 1
    assert {k for k in ("a", "c", "d") if cache.get(k, v)} == {"a", "c", "d"}


def test_sizes_are_estimated_from_what_a_value_holds():
    table = pa.table({"x": list(range(100_000))})
    assert size_of(table) >= table.nbytes
    rows = [{"metric": "leads", "value": float(i), "label": f"2025-{i:05d}"} for i in range(10_000)]
    small = rows[:100]
    assert size_of(rows) >= 50 * size_of(small)  # scales with the rows, sampled or not
    nested: list[Any] = []
    nested.append(nested)  # a cycle ends, too
    assert size_of(nested) > 0


def test_the_runtime_cache_budget_comes_from_the_limits(limited_ws):
    opts = WebOptions(warm=False, limits=LimitSettings(cache_megabytes=3))
    runtime = create_app(limited_ws, options=opts).state.runtime
    try:
        assert runtime.cache.max_bytes == 3 * 2**20
    finally:
        runtime.close()


# -- fair scheduling ---------------------------------------------------------------------------
class Blocker:
    """Makes the look-up of one dimension's values hold the warehouse until released."""

    def __init__(self, dimension: str) -> None:
        self.dimension = dimension
        self.entered, self.release = threading.Event(), threading.Event()
        self.original = MetricsComponent.dimension_values

    def __call__(self, component: MetricsComponent, dimension: str, /, search: str = "") -> Any:
        if dimension == self.dimension:
            self.entered.set()
            assert self.release.wait(GUARD)
        return self.original(component, dimension, search)


@pytest.fixture
def blocker(monkeypatch) -> Iterator[Blocker]:
    found = Blocker("industry")

    def blocked(component: MetricsComponent, dimension: str, /, search: str = "") -> Any:
        return found(component, dimension, search)

    monkeypatch.setattr(MetricsComponent, "dimension_values", blocked)
    yield found
    found.release.set()


def test_cached_answers_do_not_wait_behind_a_slow_miss(fair, blocker):
    application, members = fair
    runtime = application.state.runtime
    viewer, admin = client(application, members["viewer"]), client(application, members["admin"])
    warm = admin.get("/api/v1/query", params={"metrics": "leads", "grain": "quarter"})
    assert warm.status_code == 200
    assert runtime.read(("cached",), lambda ws: ws.data_version).value >= 1

    def refuse(ws: Any) -> Any:
        raise AssertionError("a cached value was computed again")

    with ThreadPoolExecutor(3) as pool:
        slow = pool.submit(lambda: viewer.get("/api/v1/dimensions/industry/values?q=a"))
        assert blocker.entered.wait(GUARD)
        # The gate is held; cached answers come back regardless ...
        hit = pool.submit(lambda: admin.get("/api/v1/query?metrics=leads&grain=quarter"))
        read = pool.submit(lambda: runtime.read(("cached",), refuse))
        try:
            assert hit.result(GUARD).json()["rows"] == warm.json()["rows"]
            assert read.result(GUARD).value >= 1
            assert not slow.done()  # ... while the slow miss still holds the warehouse
        finally:
            blocker.release.set()
        assert slow.result(GUARD).status_code == 200


def test_a_user_cannot_queue_unlimited_slow_queries(fair, blocker):
    application, members = fair
    gate = application.state.runtime.gate
    viewer, admin, editor = (client(application, members[r]) for r in ("viewer", "admin", "editor"))
    with ThreadPoolExecutor(3) as pool:
        slow = pool.submit(lambda: viewer.get("/api/v1/dimensions/industry/values?q=b"))
        assert blocker.entered.wait(GUARD)
        try:
            # The same user's next miss is refused at once, while the first still runs.
            mine = pool.submit(lambda: viewer.get("/api/v1/dimensions/owner/values?q=x"))
            r = mine.result(GUARD)
            assert r.status_code == 503 and not slow.done()
            assert r.json()["error"] == "server_busy" and int(r.headers["retry-after"]) >= 1
            assert "limits.max_queued_per_user" in r.json()["message"]
            # Another user may wait: the queue now holds two ...
            waiting = pool.submit(lambda: admin.get("/api/v1/dimensions/owner/values?q=y"))
            assert wait_for(lambda: gate.queued == 2)
            # ... so a third user's miss is refused too, naming the global bound.
            full = editor.get("/api/v1/dimensions/country/values?q=z")
            assert full.status_code == 503 and "limits.max_queued " in full.json()["message"]
            assert not waiting.done()
        finally:
            blocker.release.set()
        assert slow.result(GUARD).status_code == 200
        assert waiting.result(GUARD).status_code == 200
    assert gate.queued == 0


def wait_for(condition: Callable[[], bool]) -> bool:
    done = threading.Event()
    for _ in range(GUARD * 100):
        if condition():
            return True
        done.wait(0.01)
    return False


def test_what_needs_no_data_is_refused_while_the_queue_is_full(fair, blocker):
    """A full queue never turns a 400 into a 503: limits and ids are checked before queueing."""
    application, members = fair
    viewer = client(application, members["viewer"])
    Page(application.state.runtime).as_of()  # any page caches the as-of day
    century = {"metrics": "leads", "grain": "day", "start": "1970-01-01", "end": "2069-12-31"}
    with ThreadPoolExecutor(2) as pool:
        slow = pool.submit(lambda: viewer.get("/api/v1/dimensions/industry/values?q=c"))
        assert blocker.entered.wait(GUARD)
        try:
            # The viewer's one place in the queue is taken: any miss of theirs would be a 503.
            busy = viewer.get("/api/v1/dimensions/owner/values?q=w")
            assert busy.status_code == 503
            r = viewer.get("/api/v1/query", params=century)
            assert r.status_code == 400 and r.json()["limit"] == "periods"
            r = viewer.get("/api/v1/query", params={"metrics": "no_such_metric"})
            assert 400 <= r.status_code < 500 and "no_such_metric" in r.text
            page = TestClient(application)
            assert sign_in(page, members["viewer"].email).status_code == 303
            r = page.get("/marketing", params={"start": "1970-01-01", "grain": "day"})
            assert r.status_code == 400 and "limits.max_periods" in r.text
            assert not slow.done()
        finally:
            blocker.release.set()
        assert slow.result(GUARD).status_code == 200


def test_a_full_queue_serves_the_last_answer_marked_stale(fair, blocker, monkeypatch):
    application, members = fair
    runtime = application.state.runtime
    viewer, admin = client(application, members["viewer"]), client(application, members["admin"])
    params = {"metrics": "leads", "grain": "year"}
    fresh = admin.get("/api/v1/query", params=params).json()
    assert fresh["stale"] is False
    data, fingerprint = runtime.version()
    monkeypatch.setattr(runtime, "version", lambda: (data + 1, fingerprint))  # new data arrived
    with ThreadPoolExecutor(2) as pool:
        slow = pool.submit(lambda: viewer.get("/api/v1/dimensions/industry/values?q=d"))
        assert blocker.entered.wait(GUARD)
        try:
            r = viewer.get("/api/v1/query", params=params)  # over the viewer's queue bound
            assert r.status_code == 200, r.text
            assert r.json()["stale"] is True and r.json()["rows"] == fresh["rows"]
            other = viewer.get("/api/v1/query", params={"metrics": "leads", "grain": "week"})
            assert other.status_code == 503  # nothing computed before: nothing to fall back on
        finally:
            blocker.release.set()
        assert slow.result(GUARD).status_code == 200


@pytest.mark.parametrize("seconds", [0, -5])
def test_a_warm_limit_that_is_not_positive_is_refused(seconds: float) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="warm_seconds"):
        LimitSettings(warm_seconds=seconds)
