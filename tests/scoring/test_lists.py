"""Nurture and recycle lists, and their CRM export files."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.compute as pc
import pytest
from typer.testing import CliRunner

from revteam.cli import app as cli
from revteam.exceptions import ScoringError
from revteam.generate import Company
from revteam.workspace import Workspace


def test_nurture_is_the_fit_leads_below_the_threshold(scored_ws: Workspace) -> None:
    threshold = scored_ws.scoring.threshold()["recommended"]["threshold"]
    table = scored_ws.scoring.nurture()
    scored = scored_ws.scoring.score().to_pylist()
    want = {r["person_id"] for r in scored if r["grade"] in ("A", "B") and r["score"] < threshold}
    assert want and set(table.column("person_id").to_pylist()) == want
    # a lower threshold, fewer leads below it
    lower = scored_ws.scoring.nurture(threshold=threshold / 2)
    assert lower.num_rows < table.num_rows
    with pytest.raises(ScoringError, match="out of range"):
        scored_ws.scoring.nurture(threshold=1.5)


def test_recycle_is_the_recent_disqualified_but_for_final_reasons(
    scored_ws: Workspace, scoring_company: Company
) -> None:
    as_of = scored_ws.metrics.as_of()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("people", scoring_company.tables["people"])
    want = {
        r[0]
        for r in con.execute(
            """SELECT person_id FROM people
               WHERE disqualified_at >= ? AND disqualified_at <= ?
                 AND disqualification_reason NOT IN ('student_or_job_seeker', 'competitor')""",
            [as_of - dt.timedelta(days=180), as_of],
        ).fetchall()
    }
    table = scored_ws.scoring.recycle()
    assert want and set(table.column("person_id").to_pylist()) == want
    fit = table.column("fit_points").to_numpy()
    assert (np.diff(fit) <= 0).all()  # the best fit first
    emails = dict(
        con.execute("SELECT person_id, email FROM people WHERE person_id IN (SELECT unnest(?))",
                    [list(want)[:20]]).fetchall()
    )  # fmt: skip
    got = dict(zip(table.column("person_id").to_pylist(), table.column("email").to_pylist(),
                   strict=True))  # fmt: skip
    assert all(got[p] == e for p, e in emails.items())


def test_the_crm_export_files(scoring_ws_path: Path) -> None:
    runner = CliRunner()
    hub = runner.invoke(
        cli, ["-w", str(scoring_ws_path), "score", "nurture", "--export", "hubspot"]
    )
    assert hub.exit_code == 0, hub.output
    rows = list(csv.DictReader(io.StringIO(hub.stdout)))
    assert rows and list(rows[0]) == ["Email", "First Name", "Last Name", "Company Name"]
    assert all("@" in r["Email"] for r in rows)
    missing = runner.invoke(
        cli, ["-w", str(scoring_ws_path), "score", "recycle", "--export", "salesforce"]
    )
    assert missing.exit_code == 2 and "--campaign-id" in missing.output
    sf = runner.invoke(
        cli,
        ["-w", str(scoring_ws_path), "score", "recycle", "--export", "salesforce",
         "--campaign-id", "701XX0000001", "--status", "Recycled"],
    )  # fmt: skip
    assert sf.exit_code == 0, sf.output
    members = list(csv.DictReader(io.StringIO(sf.stdout)))
    assert members and {m["CampaignId"] for m in members} == {"701XX0000001"}
    assert {m["Status"] for m in members} == {"Recycled"}
    feedback = runner.invoke(
        cli, ["-w", str(scoring_ws_path), "score", "feedback", "--by", "channel", "--format", "csv"]
    )
    assert feedback.exit_code == 0, feedback.output
    header = feedback.stdout.splitlines()[0].split(",")
    assert header[:3] == ["reason", "channel", "value"] and "p_adjusted" in header


def test_scores_are_kept_with_their_moment(scoring_ws_path: Path, tmp_path: Path) -> None:
    import shutil

    import revteam

    root = tmp_path / "ws"
    shutil.copytree(scoring_ws_path, root)
    runner = CliRunner()
    first = runner.invoke(cli, ["-w", str(root), "score", "run", "--save", "--format", "csv"])
    assert first.exit_code == 0, first.output
    with revteam.open(root, read_only=True) as ws:
        earlier = ws.metrics.as_of() - dt.timedelta(days=7)
        now = ws.scoring.score()
        ws.scoring.save(ws.scoring.score(as_of=earlier))
        kept = ws.scoring.history()
        files = sorted((root / "scores").iterdir())
        assert len(files) == 2 and all(f.suffix == ".parquet" for f in files)  # no half runs
        moments = sorted(set(kept.column("scored_at").to_pylist()))
        assert len(moments) == 2 and moments[0] < moments[1]
        latest = kept.filter(pc.equal(kept.column("scored_at"), moments[1]))
        assert latest.num_rows == now.num_rows
        # the run kept is the run given: every open lead, with its score
        by_person = latest.sort_by("person_id")
        given = now.sort_by("person_id")
        assert by_person.column("person_id").equals(given.column("person_id"))
        assert by_person.column("score").equals(given.column("score"))
        who = now.column("person_id")[0].as_py()
        mine = ws.scoring.history(who)
        assert mine.column("person_id").to_pylist() == [who] * mine.num_rows
        assert set(mine.column("model").to_pylist()) == {"logistic"}
        assert set(mine.column("target").to_pylist()) == {"lead_to_sql_rate"}
