"""Every error revteam raises on purpose derives from :class:`RevteamError`.

The tree::

    RevteamError
    ├── ConfigError (ValueError)               bad revteam.toml / environment / argument
    │   └── UnreadableWarehouseError           the warehouse file is damaged or not DuckDB's
    ├── WorkspaceNotFoundError (FileNotFoundError)  no revteam.toml where one was expected
    ├── ModelError (KeyError)                  unknown canonical table or column
    ├── IngestError                            a load that cannot start or was rolled back
    │   ├── SourceFileError (ValueError)       unreadable file, unknown format, bad mapping file
    │   ├── SourcesError (ValueError)          sources.yaml that cannot be read safely
    │   ├── MissingColumnsError (ValueError)   required canonical columns absent from a file
    │   └── PartialLoadError                   a file failed after earlier files were committed
    ├── GeneratorError (ValueError)            impossible synthetic-company configuration
    ├── MetricError                            the metric layer refused a request or catalogue
    │   ├── UnknownMetricError (KeyError)      no metric with that id in the catalogue
    │   ├── UnsupportedDimensionError (ValueError)  a metric cannot reach a dimension
    │   ├── MetricQueryError (ValueError)      bad grain, dates, filter values or options
    │   │   └── LimitExceededError             more periods or rows than one answer may hold
    │   └── CatalogueError (ValueError)        invalid metric YAML (every problem listed)
    │       └── UnagreedDefinitionError        metrics/approved/ changed by hand, not agreed
    ├── StatsError                             the statistics layer refused a request
    │   ├── StatsOptionError (ValueError)      bad level, alpha, comparison or period option
    │   ├── UnsupportedStatisticError (ValueError)  the analysis does not apply to the metric
    │   └── InsufficientDataError (ValueError) too few periods, segments or records
    ├── MissingDependencyError (ImportError)   an optional package is not installed
    ├── AppDatabaseError                       application database unreachable or not migrated
    ├── WarehouseBusyError                     another process holds the warehouse (a load)
    ├── QueryTimeoutError                      a web request's queries ran too long and were stopped
    ├── ServerBusyError                        too many web requests wait for the warehouse
    ├── HashingBusyError                       too many passwords being checked at once
    ├── AccessError                            sign-in and permissions (web app, REST API)
    │   ├── AuthenticationError                not signed in, wrong credentials, bad token
    │   │   └── TooManyAttemptsError           sign-in locked for a while after failures
    │   ├── PermissionDeniedError (PermissionError)  the user's role may not do this
    │   └── CsrfError                          a form post without a valid CSRF token
    ├── UserError (ValueError)                 user management refused a change
    │   ├── UnknownUserError (KeyError)        no such user (or API token)
    │   ├── UserExistsError                    e-mail already taken
    │   └── PasswordPolicyError                password too weak
    ├── CrmError                               a CRM source or connection could not be used
    │   ├── CrmConfigError (ValueError)        bad crm.yaml, unknown CRM file, missing credentials
    │   ├── CrmSourceError (ValueError)        a CRM file that is not the shape it should be
    │   ├── CrmAuthError (PermissionError)     the CRM refused the credentials
    │   └── CrmApiError                        the CRM API failed, also after retries
    ├── ResolveError                           identity resolution cannot run on this data
    ├── TimelineError (ValueError)             a timeline or search refused as asked (kinds, paging)
    │   └── UnknownEntityError (KeyError)      no account or person with that id
    ├── AttributionError (ValueError)          attribution refused as asked (model, conversion)
    ├── ClvError (ValueError)                  a customer-value model that cannot be fitted or used
    ├── ScoringError (ValueError)              a lead score that cannot be fitted or used as asked
    ├── GoalError (ValueError)                 a goal that cannot be set as given
    │   ├── UnknownGoalError (KeyError)        no goal with that id or scope
    │   └── GoalConflictError                  the goal changed since it was read, or overlaps
    ├── ReviewError (ValueError)               a review pack or action item refused as asked
    │   ├── UnknownActionItemError (KeyError)  no action item with that id
    │   └── ActionItemConflictError            the item changed since it was read
    ├── AlertError (ValueError)                an alert rule refused as given (options, schedule)
    │   └── UnknownAlertRuleError (KeyError)   no alert rule with that id
    ├── AlertRunnerBusyError                   another process is evaluating the alerts right now
    ├── AlertDeliveryError                     an e-mail or webhook could not be delivered
    └── ProposalError (ValueError)             a definition proposal refused as asked
        ├── UnknownProposalError (KeyError)    no proposal with that id
        └── ProposalConflictError              another change was agreed first: rebase

Each exception keeps its inputs as attributes and builds its own message, which names what was
wrong and what would fix it. The faces translate them at their edges, each in one place: the CLI
to exit codes (``revteam.cli._errors``), the web app to HTTP statuses (``revteam.web.errors``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path


class RevteamError(Exception):
    """Root of every error revteam raises on purpose."""


class ConfigError(ValueError, RevteamError):
    """A setting, argument or configuration file is invalid."""


class UnreadableWarehouseError(ConfigError):
    """The warehouse file cannot be read as a revteam warehouse.

    A :class:`ConfigError` because opening a warehouse raised one before this class existed.
    """

    def __init__(self, path: object, problem: str, fix: str) -> None:
        self.path, self.problem, self.fix = path, problem, fix
        super().__init__(
            f"The warehouse file {path} is not a readable revteam warehouse: {problem}. {fix}"
        )


class WorkspaceNotFoundError(FileNotFoundError, RevteamError):
    """No ``revteam.toml`` where a workspace was expected."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(
            f"No revteam workspace at {path} (no revteam.toml found). "
            f"Create one with `revteam init {path}` or `revteam demo`, "
            "or point to one with --workspace / REVTEAM_WORKSPACE."
        )


