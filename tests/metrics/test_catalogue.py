"""The catalogue: shipped YAML, workspace additions and overrides, and refusing bad files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from tests.metrics.conftest import Ref

from revteam.exceptions import CatalogueError
from revteam.metrics import MetricSpec, load_catalogue, shipped_catalogue
from revteam.metrics.spec import KINDS, OWNERS, UNITS
from revteam.settings import DEFAULT_WINDOWS
from revteam.workspace import Workspace


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_catalogue_is_valid_and_frozen() -> None:
    cat = shipped_catalogue()
    assert len(cat) >= 50
    for spec in cat:
        assert spec.owners in OWNERS and spec.kind in KINDS and spec.unit in UNITS
        assert spec.source == "shipped" and spec.path and spec.label and spec.description
    with pytest.raises(Exception, match="frozen"):
        cat["leads"].label = "x"  # type: ignore[misc]
    assert {s.kind for s in cat} == set(KINDS)


def test_default_windows_are_the_shipped_window_days() -> None:
    # settings.DEFAULT_WINDOWS restates the YAML's windows (for settings without a catalogue);
    # read straight from the shipped files, so a change to either side must be made to both
    cohorts = {s.id: s.window_days for s in shipped_catalogue() if s.kind == "cohort_rate"}
    assert all(cohorts.values()), "every shipped cohort rate declares its window"
    assert cohorts == DEFAULT_WINDOWS


def test_workspace_adds_and_overrides(tmp_path: Path) -> None:
    write(
        tmp_path,
        "ours.yaml",
        """
metrics:
  - id: leads
    label: Leads (no partners)
    description: People created in the period, partner leads excluded.
    owners: marketing
    kind: count
    unit: count
    table: people
    time: created_at
    filters: {channel: {ne: partner}}
  - id: enterprise_pipeline
    label: Enterprise pipeline
    description: Pipeline created by enterprise-segment accounts... by type.
    owners: sales
    kind: sum
    unit: money
    table: opportunities
    time: created_at
    filters: {type: [new_business, upsell]}
    measure: amount
""",
    )
    cat = load_catalogue(tmp_path)
    assert cat["leads"].source == "workspace (overrides shipped)"
    assert cat["leads"].is_override and cat["leads"].label == "Leads (no partners)"
    assert cat["enterprise_pipeline"].source == "workspace"
    assert cat["revenue"].source == "shipped"
    # metrics built on the overridden one use the override
    assert cat.dimensions("cost_per_lead") == ("channel", "campaign")


def test_workspace_metrics_are_queried(loaded: Workspace, ref: Ref) -> None:
    folder = loaded.root / "metrics"
    path = write(
        folder,
        "team.yaml",
        """
metrics:
  - id: partner_leads
    label: Partner leads
    description: Leads from the partner channel.
    owners: shared
    kind: count
    unit: count
    table: people
    time: created_at
    filters: {channel: partner}
""",
    )
    try:
        rows = loaded.metrics.query("partner_leads", grain="year").to_pylist()
        expected = ref.rows(
            "SELECT year(created_at) y, count(*) n FROM people "
            "WHERE channel = 'partner' GROUP BY 1 ORDER BY 1"
        )
        assert [r["value"] for r in rows] == [e["n"] for e in expected]
        assert loaded.metrics.get("partner_leads").source == "workspace"
    finally:
        path.unlink()
    assert "partner_leads" not in [s.id for s in loaded.metrics.list()]


BAD = """
metrics:
  - id: broken_one
    label: Broken
    description: Many problems at once.
    owners: everyone
    kind: count
    unit: count
    table: people
    time: created_at
    filters: {chanel: email, persona: wizard}
    colour: blue
  - id: broken_two
    label: Broken too
    description: A ratio on a table that does not exist.
    owners: sales
    kind: ratio
    unit: percent
    table: deals
    time: closed_at
    numerator: {aggregate: count}
    denominator: {aggregate: count}
  - id: broken_three
    label: Broken three
    description: A derived metric of unknown parts.
    owners: shared
    kind: derived
    unit: number
    table: people
    formula: {numerator: leads * magic, denominator: "__import__('os')"}
  - id: broken_four
    label: Dims
    description: Asks for a dimension its table cannot reach.
    owners: marketing
    kind: sum
    unit: count
    table: web_traffic
    time: date
    measure: sessions
    dimensions: [channel, segment]
  - id: channel
    label: Reserved
    description: Named like a dimension.
    owners: marketing
    kind: count
    unit: count
    table: people
    time: created_at
  - id: no_label
    description: Missing a label.
    owners: marketing
    kind: count
    unit: count
    table: people
    time: created_at
  - id: cycle_a
    label: A
    description: Depends on b.
    owners: shared
    kind: derived
    unit: number
    formula: {numerator: cycle_b}
  - id: cycle_b
    label: B
    description: Depends on a.
    owners: shared
    kind: derived
    unit: number
    formula: {numerator: cycle_a}
