"""Result caching by data version, and sharing the warehouse with loads in other processes."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.web.conftest import TestClient, add_members

import revteam
from revteam.exceptions import ConfigError
from revteam.generate import GeneratorConfig, generate_company
from revteam.web import WebOptions, create_app
from revteam.web.views import scorecard


def test_repeated_views_are_served_from_the_cache(app, browser_of, monkeypatch):
    calls = []
    original = scorecard.tiles

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(scorecard, "tiles", counting)
    viewer = browser_of["viewer"]
    first = viewer.get("/?period=3m").text
    second = viewer.get("/?period=3m").text
    assert len(calls) == 1
    strip = lambda html: html.replace(html[html.find('name="csrf_token"') :][:120], "")  # noqa: E731
    assert strip(first) == strip(second)
    runtime = app.state.runtime
    assert runtime.cache.hits > 0


@pytest.fixture(scope="module")
def small_company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("small") / "data"
    generate_company(GeneratorConfig(n_leads=400, seed=3)).write(data)
    return data


@pytest.fixture(scope="module")
def small_ws(small_company: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace no other app of the session has open (these tests lock it on purpose)."""
    root = tmp_path_factory.mktemp("small-ws") / "ws"
    with revteam.init(root) as ws:
        ws.ingest.load_directory(small_company)
    return root


@pytest.fixture(scope="module")
def small_members(small_ws: Path):
    return add_members(small_ws)


def test_a_new_load_is_never_hidden_by_the_cache(tmp_path: Path, small_company: Path):
    with revteam.init(tmp_path / "ws"):
        pass
    members = add_members(tmp_path / "ws")
    application = create_app(tmp_path / "ws", options=WebOptions(warm=False, idle_seconds=30))
    with TestClient(application, headers=members["viewer"].bearer) as client:
        before = client.get("/api/v1/query", params={"metrics": "leads"}).json()
        assert sum(r["value"] or 0 for r in before["rows"]) == 0
        application.state.runtime.gate.release()  # as the idle timer would
        with revteam.open(tmp_path / "ws") as ws:
            ws.ingest.load_directory(small_company)
        after = client.get("/api/v1/query", params={"metrics": "leads"}).json()
        assert after["data_version"] > before["data_version"]
        assert sum(r["value"] or 0 for r in after["rows"]) == 400


def busy(root: Path) -> revteam.Workspace:
    raise ConfigError(f"Cannot open the warehouse {root}: IO Error: Could not set lock on file")


def test_while_a_load_holds_the_warehouse_the_last_numbers_are_served(small_ws, small_members):
    company_ws, members = small_ws, small_members
    opener = {"fn": lambda root: revteam.open(root, read_only=True)}
    application = create_app(
        company_ws,
        options=WebOptions(warm=False, idle_seconds=30, opener=lambda root: opener["fn"](root)),
    )
    with TestClient(application, headers=members["viewer"].bearer) as client:
        fresh = client.get("/api/v1/query", params={"metrics": "mqls"}).json()
        assert fresh["stale"] is False
        runtime = application.state.runtime
        runtime.gate.release()
        opener["fn"] = busy
        (company_ws / "warehouse.duckdb").touch()  # the load changes the file
        stale = client.get("/api/v1/query", params={"metrics": "mqls"}).json()
        assert stale["stale"] is True and stale["rows"] == fresh["rows"]
        cold = client.get("/api/v1/query", params={"metrics": "sqls"})
        assert cold.status_code == 503 and cold.json()["error"] == "warehouse_busy"
        assert int(cold.headers["retry-after"]) >= 1
        assert "revteam ingest" in cold.json()["message"]


def test_the_warehouse_is_released_when_idle_so_loads_can_write(small_ws, small_members):
    company_ws, members = small_ws, small_members
    # Idle long enough that a busy machine does not close it before the first assertion.
    application = create_app(company_ws, options=WebOptions(warm=False, idle_seconds=2))
    with TestClient(application, headers=members["viewer"].bearer) as client:
        assert (
            client.get("/api/v1/query", params={"metrics": "leads", "grain": "year"}).status_code
            == 200
        )
        gate = application.state.runtime.gate
        assert gate.is_open
        writer = [
            sys.executable,
            "-c",
            "import duckdb, sys; duckdb.connect(sys.argv[1]).close()",
            str(company_ws / "warehouse.duckdb"),
        ]
        with gate.workspace():  # in use: the reaper must not close it under a query
            assert subprocess.run(writer, capture_output=True).returncode != 0
        deadline = time.monotonic() + 10
        while gate.is_open and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not gate.is_open
        done = subprocess.run(writer, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        # ... and the app reads again afterwards.
        assert client.get("/api/v1/query", params={"metrics": "leads"}).status_code == 200


def test_a_real_writer_in_another_process_gives_busy_not_a_crash(small_ws, small_members):
    company_ws, members = small_ws, small_members
    application = create_app(company_ws, options=WebOptions(warm=False, idle_seconds=30))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
            "print('ready', flush=True); sys.stdin.readline()",
            str(company_ws / "warehouse.duckdb"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with TestClient(application, headers=members["viewer"].bearer) as client:
            r = client.get("/api/v1/query", params={"metrics": "opportunities_created"})
            assert r.status_code == 503 and r.json()["error"] == "warehouse_busy"
    finally:
        holder.communicate("\n", timeout=10)


def test_a_refusal_the_data_determine_is_kept_until_the_data_change(
    tmp_path: Path, small_company: Path
) -> None:
    """A model the data cannot support is refused once per data version, not recomputed on
    every visit; a load brings it back to be tried again. Other errors are never kept."""
    from revteam.exceptions import ClvError

    with revteam.init(tmp_path / "ws"):
        pass
    runtime = create_app(tmp_path / "ws", options=WebOptions(warm=False)).state.runtime
    calls: list[str] = []

    def refuse(ws: revteam.Workspace) -> int:
        calls.append("clv")
        raise ClvError("Only 3 customers bought again.", "Widen the period.")

    def fail(ws: revteam.Workspace) -> int:
        calls.append("other")
        raise RuntimeError("a bug")

    for _ in range(3):
        with pytest.raises(ClvError, match="Only 3 customers"):
            runtime.read(("fit",), refuse)
        with pytest.raises(RuntimeError):
            runtime.read(("other",), fail)
    assert calls.count("clv") == 1 and calls.count("other") == 3
    runtime.gate.release()
    with revteam.open(tmp_path / "ws") as ws:
        ws.ingest.load_directory(small_company)
    with pytest.raises(ClvError):
        runtime.read(("fit",), refuse)
    assert calls.count("clv") == 2
    runtime.close()
