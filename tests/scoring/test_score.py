"""The predictive lead score on a generated company, judged against what the generator planted.

The generator draws each lead's chance of becoming an MQL from its channel, persona, segment
and campaign, and of an MQL becoming an SQL likewise (``Company.planted``); nurture touches then
raise the odds of those who convert. At a lead's creation nothing else is known, so
``p_mql × p_sql`` ranks leads as well as anything can: the Bayes-optimal AUC there. Later the
score also sees engagement, which the planted chances do not, and must beat them.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

import revteam
from revteam.cli import app as cli
from revteam.exceptions import ScoringError
from revteam.generate import Company
from revteam.scoring import ScoreFit, ScoringComponent
from revteam.settings import ScoringSettings
from revteam.workspace import Workspace


@pytest.fixture(scope="module")
def company(scoring_company: Company) -> Company:
    return scoring_company


@pytest.fixture(scope="module")
def ws_path(scoring_ws_path: Path) -> Path:
    return scoring_ws_path


@pytest.fixture(scope="module")
def ws(scored_ws: Workspace) -> Workspace:
    return scored_ws


@pytest.fixture(scope="module")
def fitted(ws: Workspace) -> ScoreFit:
    return ws.scoring.fit()


def planted_chance(company: Company, ids: pa.ChunkedArray) -> np.ndarray:
    planted = company.planted["lead_probabilities"]
    where = pc.index_in(ids, value_set=planted.column("person_id")).to_numpy()
    p = planted.column("p_mql").to_numpy() * planted.column("p_sql").to_numpy()
    return p[where]


def test_at_creation_the_score_ranks_leads_as_well_as_the_planted_chances(
    fitted: ScoreFit, company: Company
) -> None:
    holdout = fitted.predictions
    at_creation = holdout.filter(pc.equal(holdout.column("age_days"), 0))
    y = at_creation.column("reached").to_numpy()
    bayes = roc_auc_score(y, planted_chance(company, at_creation.column("person_id")))
    model = roc_auc_score(y, at_creation.column("score").to_numpy())
    assert model == pytest.approx(fitted.by_age[0].auc)
    assert abs(model - bayes) <= 0.03, (model, bayes)  # within a few points …
    assert model <= bayes + 0.01  # … and no better than the truth, beyond noise
    # later, engagement tells more than the planted fit-only chances
    later = holdout.filter(pc.equal(holdout.column("age_days"), 7))
    y7 = later.column("reached").to_numpy()
    planted7 = roc_auc_score(y7, planted_chance(company, later.column("person_id")))
    assert fitted.by_age[7].auc > planted7 + 0.05


def test_the_score_is_calibrated_on_leads_it_never_saw(fitted: ScoreFit) -> None:
    for age, q in fitted.by_age.items():
        assert q.ece <= 0.02, (age, q.ece)
        assert q.n > 3_000
        # the curve's bins are the ECE's: weighted gaps, by hand
        gaps = sum(b["n"] * abs(b["predicted"] - b["observed"]) for b in q.curve) / q.n
        assert gaps == pytest.approx(q.ece)
    assert fitted.as_dict()["auc"] == fitted.by_age[7].auc  # judged a week after arrival
    # the split is by time: every holdout lead is newer than every training lead
    assert fitted.periods["train"][1] <= fitted.periods["calibrate"][0]
    assert fitted.periods["calibrate"][1] <= fitted.periods["holdout"][0]


def test_rules_rank_worse_than_the_model_but_better_than_chance(fitted: ScoreFit) -> None:
    for age in (7, 30):
        assert 0.55 < fitted.rules_auc[age] < fitted.by_age[age].auc, age


def test_the_outcome_is_the_kpi_by_plain_sql(fitted: ScoreFit, company: Company) -> None:
    """``reached``: SQL within 90 days of creation, as lead_to_sql_rate counts it."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("people", company.tables["people"])
    rows = con.execute(
        """SELECT person_id, sql_at IS NOT NULL AND sql_at <= created_at + INTERVAL 90 DAY
           FROM people"""
    ).fetchall()
    truth = dict(rows)
    holdout = fitted.predictions
    ids, reached = holdout.column("person_id"), holdout.column("reached")
    got = dict(zip(ids.to_pylist(), reached.to_pylist(), strict=True))
    assert got and all(truth[p] == r for p, r in got.items())


def test_same_data_same_seed_same_scores(ws_path: Path, fitted: ScoreFit) -> None:
    with revteam.open(ws_path, read_only=True) as again:
        refit = again.scoring.fit()
        first = again.scoring.score()
    assert np.array_equal(refit.predictions.column("score"), fitted.predictions.column("score"))
    with revteam.open(ws_path, read_only=True) as third:
        second = third.scoring.score()
    assert first.equals(second)


def test_open_leads_are_scored_as_of_now(ws: Workspace, company: Company) -> None:
    table = ws.scoring.score()
    as_of = ws.metrics.as_of()
    people = company.tables["people"]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("people", people)
    want = {
        r[0]
        for r in con.execute(
            """SELECT person_id FROM people
               WHERE created_at <= ? AND created_at + INTERVAL 90 DAY > ?
                 AND (sql_at IS NULL OR sql_at > ?)
                 AND (disqualified_at IS NULL OR disqualified_at > ?)""",
            [as_of, as_of, as_of, as_of],
        ).fetchall()
    }
    assert set(table.column("person_id").to_pylist()) == want
    scores = table.column("score").to_numpy()
    assert (np.diff(scores) <= 0).all() and ((scores >= 0) & (scores <= 1)).all()
    assert set(table.column("grade").to_pylist()) <= {"A", "B", "C", "D"}


