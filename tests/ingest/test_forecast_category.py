"""``opportunities.forecast_category``: optional, validated, and added to older warehouses.

A file without the column loads exactly as before (the category empty); a value outside the
vocabulary is refused with its reason; a warehouse written before the column existed gets it
when next opened for writing, its rows kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
from tests.ingest.conftest import reasons_by_line, rows

import revteam
from revteam.model import METADATA_COLUMNS, table
from revteam.storage import quote_ident
from revteam.workspace import Workspace

HEADER = "opportunity_id,type,created_at,stage,is_closed,is_won,amount,probability,closed_at"
DEALS = (
    "O1,new_business,2025-01-02,qualification,false,false,1000,0.1,",
    "O2,upsell,2025-01-03,closed_won,true,true,2000,1,2025-01-20",
)


def _csv(deals: Sequence[str], categories: Sequence[str] | None = None) -> str:
    """Deals, with a ``forecast_category`` column when ``categories`` are given."""
    if categories is None:
        return "\n".join((HEADER, *deals)) + "\n"
    lines = (f"{d},{c}" for d, c in zip(deals, categories, strict=True))
    return "\n".join((HEADER + ",forecast_category", *lines)) + "\n"


def _load(ws: Workspace, path: Path, text: str) -> tuple[int, int, int, list[str]]:
    path.write_text(text, encoding="utf-8")
    [result] = ws.ingest.load("opportunities", path)
    return result.inserted, result.updated, result.quarantined, list(result.notes)


def test_a_file_without_the_column_loads_as_before(ws: Workspace, tmp_path: Path):
    assert _load(ws, tmp_path / "deals.csv", _csv(DEALS)) == (2, 0, 0, [])
    got = rows(ws, "SELECT opportunity_id, type, stage, forecast_category FROM opportunities")
    assert sorted(got) == [
        ("O1", "new_business", "qualification", None),
        ("O2", "upsell", "closed_won", None),
    ]
    assert _load(ws, tmp_path / "deals.csv", _csv(DEALS)) == (0, 0, 0, [])  # nothing changed


def test_categories_load_in_any_spelling_and_unknown_ones_are_refused(
    ws: Workspace, tmp_path: Path
):
    late = "renewal,2025-01-04,negotiation,false,false,3000,0.6,"
    deals = (*DEALS, f"O3,{late}", f"O4,{late}")
    text = _csv(deals, ("Best Case", "CLOSED", "most likely", ""))
    assert _load(ws, tmp_path / "deals.csv", text)[:3] == (3, 0, 1)
    got = dict(rows(ws, "SELECT opportunity_id, forecast_category FROM opportunities"))
    assert got == {"O1": "best_case", "O2": "closed", "O4": None}
    [reason] = reasons_by_line(ws, "opportunities")[4]
    assert reason.startswith(
        "forecast_category: 'most_likely' is not one of pipeline, best_case, commit, closed, "
        "omitted"
    )


def test_an_older_warehouse_gets_the_column_and_keeps_its_rows(tmp_path: Path):
    root = tmp_path / "ws"
    with revteam.init(root) as ws:
        path = ws.warehouse.path
        assert _load(ws, tmp_path / "deals.csv", _csv(DEALS))[0] == 2
    assert path is not None
    spec = table("opportunities")
    names = ", ".join(quote_ident(c) for c in spec.column_names if c != "forecast_category")
    names += ", " + ", ".join(n for n, _ in METADATA_COLUMNS)
    with duckdb.connect(str(path)) as con:  # the table as the version before wrote it
        con.execute(f"CREATE TABLE old AS SELECT {names} FROM opportunities")
        con.execute("DROP TABLE opportunities")
        con.execute("ALTER TABLE old RENAME TO opportunities")
        before = con.execute(f"SELECT {names} FROM opportunities ORDER BY 1").fetchall()
    with revteam.open(root) as ws:
        layout = [r[0] for r in rows(ws, "DESCRIBE opportunities")]
        assert layout == [*spec.column_names, *(n for n, _ in METADATA_COLUMNS)]
        assert rows(ws, f"SELECT {names} FROM opportunities ORDER BY 1") == before
        assert rows(ws, "SELECT count(forecast_category) FROM opportunities") == [(0,)]
        # loads write into the rebuilt table as into a new one
        assert _load(ws, tmp_path / "deals.csv", _csv(DEALS)) == (0, 0, 0, [])
        text = _csv(DEALS, ("pipeline", "closed"))
        assert _load(ws, tmp_path / "deals.csv", text)[:3] == (0, 2, 0)
        got = rows(ws, "SELECT opportunity_id, forecast_category FROM opportunities ORDER BY 1")
        assert got == [("O1", "pipeline"), ("O2", "closed")]
