"""Keys for Salesforce reports exported without ID columns, and accounts named instead of linked.

The standard reports (Opportunities, Leads, Contacts & Accounts, Accounts, Campaigns) carry no
record IDs by default. A record then gets a key derived from the values that identify it (see
:data:`IDENTITY`): the same record in a later export gets the same key, so re-loading updates it
instead of adding a copy, as long as those columns stay in the report and their values do not
change. Rows whose identifying values repeat get ``-2``, ``-3`` … in file order and a note.

Deals and contacts name their account (``Account Name``). The name is matched, after the
company-name cleaning of identity resolution (:mod:`revteam.model.identity`: case, accents,
punctuation and legal forms ignored), against the accounts in the same load, then against the
accounts already in the workspace; a name no account has creates one, keyed like an accounts
report would key it. A name that matches several accounts is not guessed: the row is refused
with the candidates and the fix.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from revteam.crm import _private as P
from revteam.crm.translation import Source, Translation
from revteam.model.identity import company_sql
from revteam.storage import quote_ident, quote_literal

IDENTITY: dict[str, tuple[tuple[str, ...], ...]] = {
    "opportunity": (("account_name", "name"), ("name",)),
    "lead": (("email",), ("first_name", "last_name", "company")),
    "contact": (("email",), ("first_name", "last_name", "account_name")),
    "account": (("name",),),
    "campaign": (("name",),),
    "user": (("email",), ("name",), ("first_name", "last_name")),
    "order": (("order_number",),),
}
"""Per object, the fields whose values identify a record, tried in turn per row (the first set
with every value present). Objects not listed are identified by all their columns."""

PREFIX = {
    "opportunity": "opp", "lead": "lead", "contact": "contact", "account": "acct",
    "campaign": "campaign", "user": "user", "order": "order", "task": "task", "event": "event",
    "campaign_member": "member",
}  # fmt: skip
"""Derived keys read ``sfr-<prefix>-<16 hex>``: recognisable as derived, per object."""

_LABEL = {
    "account_name": "Account Name", "name": "Name", "email": "Email", "company": "Company",
    "first_name": "First Name", "last_name": "Last Name", "order_number": "Order Number",
}  # fmt: skip

KEY_FIELD = {"opportunity_history": "opportunity_id", "lead_history": "lead_id"}
"""The field a derived key fills (``id`` for every object but the histories)."""
PARENT = {
    "opportunity_history": ("opportunity", "opportunity_id"),
    "lead_history": ("lead", "lead_id"),
}
"""History reports point at their record by the record's own identifying values."""

TAKEN = "_sfr_new_account_keys"
"""Scratch table: keys of the accounts made from names so far in this translation."""
ACCOUNTS = "_sfr_accounts"
"""Scratch table: cleaned account name → account ids known for it (this load, then workspace)."""


def _clean(expr: str) -> str:
    return f"NULLIF(lower(regexp_replace(trim(CAST({expr} AS VARCHAR)), '\\s+', ' ', 'g')), '')"


def account_norm(expr: str) -> str:
    """The cleaned company name accounts are matched on (the raw name when cleaning empties it)."""
    return f"COALESCE({company_sql(f'CAST({expr} AS VARCHAR)')}, {_clean(expr)})"


def derived_account_key(norm: str) -> str:
    return f"'sfr-acct-' || substr(md5({norm}), 1, 16)"


def _identity(src: Source, obj: str) -> str | None:
    """SQL for a row's identifying text, or None when the report lacks every identifying set."""
    if obj == "account" and src.has("name"):
        return account_norm(quote_ident(src.find("name")[0]))
    sets = IDENTITY.get(obj)
    if sets is None:
        cols = [c for c in src.columns if not c.startswith("_")]
        return "concat_ws(chr(31), " + ", ".join(_clean(quote_ident(c)) for c in cols) + ")"
    options = []
    for fields in sets:
        if all(src.has(f) for f in fields):
            parts = [_clean(quote_ident(src.find(f)[0])) for f in fields]
            present = " AND ".join(f"{p} IS NOT NULL" for p in parts)
            options.append(
                (
                    present,
                    f"{quote_literal(fields[0])} || ':' || concat_ws(chr(31), "
                    + ", ".join(parts)
                    + ")",
                )
            )
    if not options:
        return None
    cases = " ".join(f"WHEN {cond} THEN {value}" for cond, value in options)
    return f"CASE {cases} END"


