"""The application database on PostgreSQL: Alembic migrations, users, sessions, goals, actions,
alerts, through the web app as on SQLite.

A database of its own on the test server (``app_database = "postgresql+psycopg://…"``); the
warehouse stays the workspace's DuckDB file.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from tests.web.conftest import Member, TestClient, add_members, csrf_of, sign_in

import revteam
from revteam.app import current_revision, head_revision, upgrade
from revteam.app.models import Base
from revteam.storage import AppDatabase
from revteam.web import WebOptions, create_app

pytestmark = pytest.mark.engines


def _database(pg_url: str) -> str:
    """A new, empty database on the test server; its SQLAlchemy URL."""
    name = f"app_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"'.encode())
    parts = urlsplit(pg_url)
    return urlunsplit(parts._replace(scheme="postgresql+psycopg", path=f"/{name}"))


@pytest.fixture(scope="module")
def served(pg_url: str, engines_root: Path) -> Iterator[tuple[Any, dict[str, Member], str]]:
    url = _database(pg_url)
    root = engines_root / f"app-{uuid.uuid4().hex[:6]}"
    with revteam.init(root, app_database=url) as ws:
        ws.ingest.load_directory(engines_root / "data")
    members = add_members(root)
    application = create_app(root, options=WebOptions(warm=False, idle_seconds=30))
    with TestClient(application):
        yield application, members, url


def test_migrations_build_exactly_the_models_on_postgres(pg_url: str) -> None:
    db = AppDatabase(_database(pg_url))
    try:
        assert current_revision(db) is None
        assert upgrade(db) == head_revision()
        with db.connect() as con:
            assert compare_metadata(MigrationContext.configure(con), Base.metadata) == []
        assert upgrade(db) == head_revision()  # idempotent
    finally:
        db.dispose()


def test_people_sign_in_and_keep_goals_actions_and_alerts_on_postgres(served: Any) -> None:
    application, members, url = served
    browser = TestClient(application)
    assert sign_in(browser, members["editor"].email).status_code == 303
    assert browser.get("/").status_code == 200  # a session kept in Postgres
    editor = TestClient(application, headers=members["editor"].bearer)

    goal = editor.post(
        "/api/v1/goals", json={"metric": "leads", "period": "2026-Q4", "target": 900}
    )
    assert goal.status_code == 201, goal.text
    [listed] = editor.get("/api/v1/goals").json()["items"]
    assert listed["target"] == 900 and listed["actual"] is not None

    action = editor.post(
        "/api/v1/actions",
        json={"title": "Rework the webinar audience", "owner": members["editor"].email},
    )
    assert action.status_code == 201, action.text
    page = browser.get("/review").text
    closed = browser.post(
        f"/review/actions/{action.json()['id']}/close",
        data={"csrf_token": csrf_of(page), "expected_version": "1"},
        follow_redirects=False,
    )
    assert closed.status_code == 303

    rule = {
        "name": "No data for a day",
        "kind": "stale_data",
        "hours": 24,
        "channels": [{"type": "email", "target": "ops@example.com"}],
    }
    assert editor.post("/api/v1/alerts", json=rule).status_code == 201
    again = editor.post("/api/v1/alerts", json=rule)  # names are unique (a database constraint)
    assert again.status_code == 400 and "No data for a day" in again.text

    plain = urlunsplit(urlsplit(url)._replace(scheme="postgresql"))
    with psycopg.connect(plain) as con:
        counts = {
            table: con.execute(f"SELECT count(*) FROM {table}".encode()).fetchone()[0]  # type: ignore[index]
            for table in ("users", "web_sessions", "goals", "action_items", "alert_rules")
        }
        status = con.execute(b"SELECT status FROM action_items").fetchone()
    assert counts["users"] == 3 and counts["web_sessions"] >= 1
    assert counts["goals"] == counts["action_items"] == counts["alert_rules"] == 1
    assert status == ("closed",)
