"""Salesforce objects → canonical rows, whichever front end staged them.

Two steps. First every staged object becomes a view of standardised text columns
(``_sf_lead``, ``_sf_opportunity`` …, see :mod:`revteam.crm.salesforce.fields`), with deleted
records flagged. Then joins across the views make the canonical tables: leads and contacts
become one person each (a converted lead folds into its contact: the person was created when the
lead was, and reached SQL when it converted), opportunity history becomes stage entries and the
close time, campaign members become touchpoints (:mod:`revteam.crm.salesforce.parts`).
"""

from __future__ import annotations

from collections.abc import Sequence

from revteam.crm import _private as P
from revteam.crm import owners
from revteam.crm._private import TRUE
from revteam.crm.salesforce import parts
from revteam.crm.salesforce.fields import FIELDS
from revteam.crm.translation import Field, Part, Source, Translation, extras_sql, select
from revteam.storage import quote_ident

CANONICAL = {
    "lead": "people", "contact": "people", "account": "accounts",
    "opportunity": "opportunities", "campaign": "campaigns", "campaign_member": "touchpoints",
    "task": "sales_activities", "event": "sales_activities", "user": "users", "order": "orders",
}  # fmt: skip
"""The canonical table each object's kept-aside fields belong to."""

HISTORY_MODE = (
    Field("opportunity_id", ("id",)),
    Field("stage", ("stage_name",), values="deal_stages"),
    Field("entered_at", ("_fivetran_start",), "timestamp"),
    Field("amount", ("amount",), "money"),
    Field("probability", ("probability",), "percent"),
)
"""Fivetran's history mode of Opportunity: one row per version, dated by ``_fivetran_start``."""


def translate(tr: Translation, sources: Sequence[Source], *, include_deleted: bool) -> None:
    """Standardise every staged object, then add the canonical parts to ``tr``."""
    views: dict[str, list[str]] = {}
    for src in sources:
        views.setdefault(src.object, []).append(_standardise(tr, src, include_deleted))
    for obj, fields in FIELDS.items():
        # _currency: a code written in front of an amount of an object without a currency field
        cols = [f.column for f in fields] + ["_origin", "_raw", "_refuse", "_currency", "_deleted"]
        empty = ", ".join(f"CAST(NULL AS VARCHAR) AS {quote_ident(c)}" for c in cols[:-1])
        union = " UNION ALL BY NAME ".join(f"({q})" for q in views.get(obj, []))
        body = f"SELECT {empty}, FALSE AS _deleted WHERE FALSE"
        if union:
            body += f" UNION ALL BY NAME {union}"
        tr.con.execute(f"CREATE OR REPLACE TEMP VIEW _sf_{obj} AS {body}")
    owners.add_from(
        tr,
        "SELECT user_id, COALESCE(name, trim(concat_ws(' ', first_name, last_name))) AS name, "
        "email FROM _sf_user WHERE NOT _deleted",
    )
    parts.opportunities(tr)
    _people(tr)
    parts.accounts(tr)
    parts.campaigns(tr)
    parts.touchpoints(tr)
    parts.activities(tr)
    parts.users(tr)
    parts.orders(tr)


def _deleted(src: Source, include_deleted: bool) -> str:
    """Deleted, archived or superseded (history-mode) records, which are not current data."""
    if include_deleted:
        return "FALSE"
    flags = [
        f"COALESCE(lower({P.text(c)}) IN {TRUE}, FALSE)"
        for c in ("is_deleted", "_fivetran_deleted", "is_archived")
        if src.has(c)
    ]
    if src.has("_fivetran_active") and src.object != "opportunity_history":
        flags.append(f"COALESCE(lower({P.text('_fivetran_active')}) IN ('false', 'f', '0'), FALSE)")
    return " OR ".join(flags) or "FALSE"


