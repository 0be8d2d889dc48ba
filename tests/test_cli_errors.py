"""Exit codes live in the CLI, in one table; every error keeps the code it always had."""

from __future__ import annotations

import inspect

import pytest

import revteam.exceptions as exceptions
from revteam.cli._errors import EXIT_CODES, exit_code_of
from revteam.exceptions import RevteamError

# Each class's ``exit_code`` attribute before the mapping moved out of revteam.exceptions.
# Changing one of these changes the documented interface (docs/cli.md): do it on purpose.
BEFORE = {
    "RevteamError": 1,
    "ConfigError": 2,
    "WorkspaceNotFoundError": 3,
    "ModelError": 2,
    "IngestError": 4,
    "SourceFileError": 4,
    "SourcesError": 4,
    "MissingColumnsError": 4,
    "GeneratorError": 2,
    "MetricError": 2,
    "UnknownMetricError": 2,
    "UnsupportedDimensionError": 2,
    "MetricQueryError": 2,
    "CatalogueError": 2,
    "StatsError": 2,
    "StatsOptionError": 2,
    "UnsupportedStatisticError": 2,
    "InsufficientDataError": 2,
    "MissingDependencyError": 2,
    "AppDatabaseError": 7,
    "WarehouseBusyError": 8,
    "AccessError": 6,
    "AuthenticationError": 6,
    "TooManyAttemptsError": 6,
    "PermissionDeniedError": 6,
    "CsrfError": 6,
    "UserError": 2,
    "UnknownUserError": 2,
    "UserExistsError": 2,
    "PasswordPolicyError": 2,
    "CrmError": 4,
    "CrmConfigError": 2,
    "CrmSourceError": 4,
    "CrmAuthError": 4,
    "CrmApiError": 4,
    "ResolveError": 2,
    # Added since.
    "PartialLoadError": 9,
    "UnreadableWarehouseError": 2,
    "LimitExceededError": 2,
    "QueryTimeoutError": 8,
    "ServerBusyError": 8,
    "HashingBusyError": 1,
    "GoalError": 2,
    "UnknownGoalError": 2,
    "GoalConflictError": 2,
    "ReviewError": 2,
    "ProposalError": 2,
    "UnknownProposalError": 2,
    "ProposalConflictError": 2,
    "UnknownActionItemError": 2,
    "ActionItemConflictError": 2,
    "AlertError": 2,
    "UnknownAlertRuleError": 2,
    "AlertRunnerBusyError": 1,
    "AlertDeliveryError": 1,
    "TimelineError": 2,
    "AttributionError": 2,
    "ClvError": 2,
    "ScoringError": 2,
    "UnknownEntityError": 2,
    "UnagreedDefinitionError": 2,
}

ERRORS = [
    cls
    for _, cls in inspect.getmembers(exceptions, inspect.isclass)
    if issubclass(cls, RevteamError) and cls.__module__ == exceptions.__name__
]


def _bare(cls: type[RevteamError]) -> RevteamError:
    return cls.__new__(cls)  # the code depends on the class alone, not on the arguments


def test_every_error_keeps_its_exit_code():
    assert {cls.__name__: exit_code_of(_bare(cls)) for cls in ERRORS} == BEFORE


@pytest.mark.parametrize("cls", [c for c in ERRORS if c is not RevteamError], ids=str)
def test_every_error_has_a_deliberate_entry(cls: type[RevteamError]):
    # Some class of its own line other than the root is in the table (nothing falls to 1 by
    # accident), and the entry that wins is the most specific one it matches.
    matches = [c for c, _ in EXIT_CODES if c in cls.__mro__ and c is not RevteamError]
    assert matches, f"{cls.__name__} has no entry in revteam.cli._errors.EXIT_CODES"
    assert all(issubclass(matches[0], other) for other in matches[1:])


def test_the_table_lists_specific_classes_first():
    for i, (general, _) in enumerate(EXIT_CODES):
        for specific, _ in EXIT_CODES[i + 1 :]:
            assert not issubclass(specific, general), f"{general} shadows {specific}"


def test_errors_no_longer_carry_exit_codes():
    assert not [cls.__name__ for cls in ERRORS if "exit_code" in vars(cls)]


def test_anything_else_is_one():
    assert exit_code_of(ValueError("not ours")) == 1


def test_the_docstring_draws_the_real_tree():
    import re

    drawn = {}
    parents: list[str] = []
    for line in exceptions.__doc__.split("The tree::")[1].split("\n\n")[1].splitlines():
        m = re.match(r"^ {4}([│├└─ ]*)(\w+)", line)
        assert m, line
        depth = len(m[1]) // 4
        parents[depth:] = [m[2]]
        drawn[m[2]] = parents[depth - 1] if depth else None
    real = {
        cls.__name__: next((b.__name__ for b in cls.__bases__ if issubclass(b, RevteamError)), None)
        for cls in ERRORS
    }
    assert drawn == real
