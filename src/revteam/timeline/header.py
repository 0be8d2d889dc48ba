"""What a timeline shows above its events: the record, its owners, its identity, its KPIs.

The identity comes from the tables ``ws.identity`` writes (``person_links``,
``identity_review``, ``person_account_links``; see docs/identity.md): which source records were
linked into one person and which of their values agree, the pairs left for a person to decide,
and how people were matched to accounts. Without a resolution run it says so.

Who owned what (:func:`owners`) is read from the same events as the timeline: the users owning
the account, its people, its deals and its sales activities, with the span of those records'
events to the as-of time (owners are the warehouse's current ones: it keeps no owner history).

The account's KPIs are the metric layer's, asked with ``where={"account": [id]}`` over the whole
range (``grain="all"``): nothing here restates what a KPI means.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from revteam.crm.loading import staged_system_sql
from revteam.exceptions import MetricError
from revteam.metrics.format import display
from revteam.metrics.pages import ACCOUNT_KPIS
from revteam.model import TABLES
from revteam.model import identity as N
from revteam.resolve import ACCOUNT_LINKS, LINKS, REVIEW
from revteam.timeline.events import BORROWED, OWNER_OF, Subject, union_sql

if TYPE_CHECKING:
    import pyarrow as pa

    from revteam.metrics import MetricsComponent

Run = Callable[[str, list[Any]], "pa.Table"]
"""Runs a read query with positional parameters on the warehouse."""

KPIS = ACCOUNT_KPIS
"""The account's KPIs, each the catalogue metric of that id filtered to the account."""
MAX_LISTED = 50
"""Linked records, review pairs, mismatched people and owners listed at most."""
OWNED: dict[str, str] = {k: table for k, table in OWNER_OF.items() if k not in BORROWED}
"""The kinds of events whose rows have an owner of their own (account, stage, activity,
opportunity), and their tables."""


def source_of(column: str) -> str:
    """SQL for the CRM a row came from (hubspot, salesforce), else its file's name (no path)."""
    name = f"regexp_extract(replace({column}, '\\', '/'), '[^/]+$')"
    return f"COALESCE({staged_system_sql(column)}, {name})"


@dataclass(frozen=True)
class Owner:
    id: str
    name: str | None
    team: str | None


@dataclass(frozen=True)
class Owned:
    """A user owning some of a timeline's records: how many of each table, and when."""

    owner: Owner
    records: Mapping[str, int]
    """Records owned by table (``accounts``, ``people``, ``opportunities``,
    ``sales_activities``); tables without one are left out."""
    first_at: dt.datetime
    last_at: dt.datetime
    """The first and last event of those records, to the as-of time."""


@dataclass(frozen=True)
class Kpi:
    metric: str
    label: str
    unit: str
    value: float | None
    display: str
    n: int | None
    note: str = ""


@dataclass(frozen=True)
class LinkedRecord:
    """One source record of a unified person, and what it shares with the one asked for."""

    person_id: str
    source: str | None
    name: str
    email: str | None
    company: str | None
    created_at: dt.datetime | None
    is_subject: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class ReviewPair:
    """A pair resolution found uncertain: *not* merged, listed for a person to decide."""

    other_id: str
    other_name: str
    other_email: str | None
    match_probability: float


@dataclass(frozen=True)
class AccountMatch:
    """A person matched to an account by e-mail domain or company name."""

    person_id: str
    name: str
    method: str
    account_id: str | None
    """The account resolution points at."""
    source_account_id: str | None
    """The account the source gave."""


@dataclass(frozen=True)
class PersonIdentity:
    resolved: bool
    message: str
    unified_id: str | None = None
    resolved_at: dt.datetime | None = None
    records: tuple[LinkedRecord, ...] = ()
    more_records: int = 0
    review: tuple[ReviewPair, ...] = ()
    account: AccountMatch | None = None

    @property
    def record_ids(self) -> tuple[str, ...]:
        return tuple(r.person_id for r in self.records)


