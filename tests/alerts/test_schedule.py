"""Schedules: three strict forms, due once per occurrence, in the workspace's time zone."""

from __future__ import annotations

import datetime as dt

import pytest

from revteam.alerts import parse_schedule
from revteam.exceptions import AlertError

T = dt.datetime


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("daily 07:30", "daily 07:30"),
        ("  DAILY   00:00 ", "daily 00:00"),
        ("weekly MON 08:00", "weekly MON 08:00"),
        ("weekly sun 23:59", "weekly SUN 23:59"),
        ("monthly 1 08:00", "monthly 1 08:00"),
        ("monthly 28 18:05", "monthly 28 18:05"),
    ],
)
def test_the_three_forms_parse_and_print_the_same(text: str, normal: str) -> None:
    assert str(parse_schedule(text)) == normal
    assert str(parse_schedule(normal)) == normal


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        ("every Monday 08:00", "not a schedule"),
        ("weekly MONDAY 08:00", "not a day"),
        ("weekly MON 8:00", "not a time"),
        ("daily 24:00", "not a time"),
        ("daily 07:60", "not a time"),
        ("daily 07:30 UTC", "not a schedule"),
        ("monthly 31 08:00", "1 to 28"),
        ("monthly 0 08:00", "1 to 28"),
        ("monthly \u0661 08:00", "1 to 28"),  # an Arabic-Indic digit is not a day
        ("hourly :15", "not a schedule"),
        ("daily 07:30" + " " * 40, "at most"),
    ],
)
def test_anything_else_is_refused_with_the_forms_allowed(text: str, says: str) -> None:
    with pytest.raises(AlertError, match=says) as caught:
        parse_schedule(text)
    assert caught.value.fix


def test_latest_occurrence() -> None:
    weekly = parse_schedule("weekly MON 08:00")  # 2026-11-02 is a Monday
    assert weekly.latest(T(2026, 11, 2, 8, 0)) == T(2026, 11, 2, 8, 0)
    assert weekly.latest(T(2026, 11, 2, 7, 59)) == T(2026, 10, 26, 8, 0)
    assert weekly.latest(T(2026, 11, 5, 12, 0)) == T(2026, 11, 2, 8, 0)
    daily = parse_schedule("daily 07:30")
    assert daily.latest(T(2026, 3, 1, 7, 29)) == T(2026, 2, 28, 7, 30)
    monthly = parse_schedule("monthly 1 08:00")
    assert monthly.latest(T(2026, 1, 1, 7, 0)) == T(2025, 12, 1, 8, 0)
    assert monthly.latest(T(2026, 3, 31, 9, 0)) == T(2026, 3, 1, 8, 0)


def test_due_once_per_occurrence_and_not_before_the_rule_existed() -> None:
    weekly = parse_schedule("weekly MON 08:00")
    created = T(2026, 11, 1, 12, 0)  # a Sunday
    assert weekly.due(T(2026, 11, 1, 13, 0), "UTC", last_due=None, created_at=created) is None
    due = weekly.due(T(2026, 11, 2, 8, 0), "UTC", last_due=None, created_at=created)
    assert due == T(2026, 11, 2, 8, 0)
    assert weekly.due(T(2026, 11, 2, 9, 0), "UTC", last_due=due, created_at=created) is None
    # a server down all week catches up once, for the newest occurrence only
    late = weekly.due(T(2026, 11, 17, 9, 0), "UTC", last_due=due, created_at=created)
    assert late == T(2026, 11, 16, 8, 0)
    # a rule added after this week's occurrence waits for the next one
    assert (
        weekly.due(T(2026, 11, 2, 9, 0), "UTC", last_due=None, created_at=T(2026, 11, 2, 8, 30))
        is None
    )


def test_local_time_in_the_workspace_zone_across_daylight_saving() -> None:
    daily = parse_schedule("daily 08:00")
    # Berlin: UTC+1 in winter, UTC+2 in summer (from 2026-03-29)
    assert daily.latest_utc(T(2026, 3, 27, 12, 0), "Europe/Berlin") == T(2026, 3, 27, 7, 0)
    assert daily.latest_utc(T(2026, 3, 30, 12, 0), "Europe/Berlin") == T(2026, 3, 30, 6, 0)
    assert daily.latest_utc(T(2026, 3, 30, 6, 30), "America/New_York") == T(2026, 3, 29, 12, 0)
