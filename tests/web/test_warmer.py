"""The warmer: default views and the attribution credit computed before the first visitor,
at start-up and again after each load, and kept past the gate's idle reopens.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import revteam
from revteam.attribution import journeys as J
from revteam.clv import models as M
from revteam.generate import GeneratorConfig, generate_company
from revteam.generate.params import ADD_ON_PRODUCTS
from revteam.storage.announce import Announcement
from revteam.web import WebOptions, create_app
from revteam.web.pages import clv as clv_page
from revteam.web.pages import warm_views
from revteam.web.pages.render import Page
from revteam.web.warmer import Warmer

ACCOUNTS = "account_id,name,created_at\nW1,Warm One,2024-01-01\n"


@pytest.fixture()
def ws_path(tmp_path: Path) -> Path:
    generate_company(GeneratorConfig(n_leads=1_500, seed=3)).write(tmp_path / "data")
    clv = {"model": "both", "repeat_products": list(ADD_ON_PRODUCTS)}
    with revteam.init(tmp_path / "ws", clv=clv) as ws:
        ws.ingest.load_directory(tmp_path / "data")
    return tmp_path / "ws"


def no_building(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every journey build (the expensive part of the credit)."""
    built: list[str] = []
    real = J.build

    def counting(*args, **kwargs):
        built.append(kwargs["conversion"])
        return real(*args, **kwargs)

    monkeypatch.setattr(J, "build", counting)
    return built


def test_the_warmer_warms_once_per_data_version(ws_path: Path, tmp_path: Path, monkeypatch):
    runtime = create_app(ws_path, options=WebOptions(warm=False, idle_seconds=0)).state.runtime
    warmer = Warmer(runtime, warm_views)
    built = no_building(monkeypatch)
    assert warmer.step() is True
    model = runtime.settings.attribution.model
    assert ("warm-attribution", model) in runtime.cache._items
    assert sorted(built) == ["customer", "lead", "opportunity", "won"]
    assert warmer.step() is False  # nothing changed: nothing to do

    # the gate let go (idle_seconds=0): a visitor's attributed query reopens the warehouse
    # and finds the credit the warmer computed, without building a journey
    built.clear()
    answer = runtime.read(
        ("visitor", 1),
        lambda ws: ws.metrics.query(["attributed_revenue"], grain="all", by=["channel"]),
    )
    assert answer.value.table.num_rows > 1 and built == []

    # a load: the next step warms again, the credit of the new data
    csv = tmp_path / "accounts.csv"
    csv.write_text(ACCOUNTS)
    with revteam.open(ws_path) as ws:
        ws.ingest.load("accounts", csv)
    assert warmer.step() is True
    assert sorted(built) == ["customer", "lead", "opportunity", "won"]
    runtime.close()


def test_the_customer_value_page_finds_its_models_fitted(ws_path: Path, monkeypatch):
    runtime = create_app(ws_path, options=WebOptions(warm=False, idle_seconds=0)).state.runtime
    fitted: list[str] = []
    for name in ("fit_bg_nbd", "fit_gamma_gamma", "fit_sbg"):
        real = getattr(M, name)

        def counting(*args, _real=real, _name=name, **kwargs):
            fitted.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(M, name, counting)
    assert Warmer(runtime, warm_views).step() is True
    assert {"fit_bg_nbd", "fit_gamma_gamma", "fit_sbg"} <= set(fitted)
    fitted.clear()
    page = clv_page._sections(Page(runtime))  # a visitor, after the gate's idle reopen
    assert fitted == [] and "error" not in page["fits"]["sbg"]
    runtime.close()


def test_a_load_in_progress_is_left_alone_and_warmed_after(ws_path: Path):
    runtime = create_app(ws_path, options=WebOptions(warm=False, idle_seconds=0)).state.runtime
    warmer = Warmer(runtime, warm_views)
    load = Announcement.claim(ws_path / "warehouse.duckdb", deadline=time.monotonic())
    try:
        assert warmer.step() is False and warmer.warmed is None  # busy: try again later
    finally:
        load.withdraw()
    assert warmer.step() is True and warmer.warmed == runtime.version()
    runtime.close()


