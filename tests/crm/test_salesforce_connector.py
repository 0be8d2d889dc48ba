"""The Salesforce connector against a fake Salesforce on https://127.0.0.1 (self-signed)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from pytest_httpserver import HTTPServer
from tests.crm.conftest import crm, rows
from tests.crm.fakes import FakeSalesforce

from revteam.crm import Backoff
from revteam.exceptions import CrmApiError, CrmAuthError
from revteam.workspace import Workspace

LOCALHOST = ipaddress.ip_address("127.0.0.1")


def _certificate(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(LOCALHOST)]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _stamp(day: int) -> str:
    return f"2025-01-{day:02d}T10:00:00.000+0000"


@pytest.fixture
def salesforce(tmp_path: Path) -> Iterator[tuple[HTTPServer, FakeSalesforce, requests.Session]]:
    cert, key = _certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    fake = FakeSalesforce()
    fake.records = {
        "Account": [
            {
                "Id": "001A",
                "Name": "Acme",
                "Website": "acme.com",
                "CreatedDate": _stamp(1),
                "IsDeleted": False,
                "SystemModstamp": _stamp(1),
            }
        ],
        "Lead": [
            {
                "Id": f"00Q{i}",
                "Email": f"l{i}@acme.com",
                "LastName": f"L{i}",
                "Company": "Acme",
                "LeadSource": "Web",
                "Status": "Open - Not Contacted",
                "IsConverted": False,
                "CreatedDate": _stamp(2 + i),
                "IsDeleted": False,
                "SystemModstamp": _stamp(2 + i),
            }
            for i in range(5)
        ],
        "Opportunity": [
            {
                "Id": "006A",
                "AccountId": "001A",
                "Name": "Acme deal",
                "StageName": "Closed Won",
                "Amount": 1200.5,
                "Probability": 100.0,
                "ForecastCategory": "Closed",
                "ForecastCategoryName": "Closed",
                "CloseDate": "2025-01-20",
                "CreatedDate": _stamp(10),
                "IsClosed": True,
                "IsWon": True,
                "IsDeleted": False,
                "SystemModstamp": _stamp(20),
            }
        ],
        "OpportunityHistory": [
            {
                "Id": "008A",
                "OpportunityId": "006A",
                "StageName": "Prospecting",
                "Amount": 1000.0,
                "Probability": 10.0,
                "CreatedDate": _stamp(10),
                "IsDeleted": False,
                "SystemModstamp": _stamp(10),
            },
            {
                "Id": "008B",
                "OpportunityId": "006A",
                "StageName": "Closed Won",
                "Amount": 1200.5,
                "Probability": 100.0,
                "CreatedDate": _stamp(19),
                "IsDeleted": False,
                "SystemModstamp": _stamp(19),
            },
        ],
        "User": [
            {
                "Id": "005A",
                "Name": "Ana Lima",
                "Email": "ana@vendor.io",
                "Department": "Sales",
                "SystemModstamp": _stamp(1),
            }
        ],
    }
    server.expect_request(re.compile(".*")).respond_with_handler(fake)
    session = requests.Session()
    session.verify = str(cert)
    session.trust_env = False  # REQUESTS_CA_BUNDLE would otherwise replace verify
    yield server, fake, session
    server.clear()
    server.stop()


def _sync(ws: Workspace, server: HTTPServer, session: requests.Session, sid: str = "00Dgood"):
    waits: list[float] = []
    result = crm(ws).sync_salesforce(
        instance_url=server.url_for("/").rstrip("/"),
        session_id=sid,
        session=session,
        backoff=Backoff(attempts=3, base=0.001, sleep=waits.append),
    )
    return result, waits


def test_first_sync_follows_next_records_url_and_loads(ws: Workspace, salesforce):
    server, fake, session = salesforce
    result, _ = _sync(ws, server, session)
    assert result.fetched["Lead"] == 5
    assert rows(ws, "people", ("person_id",)) == [(f"00Q{i}",) for i in range(5)]
    [opp] = rows(
        ws, "opportunities", ("stage", "amount", "probability", "closed_at", "forecast_category")
    )
    assert (opp[0], float(opp[1]), opp[2], opp[4]) == ("closed_won", 1200.5, 1.0, "closed")
    assert opp[3] == dt.datetime(2025, 1, 19, 10)  # when the history says it was won
    [opp_query] = [q for q in fake.queries if "FROM Opportunity " in q]
    assert "ForecastCategory, ForecastCategoryName" in opp_query
    assert rows(ws, "users", ("user_id", "team")) == [("005A", "sales")]
    assert all("ORDER BY SystemModstamp" in q and "WHERE" not in q for q in fake.queries)
    assert result.marks["Lead"] == "2025-01-06T10:00:00Z"


def test_next_sync_queries_from_the_high_water_mark(ws: Workspace, salesforce):
    server, fake, session = salesforce
    _sync(ws, server, session)
    fake.queries.clear()
    fake.records["Lead"][1] |= {"LastName": "Changed", "SystemModstamp": _stamp(25)}
    result, _ = _sync(ws, server, session)
    [lead_query] = [q for q in fake.queries if "FROM Lead" in q]
    assert "WHERE SystemModstamp >= 2025-01-06T10:00:00Z" in lead_query
    assert result.fetched["Lead"] == 2  # the last one again (>=) and the changed one
    assert result.load.result("people").updated == 1
    assert ("00Q1", "Changed") in rows(ws, "people", ("person_id", "last_name"))


def test_request_limit_exceeded_is_retried(ws: Workspace, salesforce):
    server, fake, session = salesforce
    limit = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    fake.failures += [(r"FROM\+Lead|FROM%20Lead", 403, limit)] * 2
    result, waits = _sync(ws, server, session)
    assert len(waits) == 2 and result.load.result("people").inserted == 5


def test_a_limit_that_does_not_clear_fails_cleanly(ws: Workspace, salesforce):
    server, fake, session = salesforce
    limit = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    fake.failures += [(r"FROM\+Opportunity\b|FROM%20Opportunity\b", 403, limit)] * 5
    with pytest.raises(CrmApiError, match="REQUEST_LIMIT_EXCEEDED"):
        _sync(ws, server, session)
    assert rows(ws, "people") == []


def test_expired_session_writes_nothing(ws: Workspace, salesforce):
    server, _, session = salesforce
    version = ws.data_version
    with pytest.raises(CrmAuthError, match="SALESFORCE_SESSION_ID"):
        _sync(ws, server, session, sid="00Dexpired")
    assert ws.data_version == version and rows(ws, "accounts") == []
    assert not (ws.root / "crm" / "salesforce" / "state.json").exists()


def test_missing_credentials_name_the_variables(ws: Workspace, monkeypatch):
    from revteam.exceptions import CrmConfigError

    for name in ("SALESFORCE_INSTANCE_URL", "SALESFORCE_SESSION_ID", "SALESFORCE_USERNAME"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(CrmConfigError, match="SALESFORCE_SESSION_ID"):
        crm(ws).sync_salesforce()


def test_deleted_records_leave_the_warehouse_on_the_next_sync(ws: Workspace, salesforce):
    server, fake, session = salesforce
    _sync(ws, server, session)
    assert len(rows(ws, "opportunity_stages", ("stage",))) == 2
    version = ws.data_version
    # queryAll returns what was deleted since, flagged IsDeleted
    fake.records["Lead"][2] |= {"IsDeleted": True, "SystemModstamp": _stamp(26)}
    fake.records["Opportunity"][0] |= {"IsDeleted": True, "SystemModstamp": _stamp(26)}
    result, _ = _sync(ws, server, session)
    assert result.load.removed == {"people": 1, "opportunities": 1, "opportunity_stages": 2}
    assert ("00Q2",) not in rows(ws, "people", ("person_id",))
    assert len(rows(ws, "people", ("person_id",))) == 4
    assert rows(ws, "opportunities", ("opportunity_id",)) == []
    assert rows(ws, "opportunity_stages", ("stage",)) == []  # a deal's history goes with it
    assert ws.data_version > version
    assert any("1 row(s) removed" in n for n in result.load.notes)
    # the next sync sees the deleted records again (>= the mark): nothing left to remove
    version = ws.data_version
    again, _ = _sync(ws, server, session)
    assert again.load.removed == {} and ws.data_version == version
    # the deleted deal's history is still in the mirror: not loaded, and not refused either
    assert again.load.quarantined == 0 and ws.ingest.quarantine().num_rows == 0
    assert any("opportunity_stages: 2 row(s) of removed records" in n for n in again.load.notes)


def test_a_converted_lead_is_its_contact_from_then_on(ws: Workspace, salesforce):
    server, fake, session = salesforce
    _sync(ws, server, session)
    fake.records["Contact"] = [
        {
            "Id": "003A",
            "Email": "l3@acme.com",
            "LastName": "L3",
            "AccountId": "001A",
            "CreatedDate": _stamp(27),
            "IsDeleted": False,
            "SystemModstamp": _stamp(27),
        }
    ]
    fake.records["Lead"][3] |= {
        "IsConverted": True,
        "ConvertedDate": "2025-01-27",
        "ConvertedContactId": "003A",
        "ConvertedAccountId": "001A",
        "SystemModstamp": _stamp(27),
    }
    result, _ = _sync(ws, server, session)
    assert result.load.removed == {"people": 1}
    people = dict(rows(ws, "people", ("person_id", "created_at")))
    assert "00Q3" not in people and "003A" in people  # one person, not two
    assert people["003A"] == dt.datetime(2025, 1, 5, 10)  # created as the lead was


def test_removal_spares_rows_another_source_loaded(ws: Workspace, salesforce, tmp_path: Path):
    server, fake, session = salesforce
    _sync(ws, server, session)
    # the same id, loaded since from a plain file: that row is not Salesforce's any more
    (tmp_path / "people.csv").write_text("person_id,email,created_at\n00Q2,x@acme.com,2025-01-01\n")
    ws.ingest.load("people", tmp_path / "people.csv")
    fake.records["Lead"][2] |= {"IsDeleted": True, "SystemModstamp": _stamp(26)}
    result, _ = _sync(ws, server, session)
    assert result.load.removed == {}
    assert ("00Q2", "x@acme.com") in rows(ws, "people", ("person_id", "email"))
