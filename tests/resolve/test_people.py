"""Resolution over a workspace: injected duplicates merge, distinct people do not."""

from __future__ import annotations

import random
from collections import Counter

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import revteam
from revteam.generate import GeneratorConfig, generate_company
from revteam.resolve import IdentityComponent
from revteam.resolve import normalise as N
from revteam.workspace import Workspace

pytestmark = pytest.mark.slow  # a generated company and two resolution runs


def _typo(word: str, rng: random.Random) -> str:
    j = rng.randrange(1, len(word) - 1)
    return word[:j] + word[j + 1] + word[j] + word[j + 2 :]


def _duplicates(people: list[dict], rng: random.Random, n: int) -> list[tuple[str, dict]]:
    """Copies of real people as other systems hold them: typos, aliases, case, company names."""
    out = []
    for i, person in enumerate(rng.sample(people, n)):
        dup = dict(person, person_id=f"D{i:04d}")
        local, domain = person["email"].split("@")
        kind = i % 4
        if kind == 0:
            dup["last_name"] = _typo(person["last_name"], rng)
        elif kind == 1:
            dup["email"] = f"{local}+webinar@{domain}"
        elif kind == 2:
            dup |= {"email": person["email"].upper(), "first_name": person["first_name"].upper(),
                    "last_name": person["last_name"].lower()}  # fmt: skip
        else:
            dup["company_name"] = person["company_name"].rsplit(" ", 1)[0]  # "Acme Inc" → "Acme"
            dup["first_name"] = (
                _typo(person["first_name"], rng)
                if len(person["first_name"]) > 3
                else person["first_name"]
            )
        out.append((person["person_id"], dup))
    return out


@pytest.fixture(scope="module")
def resolved(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("dups")
    company = generate_company(GeneratorConfig(n_leads=1500, seed=5))
    people = company.tables["people"].to_pylist()
    dups = _duplicates(people, random.Random(7), 100)
    company.write(root / "data")
    table = pa.Table.from_pylist(
        people + [d for _, d in dups], schema=company.tables["people"].schema
    )
    pq.write_table(table, root / "data" / "people.parquet")
    ws = revteam.init(root / "ws")
    ws.ingest.load_directory(root / "data")
    result = IdentityComponent(ws).run()
    yield ws, people, dups, result
    ws.close()


def _links(ws: Workspace) -> dict[str, str]:
    return {r["person_id"]: r["unified_id"] for r in IdentityComponent(ws).links().to_pylist()}


def _indistinguishable(a: dict, b: dict) -> bool:
    """Colleagues whose names and e-mails differ by one letter: a typo would look the same."""
    from difflib import SequenceMatcher

    close = lambda x, y: SequenceMatcher(None, x, y).ratio() >= 0.75  # noqa: E731
    return (
        a["last_name"] == b["last_name"]
        and close(a["first_name"], b["first_name"])
        and close(a["email"], b["email"])
    )


def test_duplicates_merge_with_the_person_they_copy(resolved):
    ws, _, dups, result = resolved
    links = _links(ws)
    missed = [(o, d["person_id"]) for o, d in dups if links[o] != links[d["person_id"]]]
    assert len(missed) <= 5, missed  # the company-variant-plus-first-name-typo kind is hardest
    assert result.merged_people >= 2 * (len(dups) - len(missed))


def test_distinct_people_are_not_merged(resolved):
    ws, people, _, _ = resolved
    links = _links(ws)
    by_id = {p["person_id"]: p for p in people}
    groups: dict[str, list[str]] = {}
    for p in people:
        groups.setdefault(links[p["person_id"]], []).append(p["person_id"])
    wrong = [
        (a, b)
        for members in groups.values()
        for i, a in enumerate(members)
        for b in members[i + 1 :]
        if not _indistinguishable(by_id[a], by_id[b])
    ]
    assert wrong == []


def test_results_are_in_the_warehouse_and_stable(resolved):
    ws, people, _, result = resolved
    before = IdentityComponent(ws).links()
    again = IdentityComponent(ws).run()
    after = IdentityComponent(ws).links()
    assert before.select(["person_id", "unified_id"]).equals(
        after.select(["person_id", "unified_id"])
    )
    assert again.clusters == result.clusters and again.pairs_compared == result.pairs_compared
    assert result.people == len(people) + 100
    accounts = IdentityComponent(ws).account_links().to_pylist()
    assert accounts and Counter(a["method"] for a in accounts)["email_domain"] > 0
    assert all(a["agrees_with_source"] for a in accounts if a["method"] == "email_domain")


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("Ana.Lima+Webinar@Acme.com", "ana.lima@acme.com"),
        ("a.n.a.lima@googlemail.com", "analima@gmail.com"),
        ("ana.lima@acme.com", "ana.lima@acme.com"),
        ("not an address", None),
    ],
)
def test_email_normalisation(email: str, expected: str | None):
    assert duckdb.sql(f"SELECT {N.email_sql(repr(email))}").fetchall() == [(expected,)]


@pytest.mark.parametrize(
    ("name", "expected"),
    [("The Acme Corp.", "acme"), ("ACME, Inc", "acme"), ("Müller GmbH & Co. KG", "muller gmbh co")],
)
def test_company_normalisation(name: str, expected: str):
    assert duckdb.sql(f"SELECT {N.company_sql(repr(name))}").fetchall() == [(expected,)]


def test_free_mail_says_nothing_about_the_company():
    assert duckdb.sql(f"SELECT {N.domain_sql(repr('x@gmail.com'))}").fetchall() == [(None,)]
    assert duckdb.sql(f"SELECT {N.domain_sql(repr('x@Acme.com'))}").fetchall() == [("acme.com",)]