def add_derived_key(tr: Translation, src: Source) -> None:
    """Give a report without its ID column a key derived from its identifying values."""
    obj = src.object
    field = KEY_FIELD.get(obj, "id")
    if src.has(field) or (obj not in PREFIX and obj not in PARENT):
        return
    if obj in PARENT:
        _add_parent_key(tr, src, *PARENT[obj])
        return
    identity = _identity(src, obj)
    if identity is None:
        wanted = " or ".join("+".join(s) for s in IDENTITY.get(obj, ()))
        tr.notes.append(
            f"{src.path.name}: no ID column and none of the identifying columns ({wanted}); "
            "rows cannot be keyed: add the ID column to the report"
        )
        return
    base = (
        derived_account_key(identity)
        if obj == "account"
        else f"'sfr-{PREFIX[obj]}-' || substr(md5({identity}), 1, 16)"
    )
    tr.con.execute(
        f"CREATE OR REPLACE TEMP VIEW {src.relation}_keyed AS SELECT *, CASE WHEN _rn > 1 "
        f"THEN _base || '-' || _rn ELSE _base END AS {quote_ident(field)} FROM ("
        f"SELECT *, row_number() OVER (PARTITION BY _base ORDER BY _line) AS _rn FROM ("
        f"SELECT *, {base} AS _base FROM {src.relation}))"
    )
    src.relation = f"{src.relation}_keyed"
    src.columns = [*src.columns, field]
    sets = [s for s in IDENTITY.get(obj, ()) if all(map(src.has, s))]
    named = " or else ".join(" + ".join(_LABEL.get(f, f) for f in s) for s in sets)
    tr.notes.append(
        f"{src.path.name}: no {obj.replace('_', ' ')} ID column; keys derived from "
        f"{named or 'every column'} (keep those columns, and their values, in later exports "
        "so that re-loads update the same records)"
    )
    repeats = P.rows(
        tr.con,
        f"SELECT count(*), string_agg(CAST(_line AS VARCHAR), ', ' ORDER BY _line) "
        f"FILTER (WHERE _rn <= 6) FROM {src.relation} WHERE _rn > 1",
    )[0]
    if int(str(repeats[0])):
        tr.notes.append(
            f"{src.path.name}: warning: {repeats[0]} row(s) repeat the identifying values of an "
            f"earlier row (lines {repeats[1]}); loaded under keys ending -2, -3 … in file order. "
            "Add the ID column to the report to tell them apart for certain"
        )


def _add_parent_key(tr: Translation, src: Source, parent: str, field: str) -> None:
    """A history row's record key, derived as the record's own report would derive it."""
    identity = _identity(src, parent)
    if identity is None:
        return
    key = f"'sfr-{PREFIX[parent]}-' || substr(md5({identity}), 1, 16)"
    tr.con.execute(
        f"CREATE OR REPLACE TEMP VIEW {src.relation}_keyed AS "
        f"SELECT *, {key} AS {quote_ident(field)} FROM {src.relation}"
    )
    src.relation, src.columns = f"{src.relation}_keyed", [*src.columns, field]
    sets = [s for s in IDENTITY[parent] if all(map(src.has, s))]
    named = " or else ".join(" + ".join(_LABEL.get(f, f) for f in s) for s in sets)
    tr.notes.append(
        f"{src.path.name}: no {parent} ID column; rows matched to their {parent} by {named} "
        f"(as a {parent}s report without IDs is keyed)"
    )


