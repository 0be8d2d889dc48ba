"""``ws.timeline``: every event of an account or person once, in order, with its owner.

The expected events are computed with plain DuckDB SQL over the *generated* tables (not the
warehouse), so the test checks the whole path: files → warehouse → timeline.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import duckdb
import pytest

from revteam.exceptions import LimitExceededError, TimelineError, UnknownEntityError
from revteam.generate import Company
from revteam.timeline import COLUMNS, KINDS, MAX_LIMIT, Event, Timeline
from revteam.timeline.events import OWNER_OF
from revteam.timeline.header import OWNED
from revteam.workspace import Workspace

STAMPS = {
    "lead": "created_at",
    "mql": "mql_at",
    "sql": "sql_at",
    "opportunity": "opportunity_at",
    "customer": "customer_at",
    "disqualified": "disqualified_at",
}


@pytest.fixture(scope="module")
def source(company: Company) -> duckdb.DuckDBPyConnection:
    """The generated tables in a DuckDB of their own."""
    con = duckdb.connect()
    for name, table in company.tables.items():
        con.register(f"g_{name}", table)
    return con


def expected(con: duckdb.DuckDBPyConnection, subject: str, id: str) -> list[tuple[Any, ...]]:
    """(source_table, source_key, event, time, owner_id) of every event, from the generated data.

    An account's rows: itself, its people (people.account_id) and every row with its
    account_id or one of its people; opportunities of either, and their stage history. The
    owner is the row's own, else that of the touch's or e-mail event's person, the deal stage's
    deal, the order's account.
    """
    if subject == "account":
        people = f"SELECT person_id FROM g_people WHERE account_id = '{id}'"
        mine = f"(account_id = '{id}' OR person_id IN ({people}))"
    else:
        people = f"SELECT '{id}'"
        mine = f"person_id IN ({people})"
    opps = f"SELECT opportunity_id FROM g_opportunities WHERE {mine}"
    stamps = " UNION ALL ".join(
        f"SELECT 'people', person_id, '{e}', {c}, owner_id FROM g_people "
        f"WHERE person_id IN ({people}) AND {c} IS NOT NULL"
        for e, c in STAMPS.items()
    )
    owner_of_person = "(SELECT owner_id FROM g_people p WHERE p.person_id = x.person_id)"
    sql = f"""
        SELECT 'accounts', account_id, 'created', created_at, owner_id FROM g_accounts
            WHERE account_id = '{id}' AND '{subject}' = 'account'
        UNION ALL {stamps}
        UNION ALL SELECT 'touchpoints', touch_id, type, occurred_at, {owner_of_person}
            FROM g_touchpoints x WHERE {mine}
        UNION ALL SELECT 'email_events', event_id, type, occurred_at, {owner_of_person}
            FROM g_email_events x WHERE person_id IN ({people})
        UNION ALL SELECT 'sales_activities', activity_id, type, occurred_at, owner_id
            FROM g_sales_activities WHERE {mine}
        UNION ALL SELECT 'opportunities', opportunity_id, 'created', created_at, owner_id
            FROM g_opportunities WHERE {mine}
        UNION ALL SELECT 'opportunities', opportunity_id,
                CASE WHEN is_won THEN 'closed_won' ELSE 'closed_lost' END, closed_at, owner_id
            FROM g_opportunities WHERE {mine} AND closed_at IS NOT NULL
        UNION ALL SELECT 'opportunity_stages',
                s.opportunity_id || '|' || CAST(s.entered_at AS VARCHAR) || '|' || s.stage,
                s.stage, s.entered_at, o.owner_id
            FROM g_opportunity_stages s JOIN g_opportunities o USING (opportunity_id)
            WHERE s.opportunity_id IN ({opps})
        UNION ALL SELECT 'orders', order_id, 'order', ordered_at,
                (SELECT owner_id FROM g_accounts a WHERE a.account_id = x.account_id)
            FROM g_orders x WHERE {mine}"""
    return con.execute(sql).fetchall()


def every_event(read: Any, id: str, **options: Any) -> tuple[list[Event], Timeline]:
    events: list[Event] = []
    offset = 0
    while True:
        page = read(id, limit=MAX_LIMIT, offset=offset, header=False, **options)
        events += page.events
        if page.next_offset is None:
            return events, page
        offset = page.next_offset


def order_key(e: Event) -> tuple[Any, ...]:
    return (e.at, list(KINDS).index(e.kind), e.source_key)


def check_against_source(
    con: duckdb.DuckDBPyConnection, ws: Workspace, subject: str, id: str
) -> list[Event]:
    read = ws.timeline.account if subject == "account" else ws.timeline.person
    events, last = every_event(read, id)
    assert last.total == len(events) == sum(last.counts.values())
    got = Counter((e.source_table, e.source_key, e.event, e.at, e.owner_id) for e in events)
    want = Counter(expected(con, subject, id))
    assert got == want  # every event of every table, exactly once
    assert max(got.values()) == 1
    assert [order_key(e) for e in events] == sorted(order_key(e) for e in events)
    users = dict(con.execute("SELECT user_id, name FROM g_users").fetchall())
    for e in events:
        assert e.owner == users.get(e.owner_id)  # the owner's name, where the row has one
        assert e.description and "\n" not in e.description
    return events


def busiest_accounts(con: duckdb.DuckDBPyConnection) -> list[str]:
    """An account with the most deals, one with orders, one with a lost deal."""
    rows = con.execute(
        """SELECT (SELECT account_id FROM g_opportunities GROUP BY 1 ORDER BY count(*) DESC, 1
                   LIMIT 1),
                  (SELECT min(account_id) FROM g_orders),
                  (SELECT min(account_id) FROM g_opportunities WHERE is_closed AND NOT is_won)"""
    ).fetchone()
    return list(dict.fromkeys(rows))


def test_every_event_of_an_account_appears_once_in_order_with_its_owner(source, loaded):
    for account in busiest_accounts(source):
        events = check_against_source(source, loaded, "account", account)
        kinds = {e.kind for e in events}
        assert {"account", "stage", "touch", "email", "activity", "opportunity"} <= kinds
        assert all(e.account_id == account for e in events)  # every row belongs to it here
    accounts = [r[0] for r in source.execute("SELECT account_id FROM g_accounts").fetchall()]
    for account in accounts[::37]:  # totals for a spread of others
        assert loaded.timeline.account(account, limit=1, header=False).total == len(
            expected(source, "account", account)
        )


def test_a_person_has_their_own_events(source, loaded):
    person = source.execute(
        "SELECT person_id FROM g_opportunities WHERE is_won ORDER BY person_id LIMIT 1"
    ).fetchone()[0]
    events = check_against_source(source, loaded, "person", person)
    assert {e.kind for e in events} >= {"stage", "opportunity", "deal_stage"}
    assert "account" not in {e.kind for e in events}
    stages = [e.event for e in events if e.kind == "stage"]
    assert stages[0] == "lead" and "customer" in stages


def test_descriptions_say_what_happened(source, loaded):
    account = busiest_accounts(source)[0]
    events, _ = every_event(loaded.timeline.account, account)
    won = next(e for e in events if e.event == "closed_won")
    assert "closed won" in won.description and "$" in won.description and won.amount
    lead = next(e for e in events if e.event == "lead")
    assert "became a lead" in lead.description and lead.person in lead.description
    call = next(e for e in events if e.kind == "activity")
    assert call.owner and call.owner in call.description
    touch = next(e for e in events if e.kind == "touch" and e.campaign_id)
    assert touch.campaign and touch.campaign in touch.description and touch.channel
    lost = source.execute(
        "SELECT account_id, opportunity_id, lost_reason FROM g_opportunities "
        "WHERE is_closed AND NOT is_won AND lost_reason IS NOT NULL ORDER BY 1 LIMIT 1"
    ).fetchone()
    found, _ = every_event(loaded.timeline.account, lost[0], kinds="opportunity")
    closed = next(e for e in found if e.event == "closed_lost" and e.opportunity_id == lost[1])
    assert lost[2].replace("_", " ") in closed.description


def test_pages_kinds_and_as_of(source, loaded):
    account = busiest_accounts(source)[0]
    tl = loaded.timeline
    everything, _ = every_event(tl.account, account)
    pages = [tl.account(account, limit=7, offset=o, header=False) for o in range(0, 60, 7)]
    assert [e for p in pages for e in p.events] == everything[: sum(len(p.events) for p in pages)]
    assert pages[0].next_offset == 7 and pages[0].total == len(everything)
    beyond = tl.account(account, limit=5, offset=len(everything) + 10, header=False)
    assert beyond.events == () and beyond.total == len(everything) and beyond.next_offset is None
    deals, page = every_event(tl.account, account, kinds=["opportunity", "deal_stage"])
    assert {e.kind for e in deals} == {"opportunity", "deal_stage"}
    assert page.total == page.counts["opportunity"] + page.counts["deal_stage"] == len(deals)
    assert deals == [e for e in everything if e.kind in ("opportunity", "deal_stage")]
    assert tl.account(account, kinds="web,touch", header=False).kinds == ("touch", "web")
    cut = everything[len(everything) // 2].at
    before, page = every_event(tl.account, account, as_of=cut)
    assert before == [e for e in everything if e.at <= cut] and page.as_of == cut
    day, _ = every_event(tl.account, account, as_of=cut.date())
    assert day == [e for e in everything if e.at.date() <= cut.date()]
    person = everything[1].person_id
    assert tl.person(person, kinds="account", header=False).events == ()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"kinds": ["bogus"]}, "Unknown event kind 'bogus'"),
        ({"limit": MAX_LIMIT + 1}, "1 to 500"),
        ({"limit": 0}, "1 to 500"),
        ({"offset": -1}, "to skip"),
    ],
)
def test_bad_options_are_refused_with_the_fix(loaded, options, message):
    with pytest.raises(TimelineError, match=message):
        loaded.timeline.account("A000001", **options)


def test_unknown_ids_are_refused_by_name(loaded):
    with pytest.raises(UnknownEntityError, match="no account with id 'NOPE'"):
        loaded.timeline.account("NOPE")
    with pytest.raises(UnknownEntityError, match="no person with id 'A000001'"):
        loaded.timeline.person("A000001")
    with pytest.raises(UnknownEntityError):
        loaded.timeline.person("x" * 1000)


def test_the_account_header_has_its_owner_kpis_and_deals(source, loaded):
    account = busiest_accounts(source)[0]
    t = loaded.timeline.account(account, limit=1)
    h = t.header
    name, owner_id = source.execute(
        f"SELECT name, owner_id FROM g_accounts WHERE account_id = '{account}'"
    ).fetchone()
    assert h.name == name and h.owner.id == owner_id
    assert (
        h.owner.name
        == source.execute(f"SELECT name FROM g_users WHERE user_id = '{owner_id}'").fetchone()[0]
    )
    won, lost, open_, revenue = source.execute(
        f"""SELECT count(*) FILTER (is_won), count(*) FILTER (is_closed AND NOT is_won),
                   count(*) FILTER (NOT is_closed), sum(amount) FILTER (is_won)
            FROM g_opportunities WHERE account_id = '{account}'"""
    ).fetchone()
    assert h.deals == {"won": won, "open": open_, "lost": lost}
    kpis = {k.metric: k for k in h.kpis}
    assert set(kpis) == {
        "revenue", "opportunities_won", "win_rate", "open_pipeline", "time_to_revenue_days", "clv",
    }  # fmt: skip
    assert kpis["revenue"].value == pytest.approx(float(revenue))
    query = loaded.metrics.query("clv", grain="all", where={"account": [account]})
    assert kpis["clv"].value == pytest.approx(query.to_pylist()[0]["value"])
    assert (
        h.people
        == source.execute(
            f"SELECT count(*) FROM g_people WHERE account_id = '{account}'"
        ).fetchone()[0]
    )
    assert not h.identity.resolved and "has not run" in h.identity.message
    assert h.source == "accounts.parquet"  # the file's name, never a path


def test_search_finds_accounts_and_people_case_insensitively(loaded, source):
    found = loaded.timeline.search("ACME")
    assert found.hits and all("acme" in (h.name + (h.detail or "")).lower() for h in found.hits)
    kinds = [h.kind for h in found.hits]
    assert kinds == sorted(kinds)  # accounts first
    want = source.execute(
        "SELECT count(*) FROM g_accounts WHERE name ILIKE '%acme%' OR domain ILIKE '%acme%'"
    ).fetchone()[0]
    assert found.counts["account"] == want
    person = source.execute("SELECT person_id, email FROM g_people LIMIT 1").fetchone()
    hit = loaded.timeline.search(person[1].upper()).hits
    assert [h.id for h in hit if h.kind == "person"] == [person[0]]
    few = loaded.timeline.search("a", limit=3)
    assert few.more and len([h for h in few.hits if h.kind == "account"]) == 3
    for bad in ("", "   ", "x" * 101):
        with pytest.raises(TimelineError):
            loaded.timeline.search(bad)
    assert loaded.timeline.search("%").hits == ()  # no wildcards: text as typed


def test_export_gives_every_event_and_refuses_too_many(source, loaded):
    account = busiest_accounts(source)[0]
    table = loaded.timeline.export("account", account)
    events, _ = every_event(loaded.timeline.account, account)
    assert table.num_rows == len(events)
    assert table.column("source_key").to_pylist() == [e.source_key for e in events]
    with pytest.raises(LimitExceededError, match="events"):
        loaded.timeline.export("account", account, max_rows=3)


def test_a_person_linked_across_hubspot_and_salesforce_shows_both(two_crms):
    ws, pairs = two_crms
    for sf_id, hubspot_id in pairs.items():
        for asked in (sf_id, hubspot_id):
            t = ws.timeline.person(asked, limit=MAX_LIMIT)
            identity = t.header.identity
            assert identity.resolved and identity.unified_id == min(sf_id, hubspot_id)
            sources = {r.person_id: r.source for r in identity.records}
            assert sources == {sf_id: "salesforce", hubspot_id: "hubspot"}
            other = next(r for r in identity.records if not r.is_subject)
            assert "same e-mail" in other.reasons and "same first and last name" in other.reasons
            assert "hubspot, salesforce" in identity.message
            assert set(t.person_ids) == {sf_id, hubspot_id}
            leads = [e for e in t.events if e.event == "lead"]
            assert {e.person_id for e in leads} == {sf_id, hubspot_id}  # both records' events
            alone = ws.timeline.person(asked, linked=False, limit=MAX_LIMIT)
            assert {e.person_id for e in alone.events} == {asked}
            assert t.total > alone.total
    account = ws.timeline.account(ws.timeline.person(sf_id).header.account_id, limit=1)
    assert account.header.identity.sources.keys() == {"hubspot", "salesforce"}
    assert account.header.identity.resolved


def test_without_resolution_the_header_says_so(loaded):
    t = loaded.timeline.person("P0000001", limit=1)
    assert not t.header.identity.resolved
    assert "revteam resolve" in t.header.identity.message
    assert t.person_ids == ("P0000001",)


def test_an_account_with_100k_events_pages_in_the_warehouse(big):
    from tests.timeline.conftest import BIG

    ws, account = big
    first = ws.timeline.account(account, limit=50, header=False)
    assert len(first.events) == 50
    assert first.counts["touch"] + first.counts["web"] >= BIG
    assert first.total == sum(first.counts.values())
    assert first.counts["web"] >= BIG // 4
    last = ws.timeline.account(account, limit=50, offset=first.total - 50, header=False)
    assert len(last.events) == 50 and last.next_offset is None
    assert last.events[-1].at >= first.events[0].at
    web = ws.timeline.account(account, limit=50, offset=1000, kinds="web", header=False)
    assert len(web.events) == 50 and {e.kind for e in web.events} == {"web"}
    assert web.total == first.counts["web"]
    with_header = ws.timeline.account(account, limit=50)
    assert with_header.header.people >= 1 and len(with_header.events) == 50


def test_as_of_outside_the_plausible_years_is_refused(loaded):
    from revteam.exceptions import MetricQueryError

    with pytest.raises(MetricQueryError, match="plausible_years"):
        loaded.timeline.account("A000001", as_of=dt.date(25, 1, 1))


def test_a_disqualified_lead_says_why_and_each_event_says_whose_owner_it_is(source, loaded):
    person, reason = source.execute(
        "SELECT person_id, disqualification_reason FROM g_people "
        "WHERE disqualified_at IS NOT NULL AND disqualification_reason IS NOT NULL "
        "ORDER BY person_id LIMIT 1"
    ).fetchone()
    events = check_against_source(source, loaded, "person", person)
    [out] = [e for e in events if e.event == "disqualified"]
    assert out.reason == reason and out.description.endswith(f": {reason.replace('_', ' ')}")
    assert all(e.reason is None for e in events if e is not out and e.event != "closed_lost")
    assert set(OWNER_OF) == set(KINDS)  # every kind says whose owner its events carry
    for e in events:
        assert e.owner_of == (OWNER_OF[e.kind] if e.owner_id else None)
    lost = source.execute(
        "SELECT account_id, opportunity_id, lost_reason FROM g_opportunities "
        "WHERE is_closed AND NOT is_won AND lost_reason IS NOT NULL ORDER BY 1 LIMIT 1"
    ).fetchone()
    found, _ = every_event(loaded.timeline.account, lost[0], kinds="opportunity")
    closed = next(e for e in found if e.event == "closed_lost" and e.opportunity_id == lost[1])
    assert closed.reason == lost[2]


def test_owners_on_the_header_are_who_owned_what_and_when(source, loaded):
    account = busiest_accounts(source)[0]
    t = loaded.timeline.account(account, limit=1)
    events, _ = every_event(loaded.timeline.account, account)
    want: dict[str, dict[str, set[str]]] = {}
    span: dict[str, list[dt.datetime]] = {}
    for e in events:
        if e.owner_id and e.source_table in OWNED.values():
            want.setdefault(e.owner_id, {}).setdefault(e.source_table, set()).add(e.source_key)
            span.setdefault(e.owner_id, []).append(e.at)
    owners = t.header.owners
    assert {o.owner.id: dict(o.records) for o in owners} == {
        u: {table: len(keys) for table, keys in tables.items()} for u, tables in want.items()
    }
    for o in owners:
        assert (o.first_at, o.last_at) == (min(span[o.owner.id]), max(span[o.owner.id]))
        assert o.owner.name == next(e.owner for e in events if e.owner_id == o.owner.id)
    assert [o.first_at for o in owners] == sorted(o.first_at for o in owners)
    account_owner = source.execute(
        f"SELECT owner_id FROM g_accounts WHERE account_id = '{account}'"
    ).fetchone()[0]
    assert next(o for o in owners if o.owner.id == account_owner).records["accounts"] == 1
    cut = events[len(events) // 2].at
    early = loaded.timeline.account(account, limit=1, as_of=cut).header.owners
    assert all(o.last_at <= cut for o in early)
    person = loaded.timeline.person(events[1].person_id, limit=1).header.owners
    assert person and all("accounts" not in o.records for o in person)


def test_search_by_domain_and_web_address(source, loaded):
    account, domain = source.execute(
        "SELECT account_id, domain FROM g_accounts WHERE domain IS NOT NULL ORDER BY 1 LIMIT 1"
    ).fetchone()
    for text in (domain, domain.upper(), f"https://www.{domain}/", f"www.{domain}"):
        hits = loaded.timeline.search(text).hits
        assert hits[0].kind == "account" and hits[0].id == account, text
        assert hits[0].detail == domain
    people = list(loaded.timeline.search(f"@{domain}", limit=100).hits)
    emails = source.execute(
        f"SELECT count(*) FROM g_people WHERE email ILIKE '%@{domain}%'"
    ).fetchone()[0]
    assert len(people) == min(emails, 100) and all(h.kind == "person" for h in people)
    with pytest.raises(TimelineError, match="Give some text"):
        loaded.timeline.search("https://")


def test_export_columns_carry_owner_and_reason(source, loaded):
    account = busiest_accounts(source)[0]
    table = loaded.timeline.export("account", account, kinds="opportunity,deal_stage")
    assert tuple(table.column_names) == COLUMNS
    assert {"owner_of", "reason"} <= set(table.column_names)
    assert set(table.column("owner_of").to_pylist()) <= {"opportunities", None}
