"""One generated company and one web app per session, with an admin, an editor and a viewer.

Starlette's TestClient warns that it wants httpx2; the project pins httpx, so the warning is
silenced at import (pytest turns warnings into errors).
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher

import revteam
from revteam.app import CLI, credentials, open_app
from revteam.generate import GeneratorConfig, generate_company
from revteam.generate.params import ADD_ON_PRODUCTS
from revteam.web import WebOptions, create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PASSWORD = "correct horse battery staple"
N_LEADS = 5_000


@pytest.fixture(autouse=True, scope="session")
def _cheap_hashing() -> Iterator[None]:
    """argon2 at test strength: the hashes are still argon2id, just fast to compute."""
    saved = credentials.hasher
    credentials.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    credentials.hasher = saved


@pytest.fixture(scope="session")
def company_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace loaded with a generated company (closed again: the app opens it read-only)."""
    root = tmp_path_factory.mktemp("web")
    company = generate_company(GeneratorConfig(n_leads=N_LEADS, seed=1))
    company.write(root / "data")
    # as `revteam demo` does: the generated add-ons are the purchases at will
    with revteam.init(root / "ws", clv={"repeat_products": list(ADD_ON_PRODUCTS)}) as ws:
        ws.ingest.load_directory(root / "data")
    return root / "ws"


@dataclass
class Member:
    email: str
    role: str
    token: str

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


ROLES = ("admin", "editor", "viewer")


def add_members(ws_path: Path) -> dict[str, Member]:
    out = {}
    with open_app(ws_path) as app:
        for role in ROLES:
            email = f"{role}@example.com"
            user, _ = app.users.add(email, role=role, team="revops", password=PASSWORD)
            _, token = app.tokens.create(user.id, "tests", actor=CLI)
            out[role] = Member(email, role, token)
    return out


@pytest.fixture(scope="session")
def members(company_ws: Path) -> dict[str, Member]:
    return add_members(company_ws)


@pytest.fixture(scope="session")
def app(company_ws: Path, members: dict[str, Member]) -> Iterator[object]:
    application = create_app(company_ws, options=WebOptions(warm=False, idle_seconds=30))
    with TestClient(application):  # runs the lifespan once for the whole session
        yield application


def sign_in(client: TestClient, email: str, password: str = PASSWORD, next_url: str = "/"):
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, form.text[:500]
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token.group(1), "next": next_url},
        follow_redirects=False,
    )


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


@pytest.fixture(scope="session")
def browser_of(app: object, members: dict[str, Member]) -> dict[str, TestClient]:
    """A signed-in TestClient (cookies) per role."""
    out = {}
    for role, m in members.items():
        client = TestClient(app)  # no lifespan: the session's app fixture owns it
        assert sign_in(client, m.email).status_code == 303
        out[role] = client
    return out


@pytest.fixture(scope="session")
def anon(app: object) -> TestClient:
    return TestClient(app)


@pytest.fixture(scope="session")
def api(app: object, members: dict[str, Member]) -> TestClient:
    """A client that sends the viewer's API token."""
    return TestClient(app, headers=members["viewer"].bearer)


@pytest.fixture(scope="session")
def admin_api(app: object, members: dict[str, Member]) -> TestClient:
    return TestClient(app, headers=members["admin"].bearer)


def empty_app(tmp_path: Path, **options: object) -> tuple[object, dict[str, Member]]:
    """A web app over an empty workspace: enough for sign-in and user tests, and quick."""
    with revteam.init(tmp_path / "ws"):
        pass
    members = add_members(tmp_path / "ws")
    opts = WebOptions(warm=False, **options)  # type: ignore[arg-type]
    return create_app(tmp_path / "ws", options=opts), members


class Clock:
    """A clock the sign-in throttle reads (naive UTC) and tests move instead of sleeping."""

    def __init__(self, start: dt.datetime = dt.datetime(2026, 1, 5, 9, 0)) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)