@dataclass(frozen=True)
class AccountIdentity:
    resolved: bool
    message: str
    sources: Mapping[str, int] = field(default_factory=dict)
    """People records of the account by the source they came from."""
    unified_people: int | None = None
    """Distinct unified people among them (after resolution)."""
    matched: Mapping[str, int] = field(default_factory=dict)
    """People resolution matched to this account, by method (email_domain, company_name)."""
    elsewhere: tuple[AccountMatch, ...] = ()
    """People of this account whose e-mail domain or company points at another account."""
    joining: tuple[AccountMatch, ...] = ()
    """People of other accounts (or none) whose e-mail domain or company points here."""


@dataclass(frozen=True)
class AccountHeader:
    account_id: str
    name: str
    fields: Mapping[str, Any]
    owner: Owner | None
    source: str | None
    people: int
    opportunities: int
    identity: AccountIdentity
    kpis: tuple[Kpi, ...]
    deals: Mapping[str, int | None]
    """Deals won, open (at the as-of time) and lost: the KPIs' counts."""
    notes: tuple[str, ...] = ()
    owners: tuple[Owned, ...] = ()
    """Who owned what: the users owning the account, its people, deals and activities."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PersonHeader:
    person_id: str
    name: str
    fields: Mapping[str, Any]
    owner: Owner | None
    source: str | None
    account_id: str | None
    account_name: str | None
    identity: PersonIdentity
    owners: tuple[Owned, ...] = ()
    """Who owned what: the users owning the person's records, their deals and activities."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def tables_present(run: Run) -> set[str]:
    found = run(
        "SELECT table_name FROM information_schema.tables WHERE table_name IN ($1, $2, $3)",
        [LINKS, REVIEW, ACCOUNT_LINKS],
    )
    return set(found.column("table_name").to_pylist())


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


def owner_of(row: Mapping[str, Any]) -> Owner | None:
    if row.get("owner_id") is None:
        return None
    return Owner(row["owner_id"], row.get("owner_name"), row.get("owner_team"))


def name_of(first: str | None, last: str | None) -> str:
    return " ".join(x for x in (first, last) if x)


def account_row(run: Run, account_id: str) -> dict[str, Any] | None:
    cols = ", ".join(f"a.{c}" for c in TABLES["accounts"].column_names)
    found = _rows(
        run(
            f"""SELECT {cols}, u.name AS owner_name, u.team AS owner_team,
                   {source_of("a._source")} AS source,
                   (SELECT count(*) FROM people p WHERE p.account_id = a.account_id) AS n_people,
                   (SELECT count(*) FROM opportunities o
                    WHERE o.account_id = a.account_id) AS n_opportunities
            FROM accounts a LEFT JOIN users u ON u.user_id = a.owner_id
            WHERE a.account_id = $1""",
            [account_id],
        )
    )
    return found[0] if found else None


def person_row(run: Run, person_id: str) -> dict[str, Any] | None:
    cols = ", ".join(f"p.{c}" for c in TABLES["people"].column_names)
    found = _rows(
        run(
            f"""SELECT {cols}, u.name AS owner_name, u.team AS owner_team,
                   {source_of("p._source")} AS source, a.name AS account_name
            FROM people p LEFT JOIN users u ON u.user_id = p.owner_id
            LEFT JOIN accounts a ON a.account_id = p.account_id
            WHERE p.person_id = $1""",
            [person_id],
        )
    )
    return found[0] if found else None


