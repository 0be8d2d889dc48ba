"""HubSpot UI exports (CSV/XLSX of contacts, companies, deals, users) → canonical rows.

Columns are matched by their labels (see :mod:`revteam.crm.hubspot.labels`); columns no label
claims are kept aside in ``crm_extra_fields``. Stage dates come from the ``Became a … Date`` and
``Date entered "…"`` columns through the lifecycle- and deal-stage maps; deals also yield their
stage history (``opportunity_stages``, dates and stages only: exports carry no amount per stage).
A deal exported without a company takes its contact's (see
:mod:`revteam.crm.hubspot.associations`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from revteam.crm import _private as P
from revteam.crm import owners
from revteam.crm._private import deal_outcome
from revteam.crm.hubspot import associations
from revteam.crm.hubspot import labels as L
from revteam.crm.mapping import CrmMapping
from revteam.crm.translation import Field, Part, Source, Translation, build, extras_sql, select
from revteam.exceptions import CrmSourceError

_STAMP = {"mql": "mql_at", "sql": "sql_at", "opportunity": "opportunity_at"}
_STAMP["customer"] = "customer_at"
_OBJECTS = ("users", "companies", "contacts", "deals")


def read_exports(
    paths: Sequence[Path],
    *,
    mapping: CrmMapping,
    timezone: str,
    users: Iterable[owners.User] = (),
    people: Iterable[associations.Person] = (),
    accounts: Iterable[str] = (),
) -> Translation:
    """Translate HubSpot export files; the caller loads (or inspects) the result.

    ``users``, ``people`` (person id, account id) and ``accounts`` (ids) are the workspace's:
    owners are resolved through the users, and a deal without a company takes its contact's.
    """

    def fill(tr: Translation) -> None:
        owners.create_lookup(tr, users)
        associations.create(tr, people=people, accounts=accounts)
        staged = [tr.stage(p, "") for p in paths]
        for src in staged:
            src.object = detect_object(src)
        for src in sorted(staged, key=lambda s: _OBJECTS.index(s.object)):
            {"users": _users, "companies": _companies, "contacts": _contacts, "deals": _deals}[
                src.object
            ](tr, src)

    return build("hubspot", "export", mapping, timezone, fill)


def detect_object(src: Source) -> str:
    """Which HubSpot object a file exports: by its name, else by its columns."""
    stem = src.path.stem.lower()
    for word, obj in (("contact", "contacts"), ("compan", "companies"), ("deal", "deals")):
        if word in stem:
            return obj
    if "owner" in stem or "user" in stem:
        return "users"
    if src.has("Deal Name") or src.has("Deal Stage"):
        return "deals"
    if src.has("Company name") or src.has("Company Domain Name"):
        return "companies"
    if src.has("Email") or src.has("First Name") or src.has("Last Name"):
        return "contacts"
    if src.has("User ID") or src.has("Owner ID"):
        return "users"
    raise CrmSourceError(
        src.path,
        "cannot tell which HubSpot object this file exports",
        "Name it contacts.csv, companies.csv, deals.csv or users.csv, or export it from "
        "HubSpot with its Record ID and name columns",
    )


def stage_columns(
    src: Source, mapping: dict[str, str], *, deals: bool
) -> list[tuple[str, str, str | None]]:
    """Stage-date columns: (column, stage label, canonical target or None when unmapped)."""
    out = []
    for col in src.columns:
        entered = L.DATE_ENTERED.match(col.replace("\u201c", '"').replace("\u201d", '"'))
        became = None if deals else L.BECAME.match(col)
        if entered:
            lifecycle = "lifecycle" in entered.group(2).lower()
            if lifecycle == deals:
                continue
            label = entered.group(1).strip().strip('"')
        elif became:
            label = became.group(1)
        else:
            continue
        out.append((col, label, mapping.get(P.norm_value(label))))
    return out


def _owner(
    tr: Translation, src: Source, cols: dict[str, str], names: tuple[str, ...], used: set[str]
) -> None:
    """Owner id from an id column, else from the owner's name or e-mail."""
    name = tr.expr(src, Field("_owner", names), used)
    owner = owners.owner_sql(cols.pop("owner_id", None), name)
    if owner is not None:
        cols["owner_id"] = owner


def _finish(
    tr: Translation, src: Source, table: str, cols: dict[str, str], used: set[str], key: str
) -> None:
    tr.parts.append(Part(table, select(cols, src), f"{src.path.name} ({src.object})"))
    if rejected := tr.rejected_lines(src, table):
        tr.parts.append(Part(table, rejected, src.path.name))
    if extra := extras_sql("hubspot", src, cols[key], table, used):
        tr.extras.append(extra)


def _unmapped_stage_columns(
    tr: Translation, src: Source, found: list[tuple[str, str, str | None]], outcome: str, kind: str
) -> None:
    for col, label, target in found:
        if target is None:
            n = P.rows(tr.con, f"SELECT count({P.text(col)}) FROM {src.relation}")[0][0]
            if int(str(n)):
                tr.unmapped_value(src, f"column {col}", label, int(str(n)), outcome, kind)


