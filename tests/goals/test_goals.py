"""Goals as people set them: checks that name the fix, history, conflicts, goals.yaml."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import revteam
from revteam.app import CLI, Actor, open_app
from revteam.exceptions import GoalConflictError, GoalError, MetricError, UnknownGoalError
from revteam.goals import GoalBook, GoalSpec, parse_goals_yaml
from revteam.metrics import Definitions
from revteam.settings import load_settings


@pytest.fixture
def book(tmp_path: Path) -> GoalBook:
    """Goals over a fresh workspace's application database (no data needed)."""
    revteam.init(tmp_path / "ws").close()
    app = open_app(tmp_path / "ws")
    app.users.add(
        "ana@example.com", role="editor", team="marketing", password="x" * 4 + "Qw8!zP9#rT2$"
    )
    app.users.add("bo@example.com", role="editor", team="sales", password="y" * 4 + "Lm3@vB7&kN5%")
    settings = load_settings(tmp_path / "ws")
    return GoalBook(app.db, Definitions(tmp_path / "ws" / "metrics", settings))


ANA, BO = Actor("ana@example.com"), Actor("bo@example.com")


def test_a_goal_takes_the_catalogues_owners_direction_and_period_label(book: GoalBook) -> None:
    g = book.set(GoalSpec("sales_qualification_rate", "2027-q1", "45%"))
    assert (g.period, g.grain, g.start, g.end) == (
        "2027-Q1",
        "quarter",
        dt.date(2027, 1, 1),
        dt.date(2027, 4, 1),
    )
    assert g.target == pytest.approx(0.45) and g.direction == "higher"
    assert g.owners == ("marketing", "sales")  # a shared KPI: both teams
    assert book.set(GoalSpec("cac", "2027", 900)).direction == "lower"
    assert book.set(GoalSpec("leads", "2027-02", "1,200")).target == 1200


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        (GoalSpec("leadz", "2027-Q1", 5), "no metric 'leadz'"),
        (GoalSpec("sales_qualification_rate", "2027-Q1", 45), "Write 0.45 or '45%'"),
        (GoalSpec("leads", "2027-Q1", "45%"), "is a percentage, but leads is in count"),
        (GoalSpec("leads", "2027-Q1", -5), "cannot be negative"),
        (GoalSpec("leads", "2027-Q1", "lots"), "not a number"),
        (GoalSpec("leads", "2027-W05", 5), "a month"),
        (GoalSpec("leads", "2027-Q1", 5, stretch=4), "stretch level 4 of leads is not above"),
        (GoalSpec("cac", "2027-Q1", 900, stretch=1000), "not below its target"),
        (GoalSpec("leads", "2027-Q1", 5, owners=["finance"]), "neither a team"),
        (GoalSpec("leads", "2027-Q1", 5, owners=["who@example.com"]), "revteam users add"),
        (
            GoalSpec("sales_qualification_rate", "2027-Q1", 0.4, owners=["marketing"]),
            "needs an owner from Sales and one from Marketing (no owner from sales)",
        ),
    ],
)
def test_bad_goals_are_refused_naming_the_fix(book: GoalBook, spec: GoalSpec, words: str) -> None:
    with pytest.raises(GoalError) as caught:
        book.set(spec)
    assert words in str(caught.value)
    assert book.list() == []


def test_segments_are_checked_by_the_metric_layer(book: GoalBook) -> None:
    with pytest.raises(MetricError, match="chanel"):
        book.set(GoalSpec("leads", "2027-Q1", 5, segment={"chanel": "email"}))
    g = book.set(GoalSpec("leads", "2027-Q1", 5, segment={"channel": "email"}))
    assert g.segment == (("channel", "email"),)


def test_owners_by_email_count_for_their_team(book: GoalBook) -> None:
    g = book.set(
        GoalSpec("sales_qualification_rate", "2027-Q1", 0.4, owners=["Ana@Example.com", "sales"])
    )
    assert g.owners == ("ana@example.com", "sales")
    with pytest.raises(GoalError, match="no owner from sales"):
        book.set(GoalSpec("sqls", "2027-Q1", 300, owners=["ana@example.com", "marketing"]))


def test_overlapping_periods_of_one_metric_and_segment_are_refused(book: GoalBook) -> None:
    quarter = book.set(GoalSpec("leads", "2027-Q1", 900))
    with pytest.raises(GoalConflictError) as caught:
        book.set(GoalSpec("leads", "2027-02", 300))
    assert f"goal {quarter.id}" in str(caught.value) and "revteam goals delete" in str(caught.value)
    book.set(GoalSpec("leads", "2027-04", 300))  # the next month does not overlap
    book.set(GoalSpec("leads", "2027-02", 300, segment={"channel": "email"}))  # another segment
    assert len(book.list()) == 3


