"""The MQL threshold's trade-off curve: volumes, expected SQR against the realised, workload."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.compute as pc
import pytest
from typer.testing import CliRunner

from revteam.cli import app as cli
from revteam.exceptions import ScoringError
from revteam.generate import Company
from revteam.scoring import ScoringComponent
from revteam.workspace import Workspace


@pytest.fixture(scope="module")
def curve(scored_ws: Workspace) -> dict:
    return scored_ws.scoring.threshold()


def test_the_expected_sqr_holds_the_realised_within_its_interval(curve: dict) -> None:
    rows = curve["curve"]
    assert len(rows) >= 10
    inside = [
        r["sales_qualification_rate_low"]
        <= r["realised_sales_qualification_rate"]
        <= r["sales_qualification_rate_high"]
        for r in rows
    ]
    assert np.mean(inside) >= 0.85, [
        (r["threshold"], r["sales_qualification_rate"], r["realised_sales_qualification_rate"])
        for r, ok in zip(rows, inside, strict=True)
        if not ok
    ]
    best = curve["recommended"]
    assert (
        best["sales_qualification_rate_low"]
        <= best["realised_sales_qualification_rate"]
        <= best["sales_qualification_rate_high"]
    )
    # a higher threshold: fewer MQLs, a higher SQR
    volumes = [r["mqls"] for r in rows]
    rates = [r["sales_qualification_rate"] for r in rows]
    assert volumes == sorted(volumes, reverse=True) and rates == sorted(rates)


def test_volumes_and_workload_by_hand(scored_ws: Workspace, curve: dict) -> None:
    fit = scored_ws.scoring.fit()
    judged = fit.predictions.filter(pc.equal(fit.predictions.column("age_days"), 7))
    scores = judged.column("score").to_numpy()
    start, end = fit.periods["holdout"]
    months = ((end - start).days + 1) / (365.25 / 12)
    for r in curve["curve"][::4]:
        n = int((scores >= r["threshold"]).sum())
        assert r["mqls"] == n and r["mqls_per_month"] == pytest.approx(n / months)
        weekly = n / months / curve["reps"] / (365.25 / 12 / 7)
        assert r["mqls_per_rep_week"] == pytest.approx(weekly)
        assert r["within_capacity"] == (weekly <= curve["capacity_per_rep_week"])
        assert r["mqls_per_month_low"] < r["mqls_per_month"] < r["mqls_per_month_high"]


def test_the_lead_to_opportunity_rate_is_the_kpis_by_plain_sql(
    scored_ws: Workspace, scoring_company: Company, curve: dict
) -> None:
    fit = scored_ws.scoring.fit()
    judged = fit.predictions.filter(pc.equal(fit.predictions.column("age_days"), 7))
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("people", scoring_company.tables["people"])
    converted = dict(
        con.execute(
            """SELECT person_id, least(opportunity_at, customer_at) IS NOT NULL
                 AND least(opportunity_at, customer_at) <= created_at + INTERVAL 180 DAY
               FROM people"""
        ).fetchall()
    )
    ids = np.array(judged.column("person_id").to_pylist())
    scores = judged.column("score").to_numpy()
    r = curve["recommended"]
    mine = ids[scores >= r["threshold"]]
    assert r["lead_to_opportunity_rate"] == pytest.approx(np.mean([converted[p] for p in mine]))


def test_the_recommendation_follows_the_objective(scored_ws: Workspace, curve: dict) -> None:
    rows = curve["curve"]
    within = [r for r in rows if r["within_capacity"]]
    best = curve["recommended"]
    assert best == max(within, key=lambda r: r["sqls_per_month"])
    # more capacity: a lower threshold, more SQLs
    roomy = ScoringComponent(
        metrics=scored_ws.metrics,
        settings=scored_ws.settings.model_copy(
            update={
                "scoring": scored_ws.settings.scoring.model_copy(
                    update={"capacity_per_rep_week": 4 * curve["capacity_per_rep_week"]}
                )
            }
        ),
    ).threshold()
    assert roomy["recommended"]["threshold"] <= best["threshold"]
    assert roomy["recommended"]["sqls_per_month"] >= best["sqls_per_month"]
    # holding SQR at a target: the lowest threshold that reaches it
    target = rows[len(rows) // 2]["sales_qualification_rate"]
    held = scored_ws.scoring.threshold(objective="sqr", sqr_target=target)["recommended"]
    assert held["sales_qualification_rate"] >= target
    assert all(
        r["sales_qualification_rate"] < target for r in rows if r["threshold"] < held["threshold"]
    )
    for kwargs, problem in (
        ({"objective": "cheapest"}, "Unknown objective"),
        ({"objective": "sqr"}, "needs a target"),
        ({"level": 1.2}, "out of range"),
    ):
        with pytest.raises(ScoringError, match=problem):
            scored_ws.scoring.threshold(**kwargs)


def test_the_cli_gives_the_curve(scoring_ws_path: Path) -> None:
    run = CliRunner().invoke(
        cli, ["-w", str(scoring_ws_path), "score", "threshold", "--format", "json"]
    )
    assert run.exit_code == 0, run.output
    out = json.loads(run.stdout)
    first = out["curve"][0]
    for key in (
        "mqls_per_month",
        "sales_qualification_rate",
        "sales_qualification_rate_low",
        "sales_qualification_rate_high",
        "mqls_per_rep_week",
    ):
        assert key in first
    assert out["recommended"]["threshold"] in [r["threshold"] for r in out["curve"]]