"""


def test_bad_file_lists_every_problem(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", BAD)
    write(tmp_path, "also_bad.yaml", "metrics: [1, 2\n")
    with pytest.raises(CatalogueError) as info:
        load_catalogue(tmp_path)
    problems = {(p.metric, p.field): p for p in info.value.problems}
    text = str(info.value)
    assert str(path) in text and "also_bad.yaml: not valid YAML" in text
    assert "'marketing', 'sales' or 'shared'" in problems[("broken_one", "owners")].message
    assert "a metric's fields are: id, label" in problems[("broken_one", "colour")].message
    assert problems[("no_label", "label")].message == "required"
    assert ("cycle_a", None) in problems or ("cycle_b", None) in problems
    assert len(info.value.problems) >= 8


def test_semantic_problems_are_listed_with_allowed_values(tmp_path: Path) -> None:
    # the same file without its structural errors: now the meaning is checked
    text = BAD.replace("owners: everyone", "owners: marketing").replace("    colour: blue\n", "")
    text = text.replace("  - id: no_label\n", "  - id: no_label\n    label: L\n")
    write(tmp_path, "bad.yaml", text)
    with pytest.raises(CatalogueError) as info:
        load_catalogue(tmp_path)
    messages = {(p.metric, p.field): p.message for p in info.value.problems}
    one = [p.message for p in info.value.problems if p.metric == "broken_one"]
    assert any("people has no column 'chanel'; it has: person_id" in m for m in one)
    assert any("['wizard'] not allowed; allowed: executive" in m for m in one)
    assert "unknown table 'deals'; allowed: users" in messages[("broken_two", "table")]
    assert "unknown metric 'magic'" in messages[("broken_three", "formula.numerator")]
    assert "only previous, year_ago" in messages[("broken_three", "formula.denominator")]
    assert "not used by kind 'derived'" in messages[("broken_three", "table")]
    assert "result column or dimension name" in messages[("channel", "id")]
    assert "'segment' is not reachable" in messages[("broken_four", "dimensions")]
    assert any(
        "circular reference: cycle_a → cycle_b → cycle_a" in p.message for p in info.value.problems
    )


def test_dimension_problems_are_checked(tmp_path: Path) -> None:
    write(
        tmp_path,
        "dims.yaml",
        """
metrics:
  - id: web_by_segment
    label: Web
    description: Sessions by a dimension web traffic cannot reach.
    owners: marketing
    kind: sum
    unit: count
    table: web_traffic
    time: date
    measure: sessions
    dimensions: [channel, segment]
