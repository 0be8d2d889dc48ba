"""Action items: editors create, owners close, viewers read; every change in the audit log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from revteam.app import Actor, open_app
from revteam.cli import app as cli
from revteam.exceptions import (
    ActionItemConflictError,
    PermissionDeniedError,
    ReviewError,
    UnknownActionItemError,
)
from revteam.review import ActionSpec, ActionStore
from revteam.workspace import Workspace

PASSWORD = "correct horse battery staple 42"


@pytest.fixture
def people(ws: Workspace) -> Iterator[dict[str, Actor]]:
    with open_app(ws.root) as state:
        out = {}
        for name, role, team in (
            ("vp.sales", "editor", "sales"),
            ("vp.marketing", "editor", "marketing"),
            ("analyst", "viewer", "revops"),
            ("boss", "admin", "leadership"),
        ):
            user, _ = state.users.add(
                f"{name}@example.com", name=name, role=role, team=team, password=PASSWORD
            )
            out[role if role != "editor" else name] = Actor(user.email, user.id)
        yield out


def store(ws: Workspace) -> ActionStore:
    return ws.review.actions


def test_an_item_lives_from_creation_to_close_with_its_history(
    ws: Workspace, people: dict[str, Actor]
) -> None:
    marketing, sales = people["vp.marketing"], people["vp.sales"]
    item = store(ws).add(
        ActionSpec(
            "Pause retargeting campaign C011 and rework its audience",
            "VP.Marketing@example.com",
            due=dt.date(2026, 4, 15),
            metric="sales_qualification_rate",
            segment={"campaign": "C011"},
        ),
        actor=sales,
        role="editor",
    )
    assert (item.owner, item.team, item.status, item.version) == (
        "vp.marketing@example.com",
        "marketing",
        "open",
        1,
    )
    assert item.overdue(dt.date(2026, 5, 1)) and not item.overdue(dt.date(2026, 4, 1))
    # another editor may not close it; its owner may
    with pytest.raises(PermissionDeniedError):
        store(ws).close(item.id, actor=sales, role="editor")
    closed = store(ws).close(item.id, actor=marketing, role="editor", note="Paused on 3 April")
    assert (closed.status, closed.closed_by, closed.version) == (
        "closed",
        marketing.name,
        2,
    )
    with pytest.raises(ActionItemConflictError, match="already closed"):
        store(ws).close(item.id, actor=marketing, role="editor")
    # a stale version is refused
    with pytest.raises(ActionItemConflictError, match="changed since"):
        store(ws).reopen(item.id, actor=marketing, role="editor", expected_version=1)
    store(ws).reopen(item.id, actor=people["admin"], role="admin", expected_version=2)
    with open_app(ws.root) as state:
        log = [(e.action, e.target, e.actor) for e in state.audit.list()]
    assert log[:3] == [
        ("action_item.reopen", str(item.id), people["admin"].name),
        ("action_item.close", str(item.id), marketing.name),
        ("action_item.add", str(item.id), sales.name),
    ]


def test_viewers_read_only(ws: Workspace, people: dict[str, Actor]) -> None:
    with pytest.raises(PermissionDeniedError):
        store(ws).add(ActionSpec("Anything", "analyst@example.com"), role="viewer")
    item = store(ws).add(ActionSpec("Check the SLA", "analyst@example.com"), role="editor")
    with pytest.raises(PermissionDeniedError):  # viewers cannot change items
        store(ws).update(item.id, ActionSpec("Changed", "analyst@example.com"), role="viewer")
    assert store(ws).list() == [item]


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        (ActionSpec("", "boss@example.com"), "needs a title"),
        (ActionSpec("x" * 301, "boss@example.com"), "at most 300"),
        (ActionSpec("Do it", "nobody@example.com"), "not an active user"),
        (ActionSpec("Do it", "boss@example.com", metric="sqr"), "Unknown metric"),
        (ActionSpec("Do it", "boss@example.com", team="finance"), "Unknown team"),
        (ActionSpec("Do it", "boss@example.com", segment={"channel": ""}), "dimension=value"),
    ],
)
def test_bad_items_are_refused_with_the_fix(
    ws: Workspace, people: dict[str, Actor], spec: ActionSpec, match: str
) -> None:
    with pytest.raises(ReviewError, match=match):
        store(ws).add(spec)
    assert store(ws).list() == []


def test_a_pack_shows_open_items_and_those_closed_in_its_period(
    ws: Workspace, people: dict[str, Actor]
) -> None:
    a = store(ws).add(ActionSpec("Open one", "boss@example.com"))
    b = store(ws).add(ActionSpec("Closed one", "boss@example.com"))
    store(ws).close(b.id)
    items = store(ws).list(closed_since=dt.datetime(2000, 1, 1))
    assert [i.id for i in items] == [a.id, b.id]
    assert store(ws).list(closed_since=dt.datetime(2100, 1, 1)) == [store(ws).get(a.id)]
    with pytest.raises(UnknownActionItemError):
        store(ws).get(999)


def test_the_cli_adds_lists_and_closes(ws: Workspace, people: dict[str, Actor]) -> None:
    runner = CliRunner()
    root = ["--workspace", str(ws.root)]
    r = runner.invoke(
        cli,
        [
            *root,
            "actions",
            "add",
            "Call the top ten MQLs",
            "--owner",
            "vp.sales@example.com",
            "--due",
            "2026-04-01",
            "--metric",
            "mqls_worked_24h_rate",
            "--segment",
            "channel=events",
            "--format",
            "json",
        ],
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, [*root, "actions", "list", "--format", "csv"])
    assert "Call the top ten MQLs" in r.output and "channel=events" in r.output
    r = runner.invoke(cli, [*root, "actions", "close", "1"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, [*root, "actions", "list", "--format", "json"])
    assert r.output.strip() == "[]"
    r = runner.invoke(cli, [*root, "actions", "close", "7"])
    assert r.exit_code == 2 and "no action item 7" in r.output.lower()


def test_a_pdf_needs_a_file(ws: Workspace, tmp_path: Path) -> None:
    r = CliRunner().invoke(
        cli, ["--workspace", str(ws.root), "review", "--period", "2026-03", "--format", "pdf"]
    )
    assert r.exit_code == 2 and "--output" in r.output
