"""Fake HubSpot and Salesforce APIs on 127.0.0.1 answering with the documented shapes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from werkzeug import Request, Response

Failure = tuple[str, int, dict[str, Any]]
"""(path regex, status, JSON body) answered once instead of the real response."""


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(data), status=status, headers=headers or {}, content_type="application/json"
    )


class FakeHubSpot:
    """CRM v3 objects, search, owners, pipelines and v4 association batch reads."""

    page = 2  # small pages, so that every list is paged with ``after``

    def __init__(self) -> None:
        self.token = "pat-good"
        self.objects: dict[str, list[dict[str, Any]]] = {
            "contacts": [],
            "companies": [],
            "deals": [],
        }
        self.archived: dict[str, list[dict[str, Any]]] = {k: [] for k in self.objects}
        """Deleted records, listed only with ``archived=true``."""
        self.owners: list[dict[str, Any]] = []
        self.stages: list[dict[str, Any]] = []
        self.associations: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self.failures: list[Failure] = []
        self.requests: list[tuple[str, str, Any]] = []

    def __call__(self, request: Request) -> Response:
        body = request.get_json(silent=True)
        self.requests.append((request.method, request.path, body))
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _json(
                {
                    "status": "error",
                    "category": "INVALID_AUTHENTICATION",
                    "message": "Authentication credentials not found.",
                },
                401,
            )
        for i, (pattern, status, payload) in enumerate(self.failures):
            if re.search(pattern, request.path):
                del self.failures[i]
                return _json(payload, status, {"Retry-After": "0"})
        args = {k: v[-1] for k, v in parse_qs(request.query_string.decode()).items()}
        path = request.path
        if path == "/crm/v3/pipelines/deals":
            return _json(
                {
                    "results": [
                        {
                            "id": "default",
                            "label": "Sales Pipeline",
                            "displayOrder": 0,
                            "stages": self.stages,
                        }
                    ]
                }
            )
        if path == "/crm/v3/owners/" or path == "/crm/v3/owners":
            return _json(self._page(self.owners, args.get("after")))
        if m := re.fullmatch(r"/crm/v3/objects/(\w+)/search", path):
            return _json(self._search(m.group(1), body or {}))
        if m := re.fullmatch(r"/crm/v3/objects/(\w+)", path):
            store = self.archived if args.get("archived", "").lower() == "true" else self.objects
            return _json(self._page(store[m.group(1)], args.get("after")))
        if m := re.fullmatch(r"/crm/v4/associations/(\w+)/(\w+)/batch/read", path):
            pairs = self.associations.get((m.group(1), m.group(2)), [])
            ids = [i["id"] for i in (body or {}).get("inputs", [])]
            results = [
                {
                    "from": {"id": d},
                    "to": [
                        {
                            "toObjectId": int(t),
                            "associationTypes": [
                                {"category": "HUBSPOT_DEFINED", "typeId": 5, "label": "Primary"}
                            ],
                        }
                        for f, t in pairs
                        if f == d
                    ],
                }
                for d in ids
                if any(f == d for f, _ in pairs)
            ]
            return _json(
                {
                    "status": "COMPLETE",
                    "results": results,
                    "startedAt": "2025-01-01T00:00:00Z",
                    "completedAt": "2025-01-01T00:00:01Z",
                }
            )
        return _json({"status": "error", "message": f"no route {path}"}, 404)

    def _page(self, items: list[dict[str, Any]], after: str | None) -> dict[str, Any]:
        start = int(after or 0)
        out: dict[str, Any] = {"results": items[start : start + self.page]}
        if start + self.page < len(items):
            out["paging"] = {"next": {"after": str(start + self.page), "link": "?after="}}
        return out

    def _search(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        [group] = body["filterGroups"]
        [flt] = group["filters"]
        since = int(flt["value"])
        found = sorted(
            (r for r in self.objects[kind] if _ms(r["updatedAt"]) >= since),
            key=lambda r: _ms(r["updatedAt"]),
        )
        page = self._page(found, body.get("after"))
        page["total"] = len(found)
        return page


def _ms(text: str) -> int:
    import datetime as dt

    return int(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def hs_record(id_: str, updated: str, **properties: Any) -> dict[str, Any]:
    return {
        "id": id_,
        "properties": {k: None if v is None else str(v) for k, v in properties.items()},
        "createdAt": "2025-01-01T00:00:00Z",
        "updatedAt": updated,
        "archived": False,
    }


class FakeSalesforce:
    """SOQL ``query``/``queryAll`` with ``nextRecordsUrl`` paging, per object."""

    page = 2

    def __init__(self, version: str = "59.0") -> None:
        self.version = version
        self.session = "00Dgood"
        self.records: dict[str, list[dict[str, Any]]] = {}
        self.failures: list[Failure] = []
        self.queries: list[str] = []
        self._cursors: dict[str, list[dict[str, Any]]] = {}

    def __call__(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {self.session}":
            return _json(
                [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}], 401
            )
        for i, (pattern, status, payload) in enumerate(self.failures):
            if re.search(pattern, request.full_path):
                del self.failures[i]
                return _json(payload, status)
        base = f"/services/data/v{self.version}"
        if m := re.fullmatch(base + r"/query(?:All)?/([\w-]+)", request.path):
            return _json(self._more(m.group(1)))
        if re.fullmatch(base + r"/query(?:All)?/?", request.path):
            soql = request.args["q"]
            self.queries.append(soql)
            obj = re.search(r"\bFROM (\w+)", soql).group(1)  # type: ignore[union-attr]
            rows = self.records.get(obj, [])
            if since := re.search(r"SystemModstamp >= (\S+)", soql):
                rows = [r for r in rows if _sf_ms(r["SystemModstamp"]) >= _ms(since.group(1))]
            fields = re.search(r"SELECT (.+) FROM", soql).group(1).split(", ")  # type: ignore[union-attr]
            rows = [
                {
                    "attributes": {"type": obj, "url": f"{base}/sobjects/{obj}/{r['Id']}"},
                    **{f: r.get(f) for f in fields},
                }
                for r in rows
            ]
            cursor = f"01g{len(self._cursors):05d}"
            self._cursors[cursor] = rows
            return _json(self._more(cursor, first=True))
        return _json([{"errorCode": "NOT_FOUND", "message": request.path}], 404)

    def _more(self, cursor: str, first: bool = False) -> dict[str, Any]:
        name, _, offset = cursor.partition("-")
        rows = self._cursors[name]
        start = int(offset or 0)
        chunk = rows[start : start + self.page]
        out: dict[str, Any] = {
            "totalSize": len(rows),
            "done": start + self.page >= len(rows),
            "records": chunk,
        }
        if not out["done"]:
            out["nextRecordsUrl"] = (
                f"/services/data/v{self.version}/query/{name}-{start + self.page}"
            )
        return out


def _sf_ms(text: str) -> int:
    return _ms(text.replace("+0000", "+00:00"))


Handler = Callable[[Request], Response]
