"""Hardening against abuse and accidents: body limits, credentials before bodies, bounded password
hashing, trusted proxies, slow clients, idle sessions, private files, path-free errors, HEAD.

Tests that need a real socket run uvicorn in a thread with :func:`revteam.app.server.
uvicorn_options`, the options ``revteam serve`` uses; timeouts there are configured short, and
the tests only bound how long they wait for them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update
from tests.web.conftest import PASSWORD, TestClient, add_members, csrf_of, empty_app, sign_in
from tests.web.test_security_review import app_routes

import revteam
from revteam.app import credentials, hashing, load_secret_key, open_app, server
from revteam.app.models import WebSession, utcnow
from revteam.exceptions import ConfigError, HashingBusyError, WarehouseBusyError
from revteam.web import WebOptions, create_app

MiB = 1024 * 1024


# --- Request bodies: bounded, and read only after the credentials are checked -------------------


def test_a_body_over_the_limit_is_refused_with_the_limit_named(api: TestClient):
    body = b'{"metrics": ["leads"], "pad": "' + b"x" * (2 * MiB) + b'"}'
    r = api.post("/api/v1/query", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"] == "request_too_large"
    assert "1,048,576 bytes" in r.json()["message"]


def test_a_chunked_body_is_counted_as_it_arrives(api: TestClient):
    def chunks() -> Iterator[bytes]:
        yield b'{"metrics": ["leads"], "pad": "'
        for _ in range(40):
            yield b"x" * 64 * 1024
        yield b'"}'

    r = api.post("/api/v1/query", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers
    assert r.status_code == 413 and r.json()["error"] == "request_too_large"


def test_forms_are_bounded_too(browser_of):
    viewer = browser_of["viewer"]
    token = csrf_of(viewer.get("/account").text)
    r = viewer.post("/account/tokens", data={"name": "x" * (2 * MiB), "csrf_token": token})
    assert r.status_code == 413 and "at most 1,048,576 bytes" in r.text


def test_the_body_limit_is_configurable(tmp_path: Path):
    app, members = empty_app(tmp_path, max_body_bytes=100)
    with TestClient(app, headers=members["admin"].bearer) as client:
        r = client.post("/api/v1/tokens", json={"name": "n" * 200})
        assert r.status_code == 413 and "at most 100 bytes" in r.json()["message"]
        assert client.post("/api/v1/tokens", json={"name": "small"}).status_code == 201


def test_a_served_workspace_sets_the_body_limit_in_revteam_toml(tmp_path: Path):
    """`revteam serve` builds the app with default options: the limit must come from settings."""
    with revteam.init(tmp_path / "ws", limits={"max_body_kilobytes": 1}):
        pass
    members = add_members(tmp_path / "ws")
    app = create_app(tmp_path / "ws", options=WebOptions(warm=False))
    with TestClient(app, headers=members["admin"].bearer) as client:
        r = client.post("/api/v1/tokens", json={"name": "n" * 2000})
        assert r.status_code == 413 and "at most 1,024 bytes" in r.json()["message"]
        assert "max_body_kilobytes" in r.json()["message"]
        assert client.post("/api/v1/tokens", json={"name": "small"}).status_code == 201


def test_without_credentials_a_body_is_not_even_parsed(anon: TestClient):
    r = anon.post(
        "/api/v1/query", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 401 and r.json()["error"] == "authentication"


async def _call(app, method: str, path: str, headers: list[tuple[bytes, bytes]], receive):
    """Call the ASGI app directly; returns the status and how often it asked for the body."""
    asked = 0

    async def counting():
        nonlocal asked
        asked += 1
        return await receive()

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    await app(scope, counting, send)
    return sent[0]["status"], asked


def test_an_unauthenticated_post_is_refused_before_its_body_is_read(tmp_path: Path):
    app, _ = empty_app(tmp_path)

    async def endless():  # a chunked body that would never end
        await asyncio.sleep(0)
        return {"type": "http.request", "body": b"x" * 65536, "more_body": True}

    headers = [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")]
    try:
        for path in ("/api/v1/tokens", "/api/v1/users", "/account/tokens"):
            status, asked = asyncio.run(_call(app, "POST", path, headers, endless))
            assert asked == 0, path
            assert status in {401, 303}, (path, status)
    finally:
        app.state.runtime.close()


def test_a_body_sent_too_slowly_gets_408(tmp_path: Path):
    app, members = empty_app(tmp_path, body_timeout_seconds=0.2)
    parts = iter([{"type": "http.request", "body": b'{"name": ', "more_body": True}])

    async def stalls():
        part = next(parts, None)
        if part is None:
            await asyncio.sleep(3600)  # the client stops sending
        return part

    auth = [(b"authorization", f"Bearer {members['admin'].token}".encode())]
    headers = [(b"content-type", b"application/json"), *auth]
    try:
        status, _ = asyncio.run(_call(app, "POST", "/api/v1/tokens", headers, stalls))
    finally:
        app.state.runtime.close()
    assert status == 408


# --- Password hashing: a few at a time, the rest refused after a bounded wait --------------------


class _TrackingHasher:
    """A stand-in for argon2 that records how many hashes run at once."""

    def __init__(self) -> None:
        self.running = 0
        self.peak = 0
        self.done = 0
        self._lock = threading.Lock()

    def _work(self) -> None:
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        time.sleep(0.05)
        with self._lock:
            self.running -= 1
            self.done += 1

    def verify(self, password_hash: str, password: str) -> bool:
        self._work()
        return False

    def hash(self, password: str) -> str:
        self._work()
        return "$argon2id$fake"


def test_no_more_hashes_run_at_once_than_the_gate_allows(monkeypatch):
    tracker = _TrackingHasher()
    monkeypatch.setattr(credentials, "hasher", tracker)
    monkeypatch.setattr(hashing, "gate", hashing.HashingGate(2, waiting=100, wait_seconds=60))
    start = threading.Barrier(16)

    def sign_in_attempt() -> None:
        start.wait()
        credentials.verify_password("$argon2id$stored", "wrong password")

    threads = [threading.Thread(target=sign_in_attempt) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert tracker.done == 16 and tracker.peak == 2


def test_the_default_gate_is_sized_from_the_machine():
    assert 1 <= hashing.default_slots() <= hashing.MAX_SLOTS
    assert hashing.default_slots(memory_kib=10**12) == 1  # a hash bigger than memory: one
    assert hashing.gate.waiting == 4 * hashing.gate.slots


def test_callers_beyond_the_waiting_room_are_refused_at_once():
    gate = hashing.HashingGate(1, waiting=0, wait_seconds=60)
    with gate.slot(), pytest.raises(HashingBusyError) as caught, gate.slot():
        pass
    assert caught.value.retry_after >= 1
    with gate.slot():  # the turn was given back
        pass


def test_a_sign_in_that_finds_hashing_busy_gets_503_with_retry_after(tmp_path: Path, monkeypatch):
    app, members = empty_app(tmp_path)
    busy = hashing.HashingGate(1, waiting=0)
    monkeypatch.setattr(hashing, "gate", busy)
    with TestClient(app) as client, busy.slot():  # every turn is taken
        r = sign_in(client, members["viewer"].email)
        assert r.status_code == 503 and int(r.headers["retry-after"]) >= 1
        assert "busy checking other passwords" in r.text
    with TestClient(app) as client:
        assert sign_in(client, members["viewer"].email).status_code == 303


# --- The server: trusted proxies, slow clients ----------------------------------------------------


@pytest.fixture
def served_ws(tmp_path: Path) -> Path:
    with revteam.init(tmp_path / "ws"):
        pass
    add_members(tmp_path / "ws")
    return tmp_path / "ws"


@contextmanager
def live_server(ws: Path, monkeypatch, **options) -> Iterator[str]:
    """``revteam serve``'s uvicorn options, served from a thread; yields the base URL."""
    import uvicorn

    monkeypatch.setenv("REVTEAM_WORKSPACE", str(ws))
    kwargs = server.uvicorn_options(host="127.0.0.1", port=0, access_log=False, **options)
    kwargs |= {"factory": False, "log_config": None}
    config = uvicorn.Config(create_app(ws, options=WebOptions(warm=False)), **kwargs)
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    port = srv.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(60)


