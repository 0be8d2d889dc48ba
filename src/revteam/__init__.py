"""revteam: one set of revenue KPIs that Sales and Marketing own together.

>>> import revteam
>>> ws = revteam.open("my-workspace")          # doctest: +SKIP
"""

from __future__ import annotations

from importlib.metadata import version as _version

from revteam.exceptions import RevteamError
from revteam.workspace import Workspace, init_workspace, open_workspace

__version__ = _version("revteam")

open = open_workspace
init = init_workspace

__all__ = ["RevteamError", "Workspace", "__version__", "init", "open"]