def test_the_app_starts_its_warmer(ws_path: Path):
    from tests.web.conftest import TestClient

    application = create_app(ws_path, options=WebOptions(warm=True, idle_seconds=30))
    with TestClient(application):
        runtime = application.state.runtime
        deadline = time.monotonic() + 120
        model = runtime.settings.attribution.model
        while ("warm-attribution", model) not in runtime.cache._items:
            assert time.monotonic() < deadline, "the app did not warm"
            time.sleep(0.1)


def test_the_health_check_says_whether_the_views_are_warm(ws_path: Path):
    """``warm`` is the readiness signal: false until the warmer has warmed the data and while
    it warms (a benchmark or a load balancer waits for it); absent when no warmer runs."""
    from tests.web.conftest import TestClient

    application = create_app(ws_path, options=WebOptions(warm=False, idle_seconds=0))
    runtime = application.state.runtime
    anon = TestClient(application)
    assert anon.get("/api/v1/health").json()["warm"] is None
    seen: list[bool | None] = []

    def warm(rt) -> None:
        seen.append(anon.get("/api/v1/health").json()["warm"])
        warm_views(rt)

    application.state.warmer = Warmer(runtime, warm)
    assert anon.get("/api/v1/health").json()["warm"] is False  # nothing warmed yet
    assert application.state.warmer.step() is True
    assert seen == [False]  # not ready while it warms
    assert anon.get("/api/v1/health").json() == {
        "status": "ok",
        "version": revteam.__version__,
        "warm": True,
    }
    runtime.close()


FOREVER = "SELECT sum(a.range * b.range) FROM range(100000000) a, range(100000000) b"
"""A query that would run for days: only an interrupt ends it."""


def test_a_load_announced_while_the_warmer_holds_the_warehouse_stops_it(
    ws_path: Path, tmp_path: Path
):
    """The warmer may hold the warehouse for minutes (warm_seconds), so it gives way the moment
    a load announces itself: its query is interrupted, the step is busy, nothing counts as warm
    and the next step after the load warms the new data."""
    runtime = create_app(ws_path, options=WebOptions(warm=False, idle_seconds=0)).state.runtime
    warmer = Warmer(runtime, lambda rt: None)
    assert warmer.step() is True and warmer.ready
    csv = tmp_path / "accounts.csv"
    csv.write_text(ACCOUNTS)
    with revteam.open(ws_path) as ws:
        ws.ingest.load("accounts", csv)  # new data: the warmer has work again
    loads: list[Announcement] = []

    def held_until_a_load(rt) -> None:
        def compute(ws):
            loads.append(
                Announcement.claim(ws_path / "warehouse.duckdb", deadline=time.monotonic())
            )
            return ws.warehouse.arrow(FOREVER)  # only the watchdog's interrupt ends it

        rt.read(("held", 1), compute)

    warmer._warm = held_until_a_load
    try:
        assert warmer.step() is False  # gave way: busy, try again later
        assert not warmer.ready and warmer.warmed != runtime.version()
    finally:
        for load in loads:
            load.withdraw()
    warmer._warm = lambda rt: None
    assert warmer.step() is True and warmer.ready
    runtime.close()


def test_a_failure_to_read_the_version_does_not_end_the_warmer(ws_path: Path, monkeypatch):
    runtime = create_app(ws_path, options=WebOptions(warm=False, idle_seconds=0)).state.runtime
    warmer = Warmer(runtime, lambda rt: None)
    real = runtime.version

    def failing():
        raise OSError("the disk went away for a moment")

    monkeypatch.setattr(runtime, "version", failing)
    assert warmer.step() is False and not warmer.ready  # logged, tried again next step
    monkeypatch.setattr(runtime, "version", real)
    assert warmer.step() is True and warmer.ready
    runtime.close()
