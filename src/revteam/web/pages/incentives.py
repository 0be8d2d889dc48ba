"""``/incentives``: the plans of ``incentives.yaml`` scored on the goals, a what-if, and the file.

Everyone signed in reads the scores (the API's cached
:func:`~revteam.web.routes.goals.incentive_results`, keyed by the file's bytes, so an edit
shows at once) and re-scores them with what-ifs (a GET: a what-if is a link). Admins edit the
file itself: the text is checked by :func:`~revteam.goals.incentives.parse_incentives` before
anything is written, written whole or not at all (a temporary file moved into place), and the
change is in the audit log. A form read before someone else saved is refused (409), so one
admin's edit never silently undoes another's.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import Field

from revteam.app.users import record
from revteam.exceptions import GoalConflictError, GoalError
from revteam.goals.incentives import INCENTIVES_FILE, PlanResult, parse_incentives, parse_what_if
from revteam.metrics import periods as P
from revteam.web.deps import AdminForm, Principal, PrincipalDep, RuntimeDep
from revteam.web.errors import status_of
from revteam.web.pages.render import Page, render
from revteam.web.routes.goals import MAX_WHAT_IF, incentive_results
from revteam.web.runtime import Runtime

router = APIRouter(include_in_schema=False)
MAX_BYTES = 256 * 1024
"""The largest ``incentives.yaml`` the page saves (a plan per team is a few hundred bytes)."""
WHAT_IF_ROWS = 3
"""What-if fields the form offers (a link may carry up to :data:`MAX_WHAT_IF`)."""
WhatIf = Annotated[str, Field(max_length=200)]


@dataclass(frozen=True)
class PersonRow:
    """One person in one plan: the plan's factors are theirs."""

    person: str
    team: str
    result: PlanResult


def digest(text: bytes) -> str:
    return hashlib.sha256(text).hexdigest()


def current(path: Path) -> bytes:
    """The file's bytes (none yet: empty)."""
    return path.read_bytes() if path.exists() else b""


def people(results: Sequence[PlanResult], teams: dict[str, str]) -> list[PersonRow]:
    """Every person of every plan, by person then plan (one may be in several plans)."""
    rows = [PersonRow(p, teams.get(p, ""), r) for r in results for p in r.plan.people]
    return sorted(rows, key=lambda row: (row.person, row.result.plan.name))


def write_atomically(path: Path, text: str) -> None:
    """``text`` into ``path`` whole or not at all: a reader sees the old file or the new one."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _page(
    request: Request,
    runtime: Runtime,
    principal: Principal,
    what_if: Sequence[str],
    *,
    text: str | None = None,
    expected: str | None = None,
    message: str = "",
    edit_message: str = "",
    status: int = 200,
) -> HTMLResponse:
    """The scores (with the what-ifs), and for admins the file in its form.

    ``text`` and ``expected`` keep a refused edit as typed, against the version it was read at.
    """
    page = Page(runtime)
    as_of = page.as_of()
    fy = runtime.settings.fiscal_year_start_month
    given = [w for w in what_if if w.strip()]
    try:
        assumed = parse_what_if(given)
    except GoalError as exc:
        assumed, message, status = {}, str(exc), 422
    results: list[PlanResult] = []
    problem = ""
    try:
        found = incentive_results(runtime, assumed)
    except GoalError as exc:  # the file on disk does not parse: say so, and let admins mend it
        problem = str(exc)
    else:
        page.reads.append(found)
        results = found.value
    used = {m.measure.metric for r in results for m in r.measures}
    unused = sorted(set(assumed) - used)
    if unused and not message:
        message = f"No measure uses {', '.join(unused)}: that what-if changes nothing."
    saved = current(runtime.root / INCENTIVES_FILE)
    rows = [*given, *[""] * (WHAT_IF_ROWS - len(given))]
    return render(
        request,
        "incentives.html",
        principal,
        nav="incentives",
        page=page,
        as_of=as_of,
        results=results,
        people=people(results, runtime.goals.teams()),
        specs=runtime.definitions.catalogue.specs,
        what_if_rows=rows,
        assumed=assumed,
        problem=problem,
        text=saved.decode("utf-8", errors="replace") if text is None else text,
        expected=digest(saved) if expected is None else expected,
        max_kilobytes=MAX_BYTES // 1024,
        example_period=P.label(P.floor(as_of.date(), "quarter", fy), "quarter", fy),
        message=message,
        edit_message=edit_message,
        is_error=status >= 400,
        status_code=status,
    )


@router.get("/incentives", response_class=HTMLResponse)
def incentives_page(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    what_if: Annotated[list[WhatIf] | None, Query(max_length=MAX_WHAT_IF)] = None,
    saved: Annotated[bool, Query()] = False,
) -> HTMLResponse:
    """Every plan with its measures and factors, by person too; ``what_if`` re-scores them."""
    message = f"Saved {INCENTIVES_FILE}." if saved else ""
    return _page(request, runtime, principal, what_if or [], message=message)


@router.post("/incentives", response_class=HTMLResponse)
def save_incentives(
    request: Request,
    runtime: RuntimeDep,
    principal: AdminForm,
    text: Annotated[str, Form(max_length=4 * MAX_BYTES)] = "",
    expected: Annotated[str, Form(pattern="^[0-9a-f]{0,64}$")] = "",
) -> Response:
    """Check the text, then write it whole and audit it; a refusal writes nothing.

    ``expected`` is the digest of the file the form was read from: another admin's save since
    is a 409 (the form keeps the text, now against the file as it is). The form field's own
    bound is a backstop; the limit, in bytes, is checked here with a message.
    """
    text = text.replace("\r\n", "\n")  # browsers send a textarea's lines with CRLF
    size = len(text.encode("utf-8"))
    path = runtime.root / INCENTIVES_FILE

    def refused(message: str, status: int, version: str = expected) -> HTMLResponse:
        return _page(
            request,
            runtime,
            principal,
            [],
            text=text,
            expected=version,
            edit_message=message,
            status=status,
        )

    if size > MAX_BYTES:
        return refused(
            f"{INCENTIVES_FILE} may hold at most {MAX_BYTES // 1024} KB; this text has "
            f"{size / 1024:,.0f} KB. Shorten it (one plan per team or role, its measures).",
            413,
        )
    fy = runtime.settings.fiscal_year_start_month
    try:
        plans = parse_incentives(text, runtime.definitions.catalogue, fy)
    except GoalError as exc:
        return refused(f"Nothing was saved: {exc}", 422)
    try:
        with runtime.app.db.session(write=True) as s:  # one save at a time, with its audit entry
            before = digest(current(path))
            if expected and before != expected:
                raise GoalConflictError(
                    f"{INCENTIVES_FILE} was saved by someone else since this form was read.",
                    "Your text is kept here; compare it with the plans above, then save again "
                    "to replace theirs.",
                )
            write_atomically(path, text)
            record(
                s,
                principal.actor,
                "incentives.save",
                INCENTIVES_FILE,
                plans=len(plans),
                bytes=size,
                before=before[:12],
                after=digest(text.encode("utf-8"))[:12],
            )
    except GoalConflictError as exc:
        return refused(str(exc), status_of(exc), digest(current(path)))
    return RedirectResponse("/incentives?saved=true", status_code=303)