def test_every_change_is_kept_with_who_and_what_before(book: GoalBook) -> None:
    g = book.set(GoalSpec("leads", "2027-Q1", 900), actor=ANA)
    book.set(GoalSpec("leads", "2027-Q1", 950), actor=BO)
    book.delete(g.id, actor=ANA)
    history = book.history(g.id)
    assert [(h.action, h.actor, h.version) for h in history] == [
        ("created", "ana@example.com", 1),
        ("changed", "bo@example.com", 2),
        ("deleted", "ana@example.com", 3),
    ]
    assert history[1].before is not None and history[1].before["target"] == 900
    assert history[1].after is not None and history[1].after["target"] == 950
    with pytest.raises(UnknownGoalError):
        book.get(g.id)


def test_a_stale_version_is_a_conflict_and_concurrent_edits_both_land(book: GoalBook) -> None:
    g = book.set(GoalSpec("leads", "2027-Q1", 900))
    book.set(GoalSpec("leads", "2027-Q1", 920), actor=ANA, expected_version=g.version)
    with pytest.raises(GoalConflictError, match="changed since it was read"):
        book.set(GoalSpec("leads", "2027-Q1", 930), actor=BO, expected_version=g.version)

    def change(target: int, actor: Actor) -> None:
        book.set(GoalSpec("leads", "2027-Q1", target), actor=actor)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(change, range(1000, 1010), [ANA, BO] * 5))
    history = book.history(g.id)
    assert [h.version for h in history] == list(range(1, 13))  # none lost, none doubled
    assert sorted(h.after["target"] for h in history[2:]) == list(range(1000, 1010))  # type: ignore[index]
    assert book.get(g.id).target == history[-1].after["target"]  # type: ignore[index]


def test_goals_yaml_round_trips_exactly(book: GoalBook) -> None:
    book.set(GoalSpec("sales_qualification_rate", "2027-Q1", "45%", stretch="50%", note="QBR"))
    book.set(GoalSpec("leads", "2027-02", 1200, segment={"channel": "paid_search"}))
    book.set(GoalSpec("cac", "2027", 900.5, owners=["bo@example.com", "marketing"]))
    text = book.export_yaml()
    assert "direction" not in text  # defaults are left out, so files stay short
    report = book.import_yaml(text)
    assert (report.goals, report.changed) == (3, 0)
    assert book.export_yaml() == text
    edited = text.replace("target: 1200", "target: 1300")
    assert book.import_yaml(edited, actor=ANA).changed == 1
    assert book.export_yaml() == edited


def test_an_import_is_all_or_nothing_with_every_problem_listed(book: GoalBook) -> None:
    book.set(GoalSpec("leads", "2027-Q1", 900))
    text = """goals:
- {metric: leads, period: 2027-Q1, target: 1000}
- {metric: mqls, period: 2027-Q1, target: 45%}
- {metric: nope, period: 2027-Q1, target: 5}
- {metric: sqls, period: 2027-Q1, target: 50}
- {metric: sqls, period: 2027-03, target: 20}
"""
    with pytest.raises(GoalError) as caught:
        book.import_yaml(text)
    message = str(caught.value)
    assert "3 problem(s); nothing was changed" in message
    assert "goal 2 (mqls 2027-Q1)" in message and "goal 3 (nope 2027-Q1)" in message
    assert "sqls for 2027-03 overlaps sqls for 2027-Q1 in the file" in message
    assert [g.target for g in book.list()] == [900]


def test_replace_deletes_the_goals_a_file_no_longer_has(book: GoalBook) -> None:
    book.set(GoalSpec("leads", "2027-Q1", 900))
    book.set(GoalSpec("mqls", "2027-Q1", 300))
    report = book.import_yaml(
        "goals:\n- {metric: mqls, period: 2027-Q1, target: 300}\n", replace=True
    )
    assert report.changed == 1 and [g.metric for g in book.list()] == ["mqls"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("goals:\n- {metric: leads, period: 2027-Q1, target: 5, target: 6}\n", "appears twice"),
        ("goals:\n- {metric: leads, period: 2027-Q1}\n", "lacks target"),
        (
            "goals:\n- {metric: leads, period: 2027-Q1, target: 5, colour: red}\n",
            "unknown fields colour",
        ),
        ("targets: []\n", "one key, goals"),
        ("goals: [\n", "not valid YAML"),
    ],
)
def test_goals_yaml_that_would_be_misread_is_refused(text: str, words: str) -> None:
    with pytest.raises(GoalError, match=words):
        parse_goals_yaml(text)


