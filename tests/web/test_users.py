"""Users, sign-in, lock-out, sessions and API tokens (the application layer, no HTTP)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from tests.web.conftest import Clock

import revteam
from revteam.app import CLI, AppState, ThrottlePolicy, demo_sign_in, open_app
from revteam.app.models import utcnow
from revteam.exceptions import (
    AuthenticationError,
    PasswordPolicyError,
    TooManyAttemptsError,
    UnknownUserError,
    UserError,
    UserExistsError,
)

PASSWORD = "a perfectly fine passphrase"


@pytest.fixture
def app(tmp_path: Path):
    with revteam.init(tmp_path / "ws"):
        pass
    policy = ThrottlePolicy(pair_failures=3, ip_failures=6, base_seconds=30, max_seconds=120)
    state = open_app(tmp_path / "ws", throttle=policy, clock=Clock())
    yield state
    state.close()


def test_add_list_update_disable(app: AppState):
    user, generated = app.users.add("Ann@Example.com", name="Ann", role="editor", team="sales")
    assert user.email == "ann@example.com" and generated and len(generated) >= 16
    assert [u.email for u in app.users.list()] == ["ann@example.com"]
    changed = app.users.update("ann@example.com", role="viewer", team="marketing")
    assert (changed.role, changed.team) == ("viewer", "marketing")
    assert not app.users.disable(user.id).is_active
    with pytest.raises(UserExistsError):
        app.users.add("ann@example.com")
    with pytest.raises(UnknownUserError):
        app.users.get("nobody@example.com")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"email": "not-an-email"}, UserError),
        ({"email": "a@example.com", "role": "owner"}, UserError),
        ({"email": "a@example.com", "team": "finance"}, UserError),
        ({"email": "a@example.com", "password": "short"}, PasswordPolicyError),
        ({"email": "a@example.com", "password": "aaaaaaaaaaaa"}, PasswordPolicyError),
        ({"email": "jonathan@example.com", "password": "jonathan-2025!"}, PasswordPolicyError),
    ],
)
def test_bad_users_are_refused_with_reasons(app: AppState, kwargs, error):
    email = kwargs.pop("email")
    with pytest.raises(error):
        app.users.add(email, **kwargs)


def test_passwords_are_stored_as_argon2id_only(app: AppState):
    app.users.add("b@example.com", password=PASSWORD)
    with app.db.session() as s:
        stored = s.execute(text("SELECT password_hash FROM users")).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_authenticate_gives_one_generic_message(app: AppState):
    app.users.add("c@example.com", password=PASSWORD)
    assert app.users.authenticate("C@example.com ", PASSWORD).email == "c@example.com"
    with pytest.raises(AuthenticationError) as wrong_password:
        app.users.authenticate("c@example.com", "wrong password!!")
    with pytest.raises(AuthenticationError) as no_account:
        app.users.authenticate("nobody@example.com", PASSWORD)
    assert str(wrong_password.value) == str(no_account.value) == "Wrong e-mail or password."
    app.users.disable("c@example.com")
    with pytest.raises(AuthenticationError, match="Wrong e-mail or password"):
        app.users.authenticate("c@example.com", PASSWORD)


def test_lockout_per_account_and_address_grows_exponentially(app: AppState):
    app.users.add("d@example.com", password=PASSWORD)
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            app.users.authenticate("d@example.com", "nope nope nope", ip="10.0.0.1")
    with pytest.raises(TooManyAttemptsError) as locked:
        app.users.authenticate("d@example.com", PASSWORD, ip="10.0.0.1")  # even the right one
    assert locked.value.retry_after == 30
    assert app.users.authenticate("d@example.com", PASSWORD, ip="10.0.0.2")  # another address
    # One more failure once the wait ends doubles it.
    app.throttle.clock.advance(31)
    with pytest.raises(AuthenticationError):
        app.users.authenticate("d@example.com", "nope nope nope", ip="10.0.0.1")
    with pytest.raises(TooManyAttemptsError) as doubled:
        app.users.authenticate("d@example.com", PASSWORD, ip="10.0.0.1")
    assert doubled.value.retry_after == 60


def test_lockout_per_address_covers_many_accounts(app: AppState):
    for i in range(6):
        with pytest.raises(AuthenticationError):
            app.users.authenticate(f"guess{i}@example.com", "whatever it is", ip="10.9.9.9")
    app.users.add("e@example.com", password=PASSWORD)
    with pytest.raises(TooManyAttemptsError):
        app.users.authenticate("e@example.com", PASSWORD, ip="10.9.9.9")
    assert app.users.authenticate("e@example.com", PASSWORD, ip="10.1.1.1")


def test_reset_password_clears_lockout_and_sessions(app: AppState):
    user, _ = app.users.add("f@example.com", password=PASSWORD)
    session = app.sessions.create(user.id)
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            app.users.authenticate("f@example.com", "nope nope nope")
    _, new = app.users.reset_password("f@example.com")
    assert app.sessions.resolve(session) is None
    assert app.users.authenticate("f@example.com", new).email == "f@example.com"


def test_the_last_admin_cannot_be_removed(app: AppState):
    app.users.add("boss@example.com", role="admin")
    with pytest.raises(UserError, match="no active admin"):
        app.users.update("boss@example.com", role="viewer")
    with pytest.raises(UserError, match="no active admin"):
        app.users.disable("boss@example.com")
    app.users.add("boss2@example.com", role="admin")
    assert not app.users.disable("boss@example.com").is_active


def test_tokens_are_hashed_at_rest_and_stop_working(app: AppState):
    user, _ = app.users.add("g@example.com", role="viewer")
    info, token = app.tokens.create(user.id, "notebook", actor=CLI)
    assert token.startswith("rvt_") and info.prefix == token[:12]
    with app.db.session() as s:
        stored = s.execute(text("SELECT token_hash FROM api_tokens")).scalar_one()
    assert token not in stored and len(stored) == 64
    assert app.tokens.resolve(token).email == "g@example.com"
    assert app.tokens.resolve(token + "x") is None
    assert app.tokens.resolve("not-a-token") is None
    app.tokens.revoke(user.id, info.id, actor=CLI)
    assert app.tokens.resolve(token) is None
    _, second = app.tokens.create(user.id, "other", actor=CLI)
    app.users.update(user.id, active=False)
    assert app.tokens.resolve(second) is None
    with pytest.raises(UnknownUserError):
        app.tokens.revoke(user.id + 99, info.id, actor=CLI)


def test_expired_tokens_and_sessions_are_refused(app: AppState):
    user, _ = app.users.add("h@example.com")
    _, token = app.tokens.create(user.id, "short-lived", days=1, actor=CLI)
    session = app.sessions.create(user.id)
    with app.db.session(write=True) as s:
        s.execute(text("UPDATE api_tokens SET expires_at = :t"), {"t": utcnow()})
        s.execute(text("UPDATE web_sessions SET expires_at = :t"), {"t": utcnow()})
    assert app.tokens.resolve(token) is None
    assert app.sessions.resolve(session) is None


def test_audit_log_records_who_did_what(app: AppState):
    app.users.add("i@example.com", password=PASSWORD)
    app.users.authenticate("i@example.com", PASSWORD, ip="10.0.0.7")
    actions = [(e.actor, e.action) for e in app.audit.list()]
    assert ("i@example.com", "login") in actions and ("cli", "user.add") in actions
    assert app.audit.count() == len(actions)


def test_demo_sign_in_creates_then_resets_the_demo_admin(tmp_path: Path):
    with revteam.init(tmp_path / "ws"):
        pass
    email, first = demo_sign_in(tmp_path / "ws")
    again, second = demo_sign_in(tmp_path / "ws")
    assert email == again and first != second
    with open_app(tmp_path / "ws") as app:
        assert app.users.authenticate(email, second).role == "admin"
