"""Sign-in over HTTP: cookies, CSRF, lock-out, tokens, roles, and that nothing is open."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from tests.web.conftest import PASSWORD, TestClient, csrf_of, empty_app, sign_in

from revteam.app import ThrottlePolicy

PUBLIC = {"/login", "/api/v1/health", "/vendor/vega-embed-{version}.js"}
SAMPLES = {
    "metric_id": "leads",
    "metric": "leads",
    "name": "channel",
    "user_id": "1",
    "token_id": "1",
}


def all_routes() -> list[tuple[str, APIRoute]]:
    """(path, route) of every page and API route, walking the app's own routers."""
    from revteam.web import pages, routes

    found = [("/api/v1" + r.path, r) for router in routes.ROUTERS for r in router.routes]
    found += [(r.path, r) for router in pages.ROUTERS for r in router.routes]
    found.append(("/api/v1/openapi.json", APIRoute("/openapi.json", lambda: None)))
    return found


def protected_routes(app) -> list[tuple[str, str]]:
    out = []
    for path, route in all_routes():
        if not isinstance(route, APIRoute) or path in PUBLIC:
            continue
        for key, value in SAMPLES.items():
            path = path.replace("{" + key + "}", value)
        for method in route.methods or {"GET"}:
            out.append((method, path))
    return sorted(out)


def test_every_route_but_login_and_health_needs_a_sign_in(app, anon: TestClient):
    routes = protected_routes(app)
    assert len(routes) > 30
    for method, path in routes:
        r = anon.request(method, path, follow_redirects=False)
        if path.startswith("/api/"):
            assert r.status_code == 401, (method, path, r.status_code)
            assert r.json()["error"] == "authentication"
            assert r.headers["www-authenticate"].startswith("Bearer")
        elif method == "GET":
            assert r.status_code == 303, (method, path)
            assert r.headers["location"].startswith("/login?next=")
        else:
            assert r.status_code in {303, 401, 403}, (method, path, r.status_code)
    assert anon.get("/api/v1/health").json()["status"] == "ok"


def test_bad_tokens_and_forged_cookies_are_refused(app, anon: TestClient):
    for header in ("Bearer rvt_not-a-real-token", "Bearer ", "Basic abc", "Bearer " + "x" * 500):
        r = anon.get("/api/v1/metrics", headers={"Authorization": header})
        assert r.status_code == 401, header
    forged = TestClient(app, cookies={"revteam_session": "abc.def"})
    assert forged.get("/api/v1/metrics").status_code == 401
    assert forged.get("/", follow_redirects=False).status_code == 303


def test_sign_in_sets_a_hardened_cookie_and_a_new_session(app, members):
    client = TestClient(app)
    r = sign_in(client, members["viewer"].email, next_url="/catalogue")
    assert r.status_code == 303 and r.headers["location"] == "/catalogue"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("revteam_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert client.get("/api/v1/me").json()["email"] == members["viewer"].email
    planted = TestClient(app, cookies={"revteam_session": "planted-by-someone.else"})
    again = sign_in(planted, members["viewer"].email)
    fresh = again.cookies["revteam_session"]
    assert fresh not in {"planted-by-someone.else", client.cookies["revteam_session"]}


def test_cookies_are_secure_over_https(app, members):
    client = TestClient(app, base_url="https://testserver")
    r = sign_in(client, members["viewer"].email)
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("revteam_session="))
    assert "Secure" in cookie
    assert "strict-transport-security" in client.get("/login").headers


def test_wrong_credentials_get_one_generic_message(app, members):
    client = TestClient(app)
    wrong = sign_in(client, members["viewer"].email, password="not the password")
    unknown = sign_in(client, "nobody@example.com")
    for r in (wrong, unknown):
        assert r.status_code == 401
        assert "Wrong e-mail or password." in r.text
    assert "revteam_session" not in client.cookies


def test_open_redirects_are_refused(app, members):
    for target in ("//evil.example/x", "https://evil.example", "/\\evil.example"):
        r = sign_in(TestClient(app), members["viewer"].email, next_url=target)
        assert r.headers["location"] == "/", target


