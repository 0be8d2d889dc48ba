"""Every generated table conforms to the canonical model (revteam.model is the reference)."""

from __future__ import annotations

import datetime as dt
import itertools

import pyarrow as pa
import pytest

from revteam.model import TABLES

ARROW = {
    "string": pa.string(),
    "integer": pa.int64(),
    "float": pa.float64(),
    "money": pa.decimal128(18, 2),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
}
CHECKED = [
    (name, col.name, col.references)
    for name, spec in TABLES.items()
    for col in spec.columns
    if col.references is not None and col.references.checked
]
CHECKS = [(name, check) for name, spec in TABLES.items() for check in spec.checks]
ENUMS = [(name, col.name, col.enum) for name, spec in TABLES.items() for col in spec if col.enum]
BOUNDED = [
    (name, col.name, col.min_value, col.max_value)
    for name, spec in TABLES.items()
    for col in spec
    if col.min_value is not None or col.max_value is not None
]


def test_all_canonical_tables_are_generated(company):
    assert list(company.tables) == list(TABLES)


@pytest.mark.parametrize("name", list(TABLES))
def test_columns_order_and_types_match_the_model(company, name):
    schema = company.tables[name].schema
    expected = [(c.name, ARROW[c.type]) for c in TABLES[name].columns]
    assert [(f.name, f.type) for f in schema] == expected


@pytest.mark.parametrize("name", list(TABLES))
def test_keys_are_unique(db, name):
    key = ", ".join(f'"{k}"' for k in TABLES[name].key)
    dupes = db.scalar(
        f"SELECT count(*) FROM (SELECT {key} FROM {name} GROUP BY ALL HAVING count(*) > 1)"
    )
    assert dupes == 0


@pytest.mark.parametrize("name", list(TABLES))
def test_required_columns_are_filled(db, name):
    for col in TABLES[name].required_columns:
        assert db.scalar(f'SELECT count(*) FROM {name} WHERE "{col}" IS NULL') == 0, col


@pytest.mark.parametrize(("name", "column", "ref"), CHECKED, ids=lambda x: getattr(x, "table", x))
def test_checked_references_resolve(db, name, column, ref):
    orphans = db.scalar(
        f'SELECT count(*) FROM {name} x WHERE x."{column}" IS NOT NULL AND NOT EXISTS '
        f'(SELECT 1 FROM {ref.table} y WHERE y."{ref.column}" = x."{column}")',
    )
    assert orphans == 0


def test_owner_references_resolve_too(db):
    for name, spec in TABLES.items():
        for col in spec:
            if col.references is not None and col.references.table == "users":
                orphans = db.scalar(
                    f'SELECT count(*) FROM {name} WHERE "{col.name}" IS NOT NULL AND "{col.name}" '
                    "NOT IN (SELECT user_id FROM users)",
                )
                assert orphans == 0, (name, col.name)


@pytest.mark.parametrize(("name", "check"), CHECKS, ids=lambda x: getattr(x, "name", x))
def test_model_checks_hold(db, name, check):
    assert db.scalar(f"SELECT count(*) FROM {name} WHERE NOT ({check.sql})") == 0, check.message


@pytest.mark.parametrize(("name", "column", "allowed"), ENUMS, ids=str)
def test_enums_are_respected(db, name, column, allowed):
    values = {v for (v,) in db.rows(f'SELECT DISTINCT "{column}" FROM {name}')} - {None}
    assert values <= set(allowed)
    assert values, f"{name}.{column} is never filled"


@pytest.mark.parametrize(("name", "column", "low", "high"), BOUNDED, ids=str)
def test_bounds_are_respected(db, name, column, low, high):
    if low is not None:
        assert db.scalar(f'SELECT count(*) FROM {name} WHERE "{column}" < {low}') == 0
    if high is not None:
        assert db.scalar(f'SELECT count(*) FROM {name} WHERE "{column}" > {high}') == 0


def test_nothing_happens_at_or_after_the_as_of(company, db):
    as_of = company.as_of
    for name, spec in TABLES.items():
        for col in spec:
            if col.type in ("timestamp", "date"):
                latest = db.scalar(f'SELECT max("{col.name}") FROM {name}')
                if col.name in ("expected_close_date", "end_date", "start_date"):
                    continue  # forecasts and plans may lie in the future
                if isinstance(latest, dt.datetime):
                    assert latest < as_of, (name, col.name)
                elif latest is not None:
                    assert latest < as_of.date(), (name, col.name)


def test_a_later_stage_implies_the_earlier_ones(db):
    chain = TABLES["people"].fill_chain
    for earlier, later in itertools.pairwise(chain):
        missing = db.scalar(
            f"SELECT count(*) FROM people WHERE {later} IS NOT NULL AND {earlier} IS NULL"
        )
        assert missing == 0, (earlier, later)


def test_ids_are_readable_and_prefixed(company):
    prefixes = {
        ("people", "person_id"): "P",
        ("accounts", "account_id"): "A",
        ("opportunities", "opportunity_id"): "O",
        ("campaigns", "campaign_id"): "C",
        ("users", "user_id"): "U",
        ("orders", "order_id"): "ORD",
        ("touchpoints", "touch_id"): "T",
    }
    for (name, column), prefix in prefixes.items():
        values = company.tables[name].column(column).to_pylist()
        assert all(v.startswith(prefix) and v[len(prefix) :].isdigit() for v in values), name
