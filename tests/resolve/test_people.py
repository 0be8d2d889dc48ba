"""Resolution over a workspace: injected duplicates merge, distinct people do not."""

from __future__ import annotations

from collections import Counter

import duckdb
import pytest
from tests.resolve.conftest import indistinguishable, links_of

from revteam.model import identity as N

pytestmark = pytest.mark.slow  # a generated company and two resolution runs


def test_duplicates_merge_with_the_person_they_copy(resolved):
    ws, _, dups, result = resolved
    links = links_of(ws)
    missed = [(o, d["person_id"]) for o, d in dups if links[o] != links[d["person_id"]]]
    assert len(missed) <= 5, missed  # the company-variant-plus-first-name-typo kind is hardest
    assert result.merged_people >= 2 * (len(dups) - len(missed))


def test_distinct_people_are_not_merged(resolved):
    ws, people, _, _ = resolved
    links = links_of(ws)
    by_id = {p["person_id"]: p for p in people}
    groups: dict[str, list[str]] = {}
    for p in people:
        groups.setdefault(links[p["person_id"]], []).append(p["person_id"])
    wrong = [
        (a, b)
        for members in groups.values()
        for i, a in enumerate(members)
        for b in members[i + 1 :]
        if not indistinguishable(by_id[a], by_id[b])
    ]
    assert wrong == []


def test_results_are_in_the_warehouse_and_stable(resolved):
    ws, people, _, result = resolved
    before = ws.identity.links()
    again = ws.identity.run()
    after = ws.identity.links()
    assert before.select(["person_id", "unified_id"]).equals(
        after.select(["person_id", "unified_id"])
    )
    assert again.clusters == result.clusters and again.pairs_compared == result.pairs_compared
    assert result.people == len(people) + 100
    # the printed figures, recounted from what was written
    unified = links_of(ws)
    sizes = Counter(unified.values())
    assert result.clusters == len(sizes)
    assert result.merged_people == sum(n for n in sizes.values() if n > 1)
    review = ws.identity.review().to_pylist()
    assert result.review_pairs == len(review)
    assert all(0.2 <= r["match_probability"] < 0.5 for r in review)
    assert result.account_links == ws.identity.account_links().num_rows
    accounts = ws.identity.account_links().to_pylist()
    assert accounts and Counter(a["method"] for a in accounts)["email_domain"] > 0
    assert all(a["agrees_with_source"] for a in accounts if a["method"] == "email_domain")


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("Ana.Lima+Webinar@Acme.com", "ana.lima@acme.com"),
        ("a.n.a.lima@googlemail.com", "analima@gmail.com"),
        ("ana.lima@acme.com", "ana.lima@acme.com"),
        ("not an address", None),
        ("Ana.Lima@googlemail.com.au", "ana.lima@googlemail.com.au"),  # only googlemail.com
    ],
)
def test_email_normalisation(email: str, expected: str | None):
    assert duckdb.sql(f"SELECT {N.email_sql(repr(email))}").fetchall() == [(expected,)]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("The Acme Corp.", "acme"),
        ("ACME, Inc", "acme"),
        ("Müller GmbH & Co. KG", "muller gmbh co"),
        ("Bank of the West", "bank of the west"),  # only a leading "the" goes
    ],
)
def test_company_normalisation(name: str, expected: str):
    assert duckdb.sql(f"SELECT {N.company_sql(repr(name))}").fetchall() == [(expected,)]


def test_free_mail_says_nothing_about_the_company():
    assert duckdb.sql(f"SELECT {N.domain_sql(repr('x@gmail.com'))}").fetchall() == [(None,)]
    assert duckdb.sql(f"SELECT {N.domain_sql(repr('x@Acme.com'))}").fetchall() == [("acme.com",)]
