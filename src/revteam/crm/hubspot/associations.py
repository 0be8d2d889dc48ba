"""A deal's company: its own association, else its contact's company, else none.

HubSpot lets a deal exist without an associated company, and exports and loaders often leave
the association out. Refusing such a deal would lose its revenue, so it loads: it takes the
company of its contact where that company is known, and otherwise loads without an account.
Both are counted in the load's notes. A contact's company comes from the contacts in the same
load first, then from the people already in the warehouse; a company is *known* when the load
or the warehouse holds it, so a deal never takes a company that validation would refuse.
"""

from __future__ import annotations

from collections.abc import Iterable

from revteam.crm import _private as P
from revteam.crm.translation import Translation

Person = tuple[str, str | None]
"""(person id, account id) of a person already in the warehouse."""

_PEOPLE = "_hs_contact_companies"
_ACCOUNTS = "_hs_known_accounts"
_COMPANY_OF = "_hs_company_of"


def create(tr: Translation, *, people: Iterable[Person] = (), accounts: Iterable[str] = ()) -> None:
    """Scratch tables of contacts' companies and known companies, seeded from the warehouse."""
    import pyarrow as pa

    tr.con.execute(
        f"CREATE OR REPLACE TABLE {_PEOPLE} (person_id VARCHAR, account_id VARCHAR, rank INT)"
    )
    tr.con.execute(f"CREATE OR REPLACE TABLE {_ACCOUNTS} (account_id VARCHAR)")
    known = [(p, a) for p, a in people if a]
    text = pa.string()
    # Arrow, not executemany: a warehouse may hold millions of people.
    found = pa.table(
        {"p": pa.array([p for p, _ in known], text), "a": pa.array([a for _, a in known], text)}
    )
    ids = pa.table({"a": pa.array(list(accounts), text)})
    tr.con.register("_hs_warehouse_people", found)
    tr.con.register("_hs_warehouse_accounts", ids)
    # A warehouse person's company is in the warehouse: known by construction.
    tr.con.execute(f"INSERT INTO {_PEOPLE} SELECT p, a, 1 FROM _hs_warehouse_people")
    tr.con.execute(
        f"INSERT INTO {_ACCOUNTS} SELECT a FROM _hs_warehouse_people "
        "UNION ALL SELECT a FROM _hs_warehouse_accounts"
    )
    tr.con.unregister("_hs_warehouse_people")
    tr.con.unregister("_hs_warehouse_accounts")


def add_accounts(tr: Translation, sql: str) -> None:
    """Companies of this load: ``sql`` gives ``account_id``."""
    tr.con.execute(
        f"INSERT INTO {_ACCOUNTS} SELECT account_id FROM ({sql}) WHERE account_id IS NOT NULL"
    )


def add_people(tr: Translation, sql: str) -> None:
    """Contacts of this load (they win over the warehouse): ``sql`` gives person and company."""
    tr.con.execute(
        f"INSERT INTO {_PEOPLE} SELECT person_id, account_id, 0 FROM ({sql}) "
        "WHERE person_id IS NOT NULL AND account_id IS NOT NULL"
    )


def place(tr: Translation, deals: str, label: str) -> str:
    """``deals`` (canonical columns) with a missing company taken from the contact; noted.

    ``label`` names the source in the notes. Call it once the load's companies and contacts
    have been added.
    """
    tr.con.execute(
        f"CREATE OR REPLACE TABLE {_COMPANY_OF} AS SELECT person_id, "
        f"arg_min(account_id, rank) AS account_id FROM {_PEOPLE} "
        f"WHERE account_id IN (SELECT account_id FROM {_ACCOUNTS}) GROUP BY person_id"
    )
    contact = f"(SELECT c.account_id FROM {_COMPANY_OF} c WHERE c.person_id = d.person_id)"
    placed = (
        f"SELECT d.* REPLACE (COALESCE(d.account_id, {contact}) AS account_id) FROM ({deals}) d"
    )
    counts = P.rows(
        tr.con,
        f"SELECT count(*) FILTER (WHERE d.account_id IS NULL AND {contact} IS NOT NULL), "
        f"count(*) FILTER (WHERE d.account_id IS NULL AND {contact} IS NULL) FROM ({deals}) d",
    )[0]
    via_contact, without = (int(str(n)) for n in counts)
    if via_contact:
        tr.notes.append(
            f"{label}: {via_contact} deal(s) without a company took their contact's company"
        )
    if without:
        tr.notes.append(f"{label}: {without} deal(s) have no company: loaded without an account")
    return placed
