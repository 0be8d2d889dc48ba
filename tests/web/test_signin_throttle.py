"""The sign-in throttle cannot be turned against users (issue 12, finding 2).

Failures are counted per (account, address) pair and per address, atomically, before the
password is checked: a wrong-password flood from one address makes that address wait, never the
account's owner elsewhere; admins unlock; waits and unlocks are in the audit log.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from tests.web.conftest import PASSWORD, Clock, TestClient, csrf_of, empty_app, sign_in
from typer.testing import CliRunner

import revteam
from revteam.app import AppState, ThrottlePolicy, credentials, hashing, open_app
from revteam.cli import app as cli
from revteam.exceptions import AuthenticationError, HashingBusyError, TooManyAttemptsError

WRONG = "not the password at all"
ADMIN = "boss@example.com"
OWNER = "owner@example.com"


@pytest.fixture
def state(tmp_path: Path):
    with revteam.init(tmp_path / "ws"):
        pass
    app = open_app(tmp_path / "ws", clock=Clock())  # the default policy: 5 per pair, 20 per address
    app.users.add(ADMIN, role="admin", password=PASSWORD)
    app.users.add(OWNER, password=PASSWORD)
    yield app
    app.close()


def fail(app: AppState, email: str, ip: str, times: int = 1) -> None:
    for _ in range(times):
        with pytest.raises(AuthenticationError) as failed:
            app.users.authenticate(email, WRONG, ip=ip)
        assert not isinstance(failed.value, TooManyAttemptsError)


def wait_of(app: AppState, email: str, ip: str, password: str = PASSWORD) -> int:
    with pytest.raises(TooManyAttemptsError) as waiting:
        app.users.authenticate(email, password, ip=ip)
    return waiting.value.retry_after


def test_failures_from_one_address_do_not_lock_out_the_owner_elsewhere(state: AppState):
    fail(state, ADMIN, "198.51.100.7", times=5)
    assert wait_of(state, ADMIN, "198.51.100.7") == 30  # the right password, the failing address
    assert state.users.authenticate(ADMIN, PASSWORD, ip="10.1.2.3").email == ADMIN
    assert state.users.authenticate(OWNER, PASSWORD, ip="198.51.100.7").email == OWNER


def test_the_failing_pair_waits_longer_after_each_further_failure(state: AppState):
    clock = state.throttle.clock
    fail(state, OWNER, "198.51.100.7", times=5)
    waits = [wait_of(state, OWNER, "198.51.100.7")]
    for _ in range(6):
        clock.advance(waits[-1])  # the wait is over: one more try, which fails
        fail(state, OWNER, "198.51.100.7")
        waits.append(wait_of(state, OWNER, "198.51.100.7"))
    assert waits == [30, 60, 120, 240, 480, 900, 900]
    clock.advance(900 + 901)  # failures are forgotten a while after the last wait
    assert state.users.authenticate(OWNER, PASSWORD, ip="198.51.100.7").email == OWNER


def test_the_per_address_limit_covers_every_account(state: AppState):
    for i in range(20):
        fail(state, f"guess{i}@example.com", "203.0.113.9")
    assert wait_of(state, OWNER, "203.0.113.9") == 30
    assert state.users.authenticate(OWNER, PASSWORD, ip="203.0.113.10").email == OWNER


def test_a_success_takes_back_only_its_own_count(state: AppState):
    """Signing in to one's own account must not wipe an address's guesses at others."""
    for i in range(19):
        fail(state, f"guess{i}@example.com", "203.0.113.9")
    assert state.users.authenticate(OWNER, PASSWORD, ip="203.0.113.9").email == OWNER
    fail(state, "guess19@example.com", "203.0.113.9")
    assert wait_of(state, OWNER, "203.0.113.9") == 30


def test_a_right_password_clears_its_pair(state: AppState):
    fail(state, OWNER, "198.51.100.7", times=4)
    state.users.authenticate(OWNER, PASSWORD, ip="198.51.100.7")
    fail(state, OWNER, "198.51.100.7", times=4)  # four more before any wait: the count restarted
    assert state.users.authenticate(OWNER, PASSWORD, ip="198.51.100.7").email == OWNER


def test_an_attempt_whose_password_was_never_checked_is_not_counted(state: AppState, monkeypatch):
    fail(state, OWNER, "198.51.100.7", times=4)

    def busy(password_hash: str, password: str) -> bool:
        raise HashingBusyError

    with monkeypatch.context() as patched:
        patched.setattr(credentials, "verify_password", busy)
        for _ in range(3):  # the fifth attempt, three times: each taken back
            with pytest.raises(HashingBusyError):
                state.users.authenticate(OWNER, WRONG, ip="198.51.100.7")
    assert state.users.authenticate(OWNER, PASSWORD, ip="198.51.100.7").email == OWNER


def test_an_admin_unlocks_and_both_are_in_the_audit_log(state: AppState):
    fail(state, OWNER, "198.51.100.7", times=5)
    fail(state, OWNER, "198.51.100.8", times=5)
    assert {(t.account, t.address) for t in state.throttle.recent() if t.locked_until} == {
        (OWNER, "198.51.100.7"),
        (OWNER, "198.51.100.8"),
    }
    _, cleared = state.users.unlock(OWNER)
    assert cleared == 2 and not [t for t in state.throttle.recent() if t.account == OWNER]
    assert state.users.authenticate(OWNER, PASSWORD, ip="198.51.100.7").email == OWNER
    entries = state.audit.list()
    throttled = [e for e in entries if e.action == "login.throttled"]
    assert {e.ip for e in throttled} == {"198.51.100.7", "198.51.100.8"}
    assert throttled[0].target == OWNER and throttled[0].detail["wait_seconds"] == 30
    assert any(e.action == "user.unlock" and e.target == OWNER for e in entries)


class CountingHasher(PasswordHasher):
    """argon2id at test strength that counts how many passwords it checked."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.checked = 0
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        with self._lock:
            self.checked += 1
        return super().verify(hash, password)


