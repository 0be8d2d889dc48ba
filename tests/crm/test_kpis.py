"""File → canonical → KPIs: the CRM paths give the direct load's numbers."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.crm.conftest import crm

import revteam
from revteam.crm import write_hubspot_exports, write_salesforce_exports
from revteam.generate import Company
from revteam.workspace import Workspace

metrics = pytest.importorskip("revteam.metrics")
KPIS = ["leads", "mqls", "revenue", "win_rate"]


def _kpis(ws: Workspace) -> list[dict]:
    result = ws.metrics.query(KPIS, grain="month")
    rows = result.to_pylist()
    keep = ("metric", "period", "value", "numerator", "denominator")
    return sorted(
        ({k: r.get(k) for k in keep} for r in rows),
        key=lambda r: (str(r["metric"]), str(r["period"])),
    )


@pytest.mark.slow
@pytest.mark.parametrize("system", ["hubspot", "salesforce"])
def test_kpis_by_month_match_the_direct_load(
    company: Company, direct: Workspace, tmp_path: Path, system: str
):
    writer = write_hubspot_exports if system == "hubspot" else write_salesforce_exports
    writer(company, tmp_path / system)
    with revteam.init(tmp_path / "ws") as ws:
        crm(ws).load_exports_folder(system, tmp_path / system)
        expected = _kpis(direct)
        assert expected and _kpis(ws) == expected
