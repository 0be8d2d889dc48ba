"""The workspace: a folder with ``revteam.toml``, the warehouse, and the user's own metrics.

``revteam.open(path)`` returns a :class:`Workspace`; its capabilities hang from it grouped by
concern (``ws.ingest``, ``ws.metrics``, ``ws.stats``, ``ws.crm``, ``ws.identity``). It is the
facade only: each component takes explicit inputs (settings, the warehouse, the components it
builds on) and none imports this package back.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from revteam.exceptions import ConfigError, IngestError
from revteam.ingest import IngestComponent, WorkspaceStatus, collect_status, status_during_load
from revteam.settings import CONFIG_FILE, Settings, find_workspace, load_settings, write_settings
from revteam.storage import AppDatabase, WaitNotice, Warehouse, parse_warehouse_url
from revteam.storage.engine import QueryEngine, engine_kind, open_engine

if TYPE_CHECKING:
    import pyarrow as pa

    from revteam.alerts import AlertsComponent
    from revteam.app import AppState
    from revteam.attribution import AttributionComponent
    from revteam.clv.component import ClvComponent
    from revteam.crm import CrmComponent
    from revteam.goals import GoalsComponent
    from revteam.ingest.sources import Sources
    from revteam.metrics import MetricResult, MetricsComponent
    from revteam.proposals import ProposalsComponent
    from revteam.resolve import IdentityComponent
    from revteam.review import ReviewComponent
    from revteam.scoring import ScoringComponent
    from revteam.stats import StatsComponent
    from revteam.timeline import TimelineComponent


class Workspace:
    """An open workspace. Close it (or use ``with``) to release the warehouse file."""

    def __init__(
        self,
        root: Path,
        settings: Settings,
        *,
        read_only: bool = False,
        wait: float | None = None,
        waiting: WaitNotice | None = None,
    ) -> None:
        self.root = root
        self.settings = settings
        self._duckdb: Warehouse | None = None
        self.warehouse: QueryEngine
        """Where the canonical tables are and KPIs are computed (``[warehouse]``)."""
        if engine_kind(settings.warehouse) == "duckdb":
            self.warehouse = self._duckdb = Warehouse(
                parse_warehouse_url(settings.warehouse, root),
                timezone=settings.timezone,
                read_only=read_only,
                wait=settings.load_wait_seconds if wait is None else wait,
                waiting=waiting,
            )
        else:
            self.warehouse = open_engine(settings, root, read_only=read_only)
            self._duckdb = _staging(self.warehouse, root, settings, read_only, wait, waiting)
        self._ingest: IngestComponent | None = None
        self._metrics: MetricsComponent | None = None
        self._stats: StatsComponent | None = None
        self._crm: CrmComponent | None = None
        self._identity: IdentityComponent | None = None
        self._goals: GoalsComponent | None = None
        self._review: ReviewComponent | None = None
        self._proposals: ProposalsComponent | None = None
        self._alerts: AlertsComponent | None = None
        self._timeline: TimelineComponent | None = None
        self._attribution: AttributionComponent | None = None
        self._clv: ClvComponent | None = None
        self._scoring: ScoringComponent | None = None
        self._app: AppState | None = None

    def duckdb(self, what: str) -> Warehouse:
        """The embedded DuckDB warehouse, which ``what`` needs; refused on other engines."""
        if self._duckdb is None:
            raise ConfigError(
                f"{what} needs the embedded DuckDB warehouse; this workspace's warehouse is "
                f"{self.warehouse.dialect} ({self.settings.warehouse.split('@')[-1]}). KPIs, "
                "statistics, goals and the web app run there (docs/warehouses.md)."
            )
        return self._duckdb

    def unreadable(self, exc: BaseException) -> Exception | None:
        """The error to show when ``exc`` came from a damaged DuckDB file (else ``None``)."""
        return None if self._duckdb is None else self._duckdb.unreadable(exc)

    @property
    def ingest(self) -> IngestComponent:
        """``ws.ingest``: validated, atomic loads of files into the warehouse."""
        if self._ingest is None:
            self._ingest = IngestComponent(
                warehouse=self.duckdb("Loading files"), settings=self.settings
            )
        return self._ingest

    @property
    def sources(self) -> Sources:
        """``ws.sources``: canonical tables as views over the warehouse's data (sources.yaml)."""
        from revteam.ingest.sources import SOURCES_FILE, Sources
        from revteam.storage.postgres import PostgresWarehouse

        if not isinstance(self.warehouse, PostgresWarehouse):
            raise ConfigError(
                f"{SOURCES_FILE} maps canonical tables onto a PostgreSQL warehouse; this "
                f"workspace's warehouse is {self.warehouse.dialect}. Set warehouse = "
                "'postgresql://…' in revteam.toml (docs/warehouses.md)."
            )
        path = self.root / SOURCES_FILE
        if not path.exists():
            raise ConfigError(
                f"No {SOURCES_FILE} in {self.root}: copy one of the examples in "
                "examples/sources/ and name your tables there (docs/warehouses.md)."
            )
        return Sources(path, self.warehouse, self.settings.plausible_years, self.settings.timezone)

    @property
    def metrics(self) -> MetricsComponent:
        """``ws.metrics``: the KPI catalogue, values and the records behind them."""
        if self._metrics is None:
            # Imported on first use: the metric layer pulls in ibis, which `import revteam` avoids.
            from revteam.app.agreed import agreed_definitions
            from revteam.metrics import MetricsComponent

            self._metrics = MetricsComponent(
                folder=self.root / "metrics",
                settings=self.settings,
                warehouse=self.warehouse,
                intervals=self._intervals,
                agreed=lambda: agreed_definitions(self._app_db()),
            )
            # attributed KPIs read revteam.attribution's credit, predicted CLV revteam.clv's
            # values, each supplied when a query needs it
            self._metrics.supply_credits(
                lambda metrics, model, as_of: self.attribution.credit_rows(
                    model, as_of, metrics=metrics
                )
            )
            self._metrics.supply_clv(
                lambda metrics, model, as_of: self.clv.lifetime_values(
                    model, as_of, metrics=metrics
                )
            )
        return self._metrics

    @property
    def stats(self) -> StatsComponent:
        """``ws.stats``: intervals, comparisons, rankings, cohorts, anomalies, drivers."""
        if self._stats is None:
            from revteam.stats import StatsComponent  # scipy and statsmodels, on first use

            self._stats = StatsComponent(
                self.metrics, fiscal_year_start_month=self.settings.fiscal_year_start_month
            )
        return self._stats

    @property
    def goals(self) -> GoalsComponent:
        """``ws.goals``: targets with owners, their history and pacing (application database)."""
        if self._goals is None:
            from revteam.app import open_app
            from revteam.goals import GoalsComponent

            if self._app is None:  # a view (``defined_on``) shares its workspace's
                self._app = open_app(self.root)
            self._goals = GoalsComponent(
                db=self._app.db,
                metrics=self.metrics,
                stats=self.stats,
                settings=self.settings,
                root=self.root,
            )
        return self._goals

    @property
    def review(self) -> ReviewComponent:
        """``ws.review``: the joint review's pack and action items (application database)."""
        if self._review is None:
            from revteam.review import ReviewComponent

            goals = self.goals  # opens the application database
            assert self._app is not None
            self._review = ReviewComponent(
                db=self._app.db,
                metrics=self.metrics,
                stats=self.stats,
                goals=goals,
                status=self.status,
                settings=self.settings,
                proposals=self.proposals,
            )
        return self._review

    @property
    def alerts(self) -> AlertsComponent:
        """``ws.alerts``: alert rules, evaluated against this workspace, delivered once."""
        if self._alerts is None:
            from revteam.alerts import AlertsComponent

            goals = self.goals  # opens the application database
            assert self._app is not None
            self._alerts = AlertsComponent(
                db=self._app.db,
                facts=self,
                definitions=self.metrics.definitions,
                goals=goals,
                settings=self.settings,
            )
        return self._alerts

    @property
    def proposals(self) -> ProposalsComponent:
        """``ws.proposals``: definition proposals, their impact and sign-off (application db)."""
        if self._proposals is None:
            from revteam.proposals import ProposalsComponent

            goals = self.goals  # opens the application database
            assert self._app is not None
            self._proposals = ProposalsComponent(
                db=self._app.db, metrics=self.metrics, goals=goals, folder=self.root / "metrics"
            )
        return self._proposals

    @property
    def timeline(self) -> TimelineComponent:
        """``ws.timeline``: account and person timelines across both teams' data, and search."""
        if self._timeline is None:
            from revteam.timeline import TimelineComponent

            self._timeline = TimelineComponent(
                warehouse=self.duckdb("The timeline"), metrics=self.metrics, settings=self.settings
            )
        return self._timeline

    @property
    def attribution(self) -> AttributionComponent:
        """``ws.attribution``: journeys and credit by channel or campaign under every model."""
        if self._attribution is None:
            from revteam.attribution import AttributionComponent

            self._attribution = AttributionComponent(metrics=self.metrics, settings=self.settings)
        return self._attribution

    @property
    def clv(self) -> ClvComponent:
        """``ws.clv``: BG/NBD, Gamma-Gamma and sBG fitted on the orders and renewals."""
        if self._clv is None:
            from revteam.clv.component import ClvComponent

            self._clv = ClvComponent(metrics=self.metrics, settings=self.settings)
        return self._clv

    @property
    def scoring(self) -> ScoringComponent:
        """``ws.scoring``: a lead score fitted on the workspace's history, used on open leads."""
        if self._scoring is None:
            from revteam.scoring import ScoringComponent

            self._scoring = ScoringComponent(
                metrics=self.metrics,
                settings=self.settings,
                root=self.root,
                stats=self.stats,
                app_db=self._app_db,
            )
        return self._scoring

    def _app_db(self) -> AppDatabase:
        """The application database, opened on first use."""
        if self._app is None:
            from revteam.app import open_app

            self._app = open_app(self.root)
        return self._app.db

    def defined_on(self, day: dt.date) -> Workspace:
        """A view of the workspace with the definitions both teams had agreed by the end of ``day``.

        Its ``metrics``, ``stats``, ``goals`` (pacing, forecast, plans), ``review``, ``timeline``,
        ``attribution``, ``clv`` and ``scoring`` use those definitions; it shares the warehouse,
        the caches and the application database, so close this workspace, not the view.
        """
        catalogue = self.proposals.catalogue_on(day)  # opens the application database once
        view = copy.copy(self)
        view._metrics = self.metrics.using(catalogue, intervals=view._intervals)
        view._stats = view._goals = view._review = view._alerts = view._timeline = None
        view._attribution = view._clv = view._scoring = None
        return view

    def _intervals(self, result: MetricResult, /, *, level: float) -> pa.Table:
        """``ws.metrics.query(..., intervals=True)``: statistics attached by the facade."""
        return self.stats.annotate(result, level=level)

    @property
    def crm(self) -> CrmComponent:
        """``ws.crm``: HubSpot and Salesforce exports, API objects and connectors."""
        if self._crm is None:
            # Imported on first use, like the metric layer: the readers pull in heavy libraries.
            from revteam.crm import CrmComponent

            self._crm = CrmComponent(
                root=self.root,
                settings=self.settings,
                warehouse=self.duckdb("CRM import"),
                ingest=self.ingest,
            )
        return self._crm

    @property
    def identity(self) -> IdentityComponent:
        """``ws.identity``: link the same person across sources (splink)."""
        if self._identity is None:
            from revteam.resolve import IdentityComponent  # splink, on first use

            self._identity = IdentityComponent(
                settings=self.settings, warehouse=self.duckdb("Identity resolution")
            )
        return self._identity

    def status(self) -> WorkspaceStatus:
        """Tables, row counts, time ranges, recent loads and quarantine: see ``WorkspaceStatus``."""
        return collect_status(self.root, self.duckdb("The load status"))

    @property
    def data_version(self) -> int:
        return self.warehouse.data_version

    def close(self) -> None:
        if self._app is not None:
            self._app.close()
        self.warehouse.close()
        if self._duckdb is not None and self._duckdb is not self.warehouse:
            self._duckdb.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<revteam.Workspace {self.root}>"


