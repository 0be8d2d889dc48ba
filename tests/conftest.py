from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import revteam
from revteam.workspace import Workspace

# Settings tests and the CLI read REVTEAM_*; a developer's own shell must not leak into tests.
for _name in [n for n in os.environ if n.startswith("REVTEAM_")]:
    del os.environ[_name]

SHARED = Path(__file__).resolve().parents[2] / "shared"
FIXTURES = SHARED / "fixtures"


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    workspace = revteam.init(tmp_path / "ws")
    try:
        yield workspace
    finally:
        workspace.close()


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path
