"""The review pack on the generated companies: it finds the planted change, and only that.

The planted company drops one paid-social campaign's SQR from March 2026 (truth.json names it);
its steady twin has no change at all. A pack that calls noise a change would bury the one the
meeting must see, and a pack that misses it is worse.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import re
from pathlib import Path

import numpy as np
import pypdfium2
import pytest

from revteam.generate import Company
from revteam.review import PackBuilder, render
from revteam.review.pack import Pack
from revteam.settings import ReviewSettings
from revteam.workspace import Workspace

FIXED = dt.datetime(2026, 12, 1, 8, 0)
SCORING = {"lead_to_sql_rate"}
"""What a lead score predicts (issue 17), beyond KPIS.md."""
CUSTOMER_VALUE = {
    "renewals_due",
    "logo_retention_rate",
    "churn_rate",
    "gross_revenue_retention",
    "net_revenue_retention",
    "expansion_revenue",
    "clv_predicted",
    "clv_to_cac_predicted",
}
"""Shared KPIs beyond KPIS.md's scorecard (docs/clv.md): both teams add them by proposal."""


def builder(ws: Workspace, **settings: object) -> PackBuilder:
    """The workspace's pack builder with a fixed clock (and other settings)."""
    base = ws.review.builder
    return PackBuilder(
        metrics=base.metrics,
        stats=base.stats,
        goals=base.goals,
        actions=base.actions,
        status=ws.status,
        settings=ReviewSettings(**settings),  # type: ignore[arg-type]
        currency=base.currency,
        fy_start=base.fy_start,
        clock=lambda: FIXED,
        proposals=base.proposals,
    )


@pytest.fixture(scope="module")
def march(planted: Workspace) -> Pack:
    return builder(planted).build("2026-03")


def test_the_march_pack_leads_with_the_planted_sqr_drop(
    planted: Workspace, planted_company: Company, march: Pack
) -> None:
    truth = planted_company.truth["planted_change"]
    assert truth["from"].startswith("2026-03")
    first = march.changes[0]
    assert (first.metric, first.dimension, first.segment) == (
        "sales_qualification_rate",
        "campaign",
        truth["campaign_id"],
    )
    assert first.direction == "down" and not first.good and first.kind == "shift"
    assert truth["campaign_id"] in first.headline and "fell" in first.headline
    # the driver names the campaign's rate falling within its channel
    assert f"channel {truth['channel']}" in first.driver
    assert f"campaign {truth['campaign_id']}" in first.driver and "rate fell" in first.driver
    # its numbers are the statistics package's
    found = planted.stats.anomalies(
        "sales_qualification_rate", by="campaign", alpha=march.fdr, as_of=march.as_of
    ).to_pylist()
    row = next(r for r in found if r["segment"] == truth["campaign_id"])
    assert row["period_label"] == "2026-03"
    assert first.value == row["value"] and first.expected == row["expected"]
    # the planted level after the drop is near the truth's (60-day rate x factor)
    assert first.level == pytest.approx(truth["after"], abs=0.08)
    # nothing else is called a change except the planted campaign's mirror image
    assert {c.segment for c in march.changes} <= {truth["campaign_id"], truth["channel"]}


def test_the_steady_company_has_nothing_beyond_noise(steady: Workspace) -> None:
    pack = builder(steady).build("2026-03")
    assert pack.changes == () and pack.changes_scanned > 20
    html = render(pack, "html").decode()
    assert "data-nothing-changed" in html and "Nothing changed beyond noise" in html
    assert "Nothing changed beyond noise in 2026-03" in render(pack, "markdown").decode()


def test_the_scorecard_is_the_metric_layers(planted: Workspace, march: Pack) -> None:
    shared = list(planted.metrics.catalogue.scorecard_metrics())  # the agreed scorecard
    assert [s.metric for s in march.scorecard] == shared
    # as shipped: every shared KPI of KPIS.md (attributed ones are asked for by model; the
    # retention, predicted-CLV and lead-scoring KPIs beyond KPIS.md are there to add by
    # proposal)
    kpis = {s.id for s in planted.metrics.list(owners="shared")} - CUSTOMER_VALUE - SCORING
    assert set(shared) == {m for m in kpis if not m.startswith("attributed_")}
    result = planted.metrics.query(
        shared, grain="month", start="2026-03-01", end="2026-03-31", as_of=march.as_of
    )
    want = {r["metric"]: r["value"] for r in result.to_pylist() if r["is_total"]}
    for s in march.scorecard:
        assert s.value == pytest.approx(want[s.metric], rel=1e-12), s.metric
    # a cohort still inside its window is flagged, not passed off as final
    maturing = {c.metric for c in march.cohorts}
    assert "lead_to_customer_rate" in maturing
    flagged = {s.metric for s in march.scorecard if s.flag}
    assert maturing & set(shared) <= flagged


