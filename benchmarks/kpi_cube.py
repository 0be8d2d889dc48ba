"""The full default catalogue by month x channel, three ways, on one generated company.

    python benchmarks/kpi_cube.py                    # 1M leads, 24 months (cached in --workdir)
    python benchmarks/kpi_cube.py --leads 50000      # a quick look

1. revteam: ``ws.metrics.query(every metric that reaches channel, by="channel")``;
2. hand-written DuckDB SQL, one GROUPING SETS query per (table, time column), the ratios and
   derived metrics composed from their parts in Python: the practical floor;
3. a straightforward pandas implementation over DataFrames read from the same warehouse.

All three must agree on every number. Each runs in its own process (so peak memory is its own);
times are the best of ``--repeat`` runs, with revteam's result cache cleared before each (its
compiled-SQL cache is kept: the first, cold run is reported too). Targets (ARCHITECTURE.md):
revteam within 1.3x of the hand-written SQL and at least 10x faster than pandas.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import pickle
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TOTAL = "(total)"
Key = tuple[str, dt.date, str | None]
Results = dict[Key, float | None]
MKT = (
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
GM = 0.8
HAND_METRICS = (
    "avg_deal_size",
    "cac",
    "clv",
    "clv_to_cac",
    "content_downloads",
    "cost_per_lead",
    "customer_leads",
    "disqualification_rate",
    "email_click_rate",
    "email_click_to_open_rate",
    "email_open_rate",
    "lead_conversion_rate",
    "lead_to_customer_rate",
    "leads",
    "marketing_cost",
    "marketing_roi",
    "marketing_sourced_pipeline",
    "marketing_sourced_revenue",
    "marketing_sourced_share",
    "median_deal_size",
    "mql_rate",
    "mqls",
    "new_customers",
    "open_pipeline",
    "opportunities_created",
    "opportunities_won",
    "opportunity_leads",
    "opportunity_to_customer_rate",
    "organic_sessions",
    "pipeline_created",
    "pipeline_velocity",
    "recognized_revenue",
    "revenue",
    "revenue_growth_rate",
    "revenue_growth_yoy",
    "sales_cost",
    "sales_cycle_days",
    "sales_cycle_days_mean",
    "sales_qualification_rate",
    "social_comments",
    "social_engagement_rate",
    "social_engagements",
    "social_likes",
    "social_shares",
    "speed_to_lead_hours",
    "sql_to_opportunity_rate",
    "sqls",
    "time_to_revenue_days",
    "total_cost",
    "webinar_attendance_rate",
    "webinar_registrations",
    "website_sessions",
    "website_users",
    "win_rate",
    "win_rate_by_amount",
)
"""The KPIs the hand-written SQL (and pandas) spell out: the cube compares these on each side.
The catalogue has more (retention, attributed, SLA and stage KPIs); they are timed by revteam
alone in ``bench_dashboard.py``."""


def div(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else float(a) / float(b)


def num(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def month_back(p: dt.date, n: int) -> dt.date:
    i = p.year * 12 + p.month - 1 - n
    return dt.date(i // 12, i % 12 + 1, 1)


# -- composition shared by the SQL and pandas implementations ---------------------------------
def compose(out: Results) -> None:
    """Ratios of two metrics and derived metrics, from the parts already in ``out``."""

    def keys(*metrics: str) -> set[tuple[dt.date, str | None]]:
        return {(p, c) for (m, p, c) in out if m in metrics}

    def get(m: str, p: dt.date, c: str | None, default: float | None = 0.0) -> float | None:
        return out.get((m, p, c), default)

    for metric, a, b in (
        ("cost_per_lead", "marketing_cost", "leads"),
        ("cac", "total_cost", "new_customers"),
        ("marketing_sourced_share", "marketing_sourced_pipeline", "pipeline_created"),
    ):
        for p, c in keys(a, b):
            out[(metric, p, c)] = div(get(a, p, c), get(b, p, c))
    months = {p for (_m, p, _c) in out}
    for metric, back in (("revenue_growth_rate", 1), ("revenue_growth_yoy", 12)):
        # a month without revenue after one with it is a fall of 100%, not a missing value
        later = {(p, c) for p in months for (q, c) in keys("revenue") if month_back(p, back) == q}
        for p, c in keys("revenue") | later:
            ratio = div(get("revenue", p, c), get("revenue", month_back(p, back), c))
            out[(metric, p, c)] = None if ratio is None else ratio - 1
    parts = ("opportunities_created", "win_rate", "avg_deal_size", "sales_cycle_days")
    for p, c in keys(*parts):
        n, w, s, d = (get(m, p, c, None if m != parts[0] else 0.0) for m in parts)
        out[("pipeline_velocity", p, c)] = None if None in (n, w, s) else div(n * w * s, d)  # type: ignore[operator]
    for p, c in keys("clv", "cac"):
        out[("clv_to_cac", p, c)] = div(get("clv", p, c, None), get("cac", p, c, None))
    for p, c in keys("marketing_sourced_revenue", "marketing_cost"):
        cost = get("marketing_cost", p, c)
        out[("marketing_roi", p, c)] = div(
            (get("marketing_sourced_revenue", p, c) or 0.0) * GM - (cost or 0.0), cost
        )


# -- 2. hand-written SQL ----------------------------------------------------------------------
class Dialect:
    """What hand-written SQL spells differently on DuckDB, PostgreSQL and Spark SQL."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.double = "DOUBLE PRECISION" if name == "postgres" else "DOUBLE"

    def days(self, n: int) -> str:
        return f"INTERVAL '{n} days'" if self.name == "postgres" else f"INTERVAL {n} DAY"

    def seconds(self, start: str, end: str) -> str:
        if self.name == "postgres":
            return f"extract(epoch FROM ({end} - {start}))"
        if self.name == "spark":
            return f"((unix_micros({end}) - unix_micros({start})) / 1e6)"
        return f"date_diff('second', {start}, {end})"

    def median(self, expr: str, where: str | None = None) -> str:
        if self.name == "spark":  # Spark refuses FILTER on percentile
            return (
                f"percentile(CASE WHEN {where} THEN {expr} END, 0.5)"
                if where
                else (f"percentile({expr}, 0.5)")
            )
        agg = (
            f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {expr})"
            if self.name == "postgres"
            else f"median({expr})"
        )
        return f"{agg} FILTER ({where})" if where else agg  # WHERE is added with the others

    def months(self, start: str, end: str) -> str:
        """One row per month start from ``start`` to ``end``, as column ``p`` (a date)."""
        if self.name == "postgres":
            return (
                f"SELECT CAST(g AS DATE) AS p FROM generate_series({start}, {end}, "
                "INTERVAL '1 month') AS g"
            )
        if self.name == "spark":
            return (
                f"SELECT CAST(g AS DATE) AS p FROM (SELECT explode(sequence(CAST({start} AS "
                f"TIMESTAMP), CAST({end} AS TIMESTAMP), INTERVAL 1 MONTH)) AS g)"
            )
        return (
            f"SELECT CAST(range AS DATE) AS p FROM range({start}, {end} + INTERVAL 1 SECOND, "
            "INTERVAL 1 MONTH)"
        )

    def grouped(self, sql: str) -> str:
        """Spark groups by expressions, not by the select list's names: spell them out."""
        if self.name != "spark":
            return sql
        found = re.search(r"SELECT\s+((?:(?!SELECT).)*?) p, (\S+) ch, grouping\(\2\) g", sql, re.S)
        if found is None:
            return sql
        p, ch = found.group(1), found.group(2)
        return sql.replace("GROUPING SETS ((p, ch), (p))", f"GROUPING SETS (({p}, {ch}), ({p}))")

    def month_later(self, p: str) -> str:
        return f"{p} + INTERVAL '1 month'" if self.name == "postgres" else f"{p} + INTERVAL 1 MONTH"