class ModelError(KeyError, RevteamError):
    """An unknown canonical table or column was named."""

    def __init__(self, kind: str, name: str, allowed: Iterable[str]) -> None:
        self.kind, self.name, self.allowed = kind, name, tuple(allowed)
        super().__init__(name)

    def __str__(self) -> str:
        return f"Unknown {self.kind} {self.name!r}; expected one of: {', '.join(self.allowed)}"


class IngestError(RevteamError):
    """A load could not start, or failed and was rolled back.

    The warehouse is unchanged, except for a :class:`PartialLoadError`.
    """


class SourceFileError(ValueError, IngestError):
    """A source or mapping file cannot be read as given."""

    def __init__(self, path: Path | str, problem: str, fix: str = "") -> None:
        self.path, self.problem, self.fix = Path(path), problem, fix
        super().__init__(f"{path}: {problem}" + (f" ({fix})" if fix else ""))


class SourcesError(ValueError, IngestError):
    """``sources.yaml`` cannot be used: the entry, what is wrong and how to fix it."""

    def __init__(self, path: Path | str, problem: str, fix: str = "") -> None:
        self.path, self.problem, self.fix = Path(path), problem, fix
        super().__init__(f"{path}: {problem}" + (f". {fix}" if fix else ""))


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


class PartialLoadError(IngestError):
    """A file of a load of several failed after earlier files were committed; those stay loaded.

    ``error`` is the failed file's message (what was wrong, and its fix); ``committed`` and
    ``skipped`` (not attempted) name the other files as they were given.
    """

    def __init__(
        self, failed: str, error: str, committed: Sequence[str], skipped: Sequence[str] = ()
    ) -> None:
        self.failed, self.error = failed, error
        self.committed, self.skipped = tuple(committed), tuple(skipped)
        later = f" Not attempted: {', '.join(self.skipped)}." if self.skipped else ""
        again = " and the files after it" if self.skipped else ""
        super().__init__(
            f"{error.rstrip('.')}. Loaded before it, and still in the warehouse: "
            f"{', '.join(self.committed)}.{later} Fix {failed}, then load it{again} again "
            "(loading a committed file again changes nothing); to load several files as one, "
            "all or nothing, use --all-or-nothing."
        )


class GeneratorError(ValueError, RevteamError):
    """The synthetic-company configuration cannot be generated."""


class MetricError(RevteamError):
    """The metric layer refused a request or a catalogue."""


class UnknownMetricError(KeyError, MetricError):
    """A metric id that the catalogue does not define."""

    def __init__(self, metric: str, allowed: Iterable[str]) -> None:
        self.metric, self.allowed = metric, tuple(sorted(allowed))
        super().__init__(metric)

    def __str__(self) -> str:
        close = difflib.get_close_matches(self.metric, self.allowed, n=3)
        hint = f" Did you mean {', '.join(close[:5])}?" if close else ""
        return (
            f"Unknown metric {self.metric!r}.{hint} Known metrics: {', '.join(self.allowed)} "
            "(`revteam metrics list` shows them with their definitions)."
        )