def account_lookup(
    tr: Translation, sources: Sequence[Source], known: Sequence[tuple[str, str | None]]
) -> None:
    """Fill :data:`ACCOUNTS` from the accounts in this load, else those in the workspace."""
    # One Arrow batch, not a row-by-row insert: a workspace may hold many accounts.
    rows = [(a, n) for a, n in known if n]
    names = pa.table(
        {"account_id": [a for a, _ in rows], "name": [n for _, n in rows]},
        schema=pa.schema([("account_id", pa.string()), ("name", pa.string())]),
    )
    tr.con.register("_sfr_known_arrow", names)
    tr.con.execute(f"CREATE OR REPLACE TABLE {ACCOUNTS}_known AS SELECT * FROM _sfr_known_arrow")
    tr.con.unregister("_sfr_known_arrow")
    loaded = [
        f"SELECT CAST({quote_ident(s.find('id')[0])} AS VARCHAR) AS account_id, "
        f"{account_norm(quote_ident(s.find('name')[0]))} AS norm FROM {s.relation}"
        for s in sources
        if s.object == "account" and s.has("id") and s.has("name")
    ]
    here = " UNION ALL ".join(loaded) or (
        "SELECT NULL::VARCHAR AS account_id, NULL::VARCHAR AS norm WHERE FALSE"
    )
    tr.con.execute(f"""CREATE OR REPLACE TABLE {ACCOUNTS} AS
        WITH here AS (SELECT norm, list(DISTINCT account_id ORDER BY account_id) AS ids
                      FROM ({here}) WHERE norm IS NOT NULL AND account_id IS NOT NULL
                      GROUP BY norm),
        there AS (SELECT {account_norm("name")} AS norm,
                         list(DISTINCT account_id ORDER BY account_id) AS ids
                  FROM {ACCOUNTS}_known GROUP BY 1)
        SELECT norm, ids FROM here
        UNION ALL SELECT norm, ids FROM there
        WHERE norm IS NOT NULL AND norm NOT IN (SELECT norm FROM here)""")


def link_accounts(tr: Translation, src: Source) -> None:
    """Give deals and contacts that name their account the account's id (or a refusal)."""
    if src.object not in {"opportunity", "contact"} or not src.has("account_name"):
        return
    name = f"s.{quote_ident(src.find('account_name')[0])}"
    norm = account_norm(name)
    has_id = src.has("account_id")
    given = (
        f"NULLIF(trim(CAST(s.{quote_ident(src.find('account_id')[0])} AS VARCHAR)), '')"
        if has_id
        else "CAST(NULL AS VARCHAR)"
    )
    view = f"{src.relation}_linked"
    tr.con.execute(f"""CREATE OR REPLACE TEMP VIEW {view} AS
        SELECT s.* EXCLUDE ({"account_id, " if has_id else ""}_report_refuse),
            COALESCE({given}, CASE WHEN len(a.ids) = 1 THEN a.ids[1]
                               WHEN a.ids IS NULL THEN {derived_account_key(norm)} END)
                AS account_id,
            {given} IS NULL AND a.ids IS NULL AND {norm} IS NOT NULL AS _new_account,
            COALESCE(s._report_refuse, CASE WHEN {given} IS NULL AND len(a.ids) > 1 THEN
                'Account Name "' || {name} || '" matches ' || len(a.ids) || ' accounts ('
                || array_to_string(a.ids[1:5], ', ') || '): add the Account ID column to the '
                || 'report, or make the account names distinct' END) AS _report_refuse
        FROM {src.relation} s LEFT JOIN {ACCOUNTS} a ON a.norm = {norm}""")
    src.relation = view
    if not has_id:
        src.columns = [*src.columns, "account_id"]


def new_accounts(tr: Translation, src: Source) -> Source | None:
    """Accounts that deals or contacts of ``src`` name and no account has: a source of them.

    Materialised, with their keys added to :data:`TAKEN`, so a name several reports give
    makes one account (under the first report that names it).
    """
    if src.object not in {"opportunity", "contact"} or not src.has("account_name"):
        return None
    name = quote_ident(src.find("account_name")[0])
    made = f"{src.relation}_new_accounts"
    tr.con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {TAKEN} (id VARCHAR)")
    tr.con.execute(f"""CREATE OR REPLACE TEMP TABLE {made} AS
        SELECT account_id AS id, arg_min({name}, _line) AS name, min(_line) AS _line,
               to_json(map(['Account Name'], [arg_min({name}, _line)])) AS _src_raw,
               CAST(NULL AS VARCHAR) AS _report_refuse
        FROM {src.relation}
        WHERE _new_account AND account_id NOT IN (SELECT id FROM {TAKEN})
        GROUP BY account_id""")
    tr.con.execute(f"INSERT INTO {TAKEN} SELECT id FROM {made}")
    n = P.count(tr.con, f"SELECT 1 FROM {made}")
    if not n:
        return None
    tr.notes.append(
        f"{src.path.name}: {n} account(s) named by Account Name and not found in this "
        "load or the workspace: created with that name (dated by their earliest deal or contact)"
    )
    return Source(src.path, "account", made, ["id", "name"], n, [], raw_column="_src_raw")