STAGING_FILE = "staging.duckdb"
"""Where a workspace whose warehouse is Postgres or Spark validates and stages its loads."""


def load_file_of(root: Path, settings: Settings) -> Path | None:
    """The DuckDB file every load of the workspace writes (``None``: no file, e.g. Spark).

    The warehouse itself on DuckDB, the staging file on Postgres and Spark: watching it
    tells a reader that a load committed.
    """
    if engine_kind(settings.warehouse) == "duckdb":
        return parse_warehouse_url(settings.warehouse, root)
    return root / STAGING_FILE


def _staging(
    engine: QueryEngine,
    root: Path,
    settings: Settings,
    read_only: bool,
    wait: float | None,
    waiting: WaitNotice | None,
) -> Warehouse | None:
    """The staging DuckDB file of a Postgres or Spark warehouse (``None`` for others).

    Loads are validated, deduplicated and quarantined there exactly as in a DuckDB workspace,
    and each transaction that changes the data writes the changed tables across before it
    commits (``sync_from`` of the engine). Opened for writing, any difference left by an
    interrupted process is written across first.
    """
    from revteam.storage.postgres import PostgresWarehouse
    from revteam.storage.spark import SparkWarehouse

    if not isinstance(engine, PostgresWarehouse | SparkWarehouse):
        return None
    path = root / STAGING_FILE
    if read_only and not path.exists():
        return None
    staging = Warehouse(
        path,
        timezone=settings.timezone,
        read_only=read_only,
        wait=settings.load_wait_seconds if wait is None else wait,
        waiting=waiting,
    )
    if not read_only:
        try:
            if engine.loaded_elsewhere():
                where = (
                    f"Postgres schema {engine.schema!r}"
                    if isinstance(engine, PostgresWarehouse)
                    else f"Spark database {engine.database!r}"
                )
                sourced = isinstance(engine, PostgresWarehouse) and engine.sourced
                staging.replica = _refuse_loads(where, sourced=sourced)
                return staging
            engine.write_through(staging.con, staging.data_version)
        except BaseException:
            staging.close()
            raise
        staging.replica = engine.write_through
    return staging