class UnsupportedDimensionError(ValueError, MetricError):
    """A metric was asked for by (or filtered on) a dimension that its tables cannot reach."""

    def __init__(self, metric: str, dimension: str, supported: Iterable[str]) -> None:
        self.metric, self.dimension = metric, dimension
        self.supported = tuple(sorted(supported))
        super().__init__(
            f"Metric {metric!r} cannot be broken down or filtered by {dimension!r}: its data "
            f"does not reach that dimension. It supports: {', '.join(self.supported) or 'none'}."
        )


class MetricQueryError(ValueError, MetricError):
    """A query option is invalid (grain, dates, filter values …)."""

    def __init__(self, option: str, value: object, allowed: str) -> None:
        self.option, self.value, self.allowed = option, value, allowed
        super().__init__(f"Invalid {option} {value!r}; expected {allowed}.")


class LimitExceededError(MetricQueryError):
    """A request for more periods or rows than one answer may hold (``[limits]`` settings).

    ``limit`` names what is counted (``periods``, ``rows``, ``records``, ``values``),
    ``requested`` how many the request needs, ``maximum`` the limit, ``setting`` where it is
    configured and ``narrow`` how to ask for less.
    """

    def __init__(
        self,
        limit: str,
        requested: int,
        maximum: int,
        *,
        setting: str,
        narrow: str,
        about: str = "",
    ) -> None:
        super().__init__(limit, requested, f"at most {maximum:,}")
        self.limit, self.requested, self.maximum = limit, requested, maximum
        self.setting, self.narrow, self.about = setting, narrow, about
        what = f" ({about})" if about else ""
        self.args = (
            f"This request needs {requested:,} {limit}{what}; one answer holds at most "
            f"{maximum:,} {limit} ({setting}). Narrow it: {narrow}.",
        )


@dataclass(frozen=True)
class CatalogueProblem:
    """One problem in a metric catalogue file: where it is and what is allowed."""

    file: str
    metric: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = ", ".join(
            part
            for part in (
                self.file,
                f"metric {self.metric!r}" if self.metric else "",
                f"field {self.field!r}" if self.field else "",
            )
            if part
        )
        return f"{where}: {self.message}"


