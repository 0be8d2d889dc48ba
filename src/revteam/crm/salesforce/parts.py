"""The canonical tables made from the standardised Salesforce views (``_sf_<object>``).

Each function adds its :class:`~revteam.crm.translation.Part` to the translation. Records that
are not data for the model (generic to-do tasks, draft orders, history rows that changed only an
amount) are counted in the notes rather than dropped silently.
"""

from __future__ import annotations

from revteam.crm import _private as P
from revteam.crm import owners
from revteam.crm._private import TRUE, deal_outcome
from revteam.crm.translation import Part, Translation
from revteam.model import enums

_LINEAGE = "_origin, _raw, _refuse"


def _note(tr: Translation, n: int, text: str) -> None:
    if n:
        tr.notes.append(f"{n} {text}")


def opportunities(tr: Translation) -> None:
    """Stage entries from the history, the close time from entering the closed stage."""
    tr.con.execute("""CREATE OR REPLACE TEMP VIEW _sf_entries AS
        SELECT * EXCLUDE (prev) FROM (
            SELECT *, lag(stage) OVER (PARTITION BY opportunity_id
                                       ORDER BY TRY_CAST(entered_at AS TIMESTAMP), _origin) AS prev
            FROM _sf_opportunity_history WHERE NOT _deleted)
        WHERE prev IS DISTINCT FROM stage""")
    kept = P.count(tr.con, "SELECT 1 FROM _sf_entries")
    _note(
        tr,
        P.count(tr.con, "SELECT 1 FROM _sf_opportunity_history WHERE NOT _deleted") - kept,
        "opportunity history row(s) changed amount, probability or close date but not the "
        "stage: not stage entries",
    )
    tr.parts.append(
        Part(
            "opportunity_stages",
            "SELECT opportunity_id, entered_at, stage, amount, probability, _currency, "
            f"{_LINEAGE} FROM _sf_entries",
            "opportunity history",
        )
    )
    owner = owners.owner_sql("o.owner_id", "o.owner_name")
    inner = f"""SELECT o.id AS opportunity_id, o.account_id,
            COALESCE(o.contact_id, lc.contact_id) AS person_id, o.name, o.type, o.channel,
            o.campaign_id, {owner} AS owner_id, o.created AS created_at,
            o.close_date AS expected_close_date, h.entered AS closed_at, o.stage, o.is_closed,
            o.is_won, o.amount, o.probability, o.lost_reason, o.forecast_category,
            o.currency AS _currency,
            o._origin, o._raw, o._refuse
        FROM _sf_opportunity o
        LEFT JOIN (SELECT converted_opportunity_id AS id, min(converted_contact_id) AS contact_id
                   FROM _sf_lead WHERE NOT _deleted AND converted_opportunity_id IS NOT NULL
                   GROUP BY 1) lc ON lc.id = o.id
        LEFT JOIN (SELECT opportunity_id, stage,
                          CAST(min(TRY_CAST(entered_at AS TIMESTAMP)) AS VARCHAR) AS entered
                   FROM _sf_entries GROUP BY ALL) h
            ON h.opportunity_id = o.id AND h.stage = o.stage
        WHERE NOT o._deleted"""
    tr.con.execute(f"CREATE OR REPLACE TEMP VIEW _sf_opps AS {deal_outcome(inner)}")
    _note(
        tr,
        P.count(tr.con, "SELECT 1 FROM _sf_opps WHERE account_id IS NULL AND _refuse IS NULL"),
        "opportunity(ies) have no account: loaded without one (account-based KPIs say how many "
        "they could not place)",
    )
    untyped = P.count(tr.con, "SELECT 1 FROM _sf_opportunity WHERE NOT _deleted AND type IS NULL")
    _note(tr, untyped, "opportunity(ies) without a Type loaded as new_business")
    tr.parts.append(Part("opportunities", "SELECT * FROM _sf_opps", "opportunities"))
    tr.removals.append(
        Part(
            "opportunities",
            "SELECT id AS key FROM _sf_opportunity WHERE _deleted",
            "deleted opportunities",
        )
    )


def accounts(tr: Translation) -> None:
    """Accounts, each dated by its creation or else by its earliest deal or contact.

    A report without the Created Date column, or an account made from a name, has no creation
    date; the notes say how many were dated by their first record.
    """
    cols = [f"a.{c}" for c in ("account_id", "name", "domain", "industry", "employees")]
    cols += [f"a.{c}" for c in ("annual_revenue", "segment", "region", "country")]
    owner = owners.owner_sql("a.owner_id", "a.owner_name")
    tr.con.execute("""CREATE OR REPLACE TEMP VIEW _sf_account_first AS
        SELECT account_id, CAST(min(TRY_CAST(created AS TIMESTAMP)) AS VARCHAR) AS first_seen
        FROM (SELECT account_id, created FROM _sf_opportunity WHERE NOT _deleted
              UNION ALL SELECT account_id, created FROM _sf_contact WHERE NOT _deleted)
        WHERE account_id IS NOT NULL GROUP BY account_id""")
    _note(
        tr,
        P.count(
            tr.con,
            "SELECT 1 FROM _sf_account a JOIN _sf_account_first f USING (account_id) "
            "WHERE NOT a._deleted AND a.created_at IS NULL AND f.first_seen IS NOT NULL",
        ),
        "account(s) without a created date: dated by their earliest deal or contact",
    )
    tr.parts.append(
        Part(
            "accounts",
            f"SELECT {', '.join(cols)}, COALESCE(a.created_at, f.first_seen) AS created_at, "
            f"{owner} AS owner_id, a._currency, a._origin, a._raw, a._refuse "
            "FROM _sf_account a LEFT JOIN _sf_account_first f USING (account_id) "
            "WHERE NOT a._deleted",
            "accounts",
        )
    )
    tr.removals.append(
        Part(
            "accounts",
            "SELECT account_id AS key FROM _sf_account WHERE _deleted",
            "deleted accounts",
        )
    )


