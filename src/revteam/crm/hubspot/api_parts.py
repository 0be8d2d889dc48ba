"""The canonical tables made from the standardised HubSpot views (``_hs_<object>``).

Records that are not data for the model (notes and tasks, e-mail events outside the canonical
types, events HubSpot filters from reporting, merged contacts and deals) are counted in the
notes, never dropped silently.
"""

from __future__ import annotations

from revteam.crm import _private as P
from revteam.crm import owners
from revteam.crm._private import TRUE, deal_outcome
from revteam.crm.hubspot import associations
from revteam.crm.mapping import SETTING_OF, UnmappedValue
from revteam.crm.translation import Part, Translation


def _first(assoc: str, column: str) -> str:
    """The first associated id: HubSpot lists the primary association first by id order."""
    return f"(SELECT min(a.to_id) FROM _hs_{assoc} a WHERE a.from_id = {column})"


def users(tr: Translation) -> None:
    """Owners, in the team of their primary HubSpot team where that maps onto a team."""
    team = P.map_sql("t.name", tr.mapping.teams)
    known = ", ".join(P.lit(x) for x in sorted(set(tr.mapping.teams.values())))
    teams = f"""(SELECT min(CASE WHEN {team} IN ({known}) THEN {team} END)
                 FROM _hs_owner_team ot JOIN _hs_team t ON t.id = ot.team_id
                 WHERE ot.owner_id = o.user_id)"""
    n = P.count(tr.con, f"SELECT 1 FROM _hs_owner o WHERE NOT o._deleted AND {teams} IS NULL")
    if n:
        tr.notes.append(
            f"{n} owner(s) without a team that maps onto a revteam team loaded in team "
            f"{tr.mapping.default_team} (set teams or default_team in crm.yaml)"
        )
    tr.parts.append(
        Part(
            "users",
            f"""SELECT o.user_id, NULLIF(trim(concat_ws(' ', o.first_name, o.last_name)), '')
                    AS name, o.email, COALESCE({teams}, {P.lit(tr.mapping.default_team)}) AS team,
                    o._origin, o._raw, o._refuse
                FROM _hs_owner o WHERE NOT o._deleted""",
            "owners",
        )
    )


def accounts(tr: Translation) -> None:
    tr.parts.append(
        Part("accounts", "SELECT * EXCLUDE (_deleted) FROM _hs_company WHERE NOT _deleted", "")
    )
    tr.removals.append(
        Part(
            "accounts",
            "SELECT account_id AS key FROM _hs_company WHERE _deleted",
            "deleted companies",
        )
    )


def people(tr: Translation) -> None:
    """Contacts with their lifecycle dates; a contact merged into another is not a person."""
    history = P.map_sql("h.value", tr.mapping.lifecycle_stages)
    tr.con.execute("""CREATE OR REPLACE TEMP VIEW _hs_merged AS
        SELECT trim(split_part(unnest(string_split(merged_ids, ';')), ':', 1)) AS id
        FROM _hs_contact WHERE NOT _deleted AND merged_ids IS NOT NULL
        UNION SELECT vid_to_merge FROM _hs_contact_merge_audit""")
    tr.con.execute(f"""CREATE OR REPLACE TEMP VIEW _hs_stage_history AS
        SELECT h.contact_id, {history} AS stage,
               CAST(min(TRY_CAST(h.timestamp AS TIMESTAMP)) AS VARCHAR) AS entered
        FROM _hs_contact_property_history h WHERE h.name = 'lifecyclestage' GROUP BY ALL""")
    live = "NOT c._deleted AND c.person_id NOT IN (SELECT id FROM _hs_merged WHERE id IS NOT NULL)"
    if n := P.count(tr.con, f"SELECT 1 FROM _hs_contact c WHERE NOT c._deleted AND NOT ({live})"):
        tr.notes.append(f"{n} contact(s) merged into another contact skipped (the survivor stays)")

    def stamp(stage: str) -> str:
        hist = (
            "(SELECT min(entered) FROM _hs_stage_history s "
            f"WHERE s.contact_id = c.person_id AND s.stage = '{stage}')"
        )
        return P.earliest_sql([f"c.st_{stage}", hist])

    stamps = ", ".join(f"c.st_{s}" for s in ("lead", "mql", "sql", "opportunity", "customer"))
    tr.parts.append(
        Part(
            "people",
            f"""SELECT c.* EXCLUDE (_deleted, merged_ids, lifecycle_stage, {stamps},
                                   st_disqualified, created_at, disqualified_at),
                    COALESCE(c.created_at, {stamp("lead")}) AS created_at,
                    {stamp("mql")} AS mql_at, {stamp("sql")} AS sql_at,
                    {stamp("opportunity")} AS opportunity_at, {stamp("customer")} AS customer_at,
                    COALESCE(c.disqualified_at, {stamp("disqualified")}) AS disqualified_at
                FROM _hs_contact c WHERE {live}""",
            "contacts",
        )
    )
    tr.removals.append(
        Part(
            "people",
            """SELECT person_id AS key FROM _hs_contact WHERE _deleted
                UNION SELECT id FROM _hs_merged""",
            "deleted or merged contacts",
        )
    )


