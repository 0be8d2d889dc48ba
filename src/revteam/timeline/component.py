"""``ws.timeline``: account and person timelines across both teams' data, and a search.

>>> t = ws.timeline.account("A000053", limit=50)                     # doctest: +SKIP
>>> [e.description for e in t.events]                               # doctest: +SKIP
>>> ws.timeline.person("P0000002", kinds=["stage", "activity"])      # doctest: +SKIP
>>> ws.timeline.search("acme")                                      # doctest: +SKIP

Each page is one query that DuckDB sorts and cuts (see :mod:`revteam.timeline.events`); the
totals per kind are a second, counting query. See docs/timeline.md.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from revteam.exceptions import TimelineError, UnknownEntityError
from revteam.metrics.request import DateLike, check_rows, check_year, to_as_of
from revteam.timeline import header as H
from revteam.timeline.events import (
    COLUMNS,
    END_OF_TIME,
    KINDS,
    MAX_LIMIT,
    Event,
    Subject,
    check_kinds,
    check_page,
    count_sql,
    page_sql,
    to_events,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from revteam.metrics import MetricsComponent
    from revteam.settings import Settings
    from revteam.storage import Warehouse

MAX_SEARCH = 100
MAX_QUERY = 100
COUNTS_KEPT = 256
"""Timelines whose counts per kind are kept (a few hundred bytes each)."""
MAX_ID = 200
"""Longest account or person id accepted (longer ones cannot exist in a CRM)."""
_TOP = """(SELECT *, count(*) OVER () AS n FROM {hits}
          ORDER BY prefix DESC, lower(name), id LIMIT $2)"""
"""The first ``$2`` hits of one kind, each with the number of all hits of its kind."""


@dataclass(frozen=True)
class Timeline:
    """One page of an account's or a person's events, with the header above them."""

    subject: Subject
    id: str
    events: tuple[Event, ...]
    total: int
    """Events of the kinds asked for, to the as-of time (all pages)."""
    counts: Mapping[str, int]
    """Events per kind to the as-of time, whatever kinds were asked for."""
    limit: int
    offset: int
    kinds: tuple[str, ...]
    as_of: dt.datetime | None
    header: H.AccountHeader | H.PersonHeader | None = None
    person_ids: tuple[str, ...] = ()
    """For a person: the source records whose events these are (the linked ones too)."""

    @property
    def next_offset(self) -> int | None:
        nxt = self.offset + self.limit
        return nxt if nxt < self.total else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "id": self.id,
            "header": None if self.header is None else self.header.as_dict(),
            "person_ids": list(self.person_ids),
            "kinds": list(self.kinds),
            "as_of": self.as_of,
            "counts": dict(self.counts),
            "total": self.total,
            "limit": self.limit,
            "offset": self.offset,
            "next_offset": self.next_offset,
            "events": [e.as_dict() for e in self.events],
        }


@dataclass(frozen=True)
class SearchHit:
    kind: Subject
    id: str
    name: str
    detail: str | None
    """The account's domain, or the person's e-mail."""
    account_id: str | None = None
    account_name: str | None = None


@dataclass(frozen=True)
class SearchResult:
    query: str
    hits: tuple[SearchHit, ...]
    more: bool
    """More accounts or people matched than ``limit`` (per kind): narrow the text."""
    limit: int = 20
    counts: Mapping[str, int] = field(default_factory=dict)


class TimelineComponent:
    """Timelines of accounts and people over the warehouse (``ws.timeline``)."""

    def __init__(
        self, *, warehouse: Warehouse, metrics: MetricsComponent, settings: Settings
    ) -> None:
        self._warehouse = warehouse
        self._metrics = metrics
        self._settings = settings
        self._counted: OrderedDict[tuple[Any, ...], dict[str, int]] = OrderedDict()

    # -- timelines -----------------------------------------------------------------------------
    def account(
        self,
        account_id: str,
        *,
        limit: int = 50,
        offset: int = 0,
        kinds: Iterable[str] | str | None = None,
        as_of: DateLike | None = None,
        header: bool = True,
    ) -> Timeline:
        """One page of the account's events, oldest first, and (``header``) the account.

        The account's events: its own creation, its people's lifecycle stamps, touches, web
        visits and e-mail events, sales activities and orders with its ``account_id`` or one of
        its people, its opportunities (and those of its people) with their stage history.
        """
        cut, wanted = self._options(limit, offset, kinds, as_of)
        row = H.account_row(self._run, self._id(account_id, "account"))
        if row is None:
            raise UnknownEntityError("account", account_id)
        top = self._account_header(row, as_of, cut) if header else None
        counts = self._counts("account", account_id, cut)
        events = self._page("account", account_id, wanted, cut, limit, offset)
        total = sum(counts.get(k, 0) for k in wanted)
        return Timeline(
            "account", account_id, events, total, counts, limit, offset, wanted, cut, top
        )

    def person(
        self,
        person_id: str,
        *,
        limit: int = 50,
        offset: int = 0,
        kinds: Iterable[str] | str | None = None,
        as_of: DateLike | None = None,
        header: bool = True,
        linked: bool = True,
    ) -> Timeline:
        """One page of the person's events, oldest first, and (``header``) the person.

        With ``linked`` (the default) and identity resolution run, the events of every source
        record linked to this person (a HubSpot contact and a Salesforce lead of one person)
        are one timeline; each event names the record (``person_id``) it came from.
        """
        cut, wanted = self._options(limit, offset, kinds, as_of)
        row = H.person_row(self._run, self._id(person_id, "person"))
        if row is None:
            raise UnknownEntityError("person", person_id)
        identity = H.person_identity(self._run, row)
        ids = identity.record_ids if linked and identity.record_ids else (person_id,)
        top = None
        if header:
            top = H.PersonHeader(
                person_id,
                H.name_of(row.get("first_name"), row.get("last_name")) or person_id,
                _fields(row, "people"),
                H.owner_of(row),
                row.get("source"),
                row.get("account_id"),
                row.get("account_name"),
                identity,
                H.owners(self._run, "person", list(ids), cut or END_OF_TIME),
            )
        counts = self._counts("person", list(ids), cut)
        events = self._page("person", list(ids), wanted, cut, limit, offset)
        total = sum(counts.get(k, 0) for k in wanted)
        return Timeline(
            "person", person_id, events, total, counts, limit, offset, wanted, cut, top, ids
        )

    def export(
        self,
        subject: Subject,
        id: str,
        *,
        kinds: Iterable[str] | str | None = None,
        as_of: DateLike | None = None,
        max_rows: int | None = None,
    ) -> pa.Table:
        """Every event of an account or person (of ``kinds``, to ``as_of``) as an Arrow table.

        Refused (``LimitExceededError``) above ``max_rows`` (default ``limits.max_rows``).
        """
        import pyarrow as pa

        most = self._settings.limits.max_rows if max_rows is None else max_rows
        first = (self.account if subject == "account" else self.person)(
            id, limit=1, kinds=kinds, as_of=as_of, header=False
        )
        check_rows(first.total, most, what="events", narrow="fewer kinds (kinds=) or as_of=")
        param: str | list[str] = id if subject == "account" else list(first.person_ids)
        events = self._page(subject, param, first.kinds, first.as_of, max(first.total, 1), 0)
        columns = {c: [getattr(e, c) for e in events] for c in COLUMNS}
        return pa.table(columns) if events else pa.table({c: pa.array([]) for c in COLUMNS})

    # -- search --------------------------------------------------------------------------------
    def search(self, q: str, limit: int = 20) -> SearchResult:
        """Accounts whose name or domain, and people whose name or e-mail, contain ``q``.

        Case-insensitive, as typed (no wildcards), but a web address is searched for by its
        domain (``https://www.acme.com/`` finds ``acme.com``). At most ``limit`` (≤ 100)
        accounts and ``limit`` people, those whose name (or domain, e-mail) starts with the text
        first, then by name; ``counts`` says how many of each matched and ``more`` whether some
        were left out.
        """
        text = _search_text(q)
        if not text or len((q or "").strip()) > MAX_QUERY:
            raise TimelineError(
                "Give some text to search for." if not text else "The search text is too long.",
                f"Search with 1 to {MAX_QUERY} characters of a name, domain or e-mail.",
            )
        if not isinstance(limit, int) or not 1 <= limit <= MAX_SEARCH:
            raise TimelineError(
                f"limit={limit!r} is not a number of hits.", f"Ask for 1 to {MAX_SEARCH}."
            )
        found = self._run(
            f"""WITH accounts_hit AS (
                SELECT 'account' AS kind, account_id AS id, name, domain AS detail,
                       NULL::VARCHAR AS account_id, NULL::VARCHAR AS account_name,
                       starts_with(lower(name), $1) OR starts_with(lower(domain), $1) AS prefix
                FROM accounts
                WHERE contains(lower(name), $1) OR contains(lower(COALESCE(domain, '')), $1)),
            people_hit AS (
                SELECT 'person' AS kind, p.person_id AS id,
                       COALESCE(NULLIF(concat_ws(' ', p.first_name, p.last_name), ''),
                                p.email, p.person_id) AS name,
                       p.email AS detail, p.account_id, a.name AS account_name,
                       starts_with(lower(concat_ws(' ', p.first_name, p.last_name)), $1)
                           OR starts_with(lower(p.last_name), $1)
                           OR starts_with(lower(p.email), $1) AS prefix
                FROM people p LEFT JOIN accounts a ON a.account_id = p.account_id
                WHERE contains(lower(concat_ws(' ', p.first_name, p.last_name)), $1)
                   OR contains(lower(COALESCE(p.email, '')), $1))
            {_TOP.format(hits="accounts_hit")} UNION ALL {_TOP.format(hits="people_hit")}
            ORDER BY kind, prefix DESC, lower(name), id""",
            [text, limit],
        ).to_pylist()
        counts = {"account": 0, "person": 0} | {r["kind"]: int(r["n"]) for r in found}
        hits = tuple(
            SearchHit(
                r["kind"], r["id"], r["name"], r["detail"], r["account_id"], r["account_name"]
            )
            for r in found
        )
        more = any(n > limit for n in counts.values())
        return SearchResult(q.strip(), hits, more, limit, counts)

    # -- internals -----------------------------------------------------------------------------
    def _run(self, sql: str, params: list[Any]) -> pa.Table:
        table: pa.Table = self._warehouse.arrow(sql, params)
        return table

    def _options(
        self,
        limit: int,
        offset: int,
        kinds: Iterable[str] | str | None,
        as_of: DateLike | None,
    ) -> tuple[dt.datetime | None, tuple[str, ...]]:
        check_page(limit, offset)
        cut = to_as_of(as_of)
        check_year(cut.date() if cut else None, "as_of", self._settings.plausible_years)
        return cut, check_kinds(kinds)

    @staticmethod
    def _id(value: str, what: str) -> str:
        if not isinstance(value, str) or not value or len(value) > MAX_ID or "\x00" in value:
            raise UnknownEntityError(what, str(value)[:MAX_ID])
        return value

    def _counts(
        self, subject: Subject, param: str | list[str], cut: dt.datetime | None
    ) -> dict[str, int]:
        """Events per kind; kept per data version, so paging through a timeline counts once."""
        key = (self._warehouse.data_version, subject, tuple(param) if isinstance(param, list)
               else param, cut)  # fmt: skip
        if key in self._counted:
            self._counted.move_to_end(key)
            return self._counted[key]
        found = self._run(count_sql(subject), [param, cut or END_OF_TIME]).to_pylist()
        n = {r["kind"]: int(r["n"]) for r in found}
        counts = {k: n.get(k, 0) for k in KINDS if subject == "account" or k != "account"}
        self._counted[key] = counts
        while len(self._counted) > COUNTS_KEPT:
            self._counted.popitem(last=False)
        return counts

    def _page(
        self,
        subject: Subject,
        param: str | list[str],
        kinds: tuple[str, ...],
        cut: dt.datetime | None,
        limit: int,
        offset: int,
    ) -> tuple[Event, ...]:
        sql = page_sql(subject, kinds)
        rows = self._run(sql, [param, cut or END_OF_TIME, limit, offset]).to_pylist()
        return tuple(to_events(rows, currency=self._settings.currency))

    def _account_header(
        self, row: dict[str, Any], as_of: DateLike | None, cut: dt.datetime | None
    ) -> H.AccountHeader:
        account_id = row["account_id"]
        kpis, deals, notes = H.account_kpis(
            self._metrics, account_id, as_of, self._settings.currency
        )
        return H.AccountHeader(
            account_id,
            row["name"],
            _fields(row, "accounts"),
            H.owner_of(row),
            row.get("source"),
            int(row["n_people"]),
            int(row["n_opportunities"]),
            H.account_identity(self._run, account_id),
            kpis,
            deals,
            notes,
            H.owners(self._run, "account", account_id, cut or END_OF_TIME),
        )


def _search_text(q: str | None) -> str:
    """The text to look for: lower case, and a web address reduced to its domain."""
    text = (q or "").strip().lower()
    if "://" in text:
        text = text.split("://", 1)[1].split("/", 1)[0]
    return text.removeprefix("www.").rstrip("/") or text


def _fields(row: Mapping[str, Any], table: str) -> dict[str, Any]:
    from revteam.model import TABLES

    return {c: row.get(c) for c in TABLES[table].column_names}


__all__ = ["MAX_LIMIT", "SearchHit", "SearchResult", "Timeline", "TimelineComponent"]