def _refuse_loads(where: str, *, sourced: bool = False) -> Callable[[object, int], None]:
    """A replica that refuses every load: the warehouse holds data revteam did not load."""

    def refuse(_con: object, _version: int) -> None:
        if sourced:
            raise IngestError(
                f"The canonical tables of the {where} are views over the warehouse's own data "
                "(sources.yaml); nothing was loaded. Change the data where sources.yaml reads "
                "it, or load into a workspace on another schema (?schema=… in the URL)."
            )
        raise IngestError(
            f"The {where} already holds canonical rows that revteam did not load, and a load "
            "would replace them; nothing was loaded. Load into an empty schema or database "
            "(?schema=… in a Postgres URL, [spark] database); KPIs over the rows already "
            "there need no load."
        )

    return refuse


def open_workspace(
    path: Path | str | None = None,
    *,
    read_only: bool = False,
    wait: float | None = None,
    waiting: WaitNotice | None = None,
) -> Workspace:
    """Open the workspace at ``path`` (see :func:`find_workspace`).

    Opened for writing, it waits up to ``wait`` seconds (default: ``load_wait_seconds``) for
    readers such as the web app to let go of the warehouse, telling ``waiting`` once what holds
    it; read-only, it does not wait. Either raises
    :class:`~revteam.exceptions.WarehouseBusyError` when the warehouse stays busy.
    """
    root = find_workspace(path)
    return Workspace(root, load_settings(root), read_only=read_only, wait=wait, waiting=waiting)


def last_status(path: Path | str | None = None) -> WorkspaceStatus:
    """The status while a load holds the warehouse, without opening it (``revteam status``).

    DuckDB lets nobody read a file while a process writes it, so this is the running load's
    announcement and the status the last load left beside the warehouse (``as_of`` says when).
    """
    root = find_workspace(path)
    warehouse = load_file_of(root, load_settings(root))
    if warehouse is None:
        raise ConfigError("This warehouse keeps no load status between processes.")
    return status_during_load(root, warehouse)


def init_workspace(path: Path | str, /, *, exist_ok: bool = False, **settings: Any) -> Workspace:
    """Create a workspace folder with ``revteam.toml`` and an empty warehouse, and open it."""
    root = Path(path).expanduser().resolve()
    if (root / CONFIG_FILE).exists() and not exist_ok:
        raise ConfigError(
            f"{root} is already a revteam workspace; open it with revteam.open() "
            "or choose another folder."
        )
    # Owner only (OWASP ASVS 14.1): the folder holds the data, password hashes and the secret
    # key; a folder that exists already keeps its mode.
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    (root / "metrics").mkdir(mode=0o700, exist_ok=True)
    write_settings(root, settings)
    return open_workspace(root)