Runner = Callable[[str], tuple[list[str], list[tuple[Any, ...]]]]


def duckdb_runner(con: Any) -> Runner:
    def run(sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        cur = con.execute(sql)
        return [d[0] for d in cur.description], cur.fetchall()

    return run


def hand_sql(run: Runner, as_of: dt.datetime, dialect: str = "duckdb") -> Results:
    """The cube in one SQL statement per (table, time column), on one engine."""
    d = Dialect(dialect)
    a = f"TIMESTAMP '{as_of.isoformat(sep=' ')}'"
    mkt = ", ".join(f"'{c}'" for c in MKT)
    m = "CAST(date_trunc('month', {}) AS DATE)"
    gs = "GROUP BY GROUPING SETS ((p, ch), (p))"

    def w(reached: str, start: str, days: int) -> str:
        """The cohort condition: reached within ``days`` of ``start`` and by the as-of time."""
        return (
            f"{start} <= {a} AND {reached} IS NOT NULL AND "
            f"{reached} <= {start} + {d.days(days)} AND {reached} <= {a}"
        )

    queries: dict[str, tuple[str, dict[str, Callable[[dict[str, Any]], Any]]]] = {
        "people_created": (
            f"""
            SELECT {m.format("created_at")} p, channel ch, grouping(channel) g, count(*) leads,
              count(*) FILTER (created_at <= {a}) cohort,
              count(*) FILTER ({w("mql_at", "created_at", 90)}) mql,
              count(*) FILTER ({w("least(opportunity_at, customer_at)", "created_at", 180)}) conv,
              count(*) FILTER ({w("customer_at", "created_at", 365)}) cust
            FROM people WHERE created_at IS NOT NULL {gs}""",
            {
                "leads": lambda r: r["leads"],
                "mql_rate": lambda r: div(r["mql"], r["cohort"]),
                "lead_conversion_rate": lambda r: div(r["conv"], r["cohort"]),
                "lead_to_customer_rate": lambda r: div(r["cust"], r["cohort"]),
            },
        ),
        "people_mql": (
            f"""
            WITH fa AS (SELECT p.person_id, min(s.occurred_at) first_at FROM people p
                        JOIN sales_activities s ON s.person_id = p.person_id
                         AND s.occurred_at >= p.mql_at GROUP BY 1)
            SELECT {m.format("mql_at")} p, channel ch, grouping(channel) g, count(*) mqls,
              count(*) FILTER (mql_at <= {a}) cohort,
              count(*) FILTER ({w("sql_at", "mql_at", 60)}) sqr,
              count(*) FILTER ({w("disqualified_at", "mql_at", 60)}) dq,
              {d.median(d.seconds("mql_at", "first_at") + " / 3600.0")} stl
            FROM people LEFT JOIN fa USING (person_id) WHERE mql_at IS NOT NULL {gs}""",
            {
                "mqls": lambda r: r["mqls"],
                "sales_qualification_rate": lambda r: div(r["sqr"], r["cohort"]),
                "disqualification_rate": lambda r: div(r["dq"], r["cohort"]),
                "speed_to_lead_hours": lambda r: r["stl"],
            },
        ),
        "people_sql": (
            f"""
            SELECT {m.format("sql_at")} p, channel ch, grouping(channel) g, count(*) sqls,
              count(*) FILTER (sql_at <= {a}) cohort,
              count(*) FILTER ({w("opportunity_at", "sql_at", 90)}) opp
            FROM people WHERE sql_at IS NOT NULL {gs}""",
            {
                "sqls": lambda r: r["sqls"],
                "sql_to_opportunity_rate": lambda r: div(r["opp"], r["cohort"]),
            },
        ),
        "people_opportunity": (
            f"""
            SELECT {m.format("opportunity_at")} p, channel ch, grouping(channel) g, count(*) opps,
              count(*) FILTER (opportunity_at <= {a}) cohort,
              count(*) FILTER ({w("customer_at", "opportunity_at", 180)}) won
            FROM people WHERE opportunity_at IS NOT NULL {gs}""",
            {
                "opportunity_leads": lambda r: r["opps"],
                "opportunity_to_customer_rate": lambda r: div(r["won"], r["cohort"]),
            },
        ),
        "people_customer": (
            f"""
            SELECT {m.format("customer_at")} p, channel ch, grouping(channel) g, count(*) custs,
              {d.median(d.seconds("created_at", "customer_at") + " / 86400.0")} ttr
            FROM people WHERE customer_at IS NOT NULL {gs}""",
            {
                "customer_leads": lambda r: r["custs"],
                "time_to_revenue_days": lambda r: r["ttr"],
            },
        ),
        "opps_closed": (
            f"""
            WITH o AS (SELECT *, is_won AND row_number() OVER (PARTITION BY account_id, is_won
                         ORDER BY closed_at, opportunity_id) = 1 AS first_win FROM opportunities),
            rev AS (SELECT account_id, sum(amount) rev FROM orders WHERE ordered_at <= {a}
                    GROUP BY 1)
            SELECT {m.format("closed_at")} p, channel ch, grouping(channel) g,
              sum(amount) FILTER (is_won) revenue, count(*) FILTER (is_won) won,
              count(amount) FILTER (is_won) won_n,
              {d.median(f"CAST(amount AS {d.double})", "is_won")} med,
              CAST(count(*) FILTER (is_won) AS {d.double}) / count(*) FILTER (is_closed) win_rate,
              coalesce(sum(amount) FILTER (is_won), 0) / sum(amount) FILTER (is_closed) win_amt,
              {d.median(d.seconds("created_at", "closed_at") + " / 86400.0", "is_won")} cyc,
              avg({d.seconds("created_at", "closed_at")} / 86400.0) FILTER (is_won) cyc_mean,
              count(*) FILTER (first_win) new_customers,
              sum(coalesce(rev, 0)) FILTER (first_win) clv_sum,
              sum(amount) FILTER (is_won AND channel IN ({mkt})) msr
            FROM o LEFT JOIN rev USING (account_id) WHERE closed_at IS NOT NULL {gs}""",
            {
                "revenue": lambda r: r["revenue"] or 0,
                "opportunities_won": lambda r: r["won"],
                "avg_deal_size": lambda r: div(r["revenue"], r["won_n"]),
                "median_deal_size": lambda r: r["med"],
                "win_rate": lambda r: r["win_rate"],
                "win_rate_by_amount": lambda r: r["win_amt"],
                "sales_cycle_days": lambda r: r["cyc"],
                "sales_cycle_days_mean": lambda r: r["cyc_mean"],
                "new_customers": lambda r: r["new_customers"],
                "clv": lambda r: div((num(r["clv_sum"]) or 0.0) * GM, r["new_customers"]),
                "marketing_sourced_revenue": lambda r: r["msr"] or 0,
            },
        ),
        "opps_created": (
            f"""
            SELECT {m.format("created_at")} p, channel ch, grouping(channel) g, count(*) n,
              sum(amount) pipe, sum(amount) FILTER (channel IN ({mkt})) msp
            FROM opportunities WHERE created_at IS NOT NULL {gs}""",
            {
                "opportunities_created": lambda r: r["n"],
                "pipeline_created": lambda r: r["pipe"],
                "marketing_sourced_pipeline": lambda r: r["msp"] or 0,
            },
        ),
        "open_pipeline": (
            f"""
            WITH months AS ({
                d.months("(SELECT date_trunc('month', min(created_at)) FROM opportunities)", a)
            })
            SELECT s.p, o.channel ch, grouping(o.channel) g, sum(o.amount) v
            FROM months s JOIN opportunities o ON o.created_at < {d.month_later("s.p")}
             AND (o.closed_at IS NULL OR o.closed_at >= {d.month_later("s.p")})
            GROUP BY GROUPING SETS ((s.p, o.channel), (s.p))""",
            {"open_pipeline": lambda r: r["v"]},
        ),
        "costs": (
            f"""
            SELECT {m.format("c.date")} p, cm.channel ch, grouping(cm.channel) g,
              sum(c.amount) FILTER (c.team = 'marketing') mc,
              sum(c.amount) FILTER (c.team = 'sales') sc, sum(c.amount) tc
            FROM costs c LEFT JOIN campaigns cm USING (campaign_id) {gs}""",
            {
                "marketing_cost": lambda r: r["mc"] or 0,
                "sales_cost": lambda r: r["sc"] or 0,
                "total_cost": lambda r: r["tc"],
            },
        ),
        "orders": (
            f"""
            SELECT {m.format("r.ordered_at")} p, pe.channel ch, grouping(pe.channel) g,
              sum(r.amount) v
            FROM orders r LEFT JOIN people pe USING (person_id) {gs}""",
            {"recognized_revenue": lambda r: r["v"]},
        ),
        "web": (
            f"""
            SELECT {m.format("date")} p, channel ch, grouping(channel) g, sum(sessions) s,
              sum(users) u, sum(sessions) FILTER (channel = 'organic_search') o
            FROM web_traffic {gs}""",
            {
                "website_sessions": lambda r: r["s"],
                "website_users": lambda r: r["u"],
                "organic_sessions": lambda r: r["o"] or 0,
            },
        ),
        "social": (
            f"""
            SELECT {m.format("s.date")} p, cm.channel ch, grouping(cm.channel) g,
              sum(coalesce(likes, 0) + coalesce(shares, 0) + coalesce(comments, 0)) e,
              sum(likes) l, sum(shares) sh, sum(comments) c, sum(impressions) i
            FROM social_posts s LEFT JOIN campaigns cm USING (campaign_id) {gs}""",
            {
                "social_engagements": lambda r: r["e"],
                "social_likes": lambda r: r["l"],
                "social_shares": lambda r: r["sh"],
                "social_comments": lambda r: r["c"],
                "social_engagement_rate": lambda r: div(r["e"], r["i"]),
            },
        ),
        "email": (
            f"""
            WITH r AS (SELECT email_id, person_id, max(campaign_id) campaign_id,
                coalesce(min(occurred_at) FILTER (type = 'sent'), min(occurred_at)) sent_at,
                bool_or(type = 'delivered') d, bool_or(type = 'open') o, bool_or(type = 'click') c
              FROM email_events GROUP BY 1, 2)
            SELECT {m.format("sent_at")} p, cm.channel ch, grouping(cm.channel) g,
              count(*) FILTER (d) dl, count(*) FILTER (d AND o) op, count(*) FILTER (d AND c) cl,
              count(*) FILTER (d AND o AND c) oc
            FROM r LEFT JOIN campaigns cm USING (campaign_id) {gs}""",
            {
                "email_open_rate": lambda r: div(r["op"], r["dl"]),
                "email_click_rate": lambda r: div(r["cl"], r["dl"]),
                "email_click_to_open_rate": lambda r: div(r["oc"], r["op"]),
            },
        ),
        "touchpoints": (
            f"""
            WITH att AS (SELECT DISTINCT r.touch_id FROM touchpoints r JOIN touchpoints x
                ON x.person_id = r.person_id AND x.campaign_id IS NOT DISTINCT FROM r.campaign_id
               AND x.type = 'webinar_attended' AND x.occurred_at >= r.occurred_at
               AND x.occurred_at <= {a}
              WHERE r.type = 'webinar_registration')
            SELECT {m.format("occurred_at")} p, channel ch, grouping(channel) g,
              count(*) FILTER (type = 'content_download') dl,
              count(*) FILTER (type = 'webinar_registration') reg,
              count(*) FILTER (type = 'webinar_registration' AND a.touch_id IS NOT NULL) attended
            FROM touchpoints t LEFT JOIN att a ON a.touch_id = t.touch_id {gs}""",
            {
                "content_downloads": lambda r: r["dl"],
                "webinar_registrations": lambda r: r["reg"],
                "webinar_attendance_rate": lambda r: div(r["attended"], r["reg"]),
            },
        ),
    }
    out: Results = {}
    for sql, metrics in queries.values():
        names, rows = run(d.grouped(sql).replace(" FILTER (", " FILTER (WHERE "))
        for values in rows:
            row = dict(zip(names, values, strict=True))
            if row["p"] is None:
                continue
            ch = TOTAL if row["g"] else row["ch"]
            for metric, fn in metrics.items():
                out[(metric, row["p"], ch)] = num(fn(row))
    compose(out)
    return out


# -- 3. pandas -------------------------------------------------------------------------------
def load_frames(con: Any) -> dict[str, Any]:
    cols = {
        "people": "person_id, channel, created_at, mql_at, sql_at, opportunity_at, customer_at, "
        "disqualified_at",
        "opportunities": "opportunity_id, account_id, channel, created_at, closed_at, is_closed, "
        "is_won, CAST(amount AS DOUBLE) AS amount",
        "orders": "account_id, person_id, ordered_at, CAST(amount AS DOUBLE) AS amount",
        "costs": "date, team, campaign_id, CAST(amount AS DOUBLE) AS amount",
        "campaigns": "campaign_id, channel",
        "web_traffic": "date, channel, sessions, users",
        "social_posts": "date, campaign_id, likes, shares, comments, impressions",
        "email_events": "email_id, person_id, campaign_id, type, occurred_at",
        "touchpoints": "touch_id, person_id, campaign_id, channel, type, occurred_at",
        "sales_activities": "person_id, occurred_at",
    }
    return {t: con.sql(f"SELECT {c} FROM {t}").df() for t, c in cols.items()}


def pandas_cube(f: dict[str, Any], as_of: dt.datetime) -> Results:
    import pandas as pd

    out: Results = {}
    ts = pd.Timestamp(as_of)

    def month(s: Any) -> Any:
        return s.dt.to_period("M").dt.start_time

    def emit(
        df: Any, time: str, aggs: dict[str, tuple[str, str]], fns: dict[str, Callable]
    ) -> None:
        df = df[df[time].notna()].assign(p=lambda d: month(d[time]))
        for keys, is_total in ((["p", "ch"], False), (["p"], True)):
            g = df.groupby(keys, dropna=False).agg(**aggs).reset_index()
            for row in g.to_dict("records"):
                ch = TOTAL if is_total else (None if pd.isna(row["ch"]) else row["ch"])
                for metric, fn in fns.items():
                    out[(metric, row["p"].date(), ch)] = num(fn(row))

    def within(df: Any, reach: Any, start: str, days: int) -> Any:
        return reach.notna() & (reach <= df[start] + pd.Timedelta(days=days)) & (reach <= ts)

    p = f["people"].rename(columns={"channel": "ch"})
    pc = p.assign(
        cohort=p.created_at <= ts,
        mql=(p.created_at <= ts) & within(p, p.mql_at, "created_at", 90),
        conv=(p.created_at <= ts)
        & within(p, p[["opportunity_at", "customer_at"]].min(axis=1), "created_at", 180),
        cust=(p.created_at <= ts) & within(p, p.customer_at, "created_at", 365),
    )
    emit(
        pc,
        "created_at",
        {
            "leads": ("person_id", "size"),
            "cohort": ("cohort", "sum"),
            "mql": ("mql", "sum"),
            "conv": ("conv", "sum"),
            "cust": ("cust", "sum"),
        },
        {
            "leads": lambda r: r["leads"],
            "mql_rate": lambda r: div(r["mql"], r["cohort"]),
            "lead_conversion_rate": lambda r: div(r["conv"], r["cohort"]),
            "lead_to_customer_rate": lambda r: div(r["cust"], r["cohort"]),
        },
    )
    sa = f["sales_activities"].merge(p[["person_id", "mql_at"]], on="person_id")
    first = (
        sa[sa.occurred_at >= sa.mql_at].groupby("person_id").occurred_at.min().rename("first_at")
    )
    pm = p[p.mql_at.notna()].merge(first, left_on="person_id", right_index=True, how="left")
    pm = pm.assign(
        cohort=pm.mql_at <= ts,
        sqr=(pm.mql_at <= ts) & within(pm, pm.sql_at, "mql_at", 60),
        dq=(pm.mql_at <= ts) & within(pm, pm.disqualified_at, "mql_at", 60),
        stl=(pm.first_at - pm.mql_at).dt.total_seconds() / 3600.0,
    )
    emit(
        pm,
        "mql_at",
        {
            "mqls": ("person_id", "size"),
            "cohort": ("cohort", "sum"),
            "sqr": ("sqr", "sum"),
            "dq": ("dq", "sum"),
            "stl": ("stl", "median"),
        },
        {
            "mqls": lambda r: r["mqls"],
            "sales_qualification_rate": lambda r: div(r["sqr"], r["cohort"]),
            "disqualification_rate": lambda r: div(r["dq"], r["cohort"]),
            "speed_to_lead_hours": lambda r: r["stl"],
        },
    )
    ps = p.assign(
        cohort=p.sql_at <= ts, opp=(p.sql_at <= ts) & within(p, p.opportunity_at, "sql_at", 90)
    )
    emit(
        ps,
        "sql_at",
        {"sqls": ("person_id", "size"), "cohort": ("cohort", "sum"), "opp": ("opp", "sum")},
        {
            "sqls": lambda r: r["sqls"],
            "sql_to_opportunity_rate": lambda r: div(r["opp"], r["cohort"]),
        },
    )
    po = p.assign(
        cohort=p.opportunity_at <= ts,
        won=(p.opportunity_at <= ts) & within(p, p.customer_at, "opportunity_at", 180),
    )
    emit(
        po,
        "opportunity_at",
        {"opps": ("person_id", "size"), "cohort": ("cohort", "sum"), "won": ("won", "sum")},
        {
            "opportunity_leads": lambda r: r["opps"],
            "opportunity_to_customer_rate": lambda r: div(r["won"], r["cohort"]),
        },
    )
    pt = p.assign(ttr=(p.customer_at - p.created_at).dt.total_seconds() / 86400.0)
    emit(
        pt,
        "customer_at",
        {"custs": ("person_id", "size"), "ttr": ("ttr", "median")},
        {"customer_leads": lambda r: r["custs"], "time_to_revenue_days": lambda r: r["ttr"]},
    )

    o = f["opportunities"].rename(columns={"channel": "ch"})
    won = o[o.is_won].sort_values(["closed_at", "opportunity_id"])
    firsts = set(won.drop_duplicates("account_id").opportunity_id)
    orders = f["orders"]
    rev = orders[orders.ordered_at <= ts].groupby("account_id").amount.sum().rename("rev")
    o = o.merge(rev, left_on="account_id", right_index=True, how="left")
    days = (o.closed_at - o.created_at).dt.total_seconds() / 86400.0
    first_win = o.opportunity_id.isin(firsts)
    sourced = o.ch.isin(MKT)
    oc = o.assign(
        rev_w=o.amount.where(o.is_won),
        won=o.is_won,
        won_n=o.amount.notna() & o.is_won,
        closed=o.is_closed,
        amt_closed=o.amount.where(o.is_closed),
        med=o.amount.where(o.is_won),
        cyc=days.where(o.is_won),
        fw=first_win,
        clv=o.rev.fillna(0).where(first_win),
        msr=o.amount.where(o.is_won & sourced),
    )
    emit(
        oc,
        "closed_at",
        {
            "revenue": ("rev_w", "sum"),
            "won": ("won", "sum"),
            "won_n": ("won_n", "sum"),
            "closed": ("closed", "sum"),
            "amt_closed": ("amt_closed", "sum"),
            "med": ("med", "median"),
            "cyc": ("cyc", "median"),
            "cyc_mean": ("cyc", "mean"),
            "fw": ("fw", "sum"),
            "clv": ("clv", "sum"),
            "msr": ("msr", "sum"),
        },
        {
            "revenue": lambda r: r["revenue"],
            "opportunities_won": lambda r: r["won"],
            "avg_deal_size": lambda r: div(r["revenue"], r["won_n"]),
            "median_deal_size": lambda r: r["med"],
            "win_rate": lambda r: div(r["won"], r["closed"]),
            "win_rate_by_amount": lambda r: div(r["revenue"], r["amt_closed"]),
            "sales_cycle_days": lambda r: r["cyc"],
            "sales_cycle_days_mean": lambda r: r["cyc_mean"],
            "new_customers": lambda r: r["fw"],
            "clv": lambda r: div(r["clv"] * GM, r["fw"]),
            "marketing_sourced_revenue": lambda r: r["msr"],
        },
    )
    ocr = o.assign(msp=o.amount.where(sourced))
    emit(
        ocr,
        "created_at",
        {"n": ("opportunity_id", "size"), "pipe": ("amount", "sum"), "msp": ("msp", "sum")},
        {
            "opportunities_created": lambda r: r["n"],
            "pipeline_created": lambda r: r["pipe"],
            "marketing_sourced_pipeline": lambda r: r["msp"],
        },
    )
    start = month(o.created_at).min()
    for m_start in pd.date_range(start, ts, freq="MS"):
        end = m_start + pd.offsets.MonthBegin(1)
        live = o[(o.created_at < end) & (o.closed_at.isna() | (o.closed_at >= end))]
        for ch, v in live.groupby("ch", dropna=False).amount.sum().items():
            out[("open_pipeline", m_start.date(), None if pd.isna(ch) else ch)] = float(v)
        out[("open_pipeline", m_start.date(), TOTAL)] = float(live.amount.sum())

    camp = f["campaigns"].rename(columns={"channel": "ch"})
    c = f["costs"].merge(camp, on="campaign_id", how="left")
    c = c.assign(
        date=pd.to_datetime(c.date),
        mc=c.amount.where(c.team == "marketing"),
        sc=c.amount.where(c.team == "sales"),
    )
    emit(
        c,
        "date",
        {"mc": ("mc", "sum"), "sc": ("sc", "sum"), "tc": ("amount", "sum")},
        {
            "marketing_cost": lambda r: r["mc"],
            "sales_cost": lambda r: r["sc"],
            "total_cost": lambda r: r["tc"],
        },
    )
    r = f["orders"].merge(p[["person_id", "ch"]], on="person_id", how="left")
    emit(r, "ordered_at", {"v": ("amount", "sum")}, {"recognized_revenue": lambda r: r["v"]})
    w = f["web_traffic"].rename(columns={"channel": "ch"})
    w = w.assign(date=pd.to_datetime(w.date), o=w.sessions.where(w.ch == "organic_search", 0))
    emit(
        w,
        "date",
        {"s": ("sessions", "sum"), "u": ("users", "sum"), "o": ("o", "sum")},
        {
            "website_sessions": lambda r: r["s"],
            "website_users": lambda r: r["u"],
            "organic_sessions": lambda r: r["o"],
        },
    )
    s = f["social_posts"].merge(camp, on="campaign_id", how="left")
    s = s.assign(
        date=pd.to_datetime(s.date), e=s.likes.fillna(0) + s.shares.fillna(0) + s.comments.fillna(0)
    )
    emit(
        s,
        "date",
        {
            "e": ("e", "sum"),
            "l": ("likes", "sum"),
            "sh": ("shares", "sum"),
            "c": ("comments", "sum"),
            "i": ("impressions", "sum"),
        },
        {
            "social_engagements": lambda r: r["e"],
            "social_likes": lambda r: r["l"],
            "social_shares": lambda r: r["sh"],
            "social_comments": lambda r: r["c"],
            "social_engagement_rate": lambda r: div(r["e"], r["i"]),
        },
    )
    e = f["email_events"]
    e = e.assign(
        sent=e.occurred_at.where(e.type == "sent"),
        d=e.type == "delivered",
        o=e.type == "open",
        c=e.type == "click",
    )
    rcp = (
        e.groupby(["email_id", "person_id"], dropna=False)
        .agg(
            campaign_id=("campaign_id", "max"),
            sent=("sent", "min"),
            first=("occurred_at", "min"),
            d=("d", "any"),
            o=("o", "any"),
            c=("c", "any"),
        )
        .reset_index()
    )
    rcp = rcp.assign(sent_at=rcp.sent.fillna(rcp["first"])).merge(
        camp, on="campaign_id", how="left"
    )
    rcp = rcp.assign(dl=rcp.d, op=rcp.d & rcp.o, cl=rcp.d & rcp.c, oc=rcp.d & rcp.o & rcp.c)
    emit(
        rcp,
        "sent_at",
        {k: (k, "sum") for k in ("dl", "op", "cl", "oc")},
        {
            "email_open_rate": lambda r: div(r["op"], r["dl"]),
            "email_click_rate": lambda r: div(r["cl"], r["dl"]),
            "email_click_to_open_rate": lambda r: div(r["oc"], r["op"]),
        },
    )
    t = f["touchpoints"].rename(columns={"channel": "ch"})
    reg = t[t.type == "webinar_registration"]
    att = t[(t.type == "webinar_attended") & (t.occurred_at <= ts)]
    pairs = reg.merge(att, on="person_id", suffixes=("", "_a"))
    same = (pairs.campaign_id == pairs.campaign_id_a) | (
        pairs.campaign_id.isna() & pairs.campaign_id_a.isna()
    )
    hit = set(pairs[same & (pairs.occurred_at_a >= pairs.occurred_at)].touch_id)
    t = t.assign(
        dl=t.type == "content_download",
        reg=t.type == "webinar_registration",
        at=(t.type == "webinar_registration") & t.touch_id.isin(hit),
    )
    emit(
        t,
        "occurred_at",
        {"dl": ("dl", "sum"), "reg": ("reg", "sum"), "at": ("at", "sum")},
        {
            "content_downloads": lambda r: r["dl"],
            "webinar_registrations": lambda r: r["reg"],
            "webinar_attendance_rate": lambda r: div(r["at"], r["reg"]),
        },
    )
    compose(out)
    return out


# -- 1. revteam ------------------------------------------------------------------------------
def revteam_cube(ws: Any, metrics: list[str], as_of: dt.datetime) -> Results:
    result = ws.metrics.query(metrics, by="channel", grain="month", as_of=as_of)
    return {
        (r["metric"], r["period"], TOTAL if r["is_total"] else r["channel"]): r["value"]
        for r in result.to_pylist()
    }


# -- harness ---------------------------------------------------------------------------------
def prepare(leads: int, workdir: Path) -> Path:
    import revteam
    from revteam.generate import GeneratorConfig, generate_company

    ws_dir = workdir / "ws"
    if (workdir / "ready").exists():
        return ws_dir
    t = time.perf_counter()
    company = generate_company(GeneratorConfig(n_leads=leads, months=24, seed=7))
    company.write(workdir / "data")
    with revteam.init(ws_dir, exist_ok=True) as ws:
        ws.ingest.load_directory(workdir / "data")
    (workdir / "ready").write_text(str(leads))
    print(f"prepared {leads:,} leads in {time.perf_counter() - t:.0f} s: {workdir}")
    return ws_dir


def child(approach: str, ws_dir: Path, repeat: int, out: Path) -> None:
    import duckdb

    import revteam

    with revteam.open(ws_dir, read_only=True) as ws:
        as_of = ws.metrics.as_of()
        metrics = [
            s.id
            for s in ws.metrics.list(fitted=False)
            if s.id in HAND_METRICS and "channel" in ws.metrics.dimensions(s.id)
        ]
        additive = [m for m in metrics if ws.metrics.get(m).kind in {"count", "sum", "snapshot"}]
    report: dict[str, Any] = {"metrics": metrics, "additive": additive, "as_of": as_of, "times": []}
    if approach == "revteam":
        ws = revteam.open(ws_dir, read_only=True)
        ws.metrics.as_of()  # warm the data facts (cached per data version in real use)
        run = lambda: revteam_cube(ws, metrics, as_of)  # noqa: E731
        # the first run compiles; later ones reuse the compiled SQL but recompute every number
        before = lambda: ws.metrics.clear_cache(compiled=False)  # noqa: E731
    else:
        con = duckdb.connect(str(ws_dir / "warehouse.duckdb"), read_only=True)
        if approach == "sql":
            run = lambda: hand_sql(duckdb_runner(con), as_of)  # noqa: E731
        else:
            t = time.perf_counter()
            frames = load_frames(con)
            report["load"] = time.perf_counter() - t
            run = lambda: pandas_cube(frames, as_of)  # noqa: E731
        before = lambda: None  # noqa: E731
    for _ in range(repeat):
        before()
        t = time.perf_counter()
        results = run()
        report["times"].append(time.perf_counter() - t)
    report["results"] = results
    out.write_bytes(pickle.dumps(report))


def spawn(approach: str, ws_dir: Path, repeat: int, workdir: Path) -> tuple[dict[str, Any], float]:
    out = workdir / f"{approach}.pickle"
    cmd = [
        sys.executable,
        __file__,
        "--child",
        approach,
        "--workdir",
        str(workdir),
        "--repeat",
        str(repeat),
    ]
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{approach} failed with exit code {proc.returncode}")
    peak_mb = usage.ru_maxrss / 1024  # KiB on Linux
    return pickle.loads(out.read_bytes()), peak_mb


def same(a: float | None, b: float | None, additive: bool) -> bool:
    if additive:
        a, b = a or 0.0, b or 0.0
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)


