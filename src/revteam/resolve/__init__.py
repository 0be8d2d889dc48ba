"""Identity resolution: one person per person across HubSpot, Salesforce and files (splink).

``ws.identity.run()`` (an :class:`IdentityComponent`; ``revteam resolve`` on the
command line) writes ``person_links``, ``identity_review`` and ``person_account_links`` to the
warehouse; :func:`resolve_records` links any table of person records. See ``docs/identity.md``.
"""

from __future__ import annotations

from revteam.resolve.component import (
    ACCOUNT_LINKS,
    LINKS,
    REVIEW,
    IdentityComponent,
    ResolveResult,
)
from revteam.resolve.evaluate import PairwiseScores, pairwise_scores
from revteam.resolve.model import Resolution, resolve_records

__all__ = [
    "ACCOUNT_LINKS",
    "LINKS",
    "REVIEW",
    "IdentityComponent",
    "PairwiseScores",
    "Resolution",
    "ResolveResult",
    "pairwise_scores",
    "resolve_records",
]
