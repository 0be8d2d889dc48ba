"""Monitoring the score: drift of each month's scores, and whether the top tenth converts most."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from typer.testing import CliRunner

import revteam
from revteam.cli import app as cli
from revteam.generate import GeneratorConfig, generate_company
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