def campaigns(tr: Translation) -> None:
    tr.parts.append(
        Part(
            "campaigns",
            "SELECT campaign_id, name, COALESCE(channel, type_channel) AS channel, type, "
            f"parent_id, start_date, end_date, budget, _currency, {_LINEAGE} "
            "FROM _sf_campaign WHERE NOT _deleted",
            "campaigns",
        )
    )
    tr.removals.append(
        Part(
            "campaigns",
            "SELECT campaign_id AS key FROM _sf_campaign WHERE _deleted",
            "deleted campaigns",
        )
    )


def _person(who: str) -> str:
    """A lead id stands for its contact once converted (that contact is the person)."""
    return (
        f"COALESCE((SELECT min(l.converted_contact_id) FROM _sf_lead l WHERE l.id = {who} "
        f"AND lower(l.is_converted) IN {TRUE}), {who})"
    )


def touchpoints(tr: Translation) -> None:
    person = _person("COALESCE(m.contact_id, m.lead_id)")
    tr.parts.append(
        Part(
            "touchpoints",
            f"""SELECT m.touch_id, {person} AS person_id,
                    (SELECT min(c.account_id) FROM _sf_contact c WHERE c.id = {person})
                        AS account_id,
                    m.campaign_id, COALESCE(cp.channel, cp.type_channel) AS channel, m.type,
                    m.occurred_at, m._origin, m._raw, m._refuse
                FROM _sf_campaign_member m
                LEFT JOIN (SELECT * FROM _sf_campaign WHERE NOT _deleted
                           QUALIFY row_number() OVER (PARTITION BY campaign_id) = 1) cp
                    ON cp.campaign_id = m.campaign_id
                WHERE NOT m._deleted""",
            "campaign members",
        )
    )


def activities(tr: Translation) -> None:
    """Calls, e-mails and meetings; generic to-do tasks are not sales activities."""
    allowed = ", ".join(P.lit(t) for t in enums.ACTIVITY_TYPES)
    kinds = {
        "task": f"COALESCE(CASE WHEN subtype IN ({allowed}) THEN subtype END, "
        f"CASE WHEN kind IN ({allowed}) THEN kind END)",
        "event": "CASE WHEN kind = 'call' THEN 'call' ELSE 'meeting' END",
    }
    for obj, kind in kinds.items():
        body = f"SELECT *, {kind} AS activity_type FROM _sf_{obj} WHERE NOT _deleted"
        skipped = P.rows(
            tr.con,
            f"SELECT COALESCE(kind, subtype, '(none)'), count(*) FROM ({body}) "
            "WHERE activity_type IS NULL GROUP BY 1 ORDER BY 2 DESC",
        )
        for value, n in skipped:
            _note(
                tr,
                int(str(n)),
                f"{obj}(s) of type {value!r} skipped: not a call, e-mail or meeting "
                "(map it with activity_types in crm.yaml)",
            )
        owner = owners.owner_sql("a.owner_id", "a.owner_name")
        tr.parts.append(
            Part(
                "sales_activities",
                f"""SELECT a.activity_id, {_person("a.who_id")} AS person_id, a.account_id,
                    COALESCE(a.opportunity_id, CASE WHEN a.what_id LIKE '006%' OR a.what_id IN
                        (SELECT id FROM _sf_opportunity WHERE id IS NOT NULL) THEN a.what_id END)
                        AS opportunity_id,
                    {owner} AS owner_id, a.activity_type AS type,
                    COALESCE(a.occurred_at, a.created) AS occurred_at,
                    a._origin, a._raw, a._refuse
                FROM ({body}) a WHERE a.activity_type IS NOT NULL""",
                f"{obj}s",
            )
        )


def users(tr: Translation) -> None:
    default = P.lit(tr.mapping.default_team)
    _note(
        tr,
        P.count(tr.con, "SELECT 1 FROM _sf_user WHERE NOT _deleted AND team IS NULL"),
        f"user(s) without a known department loaded in team {tr.mapping.default_team} "
        "(set teams or default_team in crm.yaml)",
    )
    tr.parts.append(
        Part(
            "users",
            f"""SELECT u.user_id,
                    COALESCE(u.name, NULLIF(trim(concat_ws(' ', u.first_name, u.last_name)), ''))
                        AS name,
                    u.email, COALESCE(u.team, {default}) AS team,
                    COALESCE((SELECT min(r.name) FROM _sf_user_role r WHERE r.id = u.role_id),
                             u.role) AS role,
                    u.region, u.manager_id, u._origin, u._raw, u._refuse
                FROM _sf_user u WHERE NOT u._deleted""",
            "users",
        )
    )


def orders(tr: Translation) -> None:
    """Orders that are revenue: activated ones, not drafts."""
    _note(
        tr,
        P.count(tr.con, "SELECT 1 FROM _sf_order WHERE NOT _deleted AND status = 'draft'"),
        "draft order(s) skipped: not revenue until activated",
    )
    tr.parts.append(
        Part(
            "orders",
            "SELECT order_id, account_id, person_id, ordered_at, amount, product, "
            f"currency AS _currency, {_LINEAGE} FROM _sf_order "
            "WHERE NOT _deleted AND status IS DISTINCT FROM 'draft'",
            "orders",
        )
    )
