"""HubSpot API connector: contacts, companies, deals, owners and pipelines, incrementally.

Uses HubSpot's official client (``hubspot-api-client``) with a private-app access token, read
from the ``token`` argument or ``HUBSPOT_ACCESS_TOKEN`` (never from ``revteam.toml``). The
first sync lists every record (CRM v3 list endpoints, paged with ``after``); later syncs ask the
CRM v3 search endpoint for records modified since the object's high-water mark, ascending, and
restart the search from the last record's time before HubSpot's 10,000-result search limit.
Deals come with their company and contact associations (v4 batch read) and their stage history
(the ``hs_date_entered_<stage>`` properties). Responses are parsed as JSON rather than into the
client's models, so a new value HubSpot adds to an enum never breaks a sync.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Sequence
from typing import Any

from revteam.crm.mapping import System
from revteam.crm.retry import Backoff, header_seconds
from revteam.crm.sync import Batch, MirrorObject, Record
from revteam.exceptions import CrmApiError, CrmAuthError, CrmConfigError

TOKEN_ENV = ("HUBSPOT_ACCESS_TOKEN", "REVTEAM_HUBSPOT_TOKEN")
PAGE = 100
SEARCH_LIMIT = 10_000

PROPERTIES: dict[str, tuple[str, ...]] = {
    "contacts": (
        "email",
        "firstname",
        "lastname",
        "jobtitle",
        "company",
        "associatedcompanyid",
        "hs_persona",
        "hs_analytics_source",
        "hs_analytics_source_data_1",
        "hs_analytics_first_touch_converting_campaign",
        "hubspot_owner_id",
        "country",
        "createdate",
        "lastmodifieddate",
        "lifecyclestage",
        "hs_merged_object_ids",
        *(
            f"hs_lifecyclestage_{s}_date"
            for s in (
                "lead",
                "marketingqualifiedlead",
                "salesqualifiedlead",
                "opportunity",
                "customer",
            )
        ),
    ),
    "companies": (
        "name",
        "domain",
        "website",
        "industry",
        "numberofemployees",
        "annualrevenue",
        "country",
        "hubspot_owner_id",
        "createdate",
        "hs_lastmodifieddate",
    ),
    "deals": (
        "dealname",
        "pipeline",
        "dealstage",
        "amount",
        "deal_currency_code",
        "closedate",
        "createdate",
        "hubspot_owner_id",
        "dealtype",
        "hs_analytics_source",
        "closed_lost_reason",
        "hs_is_closed",
        "hs_is_closed_won",
        "hs_deal_stage_probability",
        "hs_manual_forecast_category",
        "hs_forecast_category",
        "hs_lastmodifieddate",
    ),
}
"""Properties fetched per object; add a portal's own with ``extra_properties``."""
MODIFIED = {"contacts": "lastmodifieddate", "companies": "hs_lastmodifieddate"}
MODIFIED["deals"] = "hs_lastmodifieddate"
OBJECT_FILE = {"contacts": "contact", "companies": "company", "deals": "deal"}

OBJECTS = (
    MirrorObject("contact", "id"),
    MirrorObject("company", "id"),
    MirrorObject("deal", "id"),
    MirrorObject("deal_company", "deal_id"),
    MirrorObject("deal_contact", "deal_id"),
    MirrorObject("deal_stage", "deal_id"),
    MirrorObject("deal_pipeline_stage", "stage_id", full=True),
    MirrorObject("owner", "owner_id", full=True),
    MirrorObject("owner_team", "owner_id", full=True),
    MirrorObject("team", "id", full=True),
)


def token_from_env() -> str:
    for name in TOKEN_ENV:
        if os.environ.get(name):
            return os.environ[name]
    raise CrmConfigError(
        "HubSpot credentials",
        [
            f"no access token: set {TOKEN_ENV[0]} to a private-app token with the "
            "crm.objects.contacts/companies/deals.read and crm.objects.owners.read scopes "
            "(credentials are never stored in revteam.toml)"
        ],
    )