def compare(name: str, got: Results, want: Results, report: dict[str, Any]) -> int:
    """Disagreements of ``got`` with revteam's ``want``; a row only one side has must be empty."""
    additive, bad, shown = set(report["additive"]), 0, set()
    for key in sorted(set(got) | set(want), key=str):
        if key[0] not in report["metrics"]:
            continue
        a, b = got.get(key), want.get(key)
        if (key not in got or key not in want) and (a if key in got else b) in (None, 0):
            continue
        if not same(a, b, key[0] in additive):
            bad += 1
            if key[0] not in shown:
                shown.add(key[0])
                print(f"  {name} differs at {key}: {a} vs revteam {b}")
    return bad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", choices=["revteam", "sql", "pandas"])
    parser.add_argument(
        "--no-pandas", action="store_true", help="skip pandas (at 10M its frames outgrow memory)"
    )
    args = parser.parse_args()
    workdir = args.workdir or Path(f"/tmp/revteam-bench-{args.leads}")
    workdir.mkdir(parents=True, exist_ok=True)
    if args.child:
        child(args.child, workdir / "ws", args.repeat, workdir / f"{args.child}.pickle")
        return
    ws_dir = prepare(args.leads, workdir)
    # revteam and the SQL floor alternate over rounds, so a busy spell on a shared machine
    # does not favour either; pandas (slow, far from the floor) runs once.
    runs: dict[str, tuple[dict[str, Any], float]] = {}
    for _ in range(args.rounds):
        for approach in ("revteam", "sql"):
            rep, peak = spawn(approach, ws_dir, args.repeat, workdir)
            if approach in runs:
                first = runs[approach][0]["times"][0]
                rep["times"] = [first, *runs[approach][0]["times"][1:], *rep["times"][1:]]
                peak = max(peak, runs[approach][1])
            runs[approach] = (rep, peak)
    if not args.no_pandas:
        runs["pandas"] = spawn("pandas", ws_dir, args.repeat, workdir)
    base, _ = runs["revteam"]
    metrics = base["metrics"]
    print(
        f"\n{len(metrics)} metrics by month x channel, as of {base['as_of']:%Y-%m-%d}, "
        f"{len(base['results']):,} values; best of {args.repeat} x {args.rounds} rounds\n"
    )
    bad = sum(
        compare(a, runs[a][0]["results"], base["results"], base) for a in runs if a != "revteam"
    )
    sql_best = min(runs["sql"][0]["times"])
    print(f"{'approach':<10}{'best s':>9}{'first s':>9}{'vs SQL':>9}{'peak MB':>9}")
    for name, (rep, peak) in runs.items():
        best = min(rep["times"])
        print(f"{name:<10}{best:>9.2f}{rep['times'][0]:>9.2f}{best / sql_best:>8.2f}x{peak:>9.0f}")
    rev = min(runs["revteam"][0]["times"])
    print(f"\nrevteam / hand SQL: {rev / sql_best:.2f}x (target <= 1.3x)")
    if "pandas" in runs:
        pdn = min(runs["pandas"][0]["times"])
        print(f"(pandas also spent {runs['pandas'][0]['load']:.2f} s reading its DataFrames)")
        print(f"pandas / revteam: {pdn / rev:.1f}x (target >= 10x)")
    print("all agree" if not bad else f"{bad} disagreements")
    if bad:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
