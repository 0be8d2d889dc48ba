"""``revteam serve``, ``db upgrade`` and ``users …``: thin commands and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from revteam.app import open_app, server
from revteam.cli import app

runner = CliRunner()


@pytest.fixture
def ws_dir(tmp_path: Path) -> Path:
    assert runner.invoke(app, ["init", str(tmp_path / "ws")]).exit_code == 0
    return tmp_path / "ws"


def run(ws: Path, *args: str, input: str | None = None):
    return runner.invoke(app, ["-w", str(ws), *args], input=input)


def test_users_add_list_disable_reset(ws_dir: Path):
    added = run(ws_dir, "users", "add", "Boss@Example.com", "--role", "admin", "--team", "sales")
    assert added.exit_code == 0, added.output
    password = added.output.split("(shown once): ")[1].split()[0]
    with open_app(ws_dir) as state:
        assert state.users.authenticate("boss@example.com", password).role == "admin"
    given = run(
        ws_dir,
        "users",
        "add",
        "v@example.com",
        "--password-stdin",
        input="a long enough passphrase\n",
    )
    assert given.exit_code == 0 and "shown once" not in given.output
    listed = run(ws_dir, "users", "list", "--format", "json")
    rows = json.loads(listed.stdout)
    assert [(r["email"], r["role"]) for r in rows] == [
        ("boss@example.com", "admin"),
        ("v@example.com", "viewer"),
    ]
    assert run(ws_dir, "users", "disable", "v@example.com").exit_code == 0
    reset = run(ws_dir, "users", "reset-password", "v@example.com")
    assert reset.exit_code == 0 and "shown once" in reset.output


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["users", "add", "x@example.com", "--role", "owner"], 2, "Unknown role"),
        (["users", "disable", "nobody@example.com"], 2, "No user"),
        (["users", "reset-password", "nobody@example.com"], 2, "No user"),
    ],
)
def test_user_errors_are_messages_with_exit_codes(ws_dir: Path, args, code, text):
    result = run(ws_dir, *args)
    assert result.exit_code == code and text in result.output


def test_db_upgrade(ws_dir: Path):
    import revteam.app

    versions = Path(revteam.app.__file__).parent / "migrations" / "versions"
    head = max(p.name[1:5] for p in versions.glob("v*.py"))  # v0004_action_items.py -> 0004
    result = run(ws_dir, "db", "upgrade")
    assert result.exit_code == 0 and f"revision {head}" in result.output


def test_serve_prepares_once_then_hands_uvicorn_the_factory(ws_dir: Path, monkeypatch):
    import uvicorn

    monkeypatch.setenv("REVTEAM_WORKSPACE", "restored after the test")  # serve sets it
    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda target, **kw: seen.update(target=target, **kw))
    result = run(ws_dir, "serve", "--port", "8123", "--workers", "2")
    assert result.exit_code == 0, result.output
    assert seen["target"] == "revteam.web.app:app_from_env" and seen["factory"] is True
    assert (seen["host"], seen["port"], seen["workers"]) == ("127.0.0.1", 8123, 2)
    assert seen["proxy_headers"] is False and seen["forwarded_allow_ips"] is None  # none trusted
    assert (ws_dir / ".revteam-secret").exists() and (ws_dir / "revteam.db").exists()
    assert f"Serving {ws_dir}" in result.output.replace("\n", "")


def test_serve_trusts_the_reverse_proxies_it_is_told(ws_dir: Path, monkeypatch):
    import uvicorn

    monkeypatch.setenv("REVTEAM_WORKSPACE", "restored after the test")
    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda target, **kw: seen.update(target=target, **kw))
    result = run(ws_dir, "serve", "--forwarded-allow-ips", "10.0.0.5,10.0.0.6")
    assert result.exit_code == 0, result.output
    assert seen["forwarded_allow_ips"] == "10.0.0.5,10.0.0.6" and seen["proxy_headers"] is True


def test_one_serve_for_both_faces():
    import ast

    import revteam.web
    from revteam.cli import web

    assert revteam.web.serve is server.serve and revteam.web.serve_demo is server.serve_demo
    assert not hasattr(web, "serve_demo") and not hasattr(web, "run_server")
    tree = ast.parse(Path(server.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m and m.startswith(("revteam.web", "revteam.cli"))}


def test_serve_demo_prints_a_working_sign_in(ws_dir: Path, monkeypatch):
    import uvicorn

    monkeypatch.setenv("REVTEAM_WORKSPACE", "restored after the test")
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: None)
    lines: list[str] = []
    server.serve_demo(ws_dir, port=8124, announce=lines.append)
    [line] = lines
    assert "http://127.0.0.1:8124/" in line
    email, password = line.split(" as ")[1].split(" with password ")
    with open_app(ws_dir) as state:
        assert state.users.authenticate(email, password).role == "admin"