def _standardise(tr: Translation, src: Source, include_deleted: bool) -> str:
    fields = FIELDS[src.object]
    if src.object == "opportunity_history" and not src.has("opportunity_id"):
        fields = HISTORY_MODE
        tr.notes.append(
            f"{src.path.name}: Fivetran history-mode table; stage entries are dated by "
            "_fivetran_start (when the change was synced)"
        )
    used: set[str] = set()
    cols = tr.columns(src, fields, used)
    for f in fields:
        cols.setdefault(f.column, "CAST(NULL AS VARCHAR)")
    deleted = _deleted(src, include_deleted)
    n = P.count(tr.con, f"SELECT 1 FROM {src.relation} WHERE {deleted}")
    if n:
        tr.notes.append(
            f"{src.path.name}: {n} deleted or superseded record(s) skipped "
            "(include_deleted=True loads them)"
        )
    for f in fields:
        if f.column in ("subtype", "kind"):
            continue  # activity types outside the vocabulary are noted as skipped instead
        where = f"NOT ({deleted})"
        if f.column == "type_channel":  # only a fallback for campaigns without a channel
            where += f" AND {cols['channel']} IS NULL"
        if src.object == "lead_history" and f.column == "stage":  # other fields' values
            where += f" AND {cols['field']} IN ('status', 'lead status')"
        tr.check_values(src, f, where=where)
    cols["_deleted"] = f"({deleted})"
    table = CANONICAL.get(src.object)
    key = cols.get("id") or cols.get(FIELDS[src.object][0].column)
    if table and key and (extra := extras_sql("salesforce", src, key, table, used)):
        tr.extras.append(extra + f" AND NOT ({deleted})")
    query = select(cols, src, refuse=quote_ident(src.refuse_column) if src.refuse_column else None)
    if rejected := tr.rejected_lines(src, table or "people"):
        tr.parts.append(Part(table or "people", rejected, src.path.name))
    return query


