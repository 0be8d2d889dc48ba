"""HubSpot: UI exports, API objects (Fivetran tables, connector files) and the API connector."""

from __future__ import annotations

from revteam.crm.hubspot.api_objects import read_api_objects
from revteam.crm.hubspot.exports import read_exports

__all__ = ["read_api_objects", "read_exports"]
