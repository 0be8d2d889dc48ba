"""Monitoring the score: drift of each month's scores, and whether the top tenth converts most."""

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
from revteam.generate import Company, GeneratorConfig, generate_company
from revteam.scoring import ScoringComponent
from revteam.workspace import Workspace


def test_a_steady_company_shows_no_degradation(scored_ws: Workspace) -> None:
    found = scored_ws.scoring.monitor()
    assert not found["degraded"] and found["reasons"] == []
    months = found["months"]
    assert len(months) == 12 and all(m["drift"] < 0.1 for m in months)
    closed = [m for m in months if m["closed"]]
    assert closed and any(not m["closed"] for m in months)
    for m in closed:  # the top tenth converts far more than the bottom tenth
        assert m["deciles"][0]["realised"] > 3 * m["deciles"][-1]["realised"], m["month"]
        assert abs(m["auc"] - found["holdout_auc"]) < 0.06
        assert sum(d["leads"] for d in m["deciles"]) == m["leads"]
    # months the monitored model learnt from are marked, the later ones are not
    flags = [m["in_sample"] for m in closed]
    assert flags == sorted(flags, reverse=True) and not flags[-1]


@pytest.fixture(scope="module")
def shifted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A company whose last two months' leads all come from events, as executives."""
    company = generate_company(GeneratorConfig(n_leads=30_000, seed=9))
    people = company.tables["people"]
    recent = pc.greater_equal(
        people.column("created_at"),
        pa.scalar(company.as_of - dt.timedelta(days=60), pa.timestamp("us")),
    ).to_numpy(zero_copy_only=False)
    for name, value in (("channel", "events"), ("persona", "executive")):
        values = np.array(people.column(name).to_pylist(), dtype=object)
        values[recent] = value
        at = people.column_names.index(name)
        people = people.set_column(at, name, pa.array(values.tolist(), pa.string()))
    company.tables["people"] = people
    root = tmp_path_factory.mktemp("shifted")
    company.write(root / "data")
    with revteam.init(root / "ws") as ws:
        ws.ingest.load_directory(root / "data")
    return root / "ws"


def test_a_shift_in_who_arrives_is_flagged(shifted: Path) -> None:
    with revteam.open(shifted, read_only=True) as ws:
        found = ws.scoring.monitor()
    latest = found["months"][-1]
    assert latest["drift"] > 0.25 and found["degraded"]
    assert latest["month"] in found["reasons"][0]
    run = CliRunner().invoke(cli, ["-w", str(shifted), "score", "monitor", "--format", "json"])
    assert run.exit_code == 0, run.output
    assert json.loads(run.stdout)["degraded"] is True


def test_an_alert_rule_raises_the_degradation_once(shifted: Path, tmp_path: Path) -> None:
    from pytest_httpserver import HTTPServer
    from tests.alerts.conftest import Clock, alerts_over, fresh_db

    from revteam.alerts import Channel, RuleSpec

    with HTTPServer() as server, revteam.open(shifted, read_only=True) as ws:
        server.expect_request("/hook", method="POST").respond_with_data("ok")
        alerts = alerts_over(ws, fresh_db(tmp_path / "a.db"), Clock(ws.metrics.as_of()))
        rule = alerts.add(
            RuleSpec("score health", "score_degraded", [Channel.webhook(server.url_for("/hook"))])
        )
        for _ in range(2):  # the same condition twice: alerted once
            report = alerts.run()
            assert report.rules[0].error is None
        active = [c.key for c in alerts.store.active(rule.id)]
        month = ws.scoring.monitor()["months"][-1]["month"]
        sent = [json.loads(r.get_data()) for r, _ in server.log]
    assert active == [f"score:{month}"] and len(sent) == 1
    assert "drift" in sent[0]["title"] and sent[0]["link"].endswith("/lead-scoring")


def test_kept_scores_are_judged_as_they_were_given(
    scored_ws: Workspace, scoring_company: Company, tmp_path: Path
) -> None:
    """Scores saved months ago, judged against what came true (plain SQL), not rescored."""
    kept = ScoringComponent(metrics=scored_ws.metrics, settings=scored_ws.settings, root=tmp_path)
    end = scored_ws.metrics.as_of()
    given = kept.score(as_of=end - dt.timedelta(days=200))
    kept.save(given)
    later = kept.score(as_of=end - dt.timedelta(days=150))
    # a score that got the order backwards, kept as given
    kept.save(later.set_column(3, "score", pc.subtract(1.0, later.column("score"))))

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("people", scoring_company.tables["people"])
    con.register("given", given.select(["person_id", "score"]))
    rows = con.execute(
        """SELECT g.score, (p.sql_at IS NOT NULL
                            AND p.sql_at <= p.created_at + INTERVAL 90 DAY) AS hit
           FROM given g JOIN people p USING (person_id)"""
    ).fetchall()
    p = np.array([r[0] for r in rows])
    y = np.array([r[1] for r in rows], dtype=bool)
    realised, mean_score = y.mean(), p.mean()

    found = kept.monitor()
    first, second = found["kept"]
    assert first["leads"] == first["closed"] == given.num_rows  # every window closed since
    assert first["realised"] == pytest.approx(realised, abs=1e-12)
    assert first["mean_score"] == pytest.approx(mean_score, abs=1e-12)
    assert first["auc"] == pytest.approx(roc_auc_score(y, p), abs=1e-9)
    assert first["auc"] > 0.7
    assert first["deciles"][0]["realised"] > 3 * first["deciles"][-1]["realised"]
    assert second["auc"] < 0.3  # judged as given: the backwards run ranks backwards
    assert found["degraded"]
    assert any("kept on" in r and second["scored_at"][:10] in r for r in found["reasons"])
