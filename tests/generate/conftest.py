"""Shared generated companies (made once per session: generation dominates the test time)."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from revteam.generate import Company, GeneratorConfig, generate_company

N_LEADS = 30_000
SEED = 11


@pytest.fixture(scope="session")
def company() -> Company:
    return generate_company(GeneratorConfig(n_leads=N_LEADS, seed=SEED))


@pytest.fixture(scope="session")
def flat_company() -> Company:
    return generate_company(GeneratorConfig(n_leads=N_LEADS, seed=SEED, planted_changes=False))


class Sql:
    """DuckDB over a company's Arrow tables, so tests state their expectations in SQL."""

    def __init__(self, company: Company) -> None:
        self.con = duckdb.connect()
        for name, table in company.tables.items():
            self.con.register(name, table)

    def rows(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def scalar(self, sql: str):
        return self.rows(sql)[0][0]


@pytest.fixture(scope="session")
def db(company: Company) -> Iterator[Sql]:
    sql = Sql(company)
    yield sql
    sql.con.close()


@pytest.fixture(scope="session")
def flat_db(flat_company: Company) -> Iterator[Sql]:
    sql = Sql(flat_company)
    yield sql
    sql.con.close()
