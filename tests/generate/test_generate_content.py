"""The generated tables hang together the way KPIS.md's metrics assume."""

from __future__ import annotations

import pytest


def test_accounts_segments_are_consistent_with_size(db):
    found = dict(db.rows("SELECT segment, median(employees) FROM accounts GROUP BY 1"))
    assert found["smb"] < found["mid_market"] < found["enterprise"]
    shares = dict(
        db.rows("SELECT segment, count(*) / sum(count(*)) OVER () FROM accounts GROUP BY 1")
    )
    assert shares["smb"] > shares["mid_market"] > shares["enterprise"] > 0.05


def test_accounts_exist_before_their_people(db):
    late = db.scalar(
        """SELECT count(*)
            FROM people p JOIN accounts a USING (account_id)
            WHERE a.created_at > p.created_at"""
    )
    assert late == 0


def test_people_share_their_accounts_region(db):
    assert (
        db.scalar(
            """SELECT count(*)
                FROM people p JOIN accounts a USING (account_id)
                WHERE p.region <> a.region"""
        )
        == 0
    )


def test_users_have_sales_and_marketing_teams(db):
    teams = dict(db.rows("SELECT team, count(*) FROM users GROUP BY 1"))
    assert 25 <= teams["sales"] <= 35 and 8 <= teams["marketing"] <= 12
    assert teams["leadership"] >= 1 and teams["revops"] >= 1
    assert db.scalar("SELECT count(*) FROM users WHERE role = 'SDR'") > 5


def test_lead_volume_grows_and_dips_at_weekends(db):
    by_year = db.rows("SELECT year(created_at) y, count(*) FROM people GROUP BY 1 ORDER BY 1")
    first_half, second_half = db.rows(
        """SELECT created_at < (SELECT min(created_at) + INTERVAL 365 DAY FROM people), count(*)
           FROM people GROUP BY 1 ORDER BY 1 DESC"""
    )
    assert second_half[1] > first_half[1] * 1.3, by_year
    weekday = dict(
        db.rows(
            """SELECT isodow(created_at) >= 6, count(*) / count(DISTINCT created_at::DATE)
                FROM people
                GROUP BY 1"""
        )
    )
    assert weekday[True] < weekday[False] / 2


def test_customers_are_the_people_whose_deal_was_won(db):
    mismatched = db.scalar(
        """SELECT count(*) FROM people p FULL JOIN (
               SELECT person_id, min(closed_at) won_at FROM opportunities
               WHERE is_won AND channel IS NOT NULL GROUP BY 1) o USING (person_id)
           WHERE p.customer_at IS DISTINCT FROM o.won_at"""
    )
    assert mismatched == 0
    assert (
        db.scalar(
            """SELECT count(*)
                FROM people p
                WHERE opportunity_at IS NOT NULL
                AND person_id NOT IN (SELECT person_id
                FROM opportunities
                WHERE person_id IS NOT NULL)"""
        )
        == 0
    )


def test_open_pipeline_and_all_deal_types_exist(db):
    found = dict(
        db.rows("SELECT type, count(*) FILTER (WHERE NOT is_closed) FROM opportunities GROUP BY 1")
    )
    assert set(found) == {"new_business", "upsell", "renewal"}
    assert found["new_business"] > 0
    open_stages = {
        s for (s,) in db.rows("SELECT DISTINCT stage FROM opportunities WHERE NOT is_closed")
    }
    assert open_stages <= {"qualification", "discovery", "proposal", "negotiation"}
    assert (
        db.scalar(
            """SELECT count(*)
                FROM opportunities
                WHERE (lost_reason IS NOT NULL) <> (stage = 'closed_lost')"""
        )
        == 0
    )


def test_every_deal_carries_the_forecast_category_of_its_stage(db, company):
    planted = company.truth["forecast_categories"]
    found = db.rows("SELECT DISTINCT stage, forecast_category FROM opportunities ORDER BY 1")
    assert found == sorted(planted.items())  # one category per stage, every stage present
    assert set(planted.values()) == {"pipeline", "best_case", "commit", "closed", "omitted"}


def test_marketing_sourced_deals_carry_their_leads_channel_and_campaign(db):
    mismatched = db.scalar(
        """SELECT count(*) FROM opportunities o JOIN people p USING (person_id)
           WHERE o.channel IS NOT NULL
             AND (o.channel <> p.channel OR o.campaign_id IS DISTINCT FROM p.first_campaign_id
                  OR o.created_at <> p.opportunity_at)"""
    )
    assert mismatched == 0


def test_stage_history_ends_in_the_current_state(db):
    wrong = db.scalar(
        """SELECT count(*) FROM opportunities o JOIN (
               SELECT opportunity_id, arg_max(stage, entered_at) last_stage,
                      min(entered_at) first_at,
                      max(entered_at) last_at, arg_max(amount, entered_at) last_amount
               FROM opportunity_stages GROUP BY 1) h USING (opportunity_id)
           WHERE h.last_stage <> o.stage OR h.first_at <> o.created_at OR h.last_amount <> o.amount
              OR (o.is_closed AND h.last_at <> o.closed_at)"""
    )
    assert wrong == 0
    assert (
        db.scalar(
            """SELECT count(*)
                FROM opportunities
                WHERE opportunity_id NOT IN (SELECT opportunity_id
                FROM opportunity_stages)"""
        )
        == 0
    )


