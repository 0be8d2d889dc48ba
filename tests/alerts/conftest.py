"""Alerts against real servers on 127.0.0.1: an SMTP server (aiosmtpd) and HTTP (httpserver).

Every test keeps its alert state in an application database of its own (``fresh_db``), also
on the shared planted company: the session's workspaces are only read. Time is a
:class:`Clock` the test moves, never a sleep.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import revteam
from revteam.alerts import AlertsComponent
from revteam.app import upgrade
from revteam.generate import GeneratorConfig, generate_company
from revteam.goals import GoalsComponent
from revteam.ingest.status import WorkspaceStatus
from revteam.proposals import ProposalStore
from revteam.storage import AppDatabase
from revteam.workspace import Workspace


class Clock:
    """Naive UTC now, moved by the test."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


@dataclass
class Facts:
    """A workspace's components with goals (and proposals) over another application database."""

    ws: Workspace
    goals: GoalsComponent
    proposals: ProposalStore | None = None

    @property
    def metrics(self) -> Any:
        return self.ws.metrics

    @property
    def stats(self) -> Any:
        return self.ws.stats

    @property
    def review(self) -> Any:
        return self.ws.review

    @property
    def scoring(self) -> Any:
        return self.ws.scoring

    @property
    def data_version(self) -> int:
        return self.ws.data_version

    def status(self) -> WorkspaceStatus:
        return self.ws.status()


class EmptyWorkspace:
    """Facts of a workspace that never loaded anything; ``status`` may wait for a signal."""

    def __init__(self, root: Path, gate: threading.Event | None = None) -> None:
        self.root, self.gate = root, gate
        self.entered = threading.Event()
        self.data_version = 0
        self.goals = SimpleNamespace(store=SimpleNamespace(revision=lambda: 0))

    def status(self) -> WorkspaceStatus:
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(30)
        return WorkspaceStatus(self.root, 0, (), {}, (), ())


def fresh_db(path: Path) -> AppDatabase:
    db = AppDatabase(f"sqlite:///{path}")
    upgrade(db)
    return db


def alerts_over(
    ws: Workspace,
    db: AppDatabase,
    clock: Clock,
    *,
    proposals: ProposalStore | None = None,
    **kwargs: Any,
) -> AlertsComponent:
    """``ws.alerts`` with its state (and goals) in ``db`` and ``clock`` for now."""
    goals = GoalsComponent(
        db=db, metrics=ws.metrics, stats=ws.stats, settings=ws.settings, root=ws.root
    )
    return AlertsComponent(
        db=db,
        facts=Facts(ws, goals, proposals),
        definitions=ws.metrics.definitions,
        goals=goals,
        settings=kwargs.pop("settings", ws.settings),
        clock=clock,
        **kwargs,
    )


@pytest.fixture(scope="session")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """A small company (2,000 leads, data to 2026-11-01), read by the kinds' tests."""
    root = tmp_path_factory.mktemp("alerts-small")
    generate_company(GeneratorConfig(n_leads=2_000, seed=3)).write(root / "data")
    ws = revteam.init(root / "ws")
    ws.ingest.load_directory(root / "data")
    yield ws
    ws.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Inbox:
    """What the SMTP server received."""

    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    """An SMTP server on 127.0.0.1, and REVTEAM_SMTP_* pointing at it (no TLS on loopback)."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("REVTEAM_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("REVTEAM_SMTP_PORT", str(port))
    monkeypatch.setenv("REVTEAM_SMTP_FROM", "revteam@example.com")
    monkeypatch.setenv("REVTEAM_SMTP_STARTTLS", "false")
    try:
        yield inbox
    finally:
        controller.stop()
