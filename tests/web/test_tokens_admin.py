"""API tokens end with their user's credentials; admins see and revoke everyone's (finding 3)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import text
from tests.web.conftest import PASSWORD, TestClient, csrf_of, empty_app, sign_in
from typer.testing import CliRunner

import revteam
from revteam.app import CLI, AppState, open_app, upgrade
from revteam.app.models import utcnow
from revteam.cli import app as cli
from revteam.storage import AppDatabase

NEW_PASSWORD = "plum orbit lantern seventeen"


@pytest.fixture
def state(tmp_path: Path):
    with revteam.init(tmp_path / "ws"):
        pass
    app = open_app(tmp_path / "ws")
    yield app
    app.close()


def reasons(app: AppState, user_id: int) -> dict[int, str | None]:
    return {t.id: t.revoked_reason for t in app.tokens.list(user_id)}


def test_tokens_die_with_a_password_change_reset_or_disable_and_stay_dead(state: AppState):
    user, _ = state.users.add("ann@example.com", password=PASSWORD)
    state.users.add("boss@example.com", role="admin")
    first, changed = state.tokens.create(user.id, "laptop", actor=CLI)
    state.users.change_password(user.id, PASSWORD, NEW_PASSWORD)
    assert state.tokens.resolve(changed) is None
    second, reset = state.tokens.create(user.id, "ci", actor=CLI)
    state.users.reset_password(user.id)
    assert state.tokens.resolve(reset) is None
    third, disabled = state.tokens.create(user.id, "notebook", actor=CLI)
    state.users.disable(user.id)
    state.users.update(user.id, active=True)
    assert state.tokens.resolve(disabled) is None  # re-enabling revives nothing
    assert reasons(state, user.id) == {
        first.id: "password changed",
        second.id: "password reset",
        third.id: "user disabled",
    }
    _, fresh = state.tokens.create(user.id, "new", actor=CLI)
    assert state.tokens.resolve(fresh).email == "ann@example.com"
    logged = {e.action: e.detail for e in state.audit.list() if e.target == "ann@example.com"}
    assert logged["user.change_password"]["tokens_revoked"] == 1
    assert logged["user.reset_password"]["tokens_revoked"] == 1


def test_changing_ones_password_on_the_account_page_revokes_ones_tokens(tmp_path: Path):
    app, members = empty_app(tmp_path)
    viewer = members["viewer"]
    with TestClient(app) as browser:
        assert browser.get("/api/v1/me", headers=viewer.bearer).status_code == 200
        sign_in(browser, viewer.email)
        page = browser.get("/account").text
        r = browser.post(
            "/account/password",
            data={"current": PASSWORD, "new": NEW_PASSWORD, "csrf_token": csrf_of(page)},
        )
        assert r.status_code == 200 and "API tokens were revoked" in r.text
        assert "password changed" in r.text  # the token list says why
        assert browser.get("/api/v1/me", headers=viewer.bearer).status_code == 401


def test_an_admin_reset_or_disable_over_the_api_revokes_tokens_for_good(tmp_path: Path):
    app, members = empty_app(tmp_path)
    with TestClient(app, headers=members["admin"].bearer) as admin:
        ids = {u["email"]: u["id"] for u in admin.get("/api/v1/users").json()["items"]}
        editor, viewer = members["editor"], members["viewer"]
        assert admin.post(f"/api/v1/users/{ids[editor.email]}/reset-password").status_code == 200
        assert admin.get("/api/v1/me", headers=editor.bearer).status_code == 401
        uid = ids[viewer.email]
        assert admin.patch(f"/api/v1/users/{uid}", json={"active": False}).status_code == 200
        assert admin.patch(f"/api/v1/users/{uid}", json={"active": True}).status_code == 200
        assert admin.get("/api/v1/me", headers=viewer.bearer).status_code == 401


def test_admins_list_and_revoke_any_users_tokens_over_the_api(tmp_path: Path):
    app, members = empty_app(tmp_path)
    viewer = members["viewer"]
    with TestClient(app, headers=members["admin"].bearer) as admin:
        assert admin.get("/api/v1/me", headers=viewer.bearer).status_code == 200  # a use
        listed = admin.get("/api/v1/admin/tokens").json()
        assert listed["total"] == 3 and {t["user_email"] for t in listed["items"]} == {
            m.email for m in members.values()
        }
        [mine] = [t for t in listed["items"] if t["user_email"] == viewer.email]
        assert mine["active"] and mine["last_used_at"] and mine["created_at"]
        assert "expires_at" in mine and "secret" not in mine and "token_hash" not in mine
        only = admin.get("/api/v1/admin/tokens", params={"user_id": mine["user_id"]}).json()
        assert [t["id"] for t in only["items"]] == [mine["id"]]
        for who in ("viewer", "editor"):
            other = TestClient(app, headers=members[who].bearer)
            assert other.get("/api/v1/admin/tokens").status_code == 403
            assert other.delete(f"/api/v1/admin/tokens/{mine['id']}").status_code == 403
        revoked = admin.delete(f"/api/v1/admin/tokens/{mine['id']}").json()
        assert not revoked["active"] and revoked["revoked_reason"] == "revoked by admin"
        assert admin.get("/api/v1/me", headers=viewer.bearer).status_code == 401
        dead = admin.get("/api/v1/admin/tokens", params={"active": False}).json()["items"]
        assert [t["id"] for t in dead] == [mine["id"]]
        assert admin.delete("/api/v1/admin/tokens/99999").status_code == 404
        audit = admin.get("/api/v1/audit", params={"limit": 1}).json()["items"][0]
        assert (audit["actor"], audit["action"]) == (members["admin"].email, "token.revoke")
        paths = admin.get("/api/v1/openapi.json").json()["paths"]
        assert {"/api/v1/admin/tokens", "/api/v1/admin/tokens/{token_id}"} <= set(paths)


def test_admins_see_and_revoke_tokens_on_the_tokens_page(tmp_path: Path):
    app, members = empty_app(tmp_path)
    viewer = members["viewer"]
    with TestClient(app) as browser:
        browser.get("/api/v1/me", headers=viewer.bearer)
        sign_in(browser, members["admin"].email)
        page = browser.get("/admin/tokens")
        assert page.status_code == 200 and viewer.email in page.text
        assert viewer.token[:12] in page.text and viewer.token not in page.text
        mine = rf'data-token-id="(\d+)"><td>{re.escape(viewer.email)}<.*?</tr>'
        row = re.search(mine, page.text, flags=re.S)
        assert row and re.search(r'<td title="\d{4}-\d\d-\d\d \d\d:\d\d">', row.group(0))  # used
        tid = row.group(1)
        assert browser.get("/admin/tokens", params={"user_id": ""}).text.count("data-token-id") == 3
        uid = browser.get("/api/v1/me", headers=viewer.bearer).json()["id"]
        one = browser.get("/admin/tokens", params={"user_id": uid}).text
        assert one.count("data-token-id") == 1 and f'data-token-id="{tid}"' in one
        r = browser.post(f"/admin/tokens/{tid}/revoke", data={"csrf_token": csrf_of(page.text)})
        assert r.status_code == 200 and f"of {viewer.email}" in r.text
        assert "revoked by admin" in r.text
        assert browser.get("/api/v1/me", headers=viewer.bearer).status_code == 401
        forged = browser.post(f"/admin/tokens/{tid}/revoke", data={"csrf_token": "forged"})
        assert forged.status_code == 403
    with TestClient(app) as editor:
        sign_in(editor, members["editor"].email)
        assert editor.get("/admin/tokens").status_code == 403


def test_last_use_is_written_at_most_once_a_minute(state: AppState):
    user, _ = state.users.add("ann@example.com")
    info, token = state.tokens.create(user.id, "laptop", actor=CLI)
    assert info.last_used_at is None
    state.tokens.resolve(token)
    [first] = state.tokens.list(user.id)
    assert first.last_used_at is not None
    state.tokens.resolve(token)
    assert state.tokens.list(user.id)[0].last_used_at == first.last_used_at
    earlier = utcnow() - dt.timedelta(minutes=2)
    with state.db.session(write=True) as s:
        s.execute(text("UPDATE api_tokens SET last_used_at = :t"), {"t": earlier})
    state.tokens.resolve(token)
    assert state.tokens.list(user.id)[0].last_used_at > earlier


def test_the_cli_lists_and_revokes_every_users_tokens(tmp_path: Path):
    _, members = empty_app(tmp_path)

    def run(*args: str):
        return CliRunner().invoke(cli, ["-w", str(tmp_path / "ws"), "tokens", *args])

    rows = json.loads(run("list", "--format", "json").stdout)
    assert {r["user"] for r in rows} == {m.email for m in members.values()}
    assert {r["status"] for r in rows} == {"active"}
    [viewers] = json.loads(run("list", "--user", "viewer@example.com", "--format", "json").stdout)
    revoked = run("revoke", str(viewers["id"]))
    assert revoked.exit_code == 0 and "of viewer@example.com" in revoked.output
    [after] = json.loads(run("list", "--user", "viewer@example.com", "--format", "json").stdout)
    assert after["status"] == "revoked by admin"
    missing = run("revoke", "99999")
    assert missing.exit_code == 2 and "No API token" in missing.output


def test_the_upgrade_revokes_tokens_that_outlived_their_credentials(tmp_path: Path):
    db = AppDatabase(f"sqlite:///{tmp_path / 'app.db'}")
    upgrade(db, "0001")
    day = dt.datetime(2026, 1, 5)
    with db.session(write=True) as s:
        for uid, active, changed in (
            (1, True, day),
            (2, False, day),
            (3, True, day.replace(day=9)),
        ):
            s.execute(
                text(
                    "INSERT INTO users (id, email, name, password_hash, role, team, is_active, "
                    "created_at, password_changed_at) VALUES (:id, :e, 'x', 'h', 'viewer', "
                    "'revops', :a, :d, :c)"
                ),
                {"id": uid, "e": f"u{uid}@example.com", "a": active, "d": day, "c": changed},
            )
            s.execute(
                text(
                    "INSERT INTO api_tokens (user_id, name, prefix, token_hash, created_at) "
                    "VALUES (:id, 't', 'rvt_', :h, :d)"
                ),
                {"id": uid, "h": f"{uid:064d}", "d": day.replace(day=6)},
            )
    upgrade(db)
    with db.session() as s:
        found = dict(s.execute(text("SELECT user_id, revoked_reason FROM api_tokens")).all())
    assert found == {1: None, 2: "user disabled", 3: "password changed"}
    db.dispose()
