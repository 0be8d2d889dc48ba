"""The generated metrics page is current, and the package's public names are pinned."""

from __future__ import annotations

from pathlib import Path

import revteam.metrics
from revteam.metrics import shipped_catalogue
from revteam.metrics.docs import formula_in_words, render_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


def test_metrics_page_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == render_markdown(), (
        "docs/metrics.md is stale: run `python scripts/gen_metrics_doc.py`"
    )


def test_page_lists_every_metric_with_its_owners() -> None:
    page = render_markdown()
    for spec in shipped_catalogue():
        section = page.split(f"### `{spec.id}` — ")[1].split("###")[0]
        assert f"| Owners | {spec.owners} |" in section
        assert formula_in_words(spec).replace("|", "\\|") in section


def test_formula_in_words() -> None:
    cat = shipped_catalogue()
    assert formula_in_words(cat["revenue"]) == (
        "Σ amount of opportunities where is_won = true, placed in the period of `closed_at`"
    )
    assert formula_in_words(cat["cac"]) == "`total_cost` ÷ `new_customers`"
    assert "within the window" in formula_in_words(cat["mql_rate"])
    assert "open at the end of the period" in formula_in_words(cat["open_pipeline"])


def test_exported_members() -> None:
    assert set(revteam.metrics.__all__) == {
        "BREAKDOWNS",
        "DIMENSIONS",
        "GRAINS",
        "Catalogue",
        "Definitions",
        "Grain",
        "MetricResult",
        "MetricSpec",
        "MetricsComponent",
        "Sourcing",
        "compile_sql",
        "load_catalogue",
        "shipped_catalogue",
    }
    for name in revteam.metrics.__all__:
        assert hasattr(revteam.metrics, name)
