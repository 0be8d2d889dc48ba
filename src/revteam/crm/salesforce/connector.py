"""Salesforce API connector: SOQL queries per object, incrementally by ``SystemModstamp``.

Uses ``simple-salesforce``. Credentials come from the arguments or the environment, never from
``revteam.toml``: an access token (``SALESFORCE_INSTANCE_URL`` + ``SALESFORCE_SESSION_ID``) or
a user login (``SALESFORCE_USERNAME``, ``SALESFORCE_PASSWORD``, ``SALESFORCE_SECURITY_TOKEN``,
``SALESFORCE_DOMAIN=test`` for a sandbox). Each object is queried with ``queryAll`` (so deleted
records arrive flagged), ordered by ``SystemModstamp``, from the object's high-water mark on,
following ``nextRecordsUrl`` until ``done``. ``REQUEST_LIMIT_EXCEEDED`` and 503 are retried with
back-off.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Callable, Sequence
from typing import Any

from revteam.crm.mapping import System
from revteam.crm.retry import Backoff
from revteam.crm.sync import Batch, MirrorObject, Record
from revteam.exceptions import CrmApiError, CrmAuthError, CrmConfigError

API_VERSION = "59.0"
_STAMP = ("SystemModstamp",)
_GONE = ("IsDeleted", "SystemModstamp")
FIELDS: dict[str, tuple[str, ...]] = {
    "User": ("Id", "Name", "FirstName", "LastName", "Email", "Department", "Title",
             "UserRoleId", "Division", "ManagerId", "IsActive", *_STAMP),
    "UserRole": ("Id", "Name", *_STAMP),
    "Account": ("Id", "Name", "Website", "Industry", "NumberOfEmployees", "AnnualRevenue",
                "BillingCountry", "OwnerId", "CreatedDate", *_GONE),
    "Campaign": ("Id", "Name", "Type", "ParentId", "StartDate", "EndDate", "BudgetedCost",
                 *_GONE),
    "Lead": ("Id", "Email", "FirstName", "LastName", "Title", "Company", "LeadSource", "Status",
             "IsConverted", "ConvertedDate", "ConvertedContactId", "ConvertedAccountId",
             "ConvertedOpportunityId", "CreatedDate", "OwnerId", "Country", *_GONE),
    "Contact": ("Id", "Email", "FirstName", "LastName", "Title", "AccountId", "LeadSource",
                "MailingCountry", "OwnerId", "CreatedDate", *_GONE),
    "Opportunity": ("Id", "AccountId", "ContactId", "Name", "Type", "LeadSource", "CampaignId",
                    "OwnerId", "CreatedDate", "CloseDate", "StageName", "IsClosed", "IsWon",
                    "Amount", "Probability", "ForecastCategory", "ForecastCategoryName",
                    *_GONE),
    "OpportunityHistory": ("Id", "OpportunityId", "StageName", "Amount", "Probability",
                           "CloseDate", "CreatedDate", *_GONE),
    "CampaignMember": ("Id", "CampaignId", "LeadId", "ContactId", "Status",
                       "FirstRespondedDate", "CreatedDate", *_GONE),
    "Task": ("Id", "WhoId", "WhatId", "AccountId", "OwnerId", "TaskSubtype", "Type",
             "ActivityDate", "CompletedDateTime", "CreatedDate", *_GONE),
    "Event": ("Id", "WhoId", "WhatId", "AccountId", "OwnerId", "Type", "EventSubtype",
              "StartDateTime", "ActivityDate", "CreatedDate", *_GONE),
    "Order": ("Id", "AccountId", "BillToContactId", "EffectiveDate", "ActivatedDate",
              "TotalAmount", "Status", "CreatedDate", *_GONE),
}  # fmt: skip
"""Fields queried per object; add an org's custom fields (``MQL_Date__c`` …) with
``extra_fields``: the reader recognises common ones and keeps the others aside."""

OBJECTS = tuple(MirrorObject(name, "Id", full=name in {"User", "UserRole"}) for name in FIELDS)
ENV = {
    "instance_url": "SALESFORCE_INSTANCE_URL",
    "session_id": "SALESFORCE_SESSION_ID",
    "username": "SALESFORCE_USERNAME",
    "password": "SALESFORCE_PASSWORD",
    "security_token": "SALESFORCE_SECURITY_TOKEN",
    "domain": "SALESFORCE_DOMAIN",
}


def credentials_from_env() -> dict[str, str]:
    found = {k: os.environ[v] for k, v in ENV.items() if os.environ.get(v)}
    if {"instance_url", "session_id"} <= found.keys() or {"username", "password"} <= found.keys():
        return found
    raise CrmConfigError(
        "Salesforce credentials",
        [
            "no credentials: set SALESFORCE_INSTANCE_URL and SALESFORCE_SESSION_ID (an access "
            "token), or SALESFORCE_USERNAME, SALESFORCE_PASSWORD and SALESFORCE_SECURITY_TOKEN "
            "(credentials are never stored in revteam.toml)"
        ],
    )


class SalesforceConnector:
    """Fetches Salesforce records in the shape the Salesforce API-object reader translates."""

    system: System = "salesforce"
    objects: tuple[MirrorObject, ...] = OBJECTS

    def __init__(
        self,
        *,
        backoff: Backoff | None = None,
        extra_fields: dict[str, Sequence[str]] | None = None,
        session: Any = None,
        version: str = API_VERSION,
        **credentials: str,
    ) -> None:
        from simple_salesforce.api import Salesforce

        self.backoff = backoff or Backoff()
        extra = extra_fields or {}
        self.fields = {k: (*v, *extra.get(k, ())) for k, v in FIELDS.items()}
        try:
            self.sf = Salesforce(
                instance_url=credentials.get("instance_url"),
                session_id=credentials.get("session_id"),
                username=credentials.get("username"),
                password=credentials.get("password"),
                security_token=credentials.get("security_token"),
                domain=credentials.get("domain"),
                session=session,
                version=version,
            )
        except Exception as exc:
            raise _translate("login", exc) from exc

    def fetch(self, marks: dict[str, str]) -> Batch:
        batch = Batch()
        for obj, fields in self.fields.items():
            mark = marks.get(obj)
            where = f" WHERE SystemModstamp >= {mark}" if mark else ""
            soql = f"SELECT {', '.join(fields)} FROM {obj}{where} ORDER BY SystemModstamp"
            rows = self._query(obj, soql, deleted="IsDeleted" in fields)
            batch.records[obj] = [_flat(r) for r in rows]
            stamps = [r["SystemModstamp"] for r in rows if r.get("SystemModstamp")]
            if stamps:
                batch.marks[obj] = _soql_time(max(stamps, key=_moment))
        return batch

    def _query(self, obj: str, soql: str, *, deleted: bool) -> list[dict[str, Any]]:
        result = self._call(f"query {obj}", lambda: self.sf.query(soql, include_deleted=deleted))
        records = list(result.get("records", []))
        while not result.get("done", True) and result.get("nextRecordsUrl"):
            url = result["nextRecordsUrl"]
            result = self._call(
                f"query {obj} (more)",
                functools.partial(self.sf.query_more, url, identifier_is_url=True),
            )
            records += result.get("records", [])
        return records

    def _call(self, name: str, fn: Callable[[], Any]) -> dict[str, Any]:
        try:
            result: dict[str, Any] = self.backoff.call(fn, _retry_after)
        except Exception as exc:
            raise _translate(name, exc) from exc
        return result


def _flat(record: dict[str, Any]) -> Record:
    return {k: v for k, v in record.items() if k != "attributes" and not isinstance(v, dict)}


def _moment(text: str) -> dt.datetime:
    return dt.datetime.strptime(text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")


def _soql_time(text: str) -> str:
    """``2025-01-02T03:04:05.000+0000`` → ``2025-01-02T03:04:05Z`` (a SOQL datetime literal)."""
    return _moment(text).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _codes(exc: Exception) -> set[str]:
    content = getattr(exc, "content", None)
    items = content if isinstance(content, list) else [content]
    return {str(i.get("errorCode")) for i in items if isinstance(i, dict)}


def _retry_after(exc: Exception) -> float | None:
    """``REQUEST_LIMIT_EXCEEDED`` and a busy server (503) clear by waiting."""
    if "REQUEST_LIMIT_EXCEEDED" in _codes(exc) or getattr(exc, "status", None) in (502, 503):
        return 0.0
    return None


def _translate(call: str, exc: Exception) -> Exception:
    from simple_salesforce.exceptions import (
        SalesforceAuthenticationFailed,
        SalesforceExpiredSession,
    )

    if isinstance(exc, SalesforceAuthenticationFailed | SalesforceExpiredSession):
        return CrmAuthError(
            "Salesforce",
            f"{type(exc).__name__} on {call}",
            "Check SALESFORCE_SESSION_ID (it expires) or the username, password and security "
            "token, and that the user has API access.",
        )
    codes = _codes(exc)
    detail = ", ".join(sorted(codes)) or f"{type(exc).__name__}: {exc}"
    if "REQUEST_LIMIT_EXCEEDED" in codes:
        detail += " (the org's API limit is still exceeded after retrying; try again later)"
    return CrmApiError("Salesforce", call, detail)
