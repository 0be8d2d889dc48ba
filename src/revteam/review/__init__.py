"""The joint revenue review: a deterministic review pack, and the action items it records.

>>> pack = ws.review.pack("2026-03")                                     # doctest: +SKIP
>>> html = ws.review.render(pack, "html")                                # doctest: +SKIP

See ``docs/review.md``.
"""

from __future__ import annotations

from revteam.review.actions import ActionItem, ActionSpec, ActionStore
from revteam.review.component import ReviewComponent
from revteam.review.definitions import DefinitionChange, FieldChange
from revteam.review.pack import Pack, PackBuilder
from revteam.review.render import FORMATS, render

__all__ = [
    "FORMATS",
    "ActionItem",
    "ActionSpec",
    "ActionStore",
    "DefinitionChange",
    "FieldChange",
    "Pack",
    "PackBuilder",
    "ReviewComponent",
    "render",
]
