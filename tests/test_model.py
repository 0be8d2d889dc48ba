"""The canonical model declaration is consistent, and its docs page is generated from it."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from revteam.exceptions import ModelError
from revteam.model import TABLES, enums, load_order, table
from revteam.model.docs import render_markdown


def test_references_point_at_keys_of_tables_loaded_earlier():
    order = load_order()
    for t in TABLES.values():
        for c in t.columns:
            if c.references is None:
                continue
            target = table(c.references.table)
            assert target.key == (c.references.column,), (t.name, c.name)
            if c.references.checked and target.name != t.name:
                assert order.index(target.name) < order.index(t.name), (t.name, c.name)


def test_every_table_creates_and_checks_compile():
    con = duckdb.connect()
    for t in TABLES.values():
        con.execute(t.create_sql())
        for check in t.checks:
            con.execute(f'SELECT count(*) FROM "{t.name}" WHERE NOT ({check.sql})').fetchall()


def test_channels_match_the_kpi_specification():
    assert set(enums.CHANNELS) == {
        "paid_search",
        "paid_social",
        "organic_search",
        "organic_social",
        "email",
        "events",
        "webinar",
        "content",
        "referral",
        "partner",
        "direct",
        "outbound",
        "other",
    }


def test_unknown_table_and_column_name_what_exists():
    with pytest.raises(ModelError, match="expected one of: users, accounts"):
        table("leads")
    with pytest.raises(KeyError, match="email"):
        table("people").column("mail")


def test_model_docs_are_fresh():
    path = Path(__file__).resolve().parents[1] / "docs" / "model.md"
    assert path.read_text(encoding="utf-8") == render_markdown(), (
        "docs/model.md is stale: run `python -m revteam.model.docs > docs/model.md`"
    )
