"""Moved to :mod:`revteam.settings`; import from there.

This re-export stays until every package imports ``revteam.settings`` (the metric layer does
not yet), then goes.
"""

from __future__ import annotations

from revteam.settings import (
    CONFIG_FILE,
    DEFAULT_WINDOWS,
    IdentitySettings,
    Settings,
    load_settings,
    write_settings,
)

__all__ = [
    "CONFIG_FILE",
    "DEFAULT_WINDOWS",
    "IdentitySettings",
    "Settings",
    "load_settings",
    "write_settings",
]
