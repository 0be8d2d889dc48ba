"""Workspaces: the warehouse, the settings, and the Python API's entry object."""

from __future__ import annotations

from revteam.settings import CONFIG_FILE, DEFAULT_WINDOWS, Settings, find_workspace, load_settings
from revteam.workspace.workspace import Workspace, init_workspace, last_status, open_workspace

__all__ = [
    "CONFIG_FILE",
    "DEFAULT_WINDOWS",
    "Settings",
    "Workspace",
    "find_workspace",
    "init_workspace",
    "last_status",
    "load_settings",
    "open_workspace",
]
