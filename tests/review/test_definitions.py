"""The pack's "Definitions changed": what both owners agreed reaches the next review.

Definitions are changed the only way they can be: proposed, then signed off through
``ws.proposals`` by an editor of each owning team, on a small generated company (data to
2026-10-31), with the proposals' clock moved to August, October and November 2026.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import pypdfium2
import pytest

import revteam
from revteam.app import Actor, open_app
from revteam.generate import GeneratorConfig, generate_company
from revteam.proposals import ProposalStore
from revteam.review import PackBuilder, render
from revteam.review.pack import Pack
from revteam.settings import REVIEW_SECTIONS, ReviewSettings
from revteam.storage import AppDatabase
from revteam.workspace import Workspace

FIXED = dt.datetime(2026, 12, 1, 8, 0)
PASSWORD = "correct horse battery staple 42"
SQR = "sales_qualification_rate"
PROPOSER, SALES, MARKETING = (
    "ops@example.com",
    "sales.lead@example.com",
    "marketing.lead@example.com",
)


def sqr(window: int) -> str:
    return f"""id: {SQR}
label: Sales qualification rate (SQR)
description: MQLs of the period that Sales qualified within {window} days.
owners: shared
kind: cohort_rate
unit: percent
table: people
time: mql_at
reached: [sql_at]
window_days: {window}
"""


MQLS = """id: mqls
label: Marketing-qualified leads
description: People who became MQLs in the period (first MQL date).
owners: marketing
kind: count
unit: count
table: people
time: mql_at
"""


def at(*when: int) -> dt.datetime:
    return dt.datetime(*when)


@pytest.fixture(scope="module")
def agreed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """SQR's window agreed by both teams on 2026-08-20 (45 days) and 2026-10-15 (30 days); MQLs'
    wording by Marketing alone (its only owner) on 2026-11-20."""
    root = tmp_path_factory.mktemp("definitions")
    generate_company(GeneratorConfig(n_leads=2_000, seed=3)).write(root / "data")
    ws = revteam.init(root / "ws")
    ws.ingest.load_directory(root / "data")
    with open_app(ws.root) as state:
        for email, team in ((PROPOSER, "revops"), (SALES, "sales"), (MARKETING, "marketing")):
            state.users.add(email, role="editor", team=team, password=PASSWORD)
    ops = Actor(PROPOSER)
    with pytest.MonkeyPatch.context() as mp:
        now = [at(2026, 8, 20, 11, 0)]
        mp.setattr("revteam.proposals.store.utcnow", lambda: now[0])
        for window, reason, day in (
            (45, "Six weeks, as the SLA says", at(2026, 8, 20, 11, 0)),
            (30, "Sales works MQLs within a month", at(2026, 10, 15, 10, 0)),
        ):
            now[0] = day - dt.timedelta(days=1)
            proposal = ws.proposals.propose(sqr(window), reason=reason, actor=ops)
            ws.proposals.vote(proposal.id, "approve", voter=SALES)
            now[0] = day
            done = ws.proposals.vote(proposal.id, "approve", voter=MARKETING)
            assert done.status == "approved"
        now[0] = at(2026, 11, 20, 16, 45)
        mqls = ws.proposals.propose(MQLS, reason="Say which MQL date counts", actor=ops)
        assert ws.proposals.vote(mqls.id, "approve", voter=MARKETING).status == "approved"
    yield ws
    ws.close()


def builder(ws: Workspace, **options: object) -> PackBuilder:
    """The workspace's pack builder with a fixed clock and only the ``definitions`` section."""
    base = ws.review.builder
    return PackBuilder(
        metrics=base.metrics,
        stats=base.stats,
        goals=base.goals,
        actions=base.actions,
        status=ws.status,
        settings=ReviewSettings(sections=("definitions",)),
        currency=base.currency,
        fy_start=base.fy_start,
        clock=lambda: FIXED,
        proposals=options.get("proposals", ws.review.proposals),
    )


@pytest.fixture(scope="module")
def october(agreed: Workspace) -> Pack:
    return builder(agreed).build("2026-10")


def test_the_section_comes_after_the_scorecard_by_default() -> None:
    assert REVIEW_SECTIONS[:2] == ("scorecard", "definitions")
    assert ReviewSettings().sections == REVIEW_SECTIONS


