"""Account and person timelines in a real browser: from a records drill-down to an account, a
second page of its events, and one of its people.

Drives Debian's chromium through Playwright as ``test_browser.py`` does (``executable_path``;
nothing is downloaded); screenshots go to ``$REVTEAM_TEST_ARTIFACTS/web``. What the pages show
is checked against ``ws.timeline`` (read through the server's own runtime) and the API.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from tests.web.live import ARTIFACTS, chromium, new_tab, serve, sign_in

from revteam.timeline import Timeline
from revteam.web import WebOptions, create_app

pytestmark = pytest.mark.browser
DRILL_DOWN = "/records?metric=opportunities_won&period=all"
"""A drill-down whose rows carry ``account_id`` and ``person_id`` (linked to the timelines)."""


@pytest.fixture(scope="module")
def served(company_ws: Path, members) -> Iterator[tuple[str, Any]]:
    app = create_app(company_ws, options=WebOptions(warm=False, idle_seconds=60))
    with serve(app) as url:
        yield url, app


@pytest.fixture(scope="module")
def viewer_tab(served, members):
    base_url, _ = served
    with chromium() as browser:
        tab = new_tab(browser, base_url)
        # the sign-in page first, then back to the drill-down
        sign_in(tab, DRILL_DOWN, members["viewer"].email, r".*/records\?")
        yield tab


def timeline_of(app: Any, subject: str, id: str, offset: int = 0) -> Timeline:
    """``ws.timeline``'s page of 50, read through the server's runtime (its open workspace)."""

    def read(ws: Any) -> Timeline:
        found = ws.timeline.account if subject == "account" else ws.timeline.person
        page: Timeline = found(id, limit=50, offset=offset)
        return page

    return app.state.runtime.read(("test-browser-timeline", subject, id, offset), read).value


def shown(tab) -> list[dict[str, str]]:
    """The timeline table's rows as the browser shows them."""
    rows = tab.locator("table[data-table=timeline] tbody tr")
    out = []
    for i in range(rows.count()):
        row = rows.nth(i)
        cells = row.locator("td")
        out.append(
            {
                "key": row.get_attribute("data-key") or "",
                "kind": row.get_attribute("data-kind") or "",
                "when": cells.nth(0).inner_text().strip(),
                "what": cells.nth(2).inner_text().strip(),
                "owner": cells.nth(3).inner_text().strip(),
            }
        )
    return out


def expected(t: Timeline) -> list[dict[str, str]]:
    return [
        {
            "key": f"{e.source_table}:{e.source_key}",
            "kind": e.kind,
            "when": e.at.strftime("%Y-%m-%d %H:%M"),
            "what": e.description,
            "owner": e.owner or e.owner_id or "",
        }
        for e in t.events
    ]


def test_from_a_drill_down_to_an_account_a_second_page_and_one_of_its_people(
    served, viewer_tab
) -> None:
    _, app = served
    tab = viewer_tab
    tab.goto(DRILL_DOWN)
    tab.wait_for_load_state("networkidle")
    links = tab.locator("table a[data-timeline][href^='/accounts/']")
    assert links.count() > 0
    hrefs = list(dict.fromkeys(links.nth(i).get_attribute("href") for i in range(links.count())))
    # The drill-down's account with the most events, so that there is a second page to open.
    totals = {h: tab.request.get(f"/api/v1{h}/timeline?limit=1").json()["total"] for h in hrefs}
    href = max(hrefs, key=lambda h: (totals[h], h))
    assert totals[href] > 50, totals
    account = unquote(href.rsplit("/", 1)[1])
    with tab.expect_navigation():
        tab.locator(f"table a[data-timeline][href='{href}']").first.click()
    tab.wait_for_load_state("networkidle")
    assert tab.url.endswith(href)

    # The header, the KPIs and the first page: what ws.timeline and the API say.
    t = timeline_of(app, "account", account)
    api = tab.request.get(f"/api/v1/accounts/{account}/timeline?limit=50").json()
    assert api["total"] == t.total and [e["source_key"] for e in api["events"]] == [
        e.source_key for e in t.events
    ]
    header = t.header
    assert header is not None
    assert tab.locator("h1").first.inner_text().strip() == header.name
    if header.owner:
        assert header.owner.name in tab.locator("h1 + p.sub").first.inner_text()
    for kpi in header.kpis:
        tile = tab.locator(f"[data-kpi={kpi.metric}] .tile-value")
        assert tile.inner_text().strip() == kpi.display, kpi.metric
    deals = header.deals
    assert tab.locator("[data-deals]").inner_text().strip() == (
        f"{deals['won']} · {deals['open']} · {deals['lost']}"
    )
    owners = tab.locator("table[data-table=owners] tbody tr")
    assert [owners.nth(i).get_attribute("data-owner") for i in range(owners.count())] == [
        o.owner.id for o in header.owners
    ]
    assert shown(tab) == expected(t)
    assert tab.locator("table[data-table=timeline]").get_attribute("data-total") == str(t.total)
    tab.screenshot(path=str(ARTIFACTS / "timeline-account.png"), full_page=True)

    # One page on: the next 50 events.
    with tab.expect_navigation():
        tab.locator("nav.pager a[rel=next]").click()
    tab.wait_for_load_state("networkidle")
    assert tab.url.endswith(f"{href}?page=2")
    second = timeline_of(app, "account", account, offset=50)
    assert shown(tab) == expected(second) and second.events
    assert tab.locator("nav.pager a[rel=prev]").is_visible()

    # A person from there: their own timeline, at this account.
    person_link = tab.locator("table[data-table=timeline] a[href^='/people/']").first
    person_href = person_link.get_attribute("href")
    person = unquote(person_href.rsplit("/", 1)[1])
    with tab.expect_navigation():
        person_link.click()
    tab.wait_for_load_state("networkidle")
    assert tab.url.endswith(person_href)
    p = timeline_of(app, "person", person)
    assert p.header is not None
    assert tab.locator("h1").first.inner_text().strip() == p.header.name
    assert shown(tab) == expected(p)
    assert all(e.kind != "account" for e in p.events)
    back = tab.locator(f"a[href='/accounts/{p.header.account_id}']").first
    assert back.is_visible()
    body = tab.request.get(f"/api/v1/people/{person}/timeline?limit=50").json()
    assert [e["source_key"] for e in body["events"]] == [e.source_key for e in p.events]
    tab.screenshot(path=str(ARTIFACTS / "timeline-person.png"), full_page=True)
    assert tab.problems == []  # no script errors, no CSP violations
