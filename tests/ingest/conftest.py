from __future__ import annotations

from pathlib import Path

import pytest

from revteam.workspace import Workspace

ACCOUNTS = """account_id,name,segment,region,created_at
A1,Acme,smb,emea,2024-01-01
A2,Beta,enterprise,north_america,2024-01-02
"""

PEOPLE_HEADER = "person_id,email,channel,account_id,created_at,mql_at,sql_at\n"


@pytest.fixture
def accounts_loaded(ws: Workspace, tmp_path: Path) -> Workspace:
    path = tmp_path / "accounts.csv"
    path.write_text(ACCOUNTS)
    [result] = ws.ingest.load("accounts", path)
    assert result.inserted == 2 and result.quarantined == 0
    return ws


def rows(ws: Workspace, sql: str) -> list[tuple[object, ...]]:
    return ws.warehouse.con.execute(sql).fetchall()


def reasons_by_line(ws: Workspace, table: str) -> dict[int, list[str]]:
    q = ws.ingest.quarantine(table=table).to_pylist()
    return {r["line"]: r["reasons"] for r in q}