def test_orders_belong_to_customers_and_include_repeat_add_ons(db):
    strangers = db.scalar(
        """SELECT count(*) FROM orders WHERE account_id NOT IN
           (SELECT account_id FROM opportunities WHERE is_won)"""
    )
    assert strangers == 0
    repeat = db.scalar(
        """SELECT count(*) FROM (SELECT account_id FROM orders
           WHERE product NOT LIKE '%plan' AND product NOT IN ('Enterprise', 'Seat expansion')
           GROUP BY 1 HAVING count(*) >= 2)"""
    )
    assert repeat > 10


def test_touchpoints_start_with_the_people_first_touch(db):
    first = db.rows(
        """SELECT count(*), count(*) FILTER (WHERE t.channel = p.channel
                                             AND t.occurred_at = p.created_at
                                             AND t.campaign_id = coalesce(p.first_campaign_id, '-'))
           FROM people p JOIN (SELECT person_id, arg_min(channel, occurred_at) channel,
                                      min(occurred_at) occurred_at,
                                      arg_min(coalesce(campaign_id, '-'), occurred_at) campaign_id
                               FROM touchpoints GROUP BY 1) t USING (person_id)"""
    )[0]
    assert first[0] == db.scalar("SELECT count(*) FROM people") == first[1]
    per_person = db.scalar("SELECT count(*) / (SELECT count(*) FROM people) FROM touchpoints")
    assert 3 <= per_person <= 5


def test_email_funnel_is_plausible(db):
    counts = dict(db.rows("SELECT type, count(*) FROM email_events GROUP BY 1"))
    assert counts["sent"] >= counts["delivered"] + counts["bounce"] * 0.99
    open_rate = db.scalar(
        """SELECT count(DISTINCT email_id || person_id) FILTER (WHERE type = 'open')
                  / count(*) FILTER (WHERE type = 'delivered') FROM email_events"""
    )
    assert 0.18 <= open_rate <= 0.32
    assert db.scalar("SELECT count(DISTINCT email_id) FROM email_events") >= 24
    per_lead = db.scalar("SELECT count(*) / (SELECT count(*) FROM people) FROM email_events")
    assert 2 <= per_lead <= 4
    before_send = db.scalar(
        """SELECT count(*) FROM email_events e JOIN people p USING (person_id)
           WHERE e.occurred_at < p.created_at"""
    )
    assert before_send == 0
    after_unsubscribe = db.scalar(
        """SELECT count(*) FROM email_events e JOIN (SELECT person_id, min(occurred_at) quit_at
           FROM email_events WHERE type = 'unsubscribe' GROUP BY 1) u USING (person_id)
           WHERE e.type = 'sent' AND e.occurred_at > u.quit_at"""
    )
    assert after_unsubscribe == 0


def test_web_traffic_conversions_are_the_leads(db):
    assert (
        db.scalar(
            """SELECT count(*)
                FROM web_traffic
                WHERE NOT (sessions >= users AND users >= new_users AND sessions >= conversions)"""
        )
        == 0
    )
    differ = db.scalar(
        """SELECT count(*) FROM web_traffic w LEFT JOIN (
               SELECT created_at::DATE date, channel, source_detail, count(*) leads
               FROM people GROUP BY ALL) p USING (date, channel, source_detail)
           WHERE w.conversions <> coalesce(p.leads, 0)"""
    )
    assert differ == 0
    organic = db.scalar("SELECT sum(sessions) FROM web_traffic WHERE channel = 'organic_search'")
    assert organic > 0


def test_social_engagements_never_exceed_impressions(db):
    assert (
        db.scalar(
            """SELECT count(*)
                FROM social_posts
                WHERE likes + shares + comments > impressions OR clicks > impressions"""
        )
        == 0
    )
    assert db.scalar("SELECT count(DISTINCT network) FROM social_posts") == 5
    assert (
        db.scalar("SELECT max(n) FROM (SELECT count(*) n FROM social_posts GROUP BY post_id)") <= 7
    )


def test_seo_tracks_fifty_keywords_in_three_groups(db):
    assert db.scalar("SELECT count(DISTINCT keyword) FROM seo_rankings") == 50
    groups = {g for (g,) in db.rows("SELECT DISTINCT keyword_group FROM seo_rankings")}
    assert groups == {"brand", "product", "competitor"}
    brand, competitor = (
        db.scalar(f"SELECT avg(position) FROM seo_rankings WHERE keyword_group = '{g}'")
        for g in ("brand", "competitor")
    )
    assert brand < 5 < competitor


@pytest.mark.parametrize("team", ["marketing", "sales"])
def test_costs_cover_every_month_for_both_teams(db, team):
    months = db.scalar(
        f"SELECT count(DISTINCT date_trunc('month', date)) FROM costs WHERE team = '{team}'"
    )
    assert months == 24


def test_campaign_costs_fall_inside_the_campaign(db):
    outside = db.scalar(
        """SELECT count(*) FROM costs JOIN campaigns c USING (campaign_id)
           WHERE date < c.start_date OR date > c.end_date"""
    )
    assert outside == 0


def test_unit_economics_are_plausible(db):
    """CPL, CAC and CLV:CAC land in ranges a B2B SaaS company would recognise."""
    marketing = db.scalar("SELECT sum(amount) FROM costs WHERE team = 'marketing'")
    everything = db.scalar("SELECT sum(amount) FROM costs")
    leads = db.scalar("SELECT count(*) FROM people")
    customers = db.scalar("SELECT count(DISTINCT account_id) FROM opportunities WHERE is_won")
    bookings = db.scalar("SELECT sum(amount) FROM opportunities WHERE is_won")
    assert 50 < marketing / leads < 400
    cac = everything / customers
    assert 5_000 < cac < 60_000
    assert 1 < bookings / customers / cac < 10