class CatalogueError(ValueError, MetricError):
    """Metric YAML that cannot be used; lists every problem found, not just the first."""

    def __init__(self, problems: Sequence[CatalogueProblem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"Invalid metric catalogue ({len(self.problems)} problem(s)):\n{lines}")


class UnagreedDefinitionError(CatalogueError):
    """Files in ``metrics/approved/`` that differ from what both teams agreed.

    Each problem names the file and what the application database records for it (the
    version it should hold, or that nobody agreed it); the message ends with the fix.
    """

    def __init__(self, problems: Sequence[CatalogueProblem]) -> None:
        super().__init__(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        self.args = (
            "The agreed definitions in metrics/approved/ were changed outside a proposal, so "
            f"revteam will not use them:\n{lines}\nPut the agreed text back with `revteam "
            "metrics restore`; to change a definition, propose the edit (`revteam metrics "
            "propose FILE --reason …`), which takes effect when its owners approve. A file "
            "nobody agreed: move it out of metrics/approved/ and propose it.",
        )


class StatsError(RevteamError):
    """The statistics layer refused a request."""


class StatsOptionError(ValueError, StatsError):
    """An option of a statistical analysis is invalid (level, alpha, against, period …)."""

    def __init__(self, option: str, value: object, allowed: str) -> None:
        self.option, self.value, self.allowed = option, value, allowed
        super().__init__(f"Invalid {option} {value!r}; expected {allowed}.")


class UnsupportedStatisticError(ValueError, StatsError):
    """An analysis that does not apply to a metric of this kind (e.g. ranking a revenue sum)."""

    def __init__(self, analysis: str, metric: str, kind: str, supported: str) -> None:
        self.analysis, self.metric, self.kind, self.supported = analysis, metric, kind, supported
        super().__init__(
            f"{analysis} does not apply to metric {metric!r} ({kind}); it works on {supported}."
        )


class InsufficientDataError(ValueError, StatsError):
    """The data holds too little for the analysis to say anything honest."""

    def __init__(self, analysis: str, needed: str, found: str) -> None:
        self.analysis, self.needed, self.found = analysis, needed, found
        super().__init__(f"{analysis} needs {needed}, but the data has {found}.")


class MissingDependencyError(ImportError, RevteamError):
    """An optional package needed for this call is not installed."""

    def __init__(self, package: str, purpose: str) -> None:
        self.package, self.purpose = package, purpose
        super().__init__(
            f"{purpose} needs {package}, which is not installed: pip install {package}"
        )


class AppDatabaseError(RevteamError):
    """The application database cannot be reached, or its schema is not at this version's."""

    def __init__(self, url: str, problem: str, fix: str) -> None:
        self.url, self.problem, self.fix = url, problem, fix
        super().__init__(f"Application database {url}: {problem}. {fix}")


class WarehouseBusyError(RevteamError):
    """The warehouse is locked by another process (usually a load); retry in a moment.

    ``holder`` names what holds it when that is known (a load's announcement, or the process
    DuckDB names); ``waited`` is how long a writer waited for it before giving up.
    """

    def __init__(
        self,
        path: object,
        retry_after: int = 5,
        *,
        holder: str | None = None,
        waited: float | None = None,
    ) -> None:
        self.path, self.retry_after = path, retry_after
        self.holder, self.waited = holder, waited
        if waited is not None:
            message = (
                f"The warehouse {path} is still held by {holder or 'another process'} after "
                f"waiting {waited:.0f} s. The web app lets go of it within seconds of seeing a "
                "load waiting, but another load or a long command can hold it for minutes: run "
                "this again when it has finished, or wait longer with `--wait SECONDS` "
                "(`load_wait_seconds` in revteam.toml)."
            )
        elif holder is not None:
            message = (
                f"The warehouse {path} is being written by {holder}. Run this again when it "
                "has finished; `revteam status` says what is loading meanwhile."
            )
        else:
            message = (
                f"The warehouse {path} is locked by another process, most likely a load "
                f"(`revteam ingest`). Try again in about {retry_after} s, when it has finished."
            )
        super().__init__(message)


class HashingBusyError(RevteamError):
    """Too many passwords are being hashed at once; retry in a moment.

    Password hashing is deliberately expensive (memory and CPU), so the number of hashes at
    once is bounded; a caller that cannot get a turn within a short wait gets this instead of
    queueing without end.
    """

    def __init__(self, retry_after: int = 2) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(
            f"The server is busy checking other passwords. Try again in about {self.retry_after} s."
        )


class QueryTimeoutError(RevteamError):
    """A web request held the warehouse longer than its time limit; its query was stopped."""

    def __init__(self, seconds: float, limit: str = "query_seconds") -> None:
        self.seconds = seconds
        super().__init__(
            f"This request took longer than {seconds:g} s and was stopped. Narrow it (a shorter "
            "range, a coarser grain or a filter) and try again; if it keeps happening, an admin "
            f"can raise limits.{limit} in revteam.toml."
        )


class ServerBusyError(RevteamError):
    """Too many requests (in all, or of one user) wait for the warehouse; retry in a moment.

    ``reason`` says which bound was met; numbers already computed are still served.
    """

    def __init__(self, reason: str, retry_after: int = 5) -> None:
        self.reason, self.retry_after = reason, max(1, int(retry_after))
        super().__init__(
            f"The server is busy: {reason}. Try again in about {self.retry_after} s; numbers "
            "already computed are served at once."
        )


class AccessError(RevteamError):
    """Sign-in or permission problems of the web app and REST API."""


class AuthenticationError(AccessError):
    """Not signed in, wrong credentials or an invalid API token.

    The message is deliberately generic: it never says whether the account exists.
    """

    def __init__(self, message: str = "Sign in required.") -> None:
        super().__init__(message)


class TooManyAttemptsError(AuthenticationError):
    """Sign-in waits after repeated failures (per account and address, and per address)."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(
            f"Too many failed sign-in attempts from this address. Try again in "
            f"{self.retry_after} s, or ask an admin to unlock your account "
            "(`revteam users unlock EMAIL`)."
        )


class PermissionDeniedError(PermissionError, AccessError):
    """The signed-in user's role does not allow this."""

    def __init__(self, action: str, needed: str, role: str) -> None:
        self.action, self.needed, self.role = action, needed, role
        super().__init__(
            f"{action} needs the {needed} role; you are signed in as {role}. "
            "Ask an admin to change your role (`revteam users add` / the Users page)."
        )


class CsrfError(AccessError):
    """A form or cookie-authenticated API call without a valid CSRF token."""

    def __init__(self) -> None:
        super().__init__(
            "The form was missing a valid security token (CSRF), or it expired. Reload the "
            "page and submit it again; API clients should send an Authorization: Bearer token."
        )


class UserError(ValueError, RevteamError):
    """User management refused a change."""


class UnknownUserError(KeyError, UserError):
    """No user (or API token) with that e-mail or id."""

    def __init__(self, kind: str, name: object) -> None:
        self.kind, self.name = kind, name
        super().__init__(name)

    def __str__(self) -> str:
        return f"No {self.kind} {self.name!r}. `revteam users list` shows every user."


class UserExistsError(UserError):
    """A user with that e-mail already exists."""

    def __init__(self, email: str) -> None:
        self.email = email
        super().__init__(
            f"A user {email!r} already exists; use `revteam users reset-password {email}` "
            "to give them a new password."
        )


class PasswordPolicyError(UserError):
    """A password that is too weak to accept; ``suggestions`` are the estimator's advice."""

    def __init__(self, problem: str, suggestions: Sequence[str] = ()) -> None:
        self.problem, self.suggestions = problem, tuple(suggestions)
        advice = "".join(f" {s.rstrip('.')}." for s in self.suggestions)
        super().__init__(
            f"Password refused: {problem}.{advice} Use at least 12 characters that are hard to "
            "guess, e.g. four or five random words, or leave it out to get a random one."
        )


class CrmError(RevteamError):
    """A CRM source or connection could not be used; the warehouse is unchanged."""


class CrmConfigError(ValueError, CrmError):
    """``crm.yaml``, a CRM option or the credentials are wrong or missing."""

    def __init__(self, where: Path | str, problems: Sequence[str]) -> None:
        self.where, self.problems = str(where), tuple(problems)
        lines = "; ".join(self.problems)
        super().__init__(f"{where}: {lines}")


class CrmSourceError(ValueError, CrmError):
    """A CRM export or object table that cannot be read as what it should be."""

    def __init__(self, path: Path | str, problem: str, fix: str) -> None:
        self.path, self.problem, self.fix = Path(path), problem, fix
        super().__init__(f"{path}: {problem}. {fix}")


class CrmAuthError(PermissionError, CrmError):
    """The CRM refused the credentials; nothing was fetched or written."""

    def __init__(self, system: str, detail: str, fix: str) -> None:
        self.system, self.detail, self.fix = system, detail, fix
        super().__init__(f"{system} refused the credentials ({detail}); nothing was written. {fix}")


class CrmApiError(CrmError):
    """A CRM API call failed (also after retrying rate limits); nothing was written."""

    def __init__(self, system: str, call: str, detail: str) -> None:
        self.system, self.call, self.detail = system, call, detail
        super().__init__(
            f"{system} API call {call} failed: {detail}. Nothing was written; run the sync "
            "again (it resumes from the last completed sync)."
        )


class ResolveError(RevteamError):
    """Identity resolution cannot run on this data."""

    def __init__(self, problem: str, fix: str) -> None:
        self.problem, self.fix = problem, fix
        super().__init__(f"Identity resolution: {problem}. {fix}")


class TimelineError(ValueError, RevteamError):
    """A timeline or search that cannot be given as asked: ``problem`` and ``fix``."""

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem, self.fix = problem, fix
        super().__init__(f"{problem} {fix}".strip())

    def __str__(self) -> str:
        return str(self.args[0])


class AttributionError(ValueError, RevteamError):
    """Attribution that cannot be run as asked (model, conversion, data): ``problem``, ``fix``."""

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem, self.fix = problem, fix
        super().__init__(f"{problem} {fix}".strip())

    def __str__(self) -> str:
        return str(self.args[0])


class ClvError(ValueError, RevteamError):
    """A customer-value model that cannot be fitted or used as asked: ``problem``, ``fix``."""

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem, self.fix = problem, fix
        super().__init__(f"{problem} {fix}".strip())

    def __str__(self) -> str:
        return str(self.args[0])


class ScoringError(ValueError, RevteamError):
    """A lead score that cannot be fitted or used as asked: ``problem``, ``fix``."""

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem, self.fix = problem, fix
        super().__init__(f"{problem} {fix}".strip())

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownEntityError(KeyError, TimelineError):
    """No account (or person) with that id."""

    def __init__(self, kind: str, entity_id: str) -> None:
        self.kind, self.entity_id = kind, entity_id
        TimelineError.__init__(
            self,
            f"There is no {kind} with id {entity_id!r}.",
            "Find one with the search (/accounts?q=…, ws.timeline.search).",
        )

    __str__ = TimelineError.__str__


class GoalError(ValueError, RevteamError):
    """A goal that cannot be set as given: ``problem`` says what, ``fix`` how to mend it."""

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem, self.fix = problem, fix
        super().__init__(f"{problem} {fix}".strip())

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownGoalError(KeyError, GoalError):
    """No goal with that id (or for that metric, period and segment)."""

    def __init__(self, key: object) -> None:
        GoalError.__init__(
            self, f"There is no goal {key}.", "See `revteam goals list` for the goals set."
        )

    __str__ = GoalError.__str__


class GoalConflictError(GoalError):
    """Another change got there first (a stale version), or the period overlaps another goal."""


class ReviewError(ValueError, RevteamError):
    """A review pack or action item that cannot be made as asked: ``problem`` and ``fix``."""

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem, self.fix = problem, fix
        super().__init__(f"{problem} {fix}".strip())

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownActionItemError(KeyError, ReviewError):
    """No action item with that id."""

    def __init__(self, item_id: object) -> None:
        self.item_id = item_id
        ReviewError.__init__(
            self,
            f"There is no action item {item_id}.",
            "See `revteam actions list --all` for the items.",
        )

    __str__ = ReviewError.__str__


class ActionItemConflictError(ReviewError):
    """The action item changed since the caller read it (a stale version), or is closed."""


class AlertError(ValueError, RevteamError):
    """An alert rule that cannot be added as given: ``problem`` says what, ``fix`` the mend."""

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem, self.fix = problem, fix
        super().__init__(f"{problem} {fix}".strip())

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownAlertRuleError(KeyError, AlertError):
    """No alert rule with that id."""

    def __init__(self, rule_id: object) -> None:
        self.rule_id = rule_id
        AlertError.__init__(
            self, f"There is no alert rule {rule_id}.", "See `revteam alerts list` for the rules."
        )

    __str__ = AlertError.__str__


class AlertRunnerBusyError(RevteamError):
    """Another process holds the alerts lease: it is evaluating the rules right now.

    One process evaluates at a time (the web server's scheduler or ``revteam alerts run``), so
    a condition is never alerted twice; the lease ends when that run does, or at ``until``.
    """

    def __init__(self, holder: str, until: object, retry_after: int = 60) -> None:
        self.holder, self.until, self.retry_after = holder, until, retry_after
        super().__init__(
            f"Another process ({holder}) is evaluating the alerts right now; its lease ends when "
            f"it is done, at the latest at {until} UTC. Try again in a minute (its deliveries "
            "are recorded in `revteam alerts status`)."
        )


class AlertDeliveryError(RevteamError):
    """An alert could not be delivered: ``problem`` (what failed) and ``fix``.

    Never raised out of a run: the runner records it against the delivery and retries.
    """

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem, self.fix = problem, fix
        super().__init__(f"{problem} {fix}".strip())

    def __str__(self) -> str:
        return str(self.args[0])


class ProposalError(ValueError, RevteamError):
    """A definition proposal that cannot be made, voted on or applied: ``problem`` and ``fix``."""

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem, self.fix = problem, fix
        super().__init__(f"{problem} {fix}".strip())

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownProposalError(KeyError, ProposalError):
    """No proposal with that id."""

    def __init__(self, proposal_id: object) -> None:
        self.proposal_id = proposal_id
        ProposalError.__init__(
            self,
            f"There is no proposal {proposal_id}.",
            "See `revteam metrics proposals --all`.",
        )

    __str__ = ProposalError.__str__


class ProposalConflictError(ProposalError):
    """The metric's agreed definition changed since the proposal was made (or it is decided)."""
