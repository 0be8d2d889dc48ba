"""A served app and a real browser for the browser tests (``pytest -m browser``).

The app runs under uvicorn in a thread on a free port; the browser is Debian's chromium driven
through Playwright (``executable_path``: nothing is downloaded). Screenshots go to
``$REVTEAM_TEST_ARTIFACTS/web`` (default ``test-artifacts/web``) so that a person can look at
every page after a run. With ``CI=true`` a missing chromium fails the test, never skips it.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import PASSWORD

CHROMIUM = Path(os.environ.get("REVTEAM_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("REVTEAM_TEST_ARTIFACTS", "test-artifacts")) / "web"


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """``app`` under uvicorn (its lifespan on) until the block ends; yields its base URL."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "the server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(10)


@contextmanager
def chromium() -> Iterator[Any]:
    """A launched chromium (Playwright ``Browser``), or a skip (a failure with ``CI=true``)."""
    if not CHROMIUM.exists():
        why = (
            f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium) "
            "or point REVTEAM_CHROMIUM at a Chromium binary"
        )
        # CI installs chromium (.ci/run): a missing browser there is a broken set-up, not a skip.
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_tab(browser: Any, base_url: str, **context: Any) -> Any:
    """A tab of its own context (1440 by 900) whose console errors and page errors are kept in
    ``tab.problems``."""
    ctx = browser.new_context(base_url=base_url, viewport={"width": 1440, "height": 900}, **context)
    tab = ctx.new_page()
    tab.problems = []
    tab.on("console", lambda m: m.type == "error" and tab.problems.append(m.text))
    tab.on("pageerror", lambda e: tab.problems.append(str(e)))
    return tab


def sign_in(tab: Any, path: str, email: str, lands_on: str) -> None:
    """Open ``path``, sign in on the page it redirects to, and wait to be back (``lands_on``)."""
    tab.goto(path)
    tab.fill("input[name=email]", email)
    tab.fill("input[name=password]", PASSWORD)
    tab.click("button[type=submit]")
    tab.wait_for_url(re.compile(lands_on))