def owners(
    run: Run, subject: Subject, param: str | list[str], cut: dt.datetime
) -> tuple[Owned, ...]:
    """The owners of a subject's records to ``cut``, earliest first (at most :data:`MAX_LISTED`).

    One query over the timeline's own events of the kinds in :data:`OWNED`, so what is counted
    is what the timeline lists.
    """
    counts = ", ".join(
        f"count(DISTINCT e.source_key) FILTER (WHERE e.source_table = '{t}') AS {t}"
        for t in OWNED.values()
    )
    found = _rows(
        run(
            f"""{union_sql(subject, tuple(OWNED))}
            SELECT e.owner_id, any_value(u.name) AS owner_name, any_value(u.team) AS owner_team,
                   {counts}, min(e.ts) AS first_at, max(e.ts) AS last_at
            FROM _events e LEFT JOIN users u ON u.user_id = e.owner_id
            WHERE e.owner_id IS NOT NULL
            GROUP BY e.owner_id ORDER BY first_at, e.owner_id LIMIT {MAX_LISTED}""",
            [param, cut],
        )
    )
    return tuple(
        Owned(
            Owner(r["owner_id"], r["owner_name"], r["owner_team"]),
            {t: int(r[t]) for t in OWNED.values() if r[t]},
            r["first_at"],
            r["last_at"],
        )
        for r in found
    )


NOT_RUN = (
    "Identity resolution has not run in this workspace: each source record stands alone. "
    "Run `revteam resolve` (ws.identity.run()) to link the same person across sources."
)


def person_identity(run: Run, person: Mapping[str, Any]) -> PersonIdentity:
    """The unified person ``person`` belongs to, the records linked and why."""
    present = tables_present(run)
    pid = person["person_id"]
    if LINKS not in present:
        return PersonIdentity(False, NOT_RUN, records=(_alone(person),))
    mine = _rows(run(f"SELECT unified_id, resolved_at FROM {LINKS} WHERE person_id = $1", [pid]))
    account = _account_match(run, pid) if ACCOUNT_LINKS in present else None
    if not mine:
        return PersonIdentity(
            True,
            "This record was loaded after the last identity resolution run: it is not linked "
            "yet. Run `revteam resolve` again to link it.",
            records=(_alone(person),),
            account=account,
        )
    unified, resolved_at = mine[0]["unified_id"], mine[0]["resolved_at"]
    same = " = ".join
    linked = _rows(
        run(
            f"""WITH me AS (SELECT p.email, p.first_name, p.last_name,
                                  COALESCE(p.company_name, a.name) AS company
                           FROM people p LEFT JOIN accounts a ON a.account_id = p.account_id
                           WHERE p.person_id = $1),
                 them AS (SELECT l.person_id, l.source, p.email, p.first_name, p.last_name,
                                 COALESCE(p.company_name, a.name) AS company, p.created_at
                          FROM {LINKS} l LEFT JOIN people p ON p.person_id = l.person_id
                          LEFT JOIN accounts a ON a.account_id = p.account_id
                          WHERE l.unified_id = $2)
            SELECT them.*, count(*) OVER () AS n,
                   {same((N.email_sql("them.email"), N.email_sql("me.email")))} AS same_email,
                   them.email = me.email AS identical_email,
                   {same((N.name_sql("them.first_name"), N.name_sql("me.first_name")))}
                       AS same_first,
                   {same((N.name_sql("them.last_name"), N.name_sql("me.last_name")))}
                       AS same_last,
                   {same((N.name_sql("them.first_name"), N.name_sql("me.last_name")))}
                   AND {same((N.name_sql("them.last_name"), N.name_sql("me.first_name")))}
                       AS swapped,
                   jaro_winkler_similarity(
                       COALESCE({N.name_sql("concat_ws(' ', them.first_name, them.last_name)")},
                                ''),
                       COALESCE({N.name_sql("concat_ws(' ', me.first_name, me.last_name)")}, ''))
                       AS name_similarity,
                   {same((N.company_sql("them.company"), N.company_sql("me.company")))}
                       AS same_company
            FROM them CROSS JOIN me
            ORDER BY them.person_id <> $1, them.person_id
            LIMIT {MAX_LISTED}""",
            [pid, unified],
        )
    )
    records = tuple(_linked(r, pid) for r in linked)
    total = int(linked[0]["n"]) if linked else 1
    review: tuple[ReviewPair, ...] = ()
    if REVIEW in present:
        review = tuple(
            ReviewPair(
                r["other_id"], r["other_name"] or "", r["other_email"], r["match_probability"]
            )
            for r in _rows(
                run(
                    f"""SELECT CASE WHEN person_id_l = $1 THEN person_id_r ELSE person_id_l END
                               AS other_id,
                           CASE WHEN person_id_l = $1 THEN name_r ELSE name_l END AS other_name,
                           CASE WHEN person_id_l = $1 THEN email_r ELSE email_l END
                               AS other_email,
                           match_probability
                    FROM {REVIEW} WHERE person_id_l = $1 OR person_id_r = $1
                    ORDER BY match_probability DESC, other_id LIMIT {MAX_LISTED}""",
                    [pid],
                )
            )
        )
    if total > 1:
        sources = sorted({r.source or "unknown source" for r in records})
        message = (
            f"{total} source records are one person (unified id {unified}), linked by identity "
            f"resolution from {', '.join(sources)}: each record below says what it shares with "
            "this one."
        )
    else:
        message = "Identity resolution found no other record of this person."
    if review:
        message += f" {len(review)} uncertain match(es) are left for review (not merged)."
    return PersonIdentity(
        True,
        message,
        unified,
        resolved_at,
        records,
        max(0, total - len(records)),
        review,
        account,
    )


