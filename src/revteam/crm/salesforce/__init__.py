"""Salesforce: report exports, API objects (Fivetran tables, connector files), API connector."""

from __future__ import annotations

from revteam.crm.salesforce.api_objects import read_api_objects
from revteam.crm.salesforce.reports import read_reports

__all__ = ["read_api_objects", "read_reports"]
