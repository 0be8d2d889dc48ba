"""The Overview's target slot: the goal of the running period, paced like everywhere else."""

from __future__ import annotations

import re
from typing import Any

from tests.web.conftest import TestClient

from revteam.goals import GoalSpec, Pacer
from revteam.metrics import periods as P
from revteam.web.pages.render import Page


def slot(html: str, metric: str) -> str:
    """The target slot of ``metric``'s tile."""
    tile = html.split(f'data-metric="{metric}"', 1)[1].split("</article>", 1)[0]
    return tile.split('class="target-slot', 1)[1]


def test_tiles_show_their_goal_and_follow_its_changes(
    app: Any, browser_of: dict[str, TestClient]
) -> None:
    runtime = app.state.runtime
    as_of = Page(runtime).as_of().date()
    quarter = P.label(P.floor(as_of, "quarter"), "quarter")
    viewer = browser_of["viewer"]
    assert "not set" in slot(viewer.get("/").text, "sqls")
    goal = runtime.goals.set(GoalSpec("sqls", quarter, 100))
    try:
        html = viewer.get("/").text  # no new data: the goal alone must refresh the page
        shown = slot(html, "sqls")
        status = re.search(r'data-status="([a-z_]+)"', shown)
        assert status is not None and f'data-goal="{goal.id}"' in shown
        (paced,) = runtime.read(
            ("test-goal", goal.id, goal.version),
            lambda ws: Pacer(ws.metrics, ws.stats, runtime.settings.goals).pace(
                [goal], as_of=as_of
            ),
        ).value
        assert status.group(1) == paced.status
        assert "Target" in shown and "projected" in shown
        # A target far beyond reach turns the tile off track at once.
        runtime.goals.set(GoalSpec("sqls", quarter, 10_000_000), goal_id=goal.id)
        assert 'data-status="off_track"' in slot(viewer.get("/").text, "sqls")
        # A goal for one channel shows only on the view filtered to that channel.
        other = runtime.goals.set(GoalSpec("sqls", quarter, 5, segment={"channel": "email"}))
        assert f'data-goal="{other.id}"' not in viewer.get("/").text
        assert f'data-goal="{other.id}"' in viewer.get("/", params={"channel": "email"}).text
        runtime.goals.delete(other.id)
    finally:
        runtime.goals.delete(goal.id)
    assert "not set" in slot(viewer.get("/").text, "sqls")
