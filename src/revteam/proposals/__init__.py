"""Defining the KPIs together: proposals, impact previews, dual sign-off and versions.

>>> p = ws.proposals.propose(open("sqr.yaml").read(), reason="30 days is enough")  # doctest: +SKIP
>>> ws.proposals.impact(p.id).periods                                              # doctest: +SKIP
>>> ws.proposals.vote(p.id, "approve", voter="vp.sales@example.com")              # doctest: +SKIP

See ``docs/definitions.md``.
"""

from __future__ import annotations

from revteam.proposals.component import ProposalsComponent
from revteam.proposals.impact import Impact
from revteam.proposals.store import Proposal, ProposalStore, Version

__all__ = ["Impact", "Proposal", "ProposalStore", "ProposalsComponent", "Version"]
