"""Every KPIS.md metric written again, by hand, in plain DuckDB SQL over the raw tables.

Nothing here goes through the compiler: each query states the KPIS.md definition directly
(month grain), returning ``period``, ``d`` (the dimension value, NULL for the total) and ``v``
(or the parts ``num`` and ``den``). ``{d}`` is replaced by the dimension's SQL expression over
the query's aliases, or by NULL for the total; ``{as_of}`` by the as-of timestamp.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.metrics.conftest import Ref

M = "CAST(date_trunc('month', {col}) AS DATE)"
OPP = "opportunities o LEFT JOIN accounts a ON a.account_id = o.account_id"
PEOPLE = "people p LEFT JOIN accounts a ON a.account_id = p.account_id"
COSTS = "costs c LEFT JOIN campaigns cm ON cm.campaign_id = c.campaign_id"
MARKETING = (
    "paid_search",
    "paid_social",
    "organic_search",
    "organic_social",
    "email",
    "events",
    "webinar",
    "content",
    "referral",
    "direct",
)
MKT = "(" + ", ".join(f"'{c}'" for c in MARKETING) + ")"
DAYS = "date_diff('second', {a}, {b}) / 86400.0"
FIRST_WINS = """(SELECT account_id, min(closed_at) AS first_win,
      first(channel ORDER BY closed_at, opportunity_id) AS channel
    FROM opportunities WHERE is_won GROUP BY 1) f"""
RECIPIENTS = """(SELECT email_id, person_id, max(campaign_id) AS campaign_id,
    coalesce(min(occurred_at) FILTER (WHERE type = 'sent'), min(occurred_at)) AS sent_at,
    bool_or(type = 'delivered') AS delivered, bool_or(type = 'open') AS opened,
    bool_or(type = 'click') AS clicked
  FROM email_events GROUP BY ALL) r LEFT JOIN campaigns cm ON cm.campaign_id = r.campaign_id"""


def m(col: str) -> str:
    return M.format(col=col)


def simple(select: str, frm: str, where: str = "TRUE", time: str = "") -> str:
    return f"SELECT {m(time)} AS period, {{d}} AS d, {select} FROM {frm} WHERE {where} GROUP BY ALL"


def worked_within(hours: int) -> str:
    """MQLs whose first sales activity at or after mql_at came within ``hours`` ÷ MQLs."""
    first = """(SELECT min(s.occurred_at) FROM sales_activities s
               WHERE s.person_id = p.person_id AND s.occurred_at >= p.mql_at)"""
    return simple(
        f"count(*) FILTER (WHERE date_diff('second', p.mql_at, {first}) <= {hours * 3600}) "
        "AS num, count(*) AS den",
        PEOPLE,
        "p.mql_at IS NOT NULL",
        "p.mql_at",
    )


def cohort(time: str, reached: str, window: int) -> str:
    hit = (
        f"{reached} IS NOT NULL AND {reached} <= {time} + INTERVAL {window} DAY "
        f"AND {reached} <= TIMESTAMP '{{as_of}}'"
    )
    return simple(
        f"count(*) FILTER (WHERE {hit}) AS num, count(*) AS den",
        PEOPLE,
        f"{time} IS NOT NULL AND {time} <= TIMESTAMP '{{as_of}}'",
        time,
    )


OPP_DIMS = {"segment": "a.segment", "channel": "o.channel", "opportunity_type": "o.type"}
RANK = """CASE {s} WHEN 'qualification' THEN 0 WHEN 'discovery' THEN 1 WHEN 'proposal' THEN 2
    WHEN 'negotiation' THEN 3 WHEN 'closed_won' THEN 4 WHEN 'closed_lost' THEN 5 END"""
STAGE_EXITS = f"""(SELECT h.*, {RANK.format(s="h.stage")} AS rank,
      {RANK.format(s="h.next_stage")} AS next_rank
    FROM (SELECT opportunity_id, stage, entered_at,
            lead(entered_at) OVER w AS left_at, lead(stage) OVER w AS next_stage
          FROM opportunity_stages
          WINDOW w AS (PARTITION BY opportunity_id ORDER BY entered_at,
                       {RANK.format(s="stage")})) h
    WHERE h.left_at IS NOT NULL AND h.stage NOT IN ('closed_won', 'closed_lost')) x
    JOIN opportunities o ON o.opportunity_id = x.opportunity_id
    LEFT JOIN accounts a ON a.account_id = o.account_id"""
STAGE_DIMS = {"deal_stage": "x.stage", **OPP_DIMS}
PEOPLE_DIMS = {"channel": "p.channel", "segment": "a.segment", "persona": "p.persona"}

SQL: dict[str, tuple[str, dict[str, str]]] = {
    "revenue": (simple("sum(o.amount) AS v", OPP, "o.is_won", "o.closed_at"), OPP_DIMS),
    "opportunities_won": (simple("count(*) AS v", OPP, "o.is_won", "o.closed_at"), OPP_DIMS),
    "recognized_revenue": (
        simple(
            "sum(r.amount) AS v",
            "orders r LEFT JOIN accounts a USING (account_id)",
            time="r.ordered_at",
        ),
        {"segment": "a.segment"},
    ),
    "avg_deal_size": (simple("avg(o.amount) AS v", OPP, "o.is_won", "o.closed_at"), OPP_DIMS),
    "median_deal_size": (
        simple("median(o.amount::DOUBLE) AS v", OPP, "o.is_won", "o.closed_at"),
        OPP_DIMS,
    ),
    "win_rate": (
        simple(
            "count(*) FILTER (WHERE o.is_won) AS num, count(*) AS den",
            OPP,
            "o.is_closed",
            "o.closed_at",
        ),
        OPP_DIMS,
    ),
    "win_rate_by_amount": (
        simple(
            "sum(o.amount) FILTER (WHERE o.is_won) AS num, sum(o.amount) AS den",
            OPP,
            "o.is_closed",
            "o.closed_at",
        ),
        OPP_DIMS,
    ),
    "sales_cycle_days": (
        simple(
            f"median({DAYS.format(a='o.created_at', b='o.closed_at')}) AS v",
            OPP,
            "o.is_won",
            "o.closed_at",
        ),
        OPP_DIMS,
    ),
    "sales_cycle_days_mean": (
        simple(
            f"avg({DAYS.format(a='o.created_at', b='o.closed_at')}) AS v",
            OPP,
            "o.is_won",
            "o.closed_at",
        ),
        OPP_DIMS,
    ),
    "opportunities_created": (simple("count(*) AS v", OPP, time="o.created_at"), OPP_DIMS),
    "pipeline_created": (simple("sum(o.amount) AS v", OPP, time="o.created_at"), OPP_DIMS),
    "lost_pipeline": (
        simple("sum(o.amount) AS v", OPP, "o.is_closed AND NOT o.is_won", "o.closed_at"),
        OPP_DIMS,
    ),
    "marketing_sourced_pipeline": (
        simple("sum(o.amount) AS v", OPP, f"o.channel IN {MKT}", "o.created_at"),
        OPP_DIMS,
    ),
    "marketing_sourced_revenue": (
        simple("sum(o.amount) AS v", OPP, f"o.is_won AND o.channel IN {MKT}", "o.closed_at"),
        OPP_DIMS,
    ),
    "new_customers": (
        # accounts by the month of their first win: no window functions, no virtual columns
        f"""SELECT CAST(date_trunc('month', f.first_win) AS DATE) AS period, {{d}} AS d,
                  count(*) AS v
           FROM {FIRST_WINS} LEFT JOIN accounts a USING (account_id)
           GROUP BY ALL""",
        {"segment": "a.segment", "channel": "f.channel"},
    ),
    "open_pipeline": (
        """WITH months AS (SELECT CAST(range AS DATE) AS period FROM range(
               TIMESTAMP '2024-11-01', TIMESTAMP '{as_of}' + INTERVAL 1 SECOND, INTERVAL 1 MONTH))
           SELECT s.period, {d} AS d, sum(o.amount) AS v
           FROM months s JOIN opportunities o
             ON o.created_at < s.period + INTERVAL 1 MONTH
            AND (o.closed_at IS NULL OR o.closed_at >= s.period + INTERVAL 1 MONTH)
           LEFT JOIN accounts a ON a.account_id = o.account_id
           GROUP BY ALL""",
        OPP_DIMS,
    ),
    "weighted_pipeline": (
        # each deal's stage row current at the month's end, weighted by its own probability
        """WITH months AS (SELECT CAST(range AS DATE) AS period FROM range(
               TIMESTAMP '2024-11-01', TIMESTAMP '{as_of}' + INTERVAL 1 SECOND, INTERVAL 1 MONTH)),
           cur AS (
             SELECT s.period, h.opportunity_id, h.stage, h.amount, h.probability,
                    row_number() OVER (PARTITION BY s.period, h.opportunity_id
                                       ORDER BY h.entered_at DESC, h.stage DESC) AS rn
             FROM months s JOIN opportunity_stages h
               ON h.entered_at < s.period + INTERVAL 1 MONTH)
           SELECT c.period, {d} AS d, sum(c.amount * coalesce(c.probability, 0)) AS v
           FROM cur c JOIN opportunities o ON o.opportunity_id = c.opportunity_id
           LEFT JOIN accounts a ON a.account_id = o.account_id
           WHERE c.rn = 1 AND c.stage NOT IN ('closed_won', 'closed_lost')
           GROUP BY ALL""",
        {**OPP_DIMS, "deal_stage": "c.stage"},
    ),
    "stage_conversion_rate": (
        f"""SELECT {m("x.left_at")} AS period, {{d}} AS d,
                   count(*) FILTER (WHERE x.next_stage <> 'closed_lost'
                                    AND x.next_rank > x.rank) AS num,
                   count(*) AS den
            FROM {STAGE_EXITS}
            GROUP BY ALL""",
        STAGE_DIMS,
    ),
    "days_in_stage": (
        f"""SELECT {m("x.left_at")} AS period, {{d}} AS d,
                   median(date_diff('second', x.entered_at, x.left_at) / 86400.0) AS v
            FROM {STAGE_EXITS}
            GROUP BY ALL""",
        STAGE_DIMS,
    ),
    "speed_to_lead_hours": (
        f"""SELECT {m("p.mql_at")} AS period, {{d}} AS d,
                   median(date_diff('second', p.mql_at, f.first_at) / 3600.0) AS v
            FROM {PEOPLE} JOIN (
              SELECT p2.person_id, min(s.occurred_at) AS first_at FROM people p2
              JOIN sales_activities s ON s.person_id = p2.person_id AND s.occurred_at >= p2.mql_at
              GROUP BY 1) f ON f.person_id = p.person_id
            GROUP BY ALL""",
        PEOPLE_DIMS,
    ),
    "mqls_worked_1h_rate": (worked_within(1), PEOPLE_DIMS),
    "mqls_worked_24h_rate": (worked_within(24), PEOPLE_DIMS),
    "mqls_not_worked": (
        f"""SELECT {m("p.mql_at")} AS period, {{d}} AS d, count(*) AS v
            FROM {PEOPLE} WHERE p.mql_at IS NOT NULL AND NOT EXISTS (
              SELECT 1 FROM sales_activities s
              WHERE s.person_id = p.person_id AND s.occurred_at >= p.mql_at)
            GROUP BY ALL""",
        PEOPLE_DIMS,
    ),
    "leads": (simple("count(*) AS v", PEOPLE, time="p.created_at"), PEOPLE_DIMS),
    "mqls": (simple("count(*) AS v", PEOPLE, "p.mql_at IS NOT NULL", "p.mql_at"), PEOPLE_DIMS),
    "sqls": (simple("count(*) AS v", PEOPLE, "p.sql_at IS NOT NULL", "p.sql_at"), PEOPLE_DIMS),
    "mql_rate": (cohort("p.created_at", "p.mql_at", 90), PEOPLE_DIMS),
    "lead_conversion_rate": (
        cohort("p.created_at", "least(p.opportunity_at, p.customer_at)", 180),
        PEOPLE_DIMS,
    ),
    "lead_to_customer_rate": (cohort("p.created_at", "p.customer_at", 365), PEOPLE_DIMS),
    "lead_to_sql_rate": (cohort("p.created_at", "p.sql_at", 90), PEOPLE_DIMS),
    "sales_qualification_rate": (cohort("p.mql_at", "p.sql_at", 60), PEOPLE_DIMS),
    "disqualification_rate": (cohort("p.mql_at", "p.disqualified_at", 60), PEOPLE_DIMS),
    "sql_to_opportunity_rate": (cohort("p.sql_at", "p.opportunity_at", 90), PEOPLE_DIMS),
    "time_to_revenue_days": (
        simple(
            f"median({DAYS.format(a='p.created_at', b='p.customer_at')}) AS v",
            PEOPLE,
            "p.customer_at IS NOT NULL",
            "p.customer_at",
        ),
        PEOPLE_DIMS,
    ),
    "marketing_cost": (
        simple("sum(c.amount) AS v", COSTS, "c.team = 'marketing'", "c.date"),
        {"channel": "cm.channel"},
    ),
    "sales_cost": (
        simple("sum(c.amount) AS v", COSTS, "c.team = 'sales'", "c.date"),
        {"channel": "cm.channel"},
    ),
    "total_cost": (simple("sum(c.amount) AS v", COSTS, time="c.date"), {"channel": "cm.channel"}),
    "website_sessions": (
        simple("sum(w.sessions) AS v", "web_traffic w", time="w.date"),
        {"channel": "w.channel"},
    ),
    "website_users": (
        simple("sum(w.users) AS v", "web_traffic w", time="w.date"),
        {"channel": "w.channel"},
    ),
    "organic_sessions": (
        simple("sum(w.sessions) AS v", "web_traffic w", "w.channel = 'organic_search'", "w.date"),
        {"source_detail": "w.source_detail"},
    ),
    "social_engagements": (
        simple(
            "sum(coalesce(s.likes, 0) + coalesce(s.shares, 0) + coalesce(s.comments, 0)) AS v",
            "social_posts s",
            time="s.date",
        ),
        {"network": "s.network"},
    ),
    "social_likes": (
        simple("sum(s.likes) AS v", "social_posts s", time="s.date"),
        {"network": "s.network"},
    ),
    "social_shares": (
        simple("sum(s.shares) AS v", "social_posts s", time="s.date"),
        {"network": "s.network"},
    ),
    "social_comments": (
        simple("sum(s.comments) AS v", "social_posts s", time="s.date"),
        {"network": "s.network"},
    ),
    "social_engagement_rate": (
        simple(
            "sum(coalesce(s.likes, 0) + coalesce(s.shares, 0) + coalesce(s.comments, 0)) "
            "AS num, sum(s.impressions) AS den",
            "social_posts s",
            time="s.date",
        ),
        {"network": "s.network"},
    ),
    "email_open_rate": (
        simple(
            "count(*) FILTER (WHERE r.opened) AS num, count(*) AS den",
            RECIPIENTS,
            "r.delivered",
            "r.sent_at",
        ),
        {"campaign": "r.campaign_id"},
    ),
    "email_click_rate": (
        simple(
            "count(*) FILTER (WHERE r.clicked) AS num, count(*) AS den",
            RECIPIENTS,
            "r.delivered",
            "r.sent_at",
        ),
        {"campaign": "r.campaign_id"},
    ),
    "email_click_to_open_rate": (
        simple(
            "count(*) FILTER (WHERE r.clicked) AS num, count(*) AS den",
            RECIPIENTS,
            "r.delivered AND r.opened",
            "r.sent_at",
        ),
        {"campaign": "r.campaign_id"},
    ),
    "content_downloads": (
        simple("count(*) AS v", "touchpoints t", "t.type = 'content_download'", "t.occurred_at"),
        {"channel": "t.channel"},
    ),
    "webinar_registrations": (
        simple(
            "count(*) AS v", "touchpoints t", "t.type = 'webinar_registration'", "t.occurred_at"
        ),
        {"campaign": "t.campaign_id"},
    ),
    "webinar_attendance_rate": (
        simple(
            """count(*) FILTER (WHERE EXISTS (
                    SELECT 1 FROM touchpoints x WHERE x.type = 'webinar_attended'
                    AND x.person_id = t.person_id AND x.campaign_id IS NOT DISTINCT FROM
                    t.campaign_id AND x.occurred_at >= t.occurred_at
                    AND x.occurred_at <= TIMESTAMP '{as_of}')) AS num, count(*) AS den""",
            "touchpoints t",
            "t.type = 'webinar_registration'",
            "t.occurred_at",
        ),
        {"campaign": "t.campaign_id"},
    ),
    "keyword_avg_position": (
        """SELECT k.period, k.d, avg(k.position) AS v FROM (
             SELECT CAST(date_trunc('month', date) AS DATE) AS period, {d} AS d, position,
                    date = max(date) OVER (PARTITION BY date_trunc('month', date), {d}) AS last
             FROM seo_rankings) k WHERE k.last GROUP BY ALL""",
        {"keyword_group": "keyword_group"},
    ),
    "keywords_top10": (
        """SELECT k.period, k.d, count(*) FILTER (WHERE k.position <= 10) AS v FROM (
             SELECT CAST(date_trunc('month', date) AS DATE) AS period, {d} AS d, position,
                    date = max(date) OVER (PARTITION BY date_trunc('month', date), {d}) AS last
             FROM seo_rankings) k WHERE k.last GROUP BY ALL""",
        {"keyword_group": "keyword_group"},
    ),
    "clv": (
        # customers by first-win month; revenue to date from orders (the company has orders)
        f"""SELECT CAST(date_trunc('month', f.first_win) AS DATE) AS period, {{d}} AS d,
                  sum(coalesce(r.rev, 0)) * {{gm}} AS num, count(*) AS den
           FROM {FIRST_WINS}
           LEFT JOIN (SELECT account_id, sum(amount) AS rev FROM orders
                      WHERE ordered_at <= TIMESTAMP '{{as_of}}' GROUP BY 1) r USING (account_id)
           LEFT JOIN accounts a USING (account_id)
           GROUP BY ALL""",
        {"segment": "a.segment", "channel": "f.channel"},
    ),
}
"""Metric → (SQL template, dimension → SQL expression over the template's aliases)."""

COMPOSED: dict[str, tuple[str, str, dict[str, str]]] = {
    "cost_per_lead": ("marketing_cost", "leads", {"channel": "channel"}),
    "cac": ("total_cost", "new_customers", {"channel": "channel"}),
    "marketing_sourced_share": (
        "marketing_sourced_pipeline",
        "pipeline_created",
        {"segment": "segment"},
    ),
}
"""Ratios of two metrics above (summed parts per period and dimension value)."""

Values = dict[tuple[dt.date, Any], float | None]


def run(ref: Ref, metric: str, dim: str | None, as_of: dt.datetime, gm: float = 0.8) -> Values:
    """Expected value per (period, dimension value); the dimension value is None for totals."""
    if metric in COMPOSED:
        num, den, dims = COMPOSED[metric]
        d = dims[dim] if dim else None
        return _ratio(run(ref, num, d, as_of), run(ref, den, d, as_of))
    sql, dims = SQL[metric]
    text = sql.format(d=dims[dim] if dim else "NULL", as_of=as_of.isoformat(sep=" "), gm=gm)
    return _values(ref.rows(text))


def _ratio(num: Values, den: Values) -> Values:
    out: Values = {}
    for key in num.keys() | den.keys():
        n, d = num.get(key) or 0.0, den.get(key) or 0.0
        out[key] = n / d if d else None
    return out


def _values(rows: list[dict[str, Any]]) -> Values:
    out: Values = {}
    for r in rows:
        if "v" in r:
            out[(r["period"], r["d"])] = None if r["v"] is None else float(r["v"])
        else:
            num, den = float(r["num"] or 0), float(r["den"] or 0)
            out[(r["period"], r["d"])] = num / den if den else None
    return out