""",
    )
    with pytest.raises(CatalogueError, match=r"'segment' is not reachable.*reachable: channel"):
        load_catalogue(tmp_path)


def test_duplicate_ids_and_loader_fields_are_refused(tmp_path: Path) -> None:
    one = """  - {id: twice, label: T, description: D, owners: sales, kind: count, unit: count,
     table: people, time: created_at}\n"""
    write(tmp_path, "a.yaml", "metrics:\n" + one + one)
    write(tmp_path, "b.yaml", "metrics:\n  - {id: x, source: shipped}\n")
    with pytest.raises(CatalogueError) as info:
        load_catalogue(tmp_path)
    text = str(info.value)
    assert "'twice', field 'id': defined twice" in text
    assert "field 'source': set by the loader" in text


def test_sourcing_rule_is_configurable(loaded: Workspace, ref: Ref) -> None:
    path = write(
        loaded.root / "metrics",
        "sourcing.yaml",
        "sourcing:\n  rule: lead_source\n  marketing_channels: [email, webinar]\n",
    )
    try:
        assert loaded.metrics.catalogue.sourcing.source == "workspace"
        got = loaded.metrics.query("marketing_sourced_pipeline", grain="year").to_pylist()
        want = ref.rows(
            "SELECT year(created_at) y, sum(amount) v FROM opportunities "
            "WHERE channel IN ('email', 'webinar') GROUP BY 1 ORDER BY 1"
        )
        assert [r["value"] for r in got] == pytest.approx([float(w["v"]) for w in want])
        for rule in ("first_touch", "marketing_touch_before_sales"):
            path.write_text(f"sourcing: {{rule: {rule}}}\n", encoding="utf-8")
            share = loaded.metrics.query("marketing_sourced_share", grain="year").to_pylist()
            assert loaded.metrics.catalogue.sourcing.rule == rule
            assert all(0 < r["value"] <= 1 for r in share), rule
    finally:
        path.unlink()


def test_first_touch_rule_matches_reference(loaded: Workspace, ref: Ref) -> None:
    path = write(loaded.root / "metrics", "sourcing.yaml", "sourcing: {rule: first_touch}\n")
    try:
        got = loaded.metrics.query(
            "marketing_sourced_pipeline", grain="year", as_of=dt.datetime(2026, 11, 1)
        ).to_pylist()
    finally:
        path.unlink()
    channels = ", ".join(f"'{c}'" for c in shipped_catalogue().sourcing.marketing_channels)
    want = ref.rows(f"""
        SELECT year(o.created_at) y, sum(o.amount) FILTER (WHERE f.channel IN ({channels})) v
        FROM opportunities o LEFT JOIN (
          SELECT person_id, first(channel ORDER BY occurred_at, touch_id) channel
          FROM touchpoints GROUP BY 1) f USING (person_id)
        GROUP BY 1 ORDER BY 1""")
    assert [r["value"] for r in got] == pytest.approx([float(w["v"] or 0) for w in want])


def test_spec_is_a_validated_frozen_model() -> None:
    spec = MetricSpec.model_validate(
        {
            "id": "x",
            "label": "X",
            "description": "d",
            "owners": "sales",
            "kind": "count",
            "unit": "count",
            "table": "people",
            "time": "created_at",
            "filters": {"channel": ["email"], "mql_at": None, "persona": {"ne": "other"}},
        }
    )
    assert [f.describe() for f in spec.filters] == [
        "channel in (email)",
        "mql_at is empty",
        "persona ≠ other",
    ]
    with pytest.raises(ValueError, match="measure is exactly one of"):
        MetricSpec.model_validate(
            {
                "id": "y",
                "label": "Y",
                "description": "d",
                "owners": "sales",
                "kind": "sum",
                "unit": "money",
                "measure": {"column": "a", "sum_of": ["b"]},
            }
        )


def test_the_funnel_is_catalogue_metrics_that_fit_together(tmp_path: Path) -> None:
    funnel = shipped_catalogue().funnel
    assert funnel is not None and [s.stage for s in funnel.stages][:2] == ["lead", "mql"]
    assert funnel.stages[2].conversion == "sales_qualification_rate"
    write(
        tmp_path,
        "funnel.yaml",
        """funnel:
  overall: leads
  stages:
    - {stage: lead, label: Leads, owners: marketing, count: leads, conversion: mql_rate}
    - {stage: sql, label: SQLs, owners: shared, count: sqls, conversion: mql_rate}
    - {stage: won, label: Won, owners: sales, count: nope, conversion: win_rate}
""",
    )
    with pytest.raises(CatalogueError) as err:
        load_catalogue(tmp_path)
    text = str(err.value)
    assert "every stage but the first needs a conversion" in text  # the first has one
    assert "mql_rate does not reach people.sql_at (sqls)" in text
    assert "unknown metric 'nope'" in text
    assert "win_rate is a ratio; a funnel conversion needs a cohort_rate" in text
    assert "leads is a count; a funnel overall needs a cohort_rate" in text
    write(tmp_path, "funnel.yaml", "funnel:\n  stages: []\n")
    with pytest.raises(CatalogueError, match=r"funnel\.stages"):
        load_catalogue(tmp_path)