def deals(tr: Translation) -> None:
    """Deals labelled through their pipeline stage; stage history from ``deal_stage``.

    A deal without a ``deal_company`` association takes the company of its first contact.
    """
    stages = dict(tr.mapping.deal_stages)
    tr.con.execute(f"""CREATE OR REPLACE TEMP VIEW _hs_stage_entries AS
        SELECT * EXCLUDE (prev) FROM (
            SELECT x.opportunity_id, x.entered_at, {_stage("x", stages)} AS stage,
                   x._origin, x._raw, x._refuse,
                   lag({_stage("x", stages)}) OVER (PARTITION BY x.opportunity_id
                       ORDER BY TRY_CAST(x.entered_at AS TIMESTAMP)) AS prev
            FROM _hs_deal_stage x LEFT JOIN _hs_stages ps ON ps.stage_id = x.stage_id
            WHERE NOT x._deleted)
        WHERE prev IS DISTINCT FROM stage""")
    tr.parts.append(Part("opportunity_stages", "SELECT * FROM _hs_stage_entries", "deal stages"))
    stage = _stage("d", stages)
    inner = f"""SELECT d.opportunity_id,
            COALESCE(d.account_id, {_first("deal_company", "d.opportunity_id")}) AS account_id,
            {_first("deal_contact", "d.opportunity_id")} AS person_id, d.name, d.type,
            d.channel, d.campaign_id, {owners.owner_sql("d.owner_id", None)} AS owner_id,
            d.created_at, d.expected_close_date,
            (SELECT min(e.entered_at) FROM _hs_stage_entries e
             WHERE e.opportunity_id = d.opportunity_id AND e.stage = {stage}) AS closed_at,
            {stage} AS stage, COALESCE(d.is_closed, ps.is_closed) AS is_closed,
            COALESCE(d.is_won, ps.closed_won) AS is_won, d.amount, d._currency,
            COALESCE(d.probability, ps.probability) AS probability, d.lost_reason,
            d.forecast_category,
            d._origin, d._raw, d._refuse
        FROM _hs_deal d LEFT JOIN _hs_stages ps ON ps.stage_id = d.stage_id
        WHERE NOT d._deleted AND d.opportunity_id NOT IN
            (SELECT merged_deal_id FROM _hs_merged_deal WHERE merged_deal_id IS NOT NULL)"""
    associations.add_accounts(tr, "SELECT account_id FROM _hs_company WHERE NOT _deleted")
    associations.add_people(tr, "SELECT person_id, account_id FROM _hs_contact WHERE NOT _deleted")
    placed = associations.place(tr, inner, "deals")
    tr.parts.append(Part("opportunities", deal_outcome(placed), "deals"))
    tr.removals.append(
        Part(
            "opportunities",
            """SELECT opportunity_id AS key FROM _hs_deal WHERE _deleted
                UNION SELECT merged_deal_id FROM _hs_merged_deal""",
            "deleted or merged deals",
        )
    )
    if n := P.count(tr.con, "SELECT 1 FROM _hs_merged_deal WHERE merged_deal_id IS NOT NULL"):
        tr.notes.append(f"{n} deal(s) merged into another deal skipped")
    _unmapped_stages(tr)


