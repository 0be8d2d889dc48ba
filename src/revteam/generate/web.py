"""Aggregate marketing data: daily web traffic, organic social posts and SEO rankings."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from revteam.generate import _words, params
from revteam.generate._private import (
    DAY,
    build,
    dates,
    id_width,
    ids,
    integers,
    labels,
    repeat_index,
    stream,
)
from revteam.generate.campaigns import Campaigns
from revteam.generate.funnel import SOURCE_CHANNEL, SOURCE_LABELS, People
from revteam.generate.timeline import Span
from revteam.model import enums

# network: (posts per day, log median impressions on day one, like, share, comment, click rates)
NETWORKS: dict[str, tuple[float, float, float, float, float, float]] = {
    "linkedin": (0.7, np.log(2_500.0), 0.020, 0.003, 0.002, 0.008),
    "twitter": (1.0, np.log(1_200.0), 0.010, 0.002, 0.001, 0.005),
    "facebook": (0.3, np.log(800.0), 0.015, 0.002, 0.002, 0.004),
    "instagram": (0.4, np.log(1_500.0), 0.040, 0.001, 0.003, 0.002),
    "youtube": (0.07, np.log(3_000.0), 0.030, 0.002, 0.004, 0.010),
}
assert set(NETWORKS) <= set(enums.SOCIAL_NETWORKS)
POST_DAYS = 7
"""Days after posting for which a post's daily figures are reported."""
KEYWORD_GROUPS = (
    ("brand", _words.BRAND_KEYWORDS, 2.0, 2_000.0),
    ("product", _words.PRODUCT_KEYWORDS, 25.0, 700.0),
    ("competitor", _words.COMPETITOR_KEYWORDS, 35.0, 300.0),
)
"""(group, keywords, typical position, median monthly searches)."""