def test_a_change_agreed_in_the_period_shows_why_and_both_approvers(october: Pack) -> None:
    assert october.definitions_range == (dt.date(2026, 10, 1), dt.date(2026, 11, 30))
    window, mqls = october.definitions
    assert (window.metric, window.version) == (SQR, 2)
    assert window.approved_at == at(2026, 10, 15, 10, 0)
    assert window.label == "Sales qualification rate (SQR)" and window.owners == "shared"
    assert window.reason == "Sales works MQLs within a month"
    assert window.proposed_by == PROPOSER
    assert window.approved_by == (("marketing", MARKETING), ("sales", SALES))
    assert window.replaced == "version 1"  # against the version before, not the catalogue
    changed = {f.field: (f.before, f.after) for f in window.fields}
    assert changed["window_days"] == ("45", "30")
    assert set(changed) == {"description", "window_days"}  # the rest as it was
    assert not october.after_period(window)
    # agreed after October ended, before its review met: in October's pack, marked so
    assert (mqls.metric, mqls.approved_by) == ("mqls", (("marketing", MARKETING),))
    assert october.after_period(mqls)
    assert [f.field for f in mqls.fields] == ["description"]

    md = render(october, "markdown").decode()
    assert "## Definitions changed" in md
    assert (
        "- **Sales qualification rate (SQR)** (`sales_qualification_rate`, shared): version 2, "
        "agreed 2026-10-15 10:00 UTC, replacing version 1 (proposal #2)."
    ) in md
    assert "  - window_days: 45 → 30\n" in md
    assert "  - Why: Sales works MQLs within a month\n" in md
    assert (
        f"  - Proposed by {PROPOSER}; signed off for marketing by {MARKETING} and for sales by "
        f"{SALES}.\n"
    ) in md
    assert "agreed 2026-11-20 16:45 UTC (after the period)" in md

    html = render(october, "html").decode()
    assert f'data-definition="{SQR}|2"' in html and 'data-definition="mqls|1"' in html
    assert '<tr data-field="window_days"><td>window_days</td>' in html
    assert "Why: Sales works MQLs within a month" in html and MARKETING in html
    assert "data-no-definition-changed" not in html

    pdf = pypdfium2.PdfDocument(io.BytesIO(render(october, "pdf")))
    flat = " ".join("".join(p.get_textpage().get_text_range() for p in pdf).split())
    assert "Definitions changed" in flat and "Sales works MQLs within a month" in flat
    assert SALES in flat and MARKETING in flat


def test_a_period_without_a_change_says_so(agreed: Workspace) -> None:
    june = builder(agreed).build("2026-06")  # June and July: nothing agreed
    assert june.definitions == () and june.notes == ()
    assert "No definition changed in this period" in render(june, "markdown").decode()
    html = render(june, "html").decode()
    assert "data-no-definition-changed" in html and "No definition changed" in html
    # a metric's first agreed version is shown against the catalogue definition it replaced
    (first,) = builder(agreed).build("2026-08").definitions
    assert (first.metric, first.version, first.replaced) == (SQR, 1, "the catalogue definition")
    assert {f.field: (f.before, f.after) for f in first.fields}["window_days"] == ("60", "45")
    # a quarter's pack: the quarter and the next one
    q3 = builder(agreed).build("2026-Q3")
    assert [(d.metric, d.version) for d in q3.definitions] == [(SQR, 1), (SQR, 2), ("mqls", 1)]


def test_the_same_history_gives_the_same_section(agreed: Workspace, october: Pack) -> None:
    again = builder(agreed).build("2026-10")
    assert render(again, "markdown") == render(october, "markdown")
    assert render(again, "html") == render(october, "html")


def test_packs_without_the_proposals_history_still_build(agreed: Workspace, tmp_path: Path) -> None:
    bare = AppDatabase(f"sqlite:///{tmp_path / 'unmigrated.db'}")  # no tables at all
    history = ProposalStore(bare, agreed.metrics.definitions, tmp_path / "metrics")
    pack = builder(agreed, proposals=history).build("2026-10")
    assert pack.definitions == ()
    (note,) = pack.notes
    assert "could not be read (no such table: metric_versions)" in note
    assert "revteam db upgrade" in note
    assert "No definition changed" in render(pack, "markdown").decode()
    unwired = builder(agreed, proposals=None).build("2026-10")
    assert unwired.definitions == () and "no proposals history" in unwired.notes[0]
