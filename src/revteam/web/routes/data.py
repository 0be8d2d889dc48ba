"""``/data`` and ``/audit`` (admins): loads, row counts, data version, quarantine, audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from revteam.web.deps import AdminDep, RuntimeDep
from revteam.web.schemas import (
    AuditList,
    AuditOut,
    DataStatus,
    Offset,
    RowsOut,
    TableOut,
    next_offset,
)

router = APIRouter(tags=["data"])
Limit = Annotated[int, Query(ge=1, le=1000)]


def _iso(value: Any) -> str | None:
    return None if value is None else str(value)


@router.get("/data/status", response_model=DataStatus, summary="Tables and data version")
def status(runtime: RuntimeDep, principal: AdminDep) -> DataStatus:
    st = runtime.read(("status",), lambda ws: ws.status()).value
    tables = [
        TableOut(
            name=t.name,
            rows=t.rows,
            min_time=_iso(t.min_time),
            max_time=_iso(t.max_time),
            quarantined=st.quarantine_counts.get(t.name, 0),
        )
        for t in st.tables
    ]
    return DataStatus(data_version=st.data_version, tables=tables, last_runs=list(st.last_runs))


@router.get("/data/runs", response_model=RowsOut, summary="Load history, newest first")
def runs(
    runtime: RuntimeDep, principal: AdminDep, limit: Limit = 100, offset: Offset = 0
) -> RowsOut:
    rows = runtime.read(("runs",), lambda ws: ws.ingest.runs(limit=10_000).to_pylist()).value
    return RowsOut(
        rows=rows[offset : offset + limit],
        total=len(rows),
        limit=limit,
        offset=offset,
        next_offset=next_offset(len(rows), limit, offset),
    )


@router.get("/data/quarantine", response_model=RowsOut, summary="Refused rows with reasons")
def quarantine(
    runtime: RuntimeDep,
    principal: AdminDep,
    table: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> RowsOut:
    rows = runtime.read(
        ("quarantine", table),
        lambda ws: ws.ingest.quarantine(table=table, limit=100_000).to_pylist(),
    ).value
    return RowsOut(
        rows=rows[offset : offset + limit],
        total=len(rows),
        limit=limit,
        offset=offset,
        next_offset=next_offset(len(rows), limit, offset),
    )


@router.get("/audit", response_model=AuditList, summary="Audit log, newest first")
def audit(
    runtime: RuntimeDep, principal: AdminDep, limit: Limit = 100, offset: Offset = 0
) -> AuditList:
    entries = runtime.app.audit.list(limit=limit, offset=offset)
    total = runtime.app.audit.count()
    items = [
        AuditOut(
            id=e.id,
            at=e.at,
            actor=e.actor,
            action=e.action,
            target=e.target,
            detail=e.detail,
            ip=e.ip,
        )
        for e in entries
    ]
    return AuditList(
        items=items,
        total=total,
        limit=limit,
        offset=offset,
        next_offset=next_offset(total, limit, offset),
    )
