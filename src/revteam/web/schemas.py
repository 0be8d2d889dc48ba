"""Request and response models of the REST API (``/api/v1``), documented in its OpenAPI."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import Path as PathParam
from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

from revteam.metrics.request import MAX_VALUE_LENGTH, MAX_VALUES, NULL_VALUE
from revteam.web.filters import parse_where

Grain = Literal["day", "week", "month", "quarter", "year"]
MAX_ID = 2**31 - 1
MAX_OFFSET = 10**9
"""Bounds that every database can hold (SQLite integers are 64-bit, PostgreSQL's 32)."""
Id = Annotated[int, PathParam(ge=1, le=MAX_ID, description="Numeric id.")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip.")]


class ErrorOut(BaseModel):
    error: str = Field(description="Stable machine-readable code, e.g. unknown_metric.")
    message: str = Field(description="What was wrong and how to fix it.")
    status: int
    error_id: str | None = Field(
        None, description="Server-side failures only: the id the detail is logged under."
    )


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    warm: bool | None = None
    """Whether the warmer has computed the slow views of the data it last saw (the credit,
    the model fits) and is not computing: a readiness signal. ``None``: no warmer runs."""


class Page(BaseModel):
    total: int
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last.")


class MetricOut(BaseModel):
    id: str
    label: str
    description: str
    owners: Literal["marketing", "sales", "shared"]
    kind: str
    unit: str
    direction: Literal["higher", "lower"]
    window_days: int | None
    table: str | None
    time: str | None
    dimensions: list[str]
    breakdowns: list[str]
    references: list[str] = Field(description="Metrics this one is computed from.")
    source: str


class MetricList(Page):
    items: list[MetricOut]


class MetricSql(BaseModel):
    metric: str
    dialect: str
    sql: str


class QueryIn(BaseModel):
    """The same options as ``ws.metrics.query`` in Python."""

    model_config = ConfigDict(extra="forbid")

    metrics: list[str] = Field(min_length=1, max_length=60)
    by: list[str] = Field(default_factory=list, max_length=3)
    grain: Grain = "month"
    start: dt.date | None = None
    end: dt.date | None = None
    where: dict[str, list[str | None]] = Field(
        default_factory=dict,
        description=f"Dimension → values to keep (at most {MAX_VALUES}, each at most "
        f"{MAX_VALUE_LENGTH} characters; surrounding spaces are ignored, blank values mean "
        f"'not given'; null or {NULL_VALUE!r} keeps records without a value).",
    )
    as_of: dt.date | None = None
    defined_on: dt.date | None = Field(
        None,
        description="Compute with the definitions as they stood at the end of this day (the "
        "versions both teams had agreed by then; see docs/definitions.md).",
    )
    totals: bool = True
    limit: int = Field(1000, ge=1, le=10_000)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)

    @field_validator("where")
    @classmethod
    def _where(cls, value: dict[str, list[str | None]]) -> dict[str, list[str | None]]:
        """The same checks as the GET parameters and the pages (an invalid one is a 422)."""
        return {d: list(v) for d, v in parse_where(value)}


class QueryRow(BaseModel):
    period: dt.date
    period_label: str
    dimensions: dict[str, str | None]
    is_total: bool
    metric: str
    owners: str
    unit: str
    value: float | None
    numerator: float | None
    denominator: float | None
    n: int | None
    immature: bool
    age_days: int | None
    window_days: int | None
    extra: dict[str, Any] = Field(
        default_factory=dict, description="Further columns, e.g. ci_low/ci_high intervals."
    )


class QueryOut(Page):
    metrics: list[str]
    by: list[str]
    grain: Grain
    as_of: dt.datetime
    data_version: int
    stale: bool = Field(description="True while a load holds the warehouse: last numbers shown.")
    rows: list[QueryRow]


class DimensionOut(BaseModel):
    name: str
    description: str
    kind: Literal["conformed", "breakdown"]
    closed: bool = Field(description="Whether the values form a fixed vocabulary.")


class DimensionValue(BaseModel):
    value: str
    label: str


class DimensionValues(Page):
    dimension: str
    items: list[DimensionValue]


class RecordsOut(Page):
    metric: str
    source: str = Field(description="The metric whose records these are (a ratio's part).")
    relation: str
    description: str
    columns: list[str]
    rows: list[dict[str, Any]]


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    role: str
    team: str
    is_active: bool
    created_at: dt.datetime
    last_login_at: dt.datetime | None


class UserList(Page):
    items: list[UserOut]


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320)
    name: str = Field("", max_length=200)
    role: Literal["admin", "editor", "viewer"] = "viewer"
    team: Literal["sales", "marketing", "leadership", "revops"] = "revops"
    password: str | None = Field(
        None, max_length=1024, description="Leave out to get a random one in the response."
    )


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200)
    role: Literal["admin", "editor", "viewer"] | None = None
    team: Literal["sales", "marketing", "leadership", "revops"] | None = None
    active: bool | None = None


class UserCreated(BaseModel):
    user: UserOut
    password: str | None = Field(description="The generated password, shown only now.")


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    revoked_reason: str | None = Field(
        None,
        description="revoked by owner, revoked by admin, or revoked with the user's credentials: "
        "password changed, password reset, user disabled.",
    )
    active: bool


class AdminTokenOut(TokenOut):
    user_id: int
    user_email: str


class AdminTokenList(Page):
    items: list[AdminTokenOut]


class UnlockOut(BaseModel):
    user: UserOut
    cleared: int = Field(description="Addresses whose failed sign-ins on the account were reset.")


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    days: int | None = Field(None, ge=1, le=3650)


class TokenCreated(BaseModel):
    token: TokenOut
    secret: str = Field(description="The token itself, shown only now.")


class TableOut(BaseModel):
    name: str
    rows: int
    min_time: str | None
    max_time: str | None
    quarantined: int


class DataStatus(BaseModel):
    data_version: int
    tables: list[TableOut]
    last_runs: list[dict[str, Any]]


class RowsOut(Page):
    rows: list[dict[str, Any]]


class AuditOut(BaseModel):
    id: int
    at: dt.datetime
    actor: str
    action: str
    target: str | None
    detail: dict[str, Any]
    ip: str | None


class AuditList(Page):
    items: list[AuditOut]


def next_offset(total: int, limit: int, offset: int) -> int | None:
    return offset + limit if offset + limit < total else None
