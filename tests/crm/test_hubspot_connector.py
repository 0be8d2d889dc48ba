"""The HubSpot connector against a fake HubSpot on 127.0.0.1: paging, increments, limits, auth."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer
from tests.crm.conftest import crm, rows
from tests.crm.fakes import FakeHubSpot, hs_record

from revteam.crm import Backoff
from revteam.exceptions import CrmApiError, CrmAuthError
from revteam.workspace import Workspace

STAGES = [
    ("appointmentscheduled", "Appointment Scheduled", "false", "0.2"),
    ("qualifiedtobuy", "Qualified To Buy", "false", "0.4"),
    ("closedwon", "Closed Won", "true", "1.0"),
    ("closedlost", "Closed Lost", "true", "0.0"),
]


@pytest.fixture
def hubspot() -> Iterator[tuple[HTTPServer, FakeHubSpot]]:
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    fake = FakeHubSpot()
    fake.stages = [
        {"id": i, "label": label, "displayOrder": n, "metadata": {"isClosed": c, "probability": p}}
        for n, (i, label, c, p) in enumerate(STAGES)
    ]
    fake.owners = [
        {
            "id": "501",
            "email": "ana@vendor.io",
            "firstName": "Ana",
            "lastName": "Lima",
            "teams": [{"id": "9", "name": "Marketing", "primary": True}],
            "archived": False,
        },
        {
            "id": "502",
            "email": "bo@vendor.io",
            "firstName": "Bo",
            "lastName": "Berg",
            "teams": [],
            "archived": False,
        },
    ]
    fake.objects["companies"] = [
        hs_record(
            "11",
            "2025-01-02T00:00:00Z",
            name="Acme",
            domain="acme.com",
            createdate="2024-12-01T10:00:00Z",
            hubspot_owner_id="502",
        ),
        hs_record(
            "12",
            "2025-01-03T00:00:00Z",
            name="Beta",
            domain="beta.io",
            createdate="2024-12-02T10:00:00Z",
        ),
    ]
    fake.objects["contacts"] = [
        hs_record(
            str(100 + i),
            f"2025-01-1{i}T00:00:00Z",
            email=f"p{i}@acme.com",
            firstname=f"P{i}",
            lastname="Doe",
            associatedcompanyid="11",
            createdate=f"2025-01-0{i + 1}T08:00:00Z",
            hs_analytics_source="ORGANIC_SEARCH",
            hs_lifecyclestage_marketingqualifiedlead_date=f"2025-01-0{i + 2}T08:00:00Z",
        )
        for i in range(5)
    ]
    fake.objects["deals"] = [
        hs_record(
            "900",
            "2025-02-01T00:00:00Z",
            dealname="Acme deal",
            dealstage="closedwon",
            amount="5000",
            createdate="2025-01-10T09:00:00Z",
            closedate="2025-01-31",
            hs_date_entered_appointmentscheduled="2025-01-10T09:00:00Z",
            hs_date_entered_closedwon="2025-01-30T15:00:00Z",
            hubspot_owner_id="501",
            hs_manual_forecast_category="CLOSED",
        ),
    ]
    fake.associations[("deals", "companies")] = [("900", "11")]
    fake.associations[("deals", "contacts")] = [("900", "101")]
    server.expect_request(re.compile(".*")).respond_with_handler(fake)
    yield server, fake
    server.clear()
    server.stop()


def _sync(ws: Workspace, server: HTTPServer, token: str = "pat-good", **options):
    waits: list[float] = []
    backoff = Backoff(attempts=3, base=0.001, sleep=waits.append)
    result = crm(ws).sync_hubspot(token=token, host=server.url_for("/"), backoff=backoff, **options)
    return result, waits


def test_first_sync_pages_through_everything_and_loads_it(ws: Workspace, hubspot):
    server, fake = hubspot
    result, waits = _sync(ws, server)
    assert waits == []
    assert result.fetched["contact"] == 5 and result.fetched["owner"] == 2
    gets = [p for m, p, _ in fake.requests if p == "/crm/v3/objects/contacts"]
    assert len(gets) == 3 + 1  # 5 contacts in pages of 2, and the (empty) list of archived ones
    assert rows(ws, "people", ("person_id", "account_id", "channel"))[0] == (
        "100",
        "11",
        "organic_search",
    )
    assert rows(ws, "users", ("user_id", "team")) == [("501", "marketing"), ("502", "sales")]
    [deal] = rows(
        ws, "opportunities", ("account_id", "person_id", "owner_id", "stage", "is_won", "closed_at")
    )
    assert deal[:5] == ("11", "101", "501", "closed_won", True)
    assert str(deal[5]) == "2025-01-30 15:00:00"
    assert rows(ws, "opportunities", ("forecast_category",)) == [("closed",)]
    assert [r[2] for r in rows(ws, "opportunity_stages")] == ["qualification", "closed_won"]
    state = json.loads((ws.root / "crm" / "hubspot" / "state.json").read_text())
    assert state["high_water_marks"]["contact"] == "1736812800000"  # 2025-01-14, the newest


def test_next_sync_asks_only_for_what_changed(ws: Workspace, hubspot):
    server, fake = hubspot
    _sync(ws, server)
    fake.requests.clear()
    fake.objects["contacts"][4] = hs_record(
        "104",
        "2025-03-01T00:00:00Z",
        email="p4@acme.com",
        firstname="Pat",
        lastname="Doe",
        associatedcompanyid="11",
        createdate="2025-01-05T08:00:00Z",
    )
    fake.objects["contacts"].append(
        hs_record(
            "105",
            "2025-03-02T00:00:00Z",
            email="new@beta.io",
            associatedcompanyid="12",
            createdate="2025-03-02T08:00:00Z",
        )
    )
    result, _ = _sync(ws, server)
    searches = [b for m, p, b in fake.requests if p == "/crm/v3/objects/contacts/search"]
    assert searches and searches[0]["filterGroups"][0]["filters"][0]["value"] == "1736812800000"
    assert result.fetched["contact"] == 2  # the changed one and the new one
    people = result.load.result("people")
    assert (people.inserted, people.updated) == (1, 1)
    assert ("104", "Pat") in rows(ws, "people", ("person_id", "first_name"))
    assert len(rows(ws, "people")) == 6  # the mirror keeps the contacts not fetched again


def test_records_deleted_in_hubspot_leave_the_warehouse(ws: Workspace, hubspot):
    server, fake = hubspot
    _sync(ws, server)
    assert len(rows(ws, "opportunities")) == 1 and len(rows(ws, "opportunity_stages")) == 2
    version = ws.data_version
    fake.requests.clear()
    # archived since the last sync: gone from search, listed with archived=true
    gone = fake.objects["contacts"].pop(2) | {"archived": True,
                                              "archivedAt": "2025-03-05T00:00:00Z"}  # fmt: skip
    fake.archived["contacts"] = [
        gone,
        # archived long before the last sync (and never loaded): not fetched as new
        hs_record("99", "2024-01-01T00:00:00Z") | {"archived": True,
                                                   "archivedAt": "2024-06-01T00:00:00Z"},
    ]  # fmt: skip
    fake.archived["deals"] = [
        fake.objects["deals"].pop() | {"archived": True, "archivedAt": "2025-03-05T00:00:00Z"}
    ]
    result, _ = _sync(ws, server)
    assert result.fetched["contact"] == 2  # the newest (searched with >=) and the deleted one
    assert result.load.removed == {"people": 1, "opportunities": 1, "opportunity_stages": 2}
    assert ("102",) not in rows(ws, "people", ("person_id",))
    assert len(rows(ws, "people")) == 4
    assert rows(ws, "opportunities") == [] and rows(ws, "opportunity_stages") == []
    assert ws.data_version > version
    # an incremental sync searches; its only list call is the one for archived records
    assert ("GET", "/crm/v3/objects/contacts") in [(m, p) for m, p, _ in fake.requests]


def test_rows_pointing_at_a_deleted_record_are_detached_or_go_with_it(ws: Workspace, hubspot):
    server, fake = hubspot
    fake.objects["companies"][0]["properties"]["tier"] = "gold"  # a field kept aside
    _sync(ws, server)
    extra = ws.warehouse.con.execute(
        "SELECT count(*) FROM crm_extra_fields WHERE canonical_table = 'accounts' "
        "AND record_id = '11'"
    ).fetchall()
    assert extra == [(1,)]
    company = fake.objects["companies"].pop(0) | {"archived": True,
                                                  "archivedAt": "2025-03-05T00:00:00Z"}  # fmt: skip
    fake.archived["companies"] = [company]
    result, _ = _sync(ws, server)
    # a deal may exist without a company (account_id is optional): the deal, its stage
    # history and the contacts stay, no longer pointing at the company
    assert result.load.removed == {"accounts": 1}
    assert rows(ws, "accounts", ("account_id",)) == [("12",)]
    assert rows(ws, "people", ("person_id", "account_id")) == [
        (str(100 + i), None) for i in range(5)
    ]
    assert [a for (a,) in rows(ws, "opportunities", ("account_id",))] == [None]
    assert len(rows(ws, "opportunity_stages")) == 2
    assert result.load.quarantined == 0 and ws.ingest.quarantine().num_rows == 0
    summary = {r["table"]: r["removed"] for r in result.load.rows()}
    assert summary["accounts"] == 1 and summary["opportunities"] == 0
    assert ws.warehouse.con.execute(
        "SELECT count(*) FROM crm_extra_fields WHERE canonical_table = 'accounts' "
        "AND record_id = '11'"
    ).fetchall() == [(0,)]
    again, _ = _sync(ws, server)  # the mirror still holds them: nothing refused, nothing more
    assert again.load.removed == {} and again.load.quarantined == 0


def test_sync_bookkeeping_is_not_kept_aside_as_fields(ws: Workspace, hubspot):
    server, _ = hubspot
    _sync(ws, server)
    kept = ws.warehouse.con.execute(
        "SELECT DISTINCT unnest(map_keys(fields)) FROM crm_extra_fields"
    ).fetchall()
    assert not {k for (k,) in kept} & {"is_deleted", "updated_at"}


def test_an_archived_record_without_an_archive_time_is_still_removed(ws: Workspace, hubspot):
    server, fake = hubspot
    _sync(ws, server)
    gone = fake.objects["contacts"].pop(1) | {"archived": True}  # no archivedAt
    fake.archived["contacts"] = [gone]
    result, _ = _sync(ws, server)
    assert result.load.removed == {"people": 1}
    assert ("101",) not in rows(ws, "people", ("person_id",))


def test_a_full_sync_removes_what_was_deleted_since(ws: Workspace, hubspot):
    server, fake = hubspot
    _sync(ws, server)
    gone = fake.objects["contacts"].pop(0) | {"archived": True,
                                              "archivedAt": "2025-03-05T00:00:00Z"}  # fmt: skip
    fake.archived["contacts"] = [gone]
    result, _ = _sync(ws, server, full=True)
    assert result.load.removed == {"people": 1}
    assert [r[0] for r in rows(ws, "people", ("person_id",))] == ["101", "102", "103", "104"]


def test_rate_limits_are_waited_out(ws: Workspace, hubspot):
    server, fake = hubspot
    limit = {
        "status": "error",
        "category": "RATE_LIMITS",
        "message": "You have reached your secondly limit.",
    }
    fake.failures += [("/crm/v3/objects/contacts", 429, limit)] * 2
    result, waits = _sync(ws, server)
    assert len(waits) == 2 and all(w < 0.01 for w in waits)
    assert result.load.result("people").inserted == 5


def test_a_limit_that_does_not_clear_fails_cleanly(ws: Workspace, hubspot):
    server, fake = hubspot
    fake.failures += [("/crm/v3/objects/deals", 429, {"category": "RATE_LIMITS"})] * 5
    version = ws.data_version
    with pytest.raises(CrmApiError, match="rate limit still exceeded"):
        _sync(ws, server)
    assert ws.data_version == version and rows(ws, "people") == []
    assert not (ws.root / "crm" / "hubspot" / "state.json").exists()


@pytest.mark.parametrize("where", ["token", "deals"])
def test_auth_failure_writes_nothing(ws: Workspace, hubspot, where: str):
    server, fake = hubspot
    token = "pat-wrong" if where == "token" else "pat-good"
    if where == "deals":  # the token is revoked half-way through the fetch
        fake.failures.append(("/crm/v3/objects/deals", 401, {"category": "INVALID_AUTHENTICATION"}))
    version = ws.data_version
    with pytest.raises(CrmAuthError, match="HUBSPOT_ACCESS_TOKEN"):
        _sync(ws, server, token=token)
    assert ws.data_version == version
    assert all(rows(ws, t) == [] for t in ("users", "accounts", "people"))
    assert not (ws.root / "crm" / "hubspot" / "mirror").exists()


def test_missing_token_names_the_variable(ws: Workspace, monkeypatch):
    from revteam.exceptions import CrmConfigError

    for name in ("HUBSPOT_ACCESS_TOKEN", "REVTEAM_HUBSPOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(CrmConfigError, match="HUBSPOT_ACCESS_TOKEN"):
        crm(ws).sync_hubspot()
