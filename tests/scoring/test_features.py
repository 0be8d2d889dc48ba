"""A lead's features at a moment see nothing after it (no leakage), and count what is before it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
import pytest

from revteam.scoring.features import (
    NO_TOUCH_DAYS,
    TOUCHES,
    US_PER_DAY,
    Leads,
    _Events,
    features,
)

DAY = US_PER_DAY


def two_leads(touch_at: list[int], touch_kind: list[int], touch_lead: list[int]) -> Leads:
    fit = {
        "persona": pa.array(["executive", "manager"]),
        "channel": pa.array(["events", "paid_search"]),
        "campaign": pa.array(["C1", None]),
        "segment": pa.array(["enterprise", "smb"]),
        "industry": pa.array(["software", "retail"]),
        "region": pa.array(["emea", "apac"]),
        "log_employees": pa.array([np.log(501.0), None], pa.float64()),
        "log_annual_revenue": pa.array([np.log(1e6 + 1), np.log(2e6 + 1)]),
    }
    touches = _Events(
        lead=np.array(touch_lead, dtype=np.int64),
        kind=np.array(touch_kind, dtype=np.int64),
        at_us=np.array(touch_at, dtype=np.int64),
        kinds=TOUCHES,
    )
    emails = _Events(
        lead=np.zeros(0, np.int64), kind=np.zeros(0, np.int64), at_us=np.zeros(0, np.int64),
        kinds=("open", "click"),
    )  # fmt: skip
    return Leads(
        person_id=pa.array(["P1", "P2"]),
        created_us=np.array([0, 10 * DAY], dtype=np.int64),
        fit=fit,
        touches=touches,
        emails=emails,
    )


def test_a_touch_one_microsecond_after_the_moment_is_not_counted() -> None:
    form = TOUCHES.index("form_submit")
    moment = 7 * DAY
    leads = two_leads([0, moment, moment + 1], [form, form, form], [0, 0, 0])
    x = features(leads, np.array([0]), np.array([moment]), half_life_days=30.0)
    assert x.column("touch_form_submit")[0].as_py() == 2  # at creation and exactly at the moment
    # decayed: one touch a week old, one of age zero
    assert x.column("touch_form_submit_decayed")[0].as_py() == pytest.approx(1 + 2 ** (-7 / 30))
    assert x.column("days_since_last_touch")[0].as_py() == 0
    assert x.column("age_days")[0].as_py() == 7
    # and the future touch moved nowhere: drop it, the same features
    past = two_leads([0, moment], [form, form], [0, 0])
    assert features(past, np.array([0]), np.array([moment]), half_life_days=30.0).equals(x)


def test_a_lead_seen_at_several_moments_counts_up_to_each() -> None:
    web = TOUCHES.index("web_visit")
    at = [1 * DAY, 5 * DAY, 20 * DAY, 12 * DAY]
    leads = two_leads(at, [web] * 4, [0, 0, 0, 1])
    rows = np.array([0, 1, 0, 0])
    moments = np.array([0, 10 * DAY, 7 * DAY, 30 * DAY])
    x = features(leads, rows, moments, half_life_days=10.0)
    assert x.column("touch_web_visit").to_pylist() == [0, 0, 2, 3]
    assert x.column("days_since_last_touch").to_pylist() == [NO_TOUCH_DAYS, NO_TOUCH_DAYS, 2, 10]
    assert x.column("touch_web_visit_decayed")[2].as_py() == pytest.approx(
        2 ** (-6 / 10) + 2 ** (-2 / 10)
    )
    # the second lead was scored at its creation, before its touch on day 12
    assert x.column("age_days").to_pylist() == [0, 0, 7, 30]
    assert x.column("persona").to_pylist() == ["executive", "manager", "executive", "executive"]


def test_on_a_real_company_no_feature_sees_past_its_moment(scored_ws) -> None:
    """Each lead's features at a week old, with every event after that week deleted: equal."""
    ws = scored_ws
    leads = ws.scoring._read(ws.metrics.as_of())
    rng = np.random.default_rng(0)
    rows = np.sort(rng.choice(len(leads.created_us), 400, replace=False))
    moments = leads.created_us[rows] + 7 * DAY
    full = features(leads, rows, moments, half_life_days=30.0)
    limit = np.full(len(leads.created_us), np.iinfo(np.int64).min)
    limit[rows] = moments

    def cut(events: _Events) -> _Events:
        keep = events.at_us <= limit[events.lead]
        return dataclasses.replace(
            events, lead=events.lead[keep], kind=events.kind[keep], at_us=events.at_us[keep]
        )

    past = dataclasses.replace(leads, touches=cut(leads.touches), emails=cut(leads.emails))
    assert len(past.touches.at_us) < len(leads.touches.at_us)  # there was a future to cut
    assert features(past, rows, moments, half_life_days=30.0).equals(full)