def _stage(alias: str, stages: dict[str, str]) -> str:
    """Canonical stage: the pipeline stage's closed flags, else its label through the map."""
    label = P.map_sql(f"COALESCE(ps.label, {alias}.stage_id)", stages)
    return (
        f"(CASE WHEN lower(ps.closed_won) IN {TRUE} THEN 'closed_won' "
        f"WHEN lower(ps.is_closed) IN {TRUE} THEN 'closed_lost' ELSE {label} END)"
    )


def _unmapped_stages(tr: Translation) -> None:
    found = P.rows(
        tr.con,
        "SELECT COALESCE(ps.label, d.stage_id), count(*) FROM (SELECT stage_id FROM _hs_deal "
        "WHERE NOT _deleted UNION ALL SELECT stage_id FROM _hs_deal_stage WHERE NOT _deleted) d "
        "LEFT JOIN _hs_stages ps ON ps.stage_id = d.stage_id WHERE d.stage_id IS NOT NULL "
        f"AND NOT COALESCE(lower(ps.is_closed) IN {TRUE}, FALSE) "
        "GROUP BY 1 ORDER BY 2 DESC",
    )
    for value, n in found:
        if P.norm_value(str(value)) not in tr.mapping.deal_stages:
            tr.unmapped.append(
                UnmappedValue(
                    "hubspot",
                    "deal",
                    "stage",
                    str(value),
                    int(str(n)),
                    "refused (quarantine)",
                    SETTING_OF["deal_stages"],
                )
            )


def activities(tr: Translation) -> None:
    """Calls, e-mails and meetings; notes, tasks and messages are not sales activities."""
    typed = "SELECT * FROM _hs_engagements WHERE NOT _deleted"
    base = "SELECT * FROM _hs_engagement WHERE NOT _deleted"
    rows = f"""SELECT t.activity_id, COALESCE(t.type, b.type) AS type,
                      COALESCE(t.raw_type, b.raw_type) AS raw_type,
                      COALESCE(t.owner_id, b.owner_id) AS owner_id,
                      COALESCE(t.occurred_at, b.occurred_at) AS occurred_at,
                      COALESCE(t._origin, b._origin) AS _origin, COALESCE(t._raw, b._raw) AS _raw,
                      COALESCE(t._refuse, b._refuse) AS _refuse
               FROM ({typed}) t FULL JOIN ({base}) b ON b.activity_id = t.activity_id"""
    for raw, n in P.rows(
        tr.con,
        f"SELECT COALESCE(raw_type, '(none)'), count(*) FROM ({rows}) WHERE type IS NULL "
        "GROUP BY 1 ORDER BY 2 DESC",
    ):
        tr.notes.append(
            f"{n} engagement(s) of type {raw!r} skipped: not a call, e-mail or meeting "
            "(map it with activity_types in crm.yaml)"
        )
    tr.parts.append(
        Part(
            "sales_activities",
            f"""SELECT e.activity_id, {_first("engagement_contact", "e.activity_id")} AS person_id,
                    {_first("engagement_company", "e.activity_id")} AS account_id,
                    {_first("engagement_deal", "e.activity_id")} AS opportunity_id,
                    e.owner_id, e.type, e.occurred_at, e._origin, e._raw, e._refuse
                FROM ({rows}) e WHERE e.type IS NOT NULL""",
            "engagements",
        )
    )


