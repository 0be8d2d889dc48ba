"""Record owners: CRM exports name them (``Deal owner: Ana Lima``); the model wants user ids.

A lookup built from the workspace's ``users`` and any owner/user file in the same load turns
an owner's id, e-mail or (unambiguous) full name into the user id. Values it cannot resolve are
loaded as they are: ``owner_id`` is an unchecked reference, and ``revteam status`` lists orphans.
"""

from __future__ import annotations

from collections.abc import Iterable

from revteam.crm import _private as P
from revteam.crm.translation import Translation
from revteam.storage import quote_ident

OWNERS = "_owner_keys"

User = tuple[str, str | None, str | None]
"""(user id, full name, e-mail)."""


def create_lookup(tr: Translation, users: Iterable[User]) -> None:
    """Create the scratch lookup table from known users."""
    tr.con.execute(f"CREATE OR REPLACE TABLE {OWNERS}_src (user_id VARCHAR, k VARCHAR, kind INT)")
    batch = []
    for user_id, name, email in users:
        batch.append((user_id, user_id.lower(), 0))
        if email:
            batch.append((user_id, email.strip().lower(), 1))
        if name:
            batch.append((user_id, " ".join(name.split()).lower(), 2))
    if batch:
        tr.con.executemany(f"INSERT INTO {OWNERS}_src VALUES (?, ?, ?)", batch)
    _refresh(tr)


def add_from(tr: Translation, sql: str) -> None:
    """Add users from a query giving ``user_id, name, email`` (an owners file being loaded)."""
    tr.con.execute(
        f"INSERT INTO {OWNERS}_src SELECT user_id, lower(user_id), 0 FROM ({sql}) "
        "WHERE user_id IS NOT NULL "
        f"UNION ALL SELECT user_id, lower(trim(email)), 1 FROM ({sql}) WHERE email IS NOT NULL "
        f"UNION ALL SELECT user_id, lower(trim(name)), 2 FROM ({sql}) WHERE name IS NOT NULL"
    )
    _refresh(tr)


def _refresh(tr: Translation) -> None:
    # A name shared by two users says nothing about which one owns the record.
    tr.con.execute(
        f"CREATE OR REPLACE TABLE {OWNERS} AS SELECT k, min(user_id) AS user_id "
        f"FROM {OWNERS}_src GROUP BY k HAVING count(DISTINCT user_id) = 1"
    )


def owner_sql(id_expr: str | None, name_expr: str | None) -> str | None:
    """The owner's user id: an explicit id column, else the resolved owner name."""
    if name_expr is None:
        return id_expr
    resolved = (
        f"COALESCE((SELECT o.user_id FROM {OWNERS} o WHERE o.k = lower({name_expr})), {name_expr})"
    )
    return f"COALESCE({id_expr}, {resolved})" if id_expr else resolved


def unresolved_note(tr: Translation, table: str, column: str, path: str) -> None:
    """Note owner values that are neither known ids nor resolvable names."""
    n = P.rows(
        tr.con,
        f"SELECT count(*) FROM ({table}) t WHERE {quote_ident(column)} IS NOT NULL AND "
        f"lower({quote_ident(column)}) NOT IN (SELECT k FROM {OWNERS} WHERE k IS NOT NULL)",
    )
    count = int(str(n[0][0]))
    if count:
        tr.notes.append(
            f"{path}: {count} owner value(s) match no known user id, e-mail or unique name; "
            "loaded as written (load the users/owners first to resolve them)"
        )