def test_explanations_add_up_to_the_log_odds(ws: Workspace, fitted: ScoreFit) -> None:
    """For the logistic model each feature's effect is its term: setting every feature to the
    reference lead's value, one at a time, accounts for the whole difference in log-odds."""
    top = ws.scoring.score().column("person_id")[0].as_py()
    found = ws.scoring.explain(top)
    assert found["score"] == pytest.approx(float(ws.scoring.score().column("score")[0].as_py()))
    contributions = found["contributions"]
    assert 0 < len(contributions) <= 5
    assert abs(contributions[0]["log_odds"]) >= abs(contributions[-1]["log_odds"])
    from revteam.scoring.features import features

    leads = ws.scoring._read(ws.metrics.as_of())
    row = pc.index(leads.person_id, top).as_py()
    at = np.array([(ws.metrics.as_of() - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1)])
    x = features(leads, np.array([row]), at, half_life_days=30.0)
    every = fitted.scorer.explain(x, top=100)[0]
    reference = x.to_pandas()
    for name, value in fitted.scorer.reference.items():
        reference[name] = value
    gap = fitted.scorer.log_odds(x)[0] - fitted.scorer._raw_frame(reference)[0]
    assert sum(c["log_odds"] for c in every) == pytest.approx(gap, abs=1e-6)
    with pytest.raises(ScoringError, match="No person 'nobody'"):
        ws.scoring.explain("nobody")


def test_a_target_that_is_not_a_lead_cohort_rate_is_refused(ws: Workspace) -> None:
    for target, problem in (("win_rate", "not a rate of leads"), ("nope", "not a metric")):
        odd = ScoringComponent(
            metrics=ws.metrics,
            settings=ws.settings.model_copy(update={"scoring": ScoringSettings(target=target)}),
        )
        with pytest.raises(ScoringError, match=problem):
            odd.fit()


def test_a_history_too_short_is_refused(ws: Workspace, company: Company) -> None:
    """Five days of leads whose window has closed: too few reached SQL to fit and check."""
    early = dt.datetime.combine(company.config.start + dt.timedelta(days=95), dt.time())
    with pytest.raises(ScoringError, match=r"reached the target for (fitting|calibrating)"):
        ws.scoring.fit(as_of=early)


def test_the_cli_fits_runs_and_explains(ws_path: Path, monkeypatch) -> None:
    runner = CliRunner()
    fit = runner.invoke(cli, ["-w", str(ws_path), "score", "fit", "--format", "json"])
    assert fit.exit_code == 0, fit.output
    out = json.loads(fit.stdout)
    assert 0.5 < out["auc"] < 1 and 0 <= out["ece"] <= 0.02
    assert out["target"] == "lead_to_sql_rate" and out["window_days"] == 90
    run = runner.invoke(
        cli, ["-w", str(ws_path), "score", "run", "--limit", "3", "--format", "csv"]
    )
    assert run.exit_code == 0, run.output
    lines = run.stdout.strip().splitlines()
    assert lines[0].split(",")[:4] == ["person_id", "created_at", "age_days", "score"]
    assert len(lines) == 4
    who = lines[1].split(",")[0]
    why = runner.invoke(cli, ["-w", str(ws_path), "score", "explain", who, "--format", "json"])
    assert why.exit_code == 0 and json.loads(why.stdout)["person_id"] == who

    def no_fit(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("fitted before looking the person up")

    monkeypatch.setattr(ScoringComponent, "fit", no_fit)  # an unknown id is said at once
    bad = runner.invoke(cli, ["-w", str(ws_path), "score", "explain", "nobody"])
    assert bad.exit_code == 2 and "No person 'nobody'" in bad.output


def test_blocks_and_batches_change_no_number(ws_path: Path, fitted: ScoreFit, monkeypatch):
    """At 10M leads engagement is counted a block of leads at a time and scores a batch of
    rows at a time (memory); tiny blocks and batches must give every number of one pass (the
    features exactly; a batch's matrix product may round in the last bits)."""
    from revteam.scoring import features, model

    monkeypatch.setattr(features, "ENGAGEMENT_BLOCK", 997)
    monkeypatch.setattr(model, "PREDICT_BATCH", 1009)
    with revteam.open(ws_path, read_only=True) as again:
        small = again.scoring.fit()
    assert small.examples == fitted.examples and fitted.examples["holdout"] > 10 * 1009
    assert small.predictions.drop_columns(["score"]).equals(
        fitted.predictions.drop_columns(["score"])
    )
    score = small.predictions.column("score").to_numpy()
    assert np.allclose(score, fitted.predictions.column("score").to_numpy(), rtol=1e-12, atol=0)
    assert np.allclose(small.resampled, fitted.resampled, rtol=1e-12, atol=1e-15)
    assert small.holdout.auc == pytest.approx(fitted.holdout.auc, rel=1e-12)
    assert small.rules_auc == fitted.rules_auc  # the rules' points: no model, exactly equal
