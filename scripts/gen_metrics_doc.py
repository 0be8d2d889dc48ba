"""Regenerate docs/metrics.md from the shipped metric catalogue."""

from __future__ import annotations

from pathlib import Path

from revteam.metrics.docs import render_markdown

if __name__ == "__main__":
    target = Path(__file__).resolve().parents[1] / "docs" / "metrics.md"
    target.write_text(render_markdown(), encoding="utf-8")
    print(f"wrote {target}")