def _contacts(tr: Translation, src: Source) -> None:
    used: set[str] = set()
    cols = tr.columns(src, L.CONTACT_FIELDS, used)
    _owner(tr, src, cols, L.CONTACT_OWNER, used)
    found = stage_columns(src, dict(tr.mapping.lifecycle_stages), deals=False)
    dates: dict[str, list[str]] = {}
    for col, _label, target in found:
        if target is not None and target != "ignore":
            used.add(col)
            ts = P.timestamp_sql(P.text(col), tr.formats(src, col))
            dates.setdefault(target, []).append(ts)
    for stage, column in _STAMP.items():
        if stage in dates:
            cols[column] = P.earliest_sql(dates[stage])
    if "lead" in dates:
        lead = P.earliest_sql(dates["lead"])
        cols["created_at"] = (
            f"COALESCE({cols['created_at']}, {lead})" if "created_at" in cols else lead
        )
    if "disqualified" in dates:
        known = [cols["disqualified_at"]] if "disqualified_at" in cols else []
        cols["disqualified_at"] = P.earliest_sql(known + dates["disqualified"])
    _unmapped_stage_columns(tr, src, found, "not loaded (kept aside)", "lifecycle_stages")
    for f in (*L.CONTACT_FIELDS, L.LIFECYCLE):
        tr.check_values(src, f)
    if "person_id" in cols and "account_id" in cols:
        associations.add_people(
            tr,
            f"SELECT {cols['person_id']} AS person_id, {cols['account_id']} AS account_id "
            f"FROM {src.relation}",
        )
    _finish(tr, src, "people", cols, used, "person_id")


def _companies(tr: Translation, src: Source) -> None:
    used: set[str] = set()
    cols = tr.columns(src, L.COMPANY_FIELDS, used)
    _owner(tr, src, cols, L.COMPANY_OWNER, used)
    for f in L.COMPANY_FIELDS:
        tr.check_values(src, f)
    if "account_id" in cols:
        associations.add_accounts(
            tr, f"SELECT {cols['account_id']} AS account_id FROM {src.relation}"
        )
    _finish(tr, src, "accounts", cols, used, "account_id")


def _users(tr: Translation, src: Source) -> None:
    used: set[str] = set()
    cols = tr.columns(src, L.USER_FIELDS, used)
    first, last = (tr.expr(src, Field("_", (p,)), used) for p in L.USER_NAME_PARTS)
    if first or last:
        parts = " || ' ' || ".join(f"COALESCE({p}, '')" for p in (first, last) if p)
        joined = f"NULLIF(trim({parts}), '')"
        cols["name"] = f"COALESCE({cols['name']}, {joined})" if "name" in cols else joined
    missing = P.rows(
        tr.con,
        f"SELECT count(*) FROM {src.relation} WHERE {cols.get('team', 'NULL')} IS NULL",
    )[0][0]
    cols["team"] = f"COALESCE({cols.get('team', 'NULL')}, {P.lit(tr.mapping.default_team)})"
    if int(str(missing)):
        tr.notes.append(
            f"{src.path.name}: {missing} user(s) without a known team loaded as "
            f"{tr.mapping.default_team} (set default_team or teams in crm.yaml)"
        )
    for f in L.USER_FIELDS:
        tr.check_values(src, f)
    if "user_id" in cols:
        owners.add_from(
            tr,
            f"SELECT {cols['user_id']} AS user_id, {cols.get('name', 'NULL')} AS name, "
            f"{cols.get('email', 'NULL')} AS email FROM {src.relation}",
        )
    _finish(tr, src, "users", cols, used, "user_id")


def _deals(tr: Translation, src: Source) -> None:
    used: set[str] = set()
    cols = tr.columns(src, L.DEAL_FIELDS, used)
    if src.has("Amount in company currency"):
        # Already converted to the company currency: the deal's currency code does not apply,
        # only a code written in front of the amount does.
        cols.pop("_refuse", None)
        amount = next(f for f in L.DEAL_FIELDS if f.column == "amount")
        if (code := tr.amount_code(src, amount)) is not None:
            cols["_currency"] = code
        else:
            cols.pop("_currency", None)
    _owner(tr, src, cols, L.DEAL_OWNER, used)
    found = stage_columns(src, dict(tr.mapping.deal_stages), deals=True)
    used.update(col for col, _, _ in found)
    closed = [
        P.timestamp_sql(P.text(col), tr.formats(src, col))
        for col, _, target in found
        if target in ("closed_won", "closed_lost")
    ]
    for c in ("stage", "is_closed", "is_won", "type", "expected_close_date", "forecast_category"):
        cols.setdefault(c, "CAST(NULL AS VARCHAR)")
    for c in ("account_id", "person_id"):  # a default export may carry no associations
        cols.setdefault(c, "CAST(NULL AS VARCHAR)")
    cols["closed_at"] = P.earliest_sql(closed) if closed else "CAST(NULL AS VARCHAR)"
    untyped = P.rows(tr.con, f"SELECT count(*) FROM {src.relation} WHERE {cols['type']} IS NULL")
    if n := int(str(untyped[0][0])):
        tr.notes.append(f"{src.path.name}: {n} deal(s) without a Deal Type loaded as new_business")
    placed = associations.place(tr, select(cols, src), src.path.name)
    tr.parts.append(Part("opportunities", deal_outcome(placed), src.path.name))
    key = cols["opportunity_id"]
    for col, label, target in found:
        ts = P.timestamp_sql(P.text(col), tr.formats(src, col))
        history = {"opportunity_id": key, "entered_at": ts, "stage": P.lit(target or label)}
        tr.parts.append(
            Part("opportunity_stages", select(history, src, where=f"{ts} IS NOT NULL"), col)
        )
    _unmapped_stage_columns(tr, src, found, "refused (quarantine)", "deal_stages")
    for f in L.DEAL_FIELDS:
        tr.check_values(src, f)
    if rejected := tr.rejected_lines(src, "opportunities"):
        tr.parts.append(Part("opportunities", rejected, src.path.name))
    if extra := extras_sql("hubspot", src, key, "opportunities", used):
        tr.extras.append(extra)
