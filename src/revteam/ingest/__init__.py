"""Ingest: files in, validated canonical rows out, refused rows to quarantine with their reasons."""

from __future__ import annotations

from revteam.ingest.component import IngestComponent
from revteam.ingest.loader import load_file
from revteam.ingest.mapping import Mapping, load_mapping
from revteam.ingest.readers import detect_format
from revteam.ingest.runlog import FileOutcome, FileStatus, IngestResult, LoadReport
from revteam.ingest.status import WorkspaceStatus, collect_status, status_during_load

__all__ = [
    "FileOutcome",
    "FileStatus",
    "IngestComponent",
    "IngestResult",
    "LoadReport",
    "Mapping",
    "WorkspaceStatus",
    "collect_status",
    "detect_format",
    "load_file",
    "load_mapping",
    "status_during_load",
]