def _alone(person: Mapping[str, Any]) -> LinkedRecord:
    return LinkedRecord(
        person["person_id"],
        person.get("source"),
        name_of(person.get("first_name"), person.get("last_name")),
        person.get("email"),
        person.get("company_name") or person.get("account_name"),
        person.get("created_at"),
        True,
        (),
    )


def _linked(r: Mapping[str, Any], subject: str) -> LinkedRecord:
    if r["person_id"] == subject:
        reasons: list[str] = ["the record asked for"]
    else:
        reasons = []
        if r["same_email"]:
            reasons.append("same e-mail" if r["identical_email"] else "same e-mail once cleaned")
        if r["same_first"] and r["same_last"]:
            reasons.append("same first and last name")
        elif r["swapped"]:
            reasons.append("first and last name swapped")
        elif r["name_similarity"] is not None and r["name_similarity"] >= 0.88:
            reasons.append(f"similar name (Jaro-Winkler {r['name_similarity']:.2f})")
        elif r["same_last"]:
            reasons.append("same last name")
        if r["same_company"]:
            reasons.append("same company")
        if not reasons:
            reasons.append("linked through another record of the same person")
    return LinkedRecord(
        r["person_id"],
        r["source"],
        name_of(r["first_name"], r["last_name"]),
        r["email"],
        r["company"],
        r["created_at"],
        r["person_id"] == subject,
        tuple(reasons),
    )


def _account_match(run: Run, person_id: str) -> AccountMatch | None:
    found = _rows(
        run(
            f"""SELECT l.person_id, concat_ws(' ', p.first_name, p.last_name) AS name, l.method,
                   l.account_id, l.source_account_id
            FROM {ACCOUNT_LINKS} l LEFT JOIN people p ON p.person_id = l.person_id
            WHERE l.person_id = $1""",
            [person_id],
        )
    )
    return AccountMatch(**found[0]) if found else None