class HubSpotConnector:
    """Fetches HubSpot records in the shape the HubSpot API-object reader translates."""

    system: System = "hubspot"
    objects: tuple[MirrorObject, ...] = OBJECTS

    def __init__(
        self,
        token: str,
        *,
        host: str | None = None,
        backoff: Backoff | None = None,
        extra_properties: dict[str, Sequence[str]] | None = None,
    ) -> None:
        from hubspot import HubSpot  # type: ignore[import-untyped]
        from urllib3.util.retry import Retry

        # Rate limits are retried here (with the injectable back-off), not inside urllib3,
        # which would otherwise honour Retry-After silently; connection errors still retry.
        no_status_retry = Retry(total=3, status=0, respect_retry_after_header=False)
        options: dict[str, Any] = {"access_token": token, "retry": no_status_retry}
        if host:
            options["host"] = host.rstrip("/")
        self.client = HubSpot(**options)
        self.backoff = backoff or Backoff()
        extra = extra_properties or {}
        self.properties = {k: (*v, *extra.get(k, ())) for k, v in PROPERTIES.items()}

    # -- calls ---------------------------------------------------------------------------------
    def _call(self, name: str, fn: Callable[[], Any]) -> dict[str, Any]:
        try:
            response = self.backoff.call(fn, _retry_after)
        except Exception as exc:
            raise _translate(name, exc) from exc
        data: dict[str, Any] = json.loads(response.data or b"{}")
        return data

    def _pages(self, name: str, fn: Callable[[str | None], Any]) -> list[dict[str, Any]]:
        out, after = [], None
        while True:
            page = self._call(name, functools.partial(fn, after))
            out += page.get("results", [])
            after = page.get("paging", {}).get("next", {}).get("after")
            if not after:
                return out

    # -- objects -------------------------------------------------------------------------------
    def fetch(self, marks: dict[str, str]) -> Batch:
        batch = Batch()
        stages = self._pipelines(batch)
        self._owners(batch)
        live: dict[str, list[Record]] = {}
        for kind in ("companies", "contacts", "deals"):
            props = self.properties[kind]
            if kind == "deals":
                props = (*props, *(f"hs_date_entered_{s}" for s in stages))
            mark = marks.get(OBJECT_FILE[kind])
            rows = self._objects(kind, props, mark)
            live[kind] = [_flat(r) for r in rows]
            if rows:
                batch.marks[OBJECT_FILE[kind]] = max(_modified(r, kind) for r in rows)
            # deleted since the mark (or still listed, on a full sync): their rows leave
            gone = [_flat(r) for r in self._archived(kind, mark)]
            batch.records[OBJECT_FILE[kind]] = live[kind] + gone
        deals = [r["id"] for r in live["deals"]]  # archived deals have no associations
        for to, name, column in (("companies", "deal_company", "company_id"),
                                 ("contacts", "deal_contact", "contact_id")):  # fmt: skip
            batch.records[name] = self._associations(deals, to, column)
        batch.records["deal_stage"] = [
            {"deal_id": r["id"], "date_entered": r[f"property_hs_date_entered_{s}"], "value": s}
            for r in live["deals"]
            for s in stages
            if r.get(f"property_hs_date_entered_{s}")
        ]
        return batch

    def _objects(self, kind: str, props: Sequence[str], mark: str | None) -> list[dict[str, Any]]:
        api = getattr(self.client.crm, kind)
        if mark is None:
            return self._pages(
                f"GET /crm/v3/objects/{kind}",
                lambda after: api.basic_api.get_page(
                    limit=PAGE,
                    after=after,
                    properties=list(props),
                    archived=False,
                    _preload_content=False,
                ),
            )
        found: dict[str, dict[str, Any]] = {}
        while True:
            seen = 0
            after: str | None = None
            while True:
                body = {
                    "filterGroups": [
                        {
                            "filters": [
                                {"propertyName": MODIFIED[kind], "operator": "GTE", "value": mark},
                            ]
                        }
                    ],
                    "sorts": [{"propertyName": MODIFIED[kind], "direction": "ASCENDING"}],
                    "properties": list(props),
                    "limit": PAGE,
                    "after": after,
                }
                page = self._call(
                    f"POST /crm/v3/objects/{kind}/search",
                    functools.partial(
                        api.search_api.do_search,
                        public_object_search_request=body,
                        _preload_content=False,
                    ),
                )
                results = page.get("results", [])
                found.update((r["id"], r) for r in results)
                seen += len(results)
                after = page.get("paging", {}).get("next", {}).get("after")
                if not after or seen + PAGE > SEARCH_LIMIT:
                    break
            if not after:
                return list(found.values())
            mark = max(_modified(r, kind) for r in found.values())  # restart past the limit

    def _archived(self, kind: str, mark: str | None) -> list[dict[str, Any]]:
        """Records archived (deleted) at or after ``mark`` (all, without one).

        Search never returns them, and a full sync lists only live records, which would leave
        rows of records deleted since the last sync in place. HubSpot keeps archived records
        for 90 days, so the list stays short.
        """
        api = getattr(self.client.crm, kind)
        rows = self._pages(
            f"GET /crm/v3/objects/{kind}?archived=true",
            lambda after: api.basic_api.get_page(
                limit=PAGE, after=after, archived=True, _preload_content=False
            ),
        )
        if mark is None:
            return rows
        # without an archive time the record cannot be placed before the mark: keep it
        return [
            r
            for r in rows
            if not r.get("archivedAt")
            or int(_modified({"updatedAt": r["archivedAt"]}, kind)) >= int(mark)
        ]

    def _associations(self, deals: list[str], to: str, column: str) -> list[Record]:
        api = self.client.crm.associations.v4.batch_api
        out: list[Record] = []
        for start in range(0, len(deals), PAGE):
            body = {"inputs": [{"id": d} for d in deals[start : start + PAGE]]}
            page = self._call(
                f"POST /crm/v4/associations/deals/{to}/batch/read",
                functools.partial(
                    api.get_page,
                    from_object_type="deals",
                    to_object_type=to,
                    batch_input_public_fetch_associations_batch_request=body,
                    _preload_content=False,
                ),
            )
            out += [
                {"deal_id": str(result["from"]["id"]), column: str(target["toObjectId"])}
                for result in page.get("results", [])
                for target in result.get("to", [])
            ]
        return out

    def _pipelines(self, batch: Batch) -> list[str]:
        api = self.client.crm.pipelines.pipelines_api
        page = self._call(
            "GET /crm/v3/pipelines/deals",
            lambda: api.get_all(object_type="deals", _preload_content=False),
        )
        rows = [
            {
                "stage_id": s["id"],
                "label": s.get("label"),
                "pipeline_id": p.get("id"),
                "is_closed": str(s.get("metadata", {}).get("isClosed", "false")).lower(),
                "closed_won": str(
                    str(s.get("metadata", {}).get("isClosed", "false")).lower() == "true"
                    and float(s.get("metadata", {}).get("probability") or 0) >= 1.0
                ).lower(),
                "probability": s.get("metadata", {}).get("probability"),
            }
            for p in page.get("results", [])
            for s in p.get("stages", [])
        ]
        batch.records["deal_pipeline_stage"] = rows
        return [r["stage_id"] for r in rows]

    def _owners(self, batch: Batch) -> None:
        api = self.client.crm.owners.owners_api
        owners = self._pages(
            "GET /crm/v3/owners",
            lambda after: api.get_page(
                limit=PAGE, after=after, archived=False, _preload_content=False
            ),
        )
        batch.records["owner"] = [
            {
                "owner_id": o["id"],
                "email": o.get("email"),
                "first_name": o.get("firstName"),
                "last_name": o.get("lastName"),
            }
            for o in owners
        ]
        teams = [(o["id"], t) for o in owners for t in o.get("teams") or []]
        batch.records["owner_team"] = [
            {"owner_id": oid, "team_id": t["id"], "is_team_primary": t.get("primary")}
            for oid, t in teams
        ]
        batch.records["team"] = list({t["id"]: {"id": t["id"], "name": t.get("name")}
                                      for _, t in teams}.values())  # fmt: skip