def _http_sign_in(client: httpx.Client, email: str, headers: dict[str, str]) -> httpx.Response:
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token, "next": "/"},
        headers=headers,
    )


def _session_ips(ws: Path) -> list[str | None]:
    with open_app(ws) as state, state.db.session() as s:
        return list(s.scalars(select(WebSession.ip)))


FORGED = {"x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "https"}


def test_forwarded_headers_are_believed_from_no_one_by_default(served_ws: Path, monkeypatch):
    with live_server(served_ws, monkeypatch) as url, httpx.Client(base_url=url) as client:
        assert "strict-transport-security" not in client.get("/login", headers=FORGED).headers
        r = _http_sign_in(client, "viewer@example.com", FORGED)
        assert r.status_code == 303 and "secure" not in r.headers["set-cookie"].lower()
    assert _session_ips(served_ws) == ["127.0.0.1"]


def test_forwarded_headers_are_believed_from_the_proxies_named(served_ws: Path, monkeypatch):
    with (
        live_server(served_ws, monkeypatch, forwarded_allow_ips="127.0.0.1") as url,
        httpx.Client(base_url=url) as client,
    ):
        assert "strict-transport-security" in client.get("/login", headers=FORGED).headers
        assert _http_sign_in(client, "viewer@example.com", FORGED).status_code == 303
    assert _session_ips(served_ws) == ["203.0.113.9"]


def _closed(sock: socket.socket, *, trickle: bytes = b"", within: float = 60.0) -> bool:
    """Whether the server closes ``sock`` within ``within`` s (sending ``trickle`` meanwhile)."""
    deadline = time.monotonic() + within
    sock.settimeout(0.25)
    while time.monotonic() < deadline:
        try:
            if sock.recv(65536) == b"":
                return True
        except TimeoutError:
            pass
        except ConnectionError:
            return True
        if trickle:
            try:
                sock.sendall(trickle)
            except OSError:
                return True
    return False


def test_a_client_that_never_finishes_its_headers_is_cut_off(served_ws: Path, monkeypatch):
    limits = server.ServerLimits(header_timeout=1.0, keep_alive=30)
    with live_server(served_ws, monkeypatch, limits=limits) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as still:
            still.sendall(b"GET /login HTTP/1.1\r\nHost: localhost\r\n")
            assert _closed(still)
        with socket.create_connection(("127.0.0.1", port)) as trickling:
            trickling.sendall(b"GET /login HTTP/1.1\r\nHost: localhost\r\n")
            assert _closed(trickling, trickle=b"X-a: b\r\n")
        with socket.create_connection(("127.0.0.1", port)) as kept:  # the next request's head
            kept.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            kept.settimeout(30)
            assert kept.recv(65536).startswith(b"HTTP/1.1 200")
            kept.sendall(b"GET /api/v1/health HTTP/1.1\r\n")
            assert _closed(kept)


def test_oversized_request_heads_are_refused(served_ws: Path, monkeypatch):
    limits = server.ServerLimits(max_header_bytes=4096)
    with live_server(served_ws, monkeypatch, limits=limits) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"b" * 8192)
            sock.settimeout(30)
            assert sock.recv(65536).startswith(b"HTTP/1.1 400")
        assert httpx.get(f"{url}/api/v1/health").status_code == 200