def web_traffic_table(seed: int, span: Span, people: People, n_leads: int) -> pa.Table:
    """Sessions by day, channel and source; the day's leads from the pair are its conversions."""
    rng = stream(seed, "web_traffic")
    web = [
        i for i, ch in enumerate(SOURCE_CHANNEL) if enums.CHANNELS[ch] in params.WEB_CONVERSION_RATE
    ]
    pair = np.full(len(SOURCE_LABELS), -1)
    pair[web] = np.arange(len(web))
    lead_pair = pair[people.source]
    tracked = lead_pair >= 0
    n_pairs, n_days = len(web), span.n_days
    conversions = np.bincount(
        (people.created[tracked] // DAY) * n_pairs + lead_pair[tracked], minlength=n_days * n_pairs
    )
    channel = SOURCE_CHANNEL[web]
    source_share = np.array(
        [dict(params.SOURCES[enums.CHANNELS[SOURCE_CHANNEL[i]]])[SOURCE_LABELS[i]] for i in web]
    )
    channel_names = [enums.CHANNELS[c] for c in channel]
    leads_per_day = np.outer(
        span.lead_weights * n_leads,
        source_share * np.array([params.CHANNELS[c][0] for c in channel_names]),
    )
    rate = np.array([params.WEB_CONVERSION_RATE[c] for c in channel_names])
    sessions = rng.poisson(leads_per_day / rate).ravel() + conversions
    users = rng.binomial(sessions, 0.82)
    new_users = rng.binomial(users, 0.6)
    pageviews = sessions + rng.poisson(1.6 * sessions)
    day = np.repeat(np.arange(n_days, dtype=np.int64), n_pairs)
    pairs = np.tile(np.arange(n_pairs), n_days)
    return build(
        "web_traffic",
        {
            "date": dates(day, span.epoch_day),
            "channel": labels(enums.CHANNELS, channel[pairs]),
            "source_detail": labels(SOURCE_LABELS, np.array(web)[pairs]),
            "sessions": integers(sessions),
            "users": integers(users),
            "new_users": integers(new_users),
            "pageviews": integers(pageviews),
            "conversions": integers(conversions),
        },
    )


def social_posts_table(seed: int, span: Span, campaigns: Campaigns) -> pa.Table:
    """Posts per network (Poisson per day) with decaying daily figures for a week."""
    rng = stream(seed, "social_posts")
    spec = np.array(list(NETWORKS.values()))
    per_day = rng.poisson(spec[:, 0], (span.n_days, len(NETWORKS)))
    day_net = np.repeat(np.arange(per_day.size), per_day.ravel())
    post_day, network = np.divmod(day_net, len(NETWORKS))
    n_posts = len(post_day)
    growth = np.log1p(params.GROWTH_PER_YEAR) * post_day / 365.25
    reach = np.exp(spec[network, 1] + growth + rng.normal(0.0, 0.6, n_posts))
    organic = enums.CHANNELS.index("organic_social")
    campaign = campaigns.choose(rng, np.full(n_posts, organic), post_day)
    campaign[rng.random(n_posts) < 0.7] = -1
    post, age = repeat_index(np.minimum(POST_DAYS, span.n_days - post_day))
    net = network[post]
    impressions = rng.poisson(reach[post] * 0.45**age)
    likes = rng.binomial(impressions, spec[net, 2])
    shares = rng.binomial(impressions - likes, spec[net, 3])
    comments = rng.binomial(impressions - likes - shares, spec[net, 4])
    clicks = rng.binomial(impressions, spec[net, 5])
    networks = list(NETWORKS)
    return build(
        "social_posts",
        {
            "post_id": ids("SP", post, id_width(n_posts, 6)),
            "date": dates(post_day[post] + age, span.epoch_day),
            "network": labels(networks, net),
            "campaign_id": campaigns.ids(campaign[post]),
            "impressions": integers(impressions),
            "likes": integers(likes),
            "shares": integers(shares),
            "comments": integers(comments),
            "clicks": integers(clicks),
        },
    )


def seo_rankings_table(seed: int, span: Span) -> pa.Table:
    """Daily positions as mean-reverting walks (product pages slowly improve); monthly volumes."""
    rng = stream(seed, "seo_rankings")
    keywords = [k for _, ks, _, _ in KEYWORD_GROUPS for k in ks]
    group = np.concatenate([np.full(len(ks), g) for g, (_, ks, _, _) in enumerate(KEYWORD_GROUPS)])
    typical = np.array([KEYWORD_GROUPS[g][2] for g in group]) * rng.lognormal(0, 0.4, len(group))
    improve = np.where(group == 1, 0.4, 0.0)  # content investment pays off on product keywords
    n_days, n_kw = span.n_days, len(keywords)
    position = np.empty((n_days, n_kw))
    x = typical.copy()
    shocks = rng.normal(0.0, 1.0, (n_days, n_kw)) * np.sqrt(typical) * 0.3
    for d in range(n_days):  # a short loop over days, vectorised over keywords
        target = typical * (1.0 - improve * d / n_days)
        x = target + 0.9 * (x - target) + shocks[d]
        position[d] = x
    volume_base = np.array([KEYWORD_GROUPS[g][3] for g in group]) * rng.lognormal(0, 0.6, n_kw)
    season = 1.0 + 0.15 * np.cos(2 * np.pi * (span.month_of_day[:, None] % 12) / 12.0)
    volume = np.round(
        volume_base * season * rng.lognormal(0, 0.1, (span.months, n_kw))[span.month_of_day], -1
    )
    slug = [k.replace(" ", "-") for k in keywords]
    urls = [
        f"https://{params.COMPANY_DOMAIN}/"
        + ("" if g == 0 else ("solutions/" if g == 1 else "compare/") + s)
        for g, s in zip(group, slug, strict=True)
    ]
    day = np.repeat(np.arange(n_days, dtype=np.int64), n_kw)
    kw = np.tile(np.arange(n_kw), n_days)
    return build(
        "seo_rankings",
        {
            "date": dates(day, span.epoch_day),
            "keyword": labels(keywords, kw),
            "keyword_group": labels([g for g, _, _, _ in KEYWORD_GROUPS], group[kw]),
            "url": labels(urls, kw),
            "position": integers(np.clip(np.round(position), 1, 100).ravel()),
            "search_volume": integers(volume.ravel()),
        },
    )
