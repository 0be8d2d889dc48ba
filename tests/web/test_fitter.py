"""Slow model fits run off the request path: bounded waits, one job per version, kept refusals."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import Member

from revteam.exceptions import ScoringError, ServerBusyError
from revteam.web import WebOptions, create_app
from revteam.web.runtime import Runtime
from revteam.workspace import Workspace


@pytest.fixture
def runtime(company_ws: Path) -> Iterator[Runtime]:
    rt = Runtime(company_ws, WebOptions(warm=False, fit_wait_seconds=0.2))
    yield rt
    rt.close()


class Slow:
    """A fit that waits until released, counting its calls."""

    def __init__(self) -> None:
        self.release, self.calls = threading.Event(), 0

    def __call__(self, inputs: int) -> int:
        self.calls += 1
        assert self.release.wait(30)
        return inputs * 2


def test_a_slow_fit_answers_busy_at_once_then_its_value(runtime: Runtime) -> None:
    slow = Slow()
    gathered: list[int] = []

    def gather(ws: Workspace) -> int:
        gathered.append(ws.data_version)
        return 21

    with pytest.raises(ServerBusyError, match="The model is being fitted") as busy:
        runtime.fitted(("m",), gather, slow, what="The model")
    assert busy.value.retry_after >= 5
    with pytest.raises(ServerBusyError):  # a second request waits for the same job
        runtime.fitted(("m",), gather, slow, what="The model")
    slow.release.set()
    found = runtime.fitted(("m",), gather, slow, what="The model", block=True)
    assert (found.value, found.stale) == (42, False)
    assert found.data_version == runtime.version()[0]
    assert runtime.fitted(("m",), gather, slow, what="The model").value == 42
    assert slow.calls == 1 and len(gathered) == 1  # inputs read once, fitted once


def test_new_data_serves_the_last_fit_stale_while_refitting(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = runtime.fitted(("m",), lambda ws: 1, lambda n: n + 1, what="M", block=True)
    assert first.value == 2
    monkeypatch.setattr(runtime, "_metrics_fingerprint", lambda: "changed definitions")
    slow = Slow()
    found = runtime.fitted(("m",), lambda ws: 10, slow, what="M")
    assert (found.value, found.stale, found.version) == (2, True, first.version)
    slow.release.set()
    fresh = runtime.fitted(("m",), lambda ws: 10, slow, what="M", block=True)
    assert (fresh.value, fresh.stale) == (20, False)
    assert fresh.version[1] == "changed definitions"


def test_refusals_are_kept_and_failures_retried(runtime: Runtime) -> None:
    reads: list[int] = []

    def refused(ws: Workspace) -> int:
        reads.append(1)
        raise ScoringError("Too few leads.", "Load more history.")

    for _ in range(3):
        with pytest.raises(ScoringError, match="Too few leads"):
            runtime.fitted(("r",), refused, lambda n: n, what="R")
    assert len(reads) == 1  # the data decide it: not read again until they change

    fits: list[int] = []

    def broken(n: int) -> int:
        fits.append(n)
        if len(fits) == 1:
            raise MemoryError("out of memory")
        return n

    with pytest.raises(MemoryError):
        runtime.fitted(("b",), lambda ws: 5, broken, what="B", block=True)
    assert runtime.fitted(("b",), lambda ws: 5, broken, what="B", block=True).value == 5
    assert len(fits) == 2  # not a refusal: tried again


def test_the_api_answers_503_while_the_lead_score_is_fitted(
    company_ws: Path, members: dict[str, Member], monkeypatch: pytest.MonkeyPatch
) -> None:
    import revteam.web.routes.scoring as routes
    from revteam.scoring import fit_score

    gate = threading.Event()

    def slow_fit(inputs: Any) -> Any:
        assert gate.wait(60)
        return fit_score(inputs)

    monkeypatch.setattr(routes, "fit_score", slow_fit)
    app = create_app(company_ws, options=WebOptions(warm=False, fit_wait_seconds=0.2))
    with TestClient(app) as client:
        client.headers["Authorization"] = members["admin"].bearer["Authorization"]
        busy = client.get("/api/v1/scoring/fit")
        assert busy.status_code == 503, busy.text
        assert int(busy.headers["Retry-After"]) >= 5
        assert "The lead score is being fitted" in busy.text
        assert client.get("/api/v1/scoring/leads").status_code == 503
        gate.set()
        for _ in range(300):  # the background fit finishes on its own
            answer = client.get("/api/v1/scoring/fit")
            if answer.status_code == 200:
                break
            threading.Event().wait(0.2)
        assert answer.status_code == 200, answer.text
        assert 0.5 < answer.json()["auc"] <= 1
        leads = client.get("/api/v1/scoring/leads", params={"limit": 5})
        assert leads.status_code == 200 and len(leads.json()["rows"]) == 5


def test_fits_run_again_after_the_app_shut_down_and_started(runtime: Runtime) -> None:
    assert runtime.fitted(("s",), lambda ws: 1, lambda n: n, what="S", block=True).value == 1
    runtime.fitter.close()  # the app's shutdown; the same runtime serves the next start-up
    assert runtime.fitted(("t",), lambda ws: 2, lambda n: n, what="T", block=True).value == 2
