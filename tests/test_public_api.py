"""The top-level public names are pinned, and `import revteam` needs only core dependencies."""

from __future__ import annotations

import subprocess
import sys

import revteam


def test_exported_members():
    assert set(revteam.__all__) == {"RevteamError", "Workspace", "__version__", "init", "open"}
    for name in revteam.__all__:
        assert hasattr(revteam, name)


def test_import_does_not_pull_heavy_optional_packages():
    code = (
        "import sys, revteam; heavy = {'pyspark', 'pymc_marketing', 'pandas', 'ibis'} "
        "& set(sys.modules); print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
