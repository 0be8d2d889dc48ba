"""HubSpot API objects (Fivetran tables, the connector's JSON Lines) → canonical rows.

As for Salesforce, each object is first standardised into a view (``_hs_<object>``), then joins
make the canonical tables: deal stages are labelled through the pipeline stages, deals find
their company and contact through the association tables (a deal without a company takes its
contact's, see :mod:`revteam.crm.hubspot.associations`), marketing e-mails become campaigns
dated by their events, stage history comes from ``deal_stage``, lifecycle dates from the date
properties or, where missing, the lifecycle-stage property history, and contacts merged into
another one are left out (the survivor is the person).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from revteam.crm import _private as P
from revteam.crm import owners
from revteam.crm._private import TRUE
from revteam.crm.hubspot import api_fields as F
from revteam.crm.hubspot import api_parts as parts
from revteam.crm.hubspot import associations
from revteam.crm.mapping import CrmMapping
from revteam.crm.translation import Part, Source, Translation, build, extras_sql, select
from revteam.storage import quote_ident

_VARIANT = re.compile(r"(_postgres|_snowflake|_databricks|_redshift|_bigquery|__from_.*)$")
_LOOKUP_COLUMNS = {
    "contact_property_history": ("contact_id", "name", "value", "timestamp"),
    "contact_merge_audit": ("canonical_vid", "vid_to_merge"),
    "merged_deal": ("deal_id", "merged_deal_id"),
    "email_event_status_change": ("id", "portal_subscription_status"),
    "owner_team": ("owner_id", "team_id", "is_team_primary"),
    "team": ("id", "name"),
}
_STAGES = ("lead", "mql", "sql", "opportunity", "customer", "disqualified")
_CANONICAL = {
    "contact": "people",
    "company": "accounts",
    "deal": "opportunities",
    "email_campaign": "campaigns",
}


def object_of(path: Path) -> str:
    """``contact_data.csv`` / ``hubspot__contact.parquet`` / ``contact.jsonl`` → ``contact``."""
    stem = path.name.split(".")[0].lower()
    stem = _VARIANT.sub("", re.sub(r"^(stg_)?hubspot_+", "", stem))
    return re.sub(r"_data$", "", stem)


def read_api_objects(
    paths: Sequence[Path],
    *,
    mapping: CrmMapping,
    timezone: str,
    users: Sequence[owners.User] = (),
    people: Sequence[associations.Person] = (),
    accounts: Sequence[str] = (),
    include_deleted: bool = False,
) -> Translation:
    """Translate HubSpot object tables; unneeded objects are noted with the reason.

    ``users``, ``people`` (person id, account id) and ``accounts`` (ids) are the workspace's:
    owners are resolved through the users, and a deal without a company takes its contact's.
    """

    def fill(tr: Translation) -> None:
        owners.create_lookup(tr, users)
        associations.create(tr, people=people, accounts=accounts)
        views: dict[str, list[str]] = {}
        for path in paths:
            obj = object_of(path)
            if obj in F.NOT_NEEDED:
                tr.notes.append(f"{path.name}: not loaded ({F.NOT_NEEDED[obj]})")
            elif obj in F.FIELDS:
                views.setdefault(obj, []).append(
                    _standardise(tr, tr.stage(path, obj), include_deleted)
                )
            elif obj in _LOOKUP_COLUMNS:
                src = tr.stage(path, obj)
                cols = ", ".join(
                    f"{P.text(c) if src.has(c) else 'NULL'} AS {c}" for c in _LOOKUP_COLUMNS[obj]
                )
                views.setdefault(obj, []).append(f"SELECT {cols} FROM {src.relation}")
            else:
                tr.notes.append(
                    f"{path.name}: not loaded (no HubSpot object {obj!r} that revteam reads)"
                )
        _create_views(tr, views)
        owners.add_from(
            tr,
            "SELECT user_id, NULLIF(trim(concat_ws(' ', first_name, last_name)), '') AS name, "
            "email FROM _hs_owner WHERE NOT _deleted",
        )
        for part in (
            parts.users,
            parts.accounts,
            parts.people,
            parts.deals,
            parts.activities,
            parts.email_campaigns,
            parts.email_events,
            parts.form_submissions,
        ):
            part(tr)

    return build("hubspot", "api", mapping, timezone, fill)


def _deleted(src: Source, include_deleted: bool) -> str:
    flags = [
        f"COALESCE(lower({P.text(c)}) IN {TRUE}, FALSE)"
        for c in ("is_deleted", "_fivetran_deleted", "archived")
        if src.has(c) and not include_deleted
    ]
    return " OR ".join(flags) or "FALSE"


def _standardise(tr: Translation, src: Source, include_deleted: bool) -> str:
    used: set[str] = set()
    fields = F.FIELDS[src.object]
    cols = tr.columns(src, fields, used)
    for f in fields:
        cols.setdefault(f.column, "CAST(NULL AS VARCHAR)")
    if src.object in F.ENGAGEMENTS:  # a typed table says its type by being that table
        kind = src.object.removeprefix("engagement_").upper()
        mapped = P.lit(tr.mapping.activity_types.get(P.norm_value(kind)))
        cols["raw_type"] = f"COALESCE({cols['raw_type']}, {P.lit(kind)})"
        cols["type"] = f"COALESCE({cols['type']}, {mapped})"
    if src.object == "contact":
        cols |= _stage_dates(tr, src, used)
    if src.object == "deal" and (home := src.find("property_amount_in_home_currency")):
        # an amount already in the portal's home currency is not converted again by the
        # deal's own currency code
        cols["_currency"] = (
            f"CASE WHEN {P.text(home[0])} IS NOT NULL THEN NULL ELSE {cols['_currency']} END"
        )
    deleted = _deleted(src, include_deleted)
    skipped = P.count(tr.con, f"SELECT 1 FROM {src.relation} WHERE {deleted}")
    if skipped:
        tr.notes.append(f"{src.path.name}: {skipped} deleted record(s) skipped")
    for f in fields:
        if f.keep_unmapped or f.fallback or f.enum:  # types outside the vocabulary are noted
            tr.check_values(src, f, where=f"NOT ({deleted})")
    cols["_deleted"] = f"({deleted})"
    table = _CANONICAL.get(src.object)
    if table and (extra := extras_sql("hubspot", src, cols[fields[0].column], table, used)):
        tr.extras.append(extra + f" AND NOT ({deleted})")
    if table and (rejected := tr.rejected_lines(src, table)):
        tr.parts.append(Part(table, rejected, src.path.name))
    return select(cols, src)


def _stage_dates(tr: Translation, src: Source, used: set[str]) -> dict[str, str]:
    """Lifecycle date properties, HubSpot's and custom stages', by canonical stage."""
    found: dict[str, list[str]] = {}
    for col in src.columns:
        m = F.STAGE_DATE.match(col)
        if not m:
            continue
        stage = next(g for g in m.groups() if g)
        target = tr.mapping.lifecycle_stages.get(P.norm_value(stage))
        if target is None:
            n = P.count(tr.con, f"SELECT 1 FROM {src.relation} WHERE {P.text(col)} IS NOT NULL")
            if n:
                tr.unmapped_value(src, col, stage, n, "not loaded (kept aside)", "lifecycle_stages")
            continue
        used.add(col)
        found.setdefault(target, []).append(P.timestamp_sql(P.text(col), tr.formats(src, col)))
    return {
        f"st_{s}": P.earliest_sql(found[s]) if s in found else "CAST(NULL AS VARCHAR)"
        for s in _STAGES
    }


def _create_views(tr: Translation, views: dict[str, list[str]]) -> None:
    specs = {o: [f.column for f in fs] for o, fs in F.FIELDS.items()}
    specs["contact"] += [f"st_{s}" for s in _STAGES]
    for obj in F.FIELDS.keys() | _LOOKUP_COLUMNS.keys():
        cols = specs.get(obj) or list(_LOOKUP_COLUMNS[obj])
        extra = ["_origin", "_raw", "_refuse"] if obj in F.FIELDS else []
        empty = ", ".join(f"CAST(NULL AS VARCHAR) AS {quote_ident(c)}" for c in cols + extra)
        body = f"SELECT {empty}{', FALSE AS _deleted' if extra else ''} WHERE FALSE"
        for query in views.get(obj, []):
            body += f" UNION ALL BY NAME ({query})"
        tr.con.execute(f"CREATE OR REPLACE TEMP VIEW _hs_{obj} AS {body}")
    tr.con.execute(
        "CREATE OR REPLACE TEMP VIEW _hs_stages AS SELECT * FROM _hs_deal_pipeline_stage "
        "WHERE NOT _deleted QUALIFY row_number() OVER (PARTITION BY stage_id) = 1"
    )
    tr.con.execute(
        "CREATE OR REPLACE TEMP VIEW _hs_engagements AS "
        + " UNION ALL BY NAME ".join(f"(SELECT * FROM _hs_{o})" for o in F.ENGAGEMENTS)
    )
