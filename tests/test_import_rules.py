"""Imports flow one way: each package imports only packages on lower floors.

The floors are the ones docs/architecture.md draws. Every ``import revteam.…`` counts, also
those under ``TYPE_CHECKING`` (a type-only import is still a dependency an engineer must
follow). A new upward import fails here with the file, the line and the rule it breaks.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "revteam"
FLOORS: tuple[tuple[str, ...], ...] = (
    ("exceptions",),
    ("model",),
    ("settings",),
    ("storage",),
    ("ingest", "generate", "app"),
    ("crm", "metrics"),
    ("resolve", "stats"),
    ("goals", "timeline", "attribution", "clv", "scoring"),
    ("proposals",),
    ("review",),
    ("alerts",),
    ("workspace",),
    ("revteam",),  # the package itself: revteam.open, revteam.init
    ("web", "cli"),
    ("__main__",),  # python -m revteam runs the CLI
)
"""Lowest first. Packages on one floor do not import each other (web and cli never do)."""
FLOOR = {name: i for i, names in enumerate(FLOORS) for name in names}


def package_of(path: Path) -> str:
    rel = path.relative_to(SRC).parts
    if rel == ("__init__.py",):
        return "revteam"
    return rel[0].removesuffix(".py")


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level revteam package) of every absolute import of revteam in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "revteam":
                found.append((node.lineno, parts[1] if len(parts) > 1 else "revteam"))
    return found


MODULES = sorted(SRC.rglob("*.py"))


def test_every_package_has_a_floor() -> None:
    packages = {package_of(p) for p in MODULES}
    assert packages <= set(FLOOR), f"put {sorted(packages - set(FLOOR))} on a floor"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_only_go_down(path: Path) -> None:
    mine = package_of(path)
    wrong = [
        f"{path.relative_to(SRC)}:{line} imports revteam.{target} "
        f"(floor {FLOOR[target]}) from {mine} (floor {FLOOR[mine]})"
        for line, target in imports(path)
        if target != mine and FLOOR.get(target, len(FLOORS)) >= FLOOR[mine]
    ]
    assert not wrong, "; ".join(wrong)


def test_the_rule_catches_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from __future__ import annotations\nif False:\n    import revteam.workspace\n")
    assert imports(bad) == [(3, "workspace")]
    assert FLOOR["workspace"] > FLOOR["metrics"]
