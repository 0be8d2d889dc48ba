"""Salesforce API objects as loaders store them (Fivetran tables, the connector's JSON Lines).

A file is recognised by its name: ``sf_opportunity_data.csv``, ``opportunity.parquet`` and
``Opportunity.jsonl`` are all the Opportunity object. Columns may be API names (``StageName``)
or Fivetran's snake_case (``stage_name``). Objects revteam has no use for are listed in
:data:`NOT_NEEDED` with the reason, and reported as such instead of being loaded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from revteam.crm import _private as P
from revteam.crm import owners
from revteam.crm.mapping import CrmMapping
from revteam.crm.salesforce import objects
from revteam.crm.salesforce.fields import FIELDS
from revteam.crm.translation import Translation, build

NOT_NEEDED: dict[str, str] = {
    "account_history": "history-mode copy of Account; the current accounts come from account",
    "contact_history": "history-mode copy of Contact; the current contacts come from contact",
    "product_2": "product catalogue; orders carry their amounts",
    "opportunity_line_item": "deal line items; the deal amount is on the opportunity",
    "order_item": "order lines; the order amount is on the order",
    "user_role": "lookup only (role names of users)",
    "opportunity_contact_role": "contact roles; the primary contact is on the opportunity",
}
"""Salesforce objects that are not loaded as tables, with the reason."""

_PREFIX = re.compile(r"^(sf_|salesforce_|salesforce__|stg_salesforce__)", re.IGNORECASE)
_SUFFIX = re.compile(r"(_data|_tmp)(__from_\w+)?$", re.IGNORECASE)


def object_of(path: Path) -> str:
    """``sf_opportunity_history_data.csv`` → ``opportunity_history``."""
    stem = path.name.split(".")[0]
    name = _SUFFIX.sub("", _PREFIX.sub("", stem))
    return P.snake(name) if any(ch.isupper() for ch in name) else name.lower()


def read_api_objects(
    paths: Sequence[Path],
    *,
    mapping: CrmMapping,
    timezone: str,
    users: Sequence[owners.User] = (),
    include_deleted: bool = False,
) -> Translation:
    """Translate Salesforce object tables; unknown files are refused, unneeded ones noted."""

    def fill(tr: Translation) -> None:
        owners.create_lookup(tr, users)
        sources = []
        for path in paths:
            obj = object_of(path)
            if obj in NOT_NEEDED and obj != "user_role":
                tr.notes.append(f"{path.name}: not loaded ({NOT_NEEDED[obj]})")
                continue
            if obj not in FIELDS:
                tr.notes.append(
                    f"{path.name}: not loaded (no Salesforce object {obj!r} that revteam reads; "
                    f"it reads {', '.join(sorted(FIELDS))})"
                )
                continue
            src = tr.stage(path, obj)
            tr.rename(src, {c: P.snake(c) for c in src.columns if c != P.snake(c)})
            sources.append(src)
        objects.translate(tr, sources, include_deleted=include_deleted)

    return build("salesforce", "api", mapping, timezone, fill)
