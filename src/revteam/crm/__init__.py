"""CRM integration: HubSpot and Salesforce exports, object tables and APIs into the model.

Every source is translated into canonical-shaped tables and loaded by the ordinary ingest, so
validation, quarantine, idempotence and one transaction per table apply unchanged
(``docs/crm.md``). The Python entry point is :class:`CrmComponent` (``ws.crm``)::

    ws.crm.load_hubspot(["contacts.csv", "companies.csv", "deals.csv"])
    ws.crm.load_salesforce("fivetran_export/")
    ws.crm.sync_hubspot()          # token from HUBSPOT_ACCESS_TOKEN
    ws.crm.unmapped("salesforce", "reports/")
"""

from __future__ import annotations

from revteam.crm.component import CrmComponent
from revteam.crm.loading import EXTRA_TABLE, CrmLoadResult
from revteam.crm.mapping import CRM_FILE, CrmMapping, UnmappedValue, default_mapping
from revteam.crm.retry import Backoff
from revteam.crm.sync import SyncResult
from revteam.crm.translation import Translation
from revteam.crm.writers import write_hubspot_exports, write_salesforce_exports

__all__ = [
    "CRM_FILE",
    "EXTRA_TABLE",
    "Backoff",
    "CrmComponent",
    "CrmLoadResult",
    "CrmMapping",
    "SyncResult",
    "Translation",
    "UnmappedValue",
    "default_mapping",
    "write_hubspot_exports",
    "write_salesforce_exports",
]
