"""A deal's forecast category from each CRM shape, in the CRM's own vocabulary.

Salesforce: ``ForecastCategory`` (API values ``Pipeline``, ``BestCase``, ``Forecast`` for
Commit, ``Closed``, ``Omitted``) and ``ForecastCategoryName`` / the report's ``Forecast
Category`` (``Pipeline``, ``Best Case``, ``Commit``, ``Closed``, ``Omitted``). HubSpot:
``hs_manual_forecast_category`` (``PIPELINE``, ``BEST_CASE``, ``COMMIT``, ``CLOSED``, ``OMIT``),
exported as ``Forecast category`` with its labels. A value no mapping knows (Most Likely, which
a Salesforce admin can add) refuses the deal, naming the value and the fix; mapped in
``crm.yaml``, it loads.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import write
from tests.crm.conftest import CRM_FIXTURES, crm, reasons, rows

from revteam.crm import write_hubspot_exports, write_salesforce_exports
from revteam.crm.mapping import read_crm_file
from revteam.exceptions import CrmConfigError
from revteam.generate import GeneratorConfig, generate_company
from revteam.model.enums import FORECAST_CATEGORIES
from revteam.workspace import Workspace

FIX = "(map it with forecast_categories in crm.yaml)"


def _refusal(value: str) -> str:
    return (
        f"forecast_category: '{value}' is not one of pipeline, best_case, commit, closed, "
        f"omitted, and revteam does not guess which one it means {FIX}"
    )


def _categories(ws: Workspace) -> dict[str, str | None]:
    return dict(rows(ws, "opportunities", ("opportunity_id", "forecast_category")))


def _unmapped(ws: Workspace, system: str, source: Path) -> list[tuple[str, int, str, str]]:
    return [
        (u.value, u.rows, u.outcome, u.setting)
        for u in crm(ws).unmapped(system, source)
        if u.field == "forecast_category"
    ]


# -- Salesforce --------------------------------------------------------------------------------
SF_REPORT = (
    '"Opportunity ID","Opportunity Name","Stage","Amount","Close Date","Created Date","Type",'
    '"Forecast Category"\n'
    + "".join(
        f'"006{i}","Deal {i}","{stage}","$1,000.00","3/1/2025","2/1/2025 9:00 AM",'
        f'"New Customer","{category}"\n'
        for i, (stage, category) in enumerate(
            [
                ("Prospecting", "Pipeline"),
                ("Proposal/Price Quote", "Best Case"),
                ("Negotiation/Review", "Commit"),
                ("Closed Won", "Closed"),
                ("Closed Lost", "Omitted"),
                ("Negotiation/Review", ""),
                ("Negotiation/Review", "Most Likely"),
            ]
        )
    )
)


def test_salesforce_report_categories_map_and_most_likely_waits_for_a_mapping(
    ws: Workspace, tmp_path: Path
):
    folder = tmp_path / "sf"
    folder.mkdir()
    write(folder / "opportunities.csv", SF_REPORT)
    assert _unmapped(ws, "salesforce", folder) == [
        ("Most Likely", 1, "refused (quarantine)", "forecast_categories in crm.yaml")
    ]
    result = crm(ws).load_salesforce(folder)
    assert result.result("opportunities").quarantined == 1
    assert _categories(ws) == {
        "0060": "pipeline",
        "0061": "best_case",
        "0062": "commit",
        "0063": "closed",
        "0064": "omitted",
        "0065": None,  # no category: loads empty
    }
    assert reasons(ws, "opportunities") == [[_refusal("Most Likely")]]
    write(ws.root / "crm.yaml", "forecast_categories: {Most Likely: best_case}\n")
    crm(ws).load_salesforce(folder)
    assert _categories(ws)["0066"] == "best_case"
    assert reasons(ws, "opportunities") == []  # the mapped reload resolves the refusal


SF_OBJECTS = "id,name,stage_name,amount,close_date,created_date,type,is_deleted," + (
    "forecast_category,forecast_category_name\n"
    + "".join(
        f"006{i},Deal {i},{stage},1000,2025-03-01,2025-02-01T09:00:00Z,New Customer,false,"
        f"{api},{name}\n"
        for i, (stage, api, name) in enumerate(
            [
                ("Prospecting", "Pipeline", "Pipeline"),
                ("Proposal/Price Quote", "BestCase", "Best Case"),
                ("Negotiation/Review", "Forecast", "Commit"),
                ("Closed Won", "Closed", "Closed"),
                ("Closed Lost", "Omitted", "Omitted"),
                ("Negotiation/Review", "", "Commit"),  # only the name: read from it
                ("Negotiation/Review", "Forecast", "Commit (renamed)"),  # the API value wins
                ("Negotiation/Review", "MostLikely", "Most Likely"),
            ]
        )
    )
)


def test_salesforce_api_values_map_faithfully_and_win_over_renamed_names(
    ws: Workspace, tmp_path: Path
):
    folder = tmp_path / "fivetran"
    folder.mkdir()
    write(folder / "sf_opportunity_data.csv", SF_OBJECTS)
    assert [u[0] for u in _unmapped(ws, "salesforce", folder)] == ["MostLikely"]
    crm(ws).load_salesforce(folder)
    assert _categories(ws) == {
        "0060": "pipeline",
        "0061": "best_case",
        "0062": "commit",
        "0063": "closed",
        "0064": "omitted",
        "0065": "commit",
        "0066": "commit",
    }
    assert reasons(ws, "opportunities") == [[_refusal("MostLikely")]]


def test_salesforce_exports_without_the_column_load_without_a_category(ws: Workspace):
    result = crm(ws).load_salesforce(CRM_FIXTURES / "salesforce_reports")
    assert result.result("opportunities").inserted > 0
    assert set(_categories(ws).values()) == {None}


# -- HubSpot -----------------------------------------------------------------------------------
HS_EXPORT = (
    "Record ID,Deal Name,Deal Stage,Amount,Close Date,Create Date,Forecast category\n"
    + "".join(
        f"D{i},Deal {i},{stage},1000,2025-03-01,2025-02-01 09:00,{category}\n"
        for i, (stage, category) in enumerate(
            [
                ("Appointment Scheduled", "Pipeline"),
                ("Presentation Scheduled", "Best case"),
                ("Contract Sent", "Commit"),
                ("Closed Won", "Closed won"),
                ("Closed Lost", "Not forecasted"),
                ("Contract Sent", ""),
                ("Contract Sent", "Most likely"),
            ]
        )
    )
)


def test_hubspot_export_labels_map_and_an_unknown_one_is_refused(ws: Workspace, tmp_path: Path):
    write(tmp_path / "deals.csv", HS_EXPORT)
    assert _unmapped(ws, "hubspot", tmp_path) == [
        ("Most likely", 1, "refused (quarantine)", "forecast_categories in crm.yaml")
    ]
    result = crm(ws).load_hubspot(tmp_path)
    assert result.result("opportunities").quarantined == 1
    assert _categories(ws) == {
        "D0": "pipeline",
        "D1": "best_case",
        "D2": "commit",
        "D3": "closed",
        "D4": "omitted",
        "D5": None,
    }
    assert reasons(ws, "opportunities") == [[_refusal("Most likely")]]


HS_OBJECTS = {
    "deal_pipeline_stage_data.csv": "stage_id,label,is_closed,closed_won\n"
    "open,Contract Sent,false,false\nwon,Closed Won,true,true\nlost,Closed Lost,true,false\n",
    "deal_data.csv": "deal_id,property_dealname,deal_pipeline_stage_id,property_amount,"
    "property_createdate,property_closedate,is_deleted,property_hs_manual_forecast_category,"
    "property_hs_forecast_category\n"
    + "".join(
        f"D{i},Deal {i},{stage},100,2025-02-01,2025-03-01,false,{manual},{category}\n"
        for i, (stage, manual, category) in enumerate(
            [
                ("open", "PIPELINE", ""),
                ("open", "BEST_CASE", ""),
                ("open", "COMMIT", "PIPELINE"),  # the rep's own category first
                ("won", "CLOSED", ""),
                ("lost", "OMIT", ""),
                ("open", "", "COMMIT"),
                ("open", "", ""),
                ("open", "MOST_LIKELY", ""),
            ]
        )
    ),
}


def test_hubspot_api_values_map_and_an_unknown_one_is_refused(ws: Workspace, tmp_path: Path):
    folder = tmp_path / "fivetran"
    folder.mkdir()
    for name, text in HS_OBJECTS.items():
        write(folder / name, text)
    crm(ws).load_hubspot(folder)
    assert _categories(ws) == {
        "D0": "pipeline",
        "D1": "best_case",
        "D2": "commit",
        "D3": "closed",
        "D4": "omitted",
        "D5": "commit",
        "D6": None,
    }
    assert reasons(ws, "opportunities") == [[_refusal("MOST_LIKELY")]]


def test_crm_yaml_maps_only_onto_canonical_categories(tmp_path: Path):
    path = write(tmp_path / "crm.yaml", "forecast_categories: {Most Likely: likely}\n")
    with pytest.raises(CrmConfigError, match="'Most Likely' → 'likely' is not one of pipeline"):
        read_crm_file(path)


# -- round trip ----------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("system", ["hubspot", "salesforce"])
def test_each_crm_s_vocabulary_round_trips_every_category(
    ws: Workspace, tmp_path: Path, system: str
):
    # large enough for a deal in every category (open deals in proposal and negotiation too)
    company = generate_company(GeneratorConfig(n_leads=1500, seed=11))
    planted = company.tables["opportunities"].select(["opportunity_id", "forecast_category"])
    expected = dict(zip(*planted.to_pydict().values(), strict=True))
    assert set(expected.values()) == set(FORECAST_CATEGORIES)
    writer = write_hubspot_exports if system == "hubspot" else write_salesforce_exports
    writer(company, tmp_path / system)
    results = crm(ws).load_exports_folder(system, tmp_path / system)
    assert sum(r.quarantined for r in results) == 0
    assert _categories(ws) == expected