@pytest.mark.slow
def test_several_workers_start_and_serve(served_ws: Path):
    """Workers get the server's options (the head-timeout protocol travels to spawned processes)
    and time to start: on a busy machine they took longer than uvicorn's 5 s health check and
    were killed as they started."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "revteam", "-w", str(served_ws), "serve"]
    command += ["--port", str(port), "--workers", "2"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        try:
            deadline = time.monotonic() + 180
            answered = 0
            while answered < 4 and time.monotonic() < deadline and process.poll() is None:
                try:
                    answered += httpx.get(f"http://127.0.0.1:{port}/api/v1/health").is_success
                except httpx.TransportError:
                    time.sleep(0.5)
        finally:
            process.send_signal(signal.SIGINT)
            output, _ = process.communicate(timeout=60)
    assert answered == 4, output
    assert "died" not in output, output


def test_every_way_to_serve_goes_through_the_one_implementation():
    src = Path(revteam.__file__).parent
    runners = re.compile(r"uvicorn\.(run|Server|Config)\(")
    users = {
        p.relative_to(src).as_posix() for p in src.rglob("*.py") if runners.search(p.read_text())
    }
    assert users == {"app/server.py"}


# --- Sessions end after inactivity ---------------------------------------------------------------


def _last_seen(ws: Path, minutes_ago: float) -> None:
    with open_app(ws) as state, state.db.session(write=True) as s:
        s.execute(
            update(WebSession).values(last_seen_at=utcnow() - dt.timedelta(minutes=minutes_ago))
        )


def test_an_idle_session_ends(tmp_path: Path):
    app, members = empty_app(tmp_path, session_idle_minutes=30)
    with TestClient(app) as client:
        assert sign_in(client, members["viewer"].email).status_code == 303
        _last_seen(tmp_path / "ws", 10)  # active ten minutes ago: still signed in
        assert client.get("/api/v1/me").status_code == 200
        with open_app(tmp_path / "ws") as state, state.db.session() as s:
            seen = s.scalar(select(WebSession.last_seen_at))
        assert seen is not None and utcnow() - seen < dt.timedelta(minutes=5)  # refreshed
        _last_seen(tmp_path / "ws", 31)
        assert client.get("/api/v1/me").status_code == 401
        r = client.get("/", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")


# --- Files the workspace creates are its owner's alone -------------------------------------------


@pytest.mark.skipif(not hasattr(stat, "S_IMODE"), reason="POSIX modes")
def test_a_new_workspace_is_private(tmp_path: Path):
    def mode(p: Path) -> int:
        return stat.S_IMODE(p.stat().st_mode)

    with revteam.init(tmp_path / "ws") as ws:
        root = ws.root
    open_app(root).close()
    load_secret_key(root)
    assert mode(root) == 0o700 and mode(root / "metrics") == 0o700
    for name in ("warehouse.duckdb", "revteam.db", ".revteam-secret"):
        assert mode(root / name) == 0o600, name
    wal = root / "warehouse.duckdb.wal"
    assert not wal.exists() or mode(wal) == 0o600


# --- Errors never show the server's files ---------------------------------------------------------


def _failing_app(tmp_path: Path, error: Exception):
    with revteam.init(tmp_path / "ws"):
        pass
    members = add_members(tmp_path / "ws")

    def opener(root: Path):
        raise error

    options = WebOptions(warm=False, idle_seconds=30, opener=opener)
    return create_app(tmp_path / "ws", options=options), members


def test_a_server_failure_shows_an_error_id_not_the_detail(tmp_path: Path, caplog):
    root = (tmp_path / "ws").resolve()
    error = ConfigError(f"Cannot open the warehouse {root}/warehouse.duckdb: disk on fire")
    app, members = _failing_app(tmp_path, error)
    with TestClient(app) as client, caplog.at_level(logging.ERROR, logger="revteam.web"):
        r = client.get("/api/v1/query?metrics=leads", headers=members["viewer"].bearer)
        assert r.status_code == 500
        body = r.json()
        assert str(tmp_path) not in r.text and "disk on fire" not in r.text
        assert (
            re.fullmatch(r"[0-9a-f]{8}", body["error_id"]) and body["error_id"] in body["message"]
        )
        assert sign_in(client, members["viewer"].email).status_code == 303
        page = client.get("/")
        assert page.status_code == 500 and str(tmp_path) not in page.text
        assert "logged as error" in page.text
    logged = caplog.text
    assert body["error_id"] in logged and "disk on fire" in logged and str(root) in logged


def test_an_unexpected_failure_shows_an_error_id(tmp_path: Path, caplog):
    app, members = _failing_app(tmp_path, RuntimeError(f"boom in {tmp_path}"))
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/api/v1/query?metrics=leads", headers=members["viewer"].bearer)
    assert r.status_code == 500 and str(tmp_path) not in r.text
    assert r.json()["error_id"] in caplog.text


def test_client_errors_name_files_relative_to_the_workspace(tmp_path: Path):
    root = (tmp_path / "ws").resolve()
    app, members = _failing_app(tmp_path, WarehouseBusyError(root / "warehouse.duckdb"))
    with TestClient(app, headers=members["viewer"].bearer) as client:
        r = client.get("/api/v1/query?metrics=leads")
    assert r.status_code == 503 and str(tmp_path) not in r.text
    assert "The warehouse warehouse.duckdb is locked" in r.json()["message"]


# --- HEAD answers like GET, without the body ------------------------------------------------------


def _page_paths(app) -> list[str]:
    """Every page a browser can GET, with sample parameters, from the app's own routes."""
    samples = {"/records": "/records?metric=leads", "/records.csv": "/records.csv?metric=leads"}
    out = []
    for method, template in app_routes(app):
        path = template.replace("{metric}", "lead_conversion_rate")
        if method == "GET" and not path.startswith("/api/") and "{" not in path:
            out.append(samples.get(path, path))
    return sorted(out)


def test_head_on_every_page_answers_like_get_without_a_body(app, browser_of, anon):
    admin = browser_of["admin"]
    paths = _page_paths(app)
    assert {"/", "/funnel", "/campaigns", "/account", "/login", "/data"} <= set(paths)
    varying = {"content-length", "set-cookie", "date"}
    for path in paths:
        client = anon if path == "/login" else admin
        got = client.get(path, follow_redirects=False)
        head = client.head(path, follow_redirects=False)
        assert head.status_code == got.status_code == 200, (path, head.status_code)
        assert head.content == b"", path
        assert {k: v for k, v in head.headers.items() if k not in varying} == {
            k: v for k, v in got.headers.items() if k not in varying
        }, path
    assert anon.head("/api/v1/health").status_code == 200
    assert anon.head("/", follow_redirects=False).status_code == 303