def parallel_failures(state: AppState, emails: list[str], ip: str) -> list[str]:
    start = threading.Barrier(len(emails))

    def one(email: str) -> str:
        start.wait()
        try:
            state.users.authenticate(email, WRONG, ip=ip)
        except TooManyAttemptsError:
            return "throttled"
        except AuthenticationError:
            return "failed"
        return "signed in"

    with ThreadPoolExecutor(len(emails)) as pool:
        return list(pool.map(one, emails))


@pytest.mark.parametrize(
    ("accounts", "limit"), [("many", 20), ("one", 5)], ids=["per-address", "per-pair"]
)
def test_parallel_failures_never_check_more_passwords_than_the_limit(
    state: AppState, monkeypatch, accounts: str, limit: int
):
    hasher = CountingHasher()
    monkeypatch.setattr(credentials, "hasher", hasher)
    monkeypatch.setattr(hashing, "gate", hashing.HashingGate(30))  # only the throttle limits
    emails = [f"guess{i}@example.com" if accounts == "many" else OWNER for i in range(30)]
    outcomes = parallel_failures(state, emails, "203.0.113.50")
    assert hasher.checked == limit
    assert outcomes.count("failed") == limit and outcomes.count("throttled") == 30 - limit


def web_app(tmp_path: Path, policy: ThrottlePolicy):
    """An empty web app whose sign-in throttle reads a clock that stands still."""
    app, members = empty_app(tmp_path, throttle=policy)
    app.state.runtime.app.throttle.clock = Clock()
    return app, members


def test_over_http_a_throttled_address_gets_429_and_another_gets_in(tmp_path: Path):
    app, members = web_app(tmp_path, ThrottlePolicy(pair_failures=3))
    email = members["admin"].email
    with TestClient(app, client=("198.51.100.7", 50000)) as attacker:
        for _ in range(3):
            assert sign_in(attacker, email, WRONG).status_code == 401
        locked = sign_in(attacker, email)
        assert locked.status_code == 429 and locked.headers["retry-after"] == "30"
        assert "Try again in 30 s" in locked.text
        owner = TestClient(app, client=("10.1.2.3", 50000))
        assert sign_in(owner, email).status_code == 303
        uid = owner.get("/api/v1/me").json()["id"]
        page = owner.get("/admin/users")
        assert 'data-throttle="admin@example.com"' in page.text and "198.51.100.7" in page.text
        unlocked = owner.post(f"/admin/users/{uid}/unlock", data={"csrf_token": csrf_of(page.text)})
        assert "Unlocked admin@example.com" in unlocked.text
        assert 'data-throttle="admin@example.com"' not in unlocked.text
        assert sign_in(attacker, email).status_code == 303


def test_admins_unlock_over_the_api_and_the_cli(tmp_path: Path):
    app, members = web_app(tmp_path, ThrottlePolicy(pair_failures=2))
    viewer = members["viewer"].email
    with TestClient(app, client=("198.51.100.7", 50000)) as client:
        for _ in range(2):
            sign_in(client, viewer, WRONG)
        assert sign_in(client, viewer).status_code == 429
        admin = TestClient(app, headers=members["admin"].bearer)
        uid = next(
            u["id"] for u in admin.get("/api/v1/users").json()["items"] if u["email"] == viewer
        )
        denied = TestClient(app, headers=members["editor"].bearer).post(
            f"/api/v1/users/{uid}/unlock"
        )
        assert denied.status_code == 403
        r = admin.post(f"/api/v1/users/{uid}/unlock")
        assert r.status_code == 200 and r.json()["cleared"] == 1
        assert sign_in(client, viewer).status_code == 303
        for _ in range(2):
            sign_in(TestClient(app, client=("198.51.100.7", 50000)), viewer, WRONG)
    result = CliRunner().invoke(cli, ["-w", str(tmp_path / "ws"), "users", "unlock", viewer])
    assert result.exit_code == 0 and "Unlocked viewer@example.com (1 address" in result.output
    missing = CliRunner().invoke(cli, ["-w", str(tmp_path / "ws"), "users", "unlock", "x@y.z"])
    assert missing.exit_code == 2 and "No user" in missing.output
    with open_app(tmp_path / "ws") as state:
        actions = [(e.actor, e.action) for e in state.audit.list()]
    assert ("cli", "user.unlock") in actions and ("admin@example.com", "user.unlock") in actions
