"""Write a generated company as HubSpot- and Salesforce-shaped exports.

The demo uses them to run the whole path file → canonical → KPIs through the CRM readers, and
the tests check that reading them back gives the canonical data of a direct load. Values are
written the way the CRMs write them (labels such as ``Closed Won``, country names, ``$1,234.50``
and percent probabilities in Salesforce reports); fields the CRMs have no standard property for
(persona, segment, region, disqualification) are written as the custom properties that the
readers recognise. Tables that CRMs do not hold (costs, web traffic, social, SEO, and for HubSpot
also campaigns, touchpoints, activities, e-mail events and orders) are written in canonical form
beside them, so that a folder is a whole company.
"""

from __future__ import annotations

from revteam.crm.writers.hubspot import HUBSPOT_TABLES, write_hubspot_exports
from revteam.crm.writers.salesforce import SALESFORCE_TABLES, write_salesforce_exports

__all__ = [
    "HUBSPOT_TABLES",
    "SALESFORCE_TABLES",
    "write_hubspot_exports",
    "write_salesforce_exports",
]
