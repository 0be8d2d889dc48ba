from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

import revteam.generate as generate
from revteam.exceptions import GeneratorError
from revteam.generate import GeneratorConfig, generate_company
from revteam.model import TABLES


def test_public_names_are_pinned():
    assert generate.__all__ == ["Company", "GeneratorConfig", "generate_company"]
    for name in generate.__all__:
        assert getattr(generate, name) is not None


def test_defaults_are_the_documented_demo_company():
    config = GeneratorConfig()
    assert (config.n_leads, config.months, config.seed, config.n_campaigns) == (100_000, 24, 42, 40)
    assert config.start == dt.date(2024, 11, 1)
    assert config.planted_changes is True
    assert config.currency == "USD"
    assert config.end == dt.date(2026, 11, 1)


def test_config_is_frozen():
    config = GeneratorConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.n_leads = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("n_leads", 99, "n_leads must be an integer from 100"),
        ("n_leads", 1.5e4, "n_leads must be an integer"),
        ("n_leads", True, "n_leads must be an integer"),
        ("months", 2, "months must be an integer from 3"),
        ("seed", -1, "seed must be a non-negative integer"),
        ("n_campaigns", 11, "n_campaigns must be an integer from 12"),
        ("currency", "usd", "currency must be a three-letter upper-case ISO 4217 code"),
        ("planted_changes", "yes", "planted_changes must be true or false"),
        ("start", dt.datetime(2024, 1, 1), "start must be a datetime.date"),
    ],
)
def test_invalid_config_says_what_is_allowed(field, value, says):
    with pytest.raises(GeneratorError, match=says):
        GeneratorConfig(**{field: value})


def test_every_problem_is_reported_at_once():
    with pytest.raises(GeneratorError) as info:
        GeneratorConfig(n_leads=1, months=1)
    assert "n_leads" in str(info.value) and "months" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_progress_names_every_table_once():
    seen: list[str] = []
    company = generate_company(GeneratorConfig(n_leads=500, months=3), progress=seen.append)
    assert sorted(seen) == sorted(TABLES)
    assert list(company.tables) == list(TABLES)
    assert company.as_of == dt.datetime(2025, 2, 1)


def test_default_config_is_used_when_none_given(monkeypatch):
    small = GeneratorConfig(n_leads=300, months=3)
    monkeypatch.setattr("revteam.generate.company.GeneratorConfig", lambda: small)
    assert generate_company().config is small


def test_smallest_company_is_still_complete():
    company = generate_company(GeneratorConfig(n_leads=100, months=3, n_campaigns=12))
    assert company.tables["people"].num_rows == 100
    assert company.tables["campaigns"].num_rows == 12
    assert all(t.num_rows > 0 for name, t in company.tables.items() if name != "orders")


@pytest.mark.parametrize("n_campaigns", [127, 128])
def test_campaign_counts_at_the_edge_of_a_narrow_type(n_campaigns):
    # people's codes are held in the narrowest integer type: int8 up to 127 campaigns
    config = GeneratorConfig(n_leads=2_000, months=6, n_campaigns=n_campaigns)
    company = generate_company(config)
    ids = company.tables["campaigns"].column("campaign_id").to_pylist()
    assert len(ids) == n_campaigns
    people = company.tables["people"].column("first_campaign_id").drop_null().to_pylist()
    assert set(people) <= set(ids)