def _flat(record: dict[str, Any]) -> Record:
    """An API object as Fivetran lands it: ``id``, ``property_<name>``, ``is_deleted``."""
    out: Record = {"id": str(record["id"]), "is_deleted": bool(record.get("archived"))}
    for name, value in (record.get("properties") or {}).items():
        out[f"property_{name}"] = value
    out["updated_at"] = record.get("updatedAt")
    return out


def _modified(record: dict[str, Any], kind: str) -> str:
    """The record's last-modified time as HubSpot's search filter takes it (epoch ms text)."""
    import datetime as dt

    value = (record.get("properties") or {}).get(MODIFIED[kind]) or record.get("updatedAt")
    text = str(value or "1970-01-01T00:00:00Z")
    if text.isdigit():
        return text
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return str(int(moment.timestamp() * 1000))


def _status(exc: Exception) -> int | None:
    status = getattr(exc, "status", None)
    return status if isinstance(status, int) else None


def _retry_after(exc: Exception) -> float | None:
    """HubSpot's 429 (rate limit) and 502 to 504 (busy) clear by waiting."""
    if _status(exc) in (429, 502, 503, 504):
        return header_seconds(getattr(exc, "headers", None))
    return None


def _translate(call: str, exc: Exception) -> Exception:
    status = _status(exc)
    if status in (401, 403):
        return CrmAuthError(
            "HubSpot",
            f"HTTP {status} on {call}",
            f"Check {TOKEN_ENV[0]}: a private-app token of this portal with read scopes for "
            "contacts, companies, deals and owners.",
        )
    detail = f"HTTP {status}" if status else f"{type(exc).__name__}: {exc}"
    if status == 429:
        detail += " (rate limit still exceeded after retrying; try again later)"
    return CrmApiError("HubSpot", call, detail)