def _people(tr: Translation) -> None:
    """Contacts (each with the first lead converted into it) and the leads that are no contact.

    A stage date is the record's own field (``MQL_Date__c`` …) where it has one, else the first
    time the lead's status changed to a status that maps to the stage (LeadHistory); SQL is also
    reached by converting, whichever came first.
    """
    tr.con.execute("""CREATE OR REPLACE TEMP VIEW _sf_lead_stages AS
        SELECT lead_id, stage, CAST(min(TRY_CAST(changed_at AS TIMESTAMP)) AS VARCHAR) AS at
        FROM _sf_lead_history
        WHERE NOT _deleted AND field IN ('status', 'lead status') AND lead_id IS NOT NULL
          AND stage IN ('mql', 'sql', 'opportunity', 'customer', 'disqualified')
        GROUP BY ALL""")
    tr.con.execute(f"""CREATE OR REPLACE TEMP VIEW _sf_person_src AS
        WITH first_lead AS (
            SELECT id, converted_contact_id FROM _sf_lead
            WHERE NOT _deleted AND converted_contact_id IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY converted_contact_id
                                       ORDER BY TRY_CAST(created AS TIMESTAMP) NULLS LAST, id) = 1),
        contacts AS (SELECT id FROM _sf_contact WHERE NOT _deleted AND id IS NOT NULL)
        SELECT c.id AS person_id, c.id AS cid, f.id AS lid
        FROM contacts c LEFT JOIN first_lead f ON f.converted_contact_id = c.id
        UNION ALL
        SELECT CASE WHEN lower(l.is_converted) IN {TRUE}
                    THEN COALESCE(l.converted_contact_id, l.id) ELSE l.id END, NULL, l.id
        FROM _sf_lead l WHERE NOT l._deleted
          AND COALESCE(l.converted_contact_id, '') NOT IN (SELECT id FROM contacts)""")
    both = ", ".join(
        f"COALESCE(c.{c}, l.{c}) AS {c}"
        for c in ("email", "first_name", "last_name", "title", "persona", "region", "country")
    )
    lead_first = ", ".join(
        f"COALESCE(l.{c}, c.{c}) AS {c}" for c in ("channel", "source_detail", "first_campaign_id")
    )
    converted = f"CASE WHEN lower(l.is_converted) IN {TRUE} THEN l.converted_date END"
    earliest_sql = P.earliest_sql([converted, _hist("sql")])
    owner = (
        f"COALESCE({owners.owner_sql('c.owner_id', 'c.owner_name')}, "
        f"{owners.owner_sql('l.owner_id', 'l.owner_name')})"
    )
    tr.parts.append(
        Part(
            "people",
            f"""SELECT s.person_id, {both}, {lead_first},
                COALESCE(c.account_id, l.account_id, l.converted_account_id) AS account_id,
                COALESCE(c.account_name, a.name, l.company) AS company_name, {owner} AS owner_id,
                {P.earliest_sql(["l.created", "c.created"])} AS created_at,
                COALESCE(c.mql, l.mql, {_hist("mql")}) AS mql_at,
                COALESCE(c.sql, l.sql, {earliest_sql}) AS sql_at,
                COALESCE(c.opp_at, l.opp_at, d.first_opp, {_hist("opportunity")})
                    AS opportunity_at,
                COALESCE(c.customer, l.customer, d.first_won, {_hist("customer")}) AS customer_at,
                COALESCE(c.disq, l.disq, {_hist("disqualified")}) AS disqualified_at,
                COALESCE(c.disq_reason, l.disq_reason) AS disqualification_reason,
                COALESCE(c._origin, l._origin) AS _origin, COALESCE(c._raw, l._raw) AS _raw,
                COALESCE(c._refuse, l._refuse) AS _refuse
            FROM _sf_person_src s
            LEFT JOIN (SELECT * FROM _sf_contact WHERE NOT _deleted) c ON c.id = s.cid
            LEFT JOIN (SELECT * FROM _sf_lead WHERE NOT _deleted) l ON l.id = s.lid
            LEFT JOIN (SELECT * FROM _sf_account WHERE NOT _deleted) a
                ON a.account_id = c.account_id
            LEFT JOIN (SELECT person_id, CAST(min(TRY_CAST(created_at AS TIMESTAMP)) AS VARCHAR)
                              AS first_opp,
                              CAST(min(CASE WHEN lower(is_won) IN {TRUE}
                                            THEN TRY_CAST(closed_at AS TIMESTAMP) END)
                                   AS VARCHAR) AS first_won
                       FROM _sf_opps GROUP BY person_id) d ON d.person_id = s.person_id""",
            "leads and contacts",
        )
    )
    # A converted lead is its contact now: a row loaded under the lead's id before the
    # conversion would count the person twice, so it goes, like deleted leads and contacts.
    tr.removals.append(
        Part(
            "people",
            f"""SELECT id AS key FROM _sf_contact WHERE _deleted
                UNION SELECT id FROM _sf_lead WHERE _deleted
                UNION SELECT id FROM _sf_lead
                      WHERE lower(is_converted) IN {TRUE} AND converted_contact_id IS NOT NULL""",
            "deleted leads and contacts, converted leads",
        )
    )
    merged = P.rows(
        tr.con,
        "SELECT count(*) FROM _sf_lead WHERE NOT _deleted AND converted_contact_id IS NOT NULL "
        "AND id NOT IN (SELECT lid FROM _sf_person_src WHERE lid IS NOT NULL)",
    )[0][0]
    if int(str(merged)):
        tr.notes.append(
            f"{merged} further lead(s) converted into a contact that already has an earlier "
            "lead: folded into that person"
        )


def _hist(stage: str) -> str:
    """When the person's lead first entered ``stage`` by a status change (LeadHistory)."""
    return f"(SELECT h.at FROM _sf_lead_stages h WHERE h.lead_id = l.id AND h.stage = '{stage}')"
