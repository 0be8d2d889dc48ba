"""One runner at a time: a second process finds the lease taken and does nothing.

Two runners share one application database through their own connections, as two web
workers (or a worker and `revteam alerts run`) do; the first is held in the middle of its run
while the second tries.
"""

from __future__ import annotations

import datetime as dt
import threading
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from tests.alerts.conftest import Clock, EmptyWorkspace, fresh_db

from revteam.alerts import AlertRunner, AlertStore, Channel, RuleSpec, Scheduler, check
from revteam.exceptions import AlertRunnerBusyError
from revteam.metrics import Definitions
from revteam.settings import Settings
from revteam.storage import AppDatabase

T0 = dt.datetime(2026, 11, 2, 8, 0)


def runner(db: AppDatabase, facts: Any, holder: str, clock: Clock) -> AlertRunner:
    return AlertRunner(
        AlertStore(db), lambda: nullcontext(facts), Settings(), clock=clock, holder=holder
    )


@pytest.fixture
def stale_rule(tmp_path: Path, httpserver: HTTPServer) -> Path:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    path = tmp_path / "alerts.db"
    db = fresh_db(path)
    spec = RuleSpec("stale", "stale_data", [Channel.webhook(httpserver.url_for("/hook"))], hours=1)
    rule = check(spec, Definitions(tmp_path / "metrics", Settings()))
    AlertStore(db).add(rule, now=T0)
    db.dispose()
    return path


def test_a_second_runner_waits_for_the_first(
    stale_rule: Path, tmp_path: Path, httpserver: HTTPServer
) -> None:
    clock = Clock(T0)
    release = threading.Event()
    held = EmptyWorkspace(tmp_path, release)
    first = runner(AppDatabase(f"sqlite:///{stale_rule}"), held, "worker-1", clock)
    second = runner(
        AppDatabase(f"sqlite:///{stale_rule}"), EmptyWorkspace(tmp_path), "worker-2", clock
    )
    reports: list[Any] = []
    thread = threading.Thread(target=lambda: reports.append(first.run()))
    thread.start()
    try:
        assert held.entered.wait(30)  # the first is in the middle of its run
        with pytest.raises(AlertRunnerBusyError, match="worker-1"):
            second.run()
        assert Scheduler(second.run).tick() is False  # the server's loop: logged, not raised
        assert second.store.lease().holder == "worker-1"
    finally:
        release.set()
        thread.join(30)
    assert [len(r.new) for r in reports[0].rules] == [2]
    assert len(reports[0].attempts) == 2
    assert second.store.lease().holder == ""  # released at the end of the run
    again = second.run()  # now the second may run: nothing new to tell
    assert again.rules[0].new == () and again.attempts == ()
    assert len(httpserver.log) == 2


def test_a_lease_left_behind_by_a_dead_process_expires(stale_rule: Path, tmp_path: Path) -> None:
    clock = Clock(T0)
    db = AppDatabase(f"sqlite:///{stale_rule}")
    dead = AlertStore(db).acquire("dead-worker", T0, Settings().alerts.lease_seconds)
    assert dead.held
    alive = runner(db, EmptyWorkspace(tmp_path), "worker-2", clock)
    clock.advance(seconds=Settings().alerts.lease_seconds - 1)
    with pytest.raises(AlertRunnerBusyError, match="dead-worker"):
        alive.run()
    clock.advance(seconds=2)
    report = alive.run()
    assert len(report.rules[0].new) == 2


def test_the_scheduler_never_raises_and_keeps_going() -> None:
    calls: list[int] = []

    def broken() -> None:
        calls.append(1)
        raise RuntimeError("the database is gone")

    scheduler = Scheduler(broken, interval=0.01)
    assert scheduler.tick() is False
    scheduler.start()
    deadline = dt.datetime.now() + dt.timedelta(seconds=10)
    while len(calls) < 3 and dt.datetime.now() < deadline:
        threading.Event().wait(0.01)
    scheduler.stop()
    assert len(calls) >= 3 and scheduler.runs == len(calls)
