"""Every error revteam raises on purpose derives from :class:`RevteamError`.

The tree::

    RevteamError
    ├── ConfigError (ValueError)               bad revteam.toml / environment / argument
    │   └── WorkspaceNotFoundError (FileNotFoundError)
    ├── ModelError (KeyError)                  unknown canonical table or column
    ├── IngestError                            a load that cannot start or was rolled back
    │   ├── SourceFileError (ValueError)       unreadable file, unknown format, bad mapping file
    │   └── MissingColumnsError (ValueError)   required canonical columns absent from a file
    └── GeneratorError (ValueError)            impossible synthetic-company configuration

Each exception keeps its inputs as attributes and builds its own message, which names what was
wrong and what would fix it. The CLI maps them to exit codes in one place (``revteam.cli``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path


class RevteamError(Exception):
    """Root of every error revteam raises on purpose."""

    exit_code: int = 1


class ConfigError(ValueError, RevteamError):
    """A setting, argument or configuration file is invalid."""

    exit_code = 2


class WorkspaceNotFoundError(FileNotFoundError, RevteamError):
    """No ``revteam.toml`` where a workspace was expected."""

    exit_code = 3

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(
            f"No revteam workspace at {path} (no revteam.toml found). "
            f"Create one with `revteam init {path}` or `revteam demo`, "
            "or point to one with --workspace / REVTEAM_WORKSPACE."
        )


class ModelError(KeyError, RevteamError):
    """An unknown canonical table or column was named."""

    exit_code = 2

    def __init__(self, kind: str, name: str, allowed: Iterable[str]) -> None:
        self.kind, self.name, self.allowed = kind, name, tuple(allowed)
        super().__init__(name)

    def __str__(self) -> str:
        return f"Unknown {self.kind} {self.name!r}; expected one of: {', '.join(self.allowed)}"


class IngestError(RevteamError):
    """A load could not start, or failed and was rolled back (the warehouse is unchanged)."""

    exit_code = 4


class SourceFileError(ValueError, IngestError):
    """A source or mapping file cannot be read as given."""

    def __init__(self, path: Path | str, problem: str, fix: str = "") -> None:
        self.path, self.problem, self.fix = Path(path), problem, fix
        super().__init__(f"{path}: {problem}" + (f" ({fix})" if fix else ""))


class MissingColumnsError(ValueError, IngestError):
    """The file lacks canonical columns that every row of the table needs."""

    def __init__(
        self, path: Path | str, table: str, missing: Sequence[str], found: Sequence[str]
    ) -> None:
        self.path, self.table = Path(path), table
        self.missing, self.found = tuple(missing), tuple(found)
        super().__init__(
            f"{path}: table {table!r} needs column(s) {', '.join(self.missing)}, which the file "
            f"does not have (found: {', '.join(self.found) or 'none'}). Rename them in the file "
            "or map them with a mapping file (--mapping), e.g. `columns: {Source Name: "
            f"{self.missing[0]}}}`."
        )


class GeneratorError(ValueError, RevteamError):
    """The synthetic-company configuration cannot be generated."""

    exit_code = 2
