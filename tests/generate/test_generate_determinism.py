from __future__ import annotations

from revteam.generate import GeneratorConfig, generate_company


def test_same_seed_same_company(company):
    again = generate_company(company.config)
    for name, table in company.tables.items():
        assert table.equals(again.tables[name]), name
    assert again.truth == company.truth


def test_different_seed_different_company(company):
    other = generate_company(
        GeneratorConfig(n_leads=company.config.n_leads, seed=company.config.seed + 1)
    )
    for name in ("people", "opportunities", "touchpoints", "email_events", "costs", "web_traffic"):
        assert not company.tables[name].equals(other.tables[name]), name


def test_size_follows_the_config():
    company = generate_company(GeneratorConfig(n_leads=3_000, months=6, n_campaigns=20))
    assert company.tables["people"].num_rows == 3_000
    assert company.tables["campaigns"].num_rows == 20
    assert company.tables["accounts"].num_rows == 500
    assert str(company.as_of.date()) == "2025-05-01"
