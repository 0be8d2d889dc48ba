"""The public names of the CRM and identity packages are pinned."""

from __future__ import annotations

import revteam.crm
import revteam.resolve


def test_exported_members():
    assert set(revteam.crm.__all__) == {
        "CRM_FILE", "EXTRA_TABLE", "Backoff", "CrmComponent", "CrmLoadResult", "CrmMapping",
        "SyncResult", "Translation", "UnmappedValue", "default_mapping",
        "write_hubspot_exports", "write_salesforce_exports",
    }  # fmt: skip
    assert set(revteam.resolve.__all__) == {
        "ACCOUNT_LINKS", "LINKS", "REVIEW", "IdentityComponent", "PairwiseScores", "Resolution",
        "ResolveResult", "pairwise_scores", "resolve_records",
    }  # fmt: skip
    for module in (revteam.crm, revteam.resolve):
        assert all(hasattr(module, name) for name in module.__all__)