def email_campaigns(tr: Translation) -> None:
    """Marketing e-mails (``email_campaign``) as campaigns in the e-mail channel.

    HubSpot keeps no dates on an e-mail campaign: it runs from its first event to its last,
    so a campaign without events in the load has no start date and is skipped (noted).
    """
    tr.con.execute("""CREATE OR REPLACE TEMP VIEW _hs_email_campaigns AS
        SELECT c.campaign_id, COALESCE(c.name, c.subject, 'E-mail ' || c.campaign_id) AS name,
               'email' AS channel, 'email' AS type,
               CAST(CAST(ev.first AS DATE) AS VARCHAR) AS start_date,
               CAST(CAST(ev.last AS DATE) AS VARCHAR) AS end_date, c._origin, c._raw, c._refuse
        FROM _hs_email_campaign c
        JOIN (SELECT email_id, min(TRY_CAST(occurred_at AS TIMESTAMP)) AS first,
                     max(TRY_CAST(occurred_at AS TIMESTAMP)) AS last
              FROM _hs_email_event WHERE NOT _deleted GROUP BY email_id) ev
            ON ev.email_id = c.campaign_id
        WHERE NOT c._deleted AND ev.first IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY c.campaign_id ORDER BY c._origin) = 1""")
    undated = P.count(
        tr.con,
        "SELECT 1 FROM _hs_email_campaign WHERE NOT _deleted AND campaign_id NOT IN "
        "(SELECT campaign_id FROM _hs_email_campaigns)",
    )
    if undated:
        tr.notes.append(
            f"{undated} e-mail campaign(s) without e-mail events in this load skipped "
            "(a campaign's dates come from its events)"
        )
    tr.parts.append(Part("campaigns", "SELECT * FROM _hs_email_campaigns", "e-mail campaigns"))


def email_events(tr: Translation) -> None:
    """E-mail events of the canonical types; unsubscribes come from status changes.

    An event belongs to the campaign of its e-mail where that campaign is in the load.
    """
    unsub = (
        "CASE WHEN upper(e.raw_type) = 'STATUSCHANGE' AND upper(s.portal_subscription_status) "
        "= 'UNSUBSCRIBED' THEN 'unsubscribe' ELSE e.type END"
    )
    rows = f"""SELECT e.*, {unsub} AS kind FROM _hs_email_event e
               LEFT JOIN _hs_email_event_status_change s ON s.id = e.event_id
               WHERE NOT e._deleted"""
    filtered = f"lower(e.filtered) IN {TRUE}"
    if skipped := P.count(tr.con, f"SELECT 1 FROM ({rows}) e WHERE {filtered}"):
        tr.notes.append(f"{skipped} e-mail event(s) that HubSpot filters from reporting skipped")
    for raw, n in P.rows(
        tr.con,
        f"SELECT raw_type, count(*) FROM ({rows}) e WHERE kind IS NULL AND NOT "
        f"COALESCE({filtered}, FALSE) GROUP BY 1 ORDER BY 2 DESC",
    ):
        tr.notes.append(
            f"{n} e-mail event(s) of type {raw!r} skipped: not one of sent, delivered, open, "
            "click, bounce, unsubscribe"
        )
    kept = f"e.kind IS NOT NULL AND NOT COALESCE({filtered}, FALSE)"
    campaign = (
        "(CASE WHEN e.email_id IN (SELECT campaign_id FROM _hs_email_campaigns) "
        "THEN e.email_id END)"
    )
    if n := P.count(tr.con, f"SELECT 1 FROM ({rows}) e WHERE {kept} AND {campaign} IS NULL"):
        tr.notes.append(
            f"{n} e-mail event(s) whose e-mail campaign is not in this load loaded without "
            "a campaign (load email_campaign with email_event)"
        )
    tr.parts.append(
        Part(
            "email_events",
            f"""SELECT e.event_id, e.email_id, {campaign} AS campaign_id,
                    (SELECT min(c.person_id) FROM _hs_contact c WHERE c.email = e.recipient
                     AND NOT c._deleted) AS person_id,
                    e.kind AS type, e.occurred_at, e._origin, e._raw, e._refuse
                FROM ({rows}) e WHERE {kept}""",
            "e-mail events",
        )
    )


def form_submissions(tr: Translation) -> None:
    """Form submissions are touchpoints in the channel that sourced the contact."""
    tr.parts.append(
        Part(
            "touchpoints",
            """SELECT COALESCE(f.touch_id, f.person_id || '-' || f.occurred_at) AS touch_id,
                    f.person_id, c.account_id, c.channel, 'form_submit' AS type, f.occurred_at,
                    f._origin, f._raw, f._refuse
                FROM _hs_contact_form_submission f
                LEFT JOIN (SELECT * FROM _hs_contact WHERE NOT _deleted
                           QUALIFY row_number() OVER (PARTITION BY person_id) = 1) c
                    ON c.person_id = f.person_id
                WHERE NOT f._deleted""",
            "form submissions",
        )
    )