def test_fiscal_years_name_their_periods(tmp_path: Path) -> None:
    revteam.init(tmp_path / "ws", fiscal_year_start_month=7).close()
    app = open_app(tmp_path / "ws")
    settings = load_settings(tmp_path / "ws")
    book = GoalBook(app.db, Definitions(tmp_path / "ws" / "metrics", settings), fy_start=7)
    g = book.set(GoalSpec("leads", "FY2027-Q1", 900), actor=CLI)
    assert (g.start, g.period) == (dt.date(2026, 7, 1), "FY2027-Q1")
    with pytest.raises(GoalError, match="could mean a calendar or a fiscal period"):
        book.set(GoalSpec("leads", "2027", 900))


def test_setting_the_same_goal_again_changes_nothing(book: GoalBook) -> None:
    g = book.set(GoalSpec("leads", "2027-Q1", 900, note="push"))
    again = book.set(GoalSpec("leads", "2027-Q1", "900", note="push"), actor=ANA)
    assert again.version == g.version == 1 and len(book.history(g.id)) == 1


def test_a_deleted_goals_id_is_never_reused(book: GoalBook) -> None:
    first = book.set(GoalSpec("leads", "2027-Q1", 900))
    book.delete(first.id)
    second = book.set(GoalSpec("mqls", "2027-Q1", 300))
    assert second.id != first.id
    assert [h.action for h in book.history(second.id)] == ["created"]


def test_a_misspelt_metric_gets_suggestions_and_long_fields_are_refused(book: GoalBook) -> None:
    with pytest.raises(GoalError, match="Did you mean leads"):
        book.set(GoalSpec("lead", "2027-Q1", 5))
    with pytest.raises(GoalError, match="at most 10 owners"):
        book.set(GoalSpec("leads", "2027-Q1", 5, owners=[f"team{i}" for i in range(11)]))
    with pytest.raises(GoalError, match="segment value is at most 100"):
        book.set(GoalSpec("leads", "2027-Q1", 5, segment={"channel": "x" * 101}))


@pytest.mark.parametrize(
    ("target", "words"),
    [
        ("1:30", "not a number"),  # YAML 1.1 would read 90
        ("0x10", "not a number"),  # 16
        ("'1,5'", "ambiguous"),  # 1.5 or 15?
        ("2026-01-01", "not a number"),  # a date
        ("[1]", "not a number"),
        ("yes", "not a number"),  # true
    ],
)
def test_targets_yaml_would_misread_are_refused(book: GoalBook, target: str, words: str) -> None:
    text = f"goals:\n- {{metric: leads, period: 2027-Q1, target: {target}}}\n"
    with pytest.raises(GoalError, match=words):
        book.import_yaml(text)
    assert book.list() == []


def test_yaml_values_are_read_as_written(book: GoalBook) -> None:
    text = (
        "goals:\n- {metric: leads, period: 2027-Q1, target: '1,200,000', note: no,"
        " segment: {campaign: no}, stretch: null}\n- {metric: mqls, period: 2027-Q1, target: 010}\n"
    )
    book.import_yaml(text)
    leads, mqls = sorted(book.list(), key=lambda g: g.metric)
    assert (leads.target, leads.note, leads.segment, leads.stretch) == (
        1_200_000,
        "no",
        (("campaign", "no"),),
        None,
    )
    assert mqls.target == 10  # decimal, as YAML 1.2 reads it (1.1 would give 8)


def test_an_absurd_number_is_refused_not_a_crash(book: GoalBook) -> None:
    with pytest.raises(GoalError, match="finite"):
        book.set(GoalSpec("leads", "2027-Q1", 10**400))


def test_segments_that_print_alike_stay_two_goals(book: GoalBook) -> None:
    a = book.set(GoalSpec("leads", "2027-Q1", 5, segment={"campaign": "x,channel=events"}))
    b = book.set(GoalSpec("leads", "2027-Q1", 6, segment={"campaign": "x", "channel": "events"}))
    assert a.id != b.id and len(book.list()) == 2


def test_replace_can_swap_months_for_their_quarter(book: GoalBook) -> None:
    for month in ("2027-01", "2027-02", "2027-03"):
        book.set(GoalSpec("leads", month, 300))
    report = book.import_yaml(
        "goals:\n- {metric: leads, period: 2027-Q1, target: 900}\n", replace=True
    )
    assert report.changed == 4 and [g.period for g in book.list()] == ["2027-Q1"]