def test_sign_in_form_needs_its_csrf_token(app, members):
    client = TestClient(app)
    client.get("/login")
    r = client.post(
        "/login",
        data={"email": members["viewer"].email, "password": PASSWORD, "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert r.status_code == 400 and "expired" in r.text
    other = TestClient(app)  # a token from someone else's form (another login cookie)
    token = csrf_of(other.get("/login").text)
    r = client.post(
        "/login",
        data={"email": members["viewer"].email, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 400


def test_forms_and_cookie_api_calls_need_the_session_csrf_token(browser_of, members):
    viewer = browser_of["viewer"]
    r = viewer.post("/account/tokens", data={"name": "x", "csrf_token": "wrong"})
    assert r.status_code == 403 and "CSRF" in r.text
    r = viewer.post("/api/v1/tokens", json={"name": "x"})
    assert r.status_code == 403 and r.json()["error"] == "csrf"
    token = csrf_of(viewer.get("/account").text)
    r = viewer.post("/api/v1/tokens", json={"name": "via-cookie"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 201


def test_roles_are_enforced(browser_of, members, anon: TestClient):
    viewer, editor = members["viewer"], members["editor"]
    for who in (viewer, editor):
        for path in ("/api/v1/users", "/api/v1/data/status", "/api/v1/audit"):
            r = anon.get(path, headers=who.bearer)
            assert r.status_code == 403, (who.role, path)
            assert "needs the admin role" in r.json()["message"]
        r = anon.post("/api/v1/users", json={"email": "z@example.com"}, headers=who.bearer)
        assert r.status_code == 403
    page = browser_of["viewer"].get("/data")
    assert page.status_code == 403 and "admin role" in page.text
    assert "/admin/users" not in browser_of["viewer"].get("/catalogue").text
    assert browser_of["admin"].get("/data").status_code == 200


def test_sign_out_ends_the_session(app, members):
    client = TestClient(app)
    sign_in(client, members["editor"].email)
    token = csrf_of(client.get("/account").text)
    cookie = client.cookies["revteam_session"]
    r = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    replay = TestClient(app, cookies={"revteam_session": cookie})
    assert replay.get("/api/v1/me").status_code == 401


def test_lockout_over_http(tmp_path: Path):
    app, members = empty_app(tmp_path, throttle=ThrottlePolicy(pair_failures=2, ip_failures=50))
    with TestClient(app) as client:
        for _ in range(2):
            assert sign_in(client, members["viewer"].email, "wrong password!").status_code == 401
        locked = sign_in(client, members["viewer"].email)
        assert locked.status_code == 429 and locked.headers["retry-after"] == "30"
        assert re.search(r"Try again in \d+ s", locked.text)


def test_disabling_a_user_cuts_their_sessions_and_tokens(tmp_path: Path):
    app, members = empty_app(tmp_path)
    with TestClient(app) as admin, TestClient(app) as editor:
        sign_in(admin, members["admin"].email)
        sign_in(editor, members["editor"].email)
        assert editor.get("/api/v1/me").status_code == 200
        users = admin.get("/api/v1/users").json()["items"]
        uid = next(u["id"] for u in users if u["email"] == members["editor"].email)
        token = csrf_of(admin.get("/account").text)
        r = admin.patch(
            f"/api/v1/users/{uid}", json={"active": False}, headers={"X-CSRF-Token": token}
        )
        assert r.status_code == 200 and r.json()["is_active"] is False
        assert editor.get("/api/v1/me").status_code == 401
        assert admin.get("/api/v1/me", headers=members["editor"].bearer).status_code == 401


def test_security_headers(anon: TestClient):
    headers = anon.get("/login").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("path", ["/", "/records?metric=leads"])
def test_sign_in_returns_to_the_page_asked_for(app, members, path):
    client = TestClient(app)
    first = client.get(path, follow_redirects=False)
    next_url = first.headers["location"].split("next=")[1]
    from urllib.parse import unquote

    assert (
        sign_in(client, members["viewer"].email, next_url=unquote(next_url)).headers["location"]
        == path
    )
