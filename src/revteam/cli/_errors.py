"""The one place where errors become exit codes (documented in ``docs/cli.md``).

Library code raises :class:`~revteam.exceptions.RevteamError` subclasses that already say what
was wrong and how to fix it; the CLI only picks the exit code, as the web face picks the HTTP
status in ``revteam.web.errors``. The first matching entry wins, so specific classes come
before the classes they derive from; :class:`RevteamError` itself is the last resort. Code 5
is not an error: ``ingest --strict`` exits with it (``revteam.cli.data.EXIT_QUARANTINED``) when
the file loaded but some rows were refused. Code 9 is kept apart from 4 because after it the
warehouse is not as before: scripts must not assume a retry starts from scratch.
"""

from __future__ import annotations

from revteam.exceptions import (
    AccessError,
    AlertDeliveryError,
    AlertError,
    AlertRunnerBusyError,
    AppDatabaseError,
    AttributionError,
    ClvError,
    ConfigError,
    CrmConfigError,
    CrmError,
    GeneratorError,
    GoalError,
    HashingBusyError,
    IngestError,
    MetricError,
    MissingDependencyError,
    ModelError,
    PartialLoadError,
    ProposalError,
    QueryTimeoutError,
    ResolveError,
    ReviewError,
    RevteamError,
    ScoringError,
    ServerBusyError,
    StatsError,
    TimelineError,
    UnreadableWarehouseError,
    UserError,
    WarehouseBusyError,
    WorkspaceNotFoundError,
)

OTHER = 1
"""Any other revteam error."""
BAD_INPUT = 2
"""A bad argument, setting, configuration or request (unknown table, bad revteam.toml …)."""
NO_WORKSPACE = 3
"""No workspace where one was expected."""
LOAD_FAILED = 4
"""A load could not start or was rolled back (the warehouse is unchanged)."""
ACCESS_DENIED = 6
"""Sign-in or permission refused."""
APP_DATABASE = 7
"""The application database is unreachable or not migrated."""
WAREHOUSE_BUSY = 8
"""Another process holds the warehouse: a load waited ``--wait`` seconds for it in vain, or a
command that reads the data ran during a load. DuckDB's lock error is raised as
:class:`WarehouseBusyError` where the warehouse is opened, never as a configuration error."""
PARTIAL_LOAD = 9
"""A file of several failed after the files before it were committed; those stay loaded."""

EXIT_CODES: tuple[tuple[type[Exception], int], ...] = (
    (WorkspaceNotFoundError, NO_WORKSPACE),
    (UnreadableWarehouseError, BAD_INPUT),  # the fix is the workspace's file, not a retry
    (ConfigError, BAD_INPUT),
    (ModelError, BAD_INPUT),
    (GeneratorError, BAD_INPUT),
    (MetricError, BAD_INPUT),
    (StatsError, BAD_INPUT),
    (UserError, BAD_INPUT),
    (ResolveError, BAD_INPUT),
    (TimelineError, BAD_INPUT),
    (AttributionError, BAD_INPUT),
    (ClvError, BAD_INPUT),
    (ScoringError, BAD_INPUT),
    (GoalError, BAD_INPUT),
    (ReviewError, BAD_INPUT),
    (ProposalError, BAD_INPUT),
    (AlertError, BAD_INPUT),
    (MissingDependencyError, BAD_INPUT),
    (CrmConfigError, BAD_INPUT),  # a CrmError, but the fix is in crm.yaml or the options
    (CrmError, LOAD_FAILED),
    (PartialLoadError, PARTIAL_LOAD),
    (IngestError, LOAD_FAILED),
    (AccessError, ACCESS_DENIED),
    (AppDatabaseError, APP_DATABASE),
    (WarehouseBusyError, WAREHOUSE_BUSY),
    (ServerBusyError, WAREHOUSE_BUSY),  # the web app's; the warehouse cannot answer now
    (QueryTimeoutError, WAREHOUSE_BUSY),  # the web app's; narrow the request or retry
    (HashingBusyError, OTHER),  # the web app's sign-ins; one command hashes one password
    (AlertRunnerBusyError, OTHER),  # another process evaluates the alerts; try again soon
    (AlertDeliveryError, OTHER),  # recorded against the delivery, never raised out of a run
    (RevteamError, OTHER),
)


def exit_code_of(exc: BaseException) -> int:
    """The exit code for an error: the first entry of :data:`EXIT_CODES` it is an instance of."""
    return next((code for cls, code in EXIT_CODES if isinstance(exc, cls)), OTHER)
