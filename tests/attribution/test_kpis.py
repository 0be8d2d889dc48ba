"""Attributed KPIs in the metric layer: the same credit as ws.attribution, ROI and CAC from it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import revteam
from revteam.exceptions import MetricQueryError
from revteam.generate import GeneratorConfig, generate_company
from revteam.workspace import Workspace

HALF = {"start": "2025-07-01", "end": "2025-12-31", "grain": "all"}


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    root = tmp_path_factory.mktemp("attributed")
    generate_company(GeneratorConfig(n_leads=2500, seed=9)).write(root / "data")
    opened = revteam.init(root / "ws")
    opened.ingest.load_directory(root / "data")
    yield opened
    opened.close()


def by_channel(ws: Workspace, metric: str, model: str | None = None, **extra) -> dict:
    where = {"attribution_model": [model]} if model else None
    rows = ws.metrics.query(metric, by="channel", where=where, **HALF, **extra).to_pylist()
    return {r["channel"]: r["value"] for r in rows if not r["is_total"]}


def total(ws: Workspace, metric: str, model: str | None = None) -> float:
    where = {"attribution_model": [model]} if model else None
    rows = ws.metrics.query(metric, where=where, **HALF).to_pylist()
    return next(r["value"] for r in rows if r["is_total"])


@pytest.mark.parametrize("model", ["first_touch", "linear", "w_shaped"])
def test_attributed_kpis_are_the_attribution_credit(ws: Workspace, model: str) -> None:
    # rule-based credit of a conversion does not depend on the other journeys: the KPI over a
    # range equals the attribution of that range's conversions
    run = ws.attribution.run(model, conversion="won", start="2025-07-01", end="2025-12-31")
    want = {r["channel"]: r["amount"] for r in run.rows if r["amount"]}
    got = {c: v for c, v in by_channel(ws, "attributed_revenue", model).items() if v}
    assert got == pytest.approx(want, rel=1e-9)
    leads = ws.attribution.run(model, conversion="lead", start="2025-07-01", end="2025-12-31")
    assert total(ws, "attributed_leads", model) == pytest.approx(leads.conversions)


def test_every_model_credits_every_touched_conversion_once(ws: Workspace) -> None:
    leads = total(ws, "leads")
    for model in ws.attribution.models:
        dropped = ws.attribution.run(
            model, conversion="lead", start="2025-07-01", end="2025-12-31"
        ).dropped
        assert total(ws, "attributed_leads", model) == pytest.approx(leads - dropped), model


def test_the_default_model_is_the_workspaces(ws: Workspace) -> None:
    assert ws.settings.attribution.model == "linear"
    assert by_channel(ws, "attributed_pipeline") == pytest.approx(
        by_channel(ws, "attributed_pipeline", "linear")
    )
    assert by_channel(ws, "attributed_pipeline", "markov") != pytest.approx(
        by_channel(ws, "attributed_pipeline", "linear")
    )


def test_roi_and_cac_by_channel_follow_from_their_parts(ws: Workspace) -> None:
    revenue = by_channel(ws, "attributed_revenue", "markov")
    cost = by_channel(ws, "marketing_cost")
    roi = by_channel(ws, "attributed_roi", "markov")
    margin = ws.settings.gross_margin
    for channel, c in cost.items():
        if c:
            want = ((revenue.get(channel) or 0.0) * margin - c) / c
            assert roi[channel] == pytest.approx(want, rel=1e-9), channel
    customers = by_channel(ws, "attributed_customers", "markov")
    spend = by_channel(ws, "total_cost")
    cac = by_channel(ws, "attributed_cac", "markov")
    for channel, n in customers.items():
        if n and spend.get(channel):
            assert cac[channel] == pytest.approx(spend[channel] / n, rel=1e-9)


def test_side_by_side_by_model_has_no_total(ws: Workspace) -> None:
    rows = ws.metrics.query("attributed_leads", by="attribution_model", **HALF).to_pylist()
    assert rows and not any(r["is_total"] for r in rows)
    values = {r["attribution_model"]: r["value"] for r in rows}
    assert set(values) == set(ws.attribution.models)
    assert len({round(v, 6) for v in values.values()}) == 1  # every model credits every lead


def test_the_parameter_is_refused_where_it_means_nothing(ws: Workspace) -> None:
    with pytest.raises(MetricQueryError, match="attributed KPIs only"):
        ws.metrics.query("leads", where={"attribution_model": ["markov"]})
    with pytest.raises(MetricQueryError, match="one model"):
        ws.metrics.query("attributed_leads", where={"attribution_model": ["markov", "linear"]})
    with pytest.raises(MetricQueryError, match="shapley"):
        ws.metrics.query("attributed_leads", where={"attribution_model": ["magic"]})


def test_the_three_sourcing_rules_side_by_side(ws: Workspace) -> None:
    rows = ws.attribution.sourcing(start="2025-07-01", end="2025-12-31")
    sourced = {r["rule"]: r for r in rows if r["view"] == "sourced"}
    assert set(sourced) == {"lead_source", "first_touch", "marketing_touch_before_sales"}
    (active,) = [r for r in sourced.values() if r["active"]]
    assert active["rule"] == ws.metrics.catalogue.sourcing.rule
    assert active["pipeline"] == pytest.approx(total(ws, "marketing_sourced_pipeline"))
    pipeline = total(ws, "pipeline_created")
    for r in rows:
        assert r["total_pipeline"] == pytest.approx(pipeline)
        assert 0 <= r["share"] <= 1 + 1e-12
    (influenced,) = [r for r in rows if r["view"] == "influenced"]
    # by hand: deals of the range whose journey touched a marketing channel
    b = ws.attribution.journeys("opportunity", start="2025-07-01", end="2025-12-31")
    j = b.journeys
    marketing = set(ws.metrics.catalogue.sourcing.marketing_channels)
    hit = {
        j.journey[i] for i in range(j.n_touches) if b.channel_names[b.channel_code[i]] in marketing
    }
    want = sum(j.value[k] for k in hit if j.conversions[k] > 0)
    assert influenced["pipeline"] == pytest.approx(want)


def test_budget_versus_actual(ws: Workspace) -> None:
    table = ws.attribution.budget("linear", grain="month").to_pylist()
    campaigns = {
        c["campaign_id"]: c
        for c in ws.metrics.relation(
            "campaigns", ["campaign_id", "start_date", "end_date", "budget"]
        ).to_pylist()
    }
    as_of = ws.metrics.as_of().date()
    closed = [
        c for c in campaigns.values() if c["end_date"] and c["end_date"] < as_of and c["budget"]
    ]
    assert closed
    checked = 0
    for c in closed:
        spread = sum(r["budget"] for r in table if r["campaign"] == c["campaign_id"])
        months_with_rows = {r["period"] for r in table if r["campaign"] == c["campaign_id"]}
        run = {f"{d.year}-{d.month:02d}" for d in (c["start_date"], c["end_date"])}
        if run <= months_with_rows:  # every month of its run had spend or return to show
            assert spread == pytest.approx(float(c["budget"]), rel=1e-9)
            checked += 1
    assert checked
    costs = ws.metrics.query("marketing_cost", by="campaign", grain="all").to_pylist()
    booked = sum(r["value"] or 0 for r in costs if not r["is_total"] and r["campaign"])
    assert sum(r["spend"] for r in table) == pytest.approx(booked)
    for r in table:
        if r["spend"]:
            want = (r["attributed_revenue"] * ws.settings.gross_margin - r["spend"]) / r["spend"]
            assert r["roi"] == pytest.approx(want)
        assert r["model"] == "linear"
