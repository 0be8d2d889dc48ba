"""scoring.yaml is read strictly, and its points add up as written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from revteam.exceptions import ScoringError
from revteam.scoring.features import CATEGORICAL, NUMERIC
from revteam.scoring.rules import load_rules, parse_rules


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("fit:\n  persona:\n    executive: 5\n  persona:\n    manager: 3\n", "appears twice"),
        ("fit:\n  persona:\n    ceo: 5\n", "ceo, which no lead can have"),
        ("engagement:\n  touches:\n    demo: 5\n", "engagement.touches names demo"),
        ("fit:\n  persona:\n    executive: lots\n", "fit.persona.executive"),
        ("grades:\n  A: 10\n  B: 20\n  C: 5\n", "fall from A to C"),
        ("grades:\n  A: 10\n", "A, B and C"),
        ("scores:\n  x: 1\n", "scores"),
        ("fit: [1, 2\n", "not valid YAML"),
    ],
)
def test_a_bad_file_is_refused_naming_the_problem(text: str, problem: str) -> None:
    with pytest.raises(ScoringError, match=problem):
        parse_rules(text, "scoring.yaml")


def test_points_add_up_as_written_and_grades_follow_fit(tmp_path: Path) -> None:
    (tmp_path / "scoring.yaml").write_text(
        "fit:\n  persona:\n    executive: 20\n  segment:\n    enterprise: 15\n"
        "engagement:\n  touches:\n    form_submit: 10\n  emails:\n    click: 2\n"
        "grades:\n  A: 30\n  B: 20\n  C: 10\n"
    )
    rules, source = load_rules(tmp_path)
    assert source.endswith("scoring.yaml")
    rows = {name: [None, None, None] for name in CATEGORICAL} | {
        name: [0.0, 0.0, 0.0] for name in NUMERIC
    }
    rows["persona"] = ["executive", "executive", None]
    rows["segment"] = ["enterprise", "smb", "enterprise"]
    rows["touch_form_submit_decayed"] = [1.5, 0.0, 0.0]
    rows["email_click_decayed"] = [0.0, 2.0, 0.0]
    fit, engaged, grade = rules.score(pa.table(rows))
    assert np.allclose(fit, [35, 20, 15]) and np.allclose(engaged, [15, 4, 0])
    assert grade.to_pylist() == ["A", "B", "C"]
    assert load_rules(None)[1] == "shipped"  # the shipped file reads cleanly