def test_the_same_data_gives_the_same_pack(planted: Workspace, march: Pack) -> None:
    again = builder(planted).build("2026-03")
    assert render(again, "html") == render(march, "html")
    assert render(again, "markdown") == render(march, "markdown")
    # with the real clock, only the generation time differs
    live = planted.review.render(planted.review.pack("2026-03"), "html").decode()
    strip = re.compile(r"<span data-generated>[^<]*</span>")
    digest = [hashlib.sha256(strip.sub("", t).encode()).hexdigest() for t in (live,)]
    assert digest == [
        hashlib.sha256(strip.sub("", render(march, "html").decode()).encode()).hexdigest()
    ]


def test_the_html_is_self_contained(march: Pack) -> None:
    html = render(march, "html").decode()
    assert "<svg" in html and html.count("<svg") == len(march.changes) + 1
    assert not re.search(r"""(src|href)=["']https?://""", html)
    assert "<script" not in html


def test_the_pdf_has_the_headline_and_its_charts(march: Pack) -> None:
    pdf = pypdfium2.PdfDocument(io.BytesIO(render(march, "pdf")))
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    flat = " ".join(text.split())
    assert "Revenue review · 2026-03" in flat
    assert march.changes[0].segment in flat and "lasting shift" in flat
    sqr = next(s for s in march.scorecard if s.metric == "sales_qualification_rate")
    assert march.fmt(sqr.value, "percent") in flat
    # the page with the changes has the chart: a run of red (the bad change's marker) pixels
    reds = 0
    for i in range(len(pdf)):
        pixels = np.asarray(pdf[i].render(scale=1.5).to_pil().convert("RGB")).astype(int)
        r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
        reds += int(((r > 200) & (g < 80) & (b < 80)).sum())
    assert reds > 50


def test_sections_follow_the_settings(planted: Workspace) -> None:
    pack = builder(planted, sections=("data", "scorecard")).build("2026-03")
    html = render(pack, "html").decode()
    assert html.index('id="data"') < html.index('id="scorecard"')
    assert 'id="changes"' not in html and pack.changes == ()
    with pytest.raises(ValueError, match=r"review\.sections"):
        ReviewSettings(sections=("scorecard", "gossip"))  # type: ignore[arg-type]


def test_a_period_the_data_does_not_reach_is_refused(planted: Workspace) -> None:
    from revteam.exceptions import ReviewError

    with pytest.raises(ReviewError, match="after the data ends"):
        builder(planted).build("2027-01")
    with pytest.raises(ReviewError, match="week, month or quarter"):
        builder(planted).build("2026")
    week = builder(planted, sections=("scorecard",)).build("2026-03-04", grain="week")
    assert week.start == dt.date(2026, 3, 2) and week.grain == "week"


SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "review-sample.md"


def test_the_sample_pack_in_the_docs_is_current(march: Pack) -> None:
    """docs/review-sample.md is this pack: regenerate with UPDATE_SNAPSHOTS=1 when it changes."""
    text = render(march, "markdown").decode()
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SAMPLE.write_text(text, encoding="utf-8")
    assert SAMPLE.read_text(encoding="utf-8") == text


def test_the_return_by_channel_is_the_attributed_kpis(planted: Workspace, march: Pack) -> None:
    """The attribution section: the metric layer's attributed KPIs under the named model,
    whose revenue adds up to the period's revenue and whose ROI is the hand formula."""
    model = planted.settings.attribution.model
    assert march.returns_model == model
    rows = {(r.total, r.channel): r.values for r in march.returns}
    total = rows[(True, None)]
    channels = [v for (t, ch), v in rows.items() if not t and ch is not None]
    assert len(channels) >= 5
    # credit adds up: the channels' attributed revenue is the period's won revenue, exactly
    revenue = planted.metrics.query(
        ["revenue"], grain="all", start=march.start, end=march.end
    ).to_pylist()
    won = next(r["value"] for r in revenue if r["is_total"])
    attributed = sum(v.get("attributed_revenue") or 0.0 for v in channels)
    assert attributed == pytest.approx(won, rel=1e-9)
    assert total["attributed_revenue"] == pytest.approx(won, rel=1e-9)
    # ROI by hand for every channel with costs: (revenue * margin - cost) / cost
    margin = planted.settings.gross_margin
    checked = 0
    for v in channels:
        cost, rev = v.get("marketing_cost"), v.get("attributed_revenue") or 0.0
        if cost:
            assert v["attributed_roi"] == pytest.approx((rev * margin - cost) / cost, rel=1e-9)
            checked += 1
    assert checked >= 3
    # and the pack names the model in every format
    for fmt in ("markdown", "html"):
        assert f"({model} model)" in render(march, fmt).decode()
