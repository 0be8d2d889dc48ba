"""Render the canonical model as Markdown (``docs/model.md``), so the docs cannot drift from code.

Regenerate with ``python -m revteam.model.docs > docs/model.md``; a test fails when it is stale.
"""

from __future__ import annotations

from revteam.model.schema import Column, Table
from revteam.model.tables import TABLES


def _constraints(table: Table, col: Column) -> str:
    parts = []
    if col.name in table.key:
        parts.append("key" + (" (may be empty)" if col.name in table.nullable_key else ""))
    elif col.name in table.required_columns:
        parts.append("required")
    if col.references:
        ref = col.references
        parts.append(f"→ `{ref.table}.{ref.column}`" + ("" if ref.checked else " (not checked)"))
    if col.enum:
        parts.append("one of " + ", ".join(f"`{e}`" for e in col.enum))
    if col.min_value is not None:
        parts.append(f"≥ {col.min_value:g}")
    if col.max_value is not None:
        parts.append(f"≤ {col.max_value:g}")
    return "; ".join(parts)


def render_table(table: Table) -> str:
    lines = [f"## `{table.name}`", "", table.description, ""]
    lines.append(f"Key: {', '.join(f'`{k}`' for k in table.key)}.")
    if table.time_column:
        lines[-1] += f" Time column: `{table.time_column}`."
    lines += ["", "| column | type | meaning | rules |", "|---|---|---|---|"]
    for c in table.columns:
        lines.append(f"| `{c.name}` | {c.type} | {c.description} | {_constraints(table, c)} |")
    if table.checks:
        lines += ["", "Row rules (a row breaking one is quarantined with the message):", ""]
        lines += [f"- `{ch.sql}` — “{ch.message}”" for ch in table.checks]
    if table.fill_chain:
        chain = " → ".join(f"`{c}`" for c in table.fill_chain)
        lines += [
            "",
            f"Stage chain {chain}: a later stamp implies the earlier ones; a missing earlier "
            "stamp is filled with the next later one at ingest and reported in the load's notes.",
        ]
    return "\n".join(lines)


def render_markdown() -> str:
    head = [
        "# Canonical model",
        "",
        "Generated from `revteam.model` by `python -m revteam.model.docs`; do not edit by hand.",
        "",
        "Every table also has the lineage columns `_source` (file), `_loaded_at` and "
        "`_ingest_run`. Tables are listed in load order: load a table after the tables it "
        "points to, so that its references resolve.",
        "",
        "Types: `money` is an exact decimal with two places in the workspace currency; "
        "`timestamp` is a local time in the workspace's time zone.",
    ]
    return "\n".join(head) + "\n\n" + "\n\n".join(render_table(t) for t in TABLES.values()) + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")
