"""Ingest: files in, validated canonical rows out, refused rows to quarantine with their reasons."""

from __future__ import annotations

from revteam.ingest.loader import IngestResult, load_file
from revteam.ingest.mapping import Mapping, load_mapping
from revteam.ingest.readers import detect_format

__all__ = ["IngestResult", "Mapping", "detect_format", "load_file", "load_mapping"]