def account_identity(run: Run, account_id: str) -> AccountIdentity:
    """The account's people by source, unified people, and how resolution matched people here."""
    present = tables_present(run)
    sources = {
        r["source"] or "unknown": int(r["n"])
        for r in _rows(
            run(
                f"""SELECT {source_of("_source")} AS source, count(*) AS n FROM people
                WHERE account_id = $1 GROUP BY ALL ORDER BY source""",
                [account_id],
            )
        )
    }
    if LINKS not in present:
        return AccountIdentity(False, NOT_RUN, sources)
    unified = _rows(
        run(
            f"""SELECT count(DISTINCT l.unified_id) AS n FROM people p
            JOIN {LINKS} l ON l.person_id = p.person_id WHERE p.account_id = $1""",
            [account_id],
        )
    )[0]["n"]
    matched: dict[str, int] = {}
    elsewhere: tuple[AccountMatch, ...] = ()
    joining: tuple[AccountMatch, ...] = ()
    if ACCOUNT_LINKS in present:
        matched = {
            r["method"]: int(r["n"])
            for r in _rows(
                run(
                    f"""SELECT method, count(*) AS n FROM {ACCOUNT_LINKS}
                    WHERE account_id = $1 GROUP BY method ORDER BY method""",
                    [account_id],
                )
            )
        }
        pick = f"""SELECT l.person_id, concat_ws(' ', p.first_name, p.last_name) AS name,
                       l.method, l.account_id, l.source_account_id
                   FROM {ACCOUNT_LINKS} l JOIN people p ON p.person_id = l.person_id"""
        elsewhere = tuple(
            AccountMatch(**r)
            for r in _rows(
                run(
                    f"""{pick} WHERE p.account_id = $1 AND l.account_id <> $1
                    ORDER BY l.person_id LIMIT {MAX_LISTED}""",
                    [account_id],
                )
            )
        )
        joining = tuple(
            AccountMatch(**r)
            for r in _rows(
                run(
                    f"""{pick} WHERE l.account_id = $1 AND p.account_id IS DISTINCT FROM $1
                    ORDER BY l.person_id LIMIT {MAX_LISTED}""",
                    [account_id],
                )
            )
        )
    people = sum(sources.values())
    message = (
        f"{people} people record(s) from {', '.join(sources) or 'no source'}; "
        f"{unified} unified person(s) after identity resolution."
    )
    if elsewhere or joining:
        message += (
            f" {len(elsewhere)} of its people match another account by e-mail domain or company "
            f"name, {len(joining)} people of other accounts match this one."
        )
    return AccountIdentity(True, message, sources, int(unified), matched, elsewhere, joining)


def account_kpis(
    metrics: MetricsComponent, account_id: str, as_of: Any, currency: str
) -> tuple[tuple[Kpi, ...], dict[str, int | None], tuple[str, ...]]:
    """The account's KPIs over all its data to ``as_of``, its deal counts, and notes."""
    catalogue = metrics.catalogue
    kpis: list[Kpi] = []
    rows: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    for metric in KPIS:
        if metric not in catalogue:
            continue
        spec = catalogue[metric]
        try:
            result = metrics.query(
                metric, grain="all", where={"account": [account_id]}, as_of=as_of
            )
        except MetricError as exc:  # a workspace's own definition may not reach accounts
            missing = display(None, spec.unit)
            kpis.append(Kpi(metric, spec.label, spec.unit, None, missing, None, str(exc)))
            continue
        found = [r for r in result.to_pylist() if r["metric"] == metric]
        row = found[0] if found else {}
        rows[metric] = row
        value = row.get("value")
        n = row.get("n")
        kpis.append(
            Kpi(
                metric,
                spec.label,
                spec.unit,
                None if value is None else float(value),
                display(value, spec.unit, currency=currency),
                None if n is None else int(n),
                "immature cohort" if row.get("immature") else "",
            )
        )
        notes += list(result.notes)
    won = rows.get("opportunities_won", {}).get("value")
    closed = rows.get("win_rate", {})
    lost = None
    if closed.get("denominator") is not None:
        lost = int(closed["denominator"] or 0) - int(closed.get("numerator") or 0)
    open_n = rows.get("open_pipeline", {}).get("n")
    deals = {
        "won": None if won is None else int(won),
        "open": None if open_n is None else int(open_n),
        "lost": lost,
    }
    return tuple(kpis), deals, tuple(dict.fromkeys(notes))
