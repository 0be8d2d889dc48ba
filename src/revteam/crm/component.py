"""``ws.crm``: load HubSpot and Salesforce data, sync their APIs, inspect what did not map."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from revteam.crm import loading, sources, sync
from revteam.crm.loading import CrmLoadResult, Progress
from revteam.crm.mapping import CrmMapping, System, UnmappedValue, workspace_mapping
from revteam.crm.retry import Backoff
from revteam.crm.translation import Translation
from revteam.exceptions import CrmConfigError
from revteam.ingest import IngestComponent, IngestResult
from revteam.model import TABLES
from revteam.settings import Settings
from revteam.storage import Warehouse

if TYPE_CHECKING:
    import pyarrow as pa

PathsLike = Path | str | Sequence[Path | str]


def _paths(paths: PathsLike) -> list[Path]:
    return sources.expand([paths] if isinstance(paths, str | Path) else paths)


class CrmComponent:
    """The workspace's CRM integration (``ws.crm``).

    ``root`` is the workspace folder (``crm.yaml``, staged files, sync state); every load goes
    through ``ingest`` into ``warehouse``.
    """

    def __init__(
        self, *, root: Path, settings: Settings, warehouse: Warehouse, ingest: IngestComponent
    ) -> None:
        self._root = root
        self._settings = settings
        self._warehouse = warehouse
        self._ingest = ingest

    def mapping(self, system: System) -> CrmMapping:
        """The value maps in force: defaults, ``crm.yaml``, then ``revteam.toml``."""
        return workspace_mapping(_system(system), self._root, self._settings)

    def translate(
        self,
        system: System,
        paths: PathsLike,
        /,
        *,
        include_deleted: bool = False,
        encoding: str | None = None,
    ) -> Translation:
        """Translate without loading (close the result, or use it in ``with``).

        ``encoding`` overrides ``encoding:`` of ``crm.yaml`` for these files.
        """
        return sources.translate(
            _system(system),
            _paths(paths),
            mapping=self.mapping(system).with_encoding(encoding),
            timezone=self._settings.timezone,
            users=self._users(),
            accounts=self._accounts() if system == "salesforce" else (),
            people=self._people() if system == "hubspot" else (),
            include_deleted=include_deleted,
        )

    def load(
        self,
        system: System,
        paths: PathsLike,
        /,
        *,
        include_deleted: bool = False,
        encoding: str | None = None,
        progress: Progress | None = None,
    ) -> CrmLoadResult:
        """Load exports or object tables of ``system`` into every canonical table they fill.

        Tables load in model order, one transaction each; refused rows go to the quarantine
        with their reasons. ``encoding`` overrides ``encoding:`` of ``crm.yaml``.
        """
        with self.translate(
            system, paths, include_deleted=include_deleted, encoding=encoding
        ) as tr:
            return loading.load_translation(
                tr,
                root=self._root,
                warehouse=self._warehouse,
                ingest=self._ingest,
                progress=progress,
            )

    def load_hubspot(self, paths: PathsLike, /, **options: Any) -> CrmLoadResult:
        """HubSpot UI exports (contacts, companies, deals, users) or API object tables."""
        return self.load("hubspot", paths, **options)

    def load_salesforce(self, paths: PathsLike, /, **options: Any) -> CrmLoadResult:
        """Salesforce report exports or API object tables (Fivetran, the connector)."""
        return self.load("salesforce", paths, **options)

    def unmapped(self, system: System, paths: PathsLike, /) -> list[UnmappedValue]:
        """Source values no mapping turns into canonical ones (nothing is loaded)."""
        with self.translate(system, paths) as tr:
            return list(tr.unmapped)

    def extra_fields(self, *, system: str | None = None, limit: int | None = None) -> pa.Table:
        """CRM fields kept aside because no canonical column takes them."""
        table: pa.Table = loading.extra_fields(self._warehouse, system=system, limit=limit)
        return table

    def sync_hubspot(
        self,
        *,
        token: str | None = None,
        host: str | None = None,
        full: bool = False,
        backoff: Backoff | None = None,
        extra_properties: dict[str, Sequence[str]] | None = None,
        progress: Progress | None = None,
    ) -> sync.SyncResult:
        """Fetch HubSpot records modified since the last sync and load them."""
        from revteam.crm.hubspot.api_objects import read_api_objects
        from revteam.crm.hubspot.connector import HubSpotConnector, token_from_env

        connector = HubSpotConnector(
            token or token_from_env(),
            host=host,
            backoff=backoff,
            extra_properties=extra_properties,
        )
        return self._sync(connector, read_api_objects, full=full, progress=progress)

    def sync_salesforce(
        self,
        *,
        full: bool = False,
        backoff: Backoff | None = None,
        extra_fields: dict[str, Sequence[str]] | None = None,
        session: Any = None,
        progress: Progress | None = None,
        **credentials: str,
    ) -> sync.SyncResult:
        """Fetch Salesforce records modified since the last sync and load them.

        ``credentials``: ``instance_url`` and ``session_id``, or ``username``, ``password``,
        ``security_token`` (and ``domain``); by default from the ``SALESFORCE_*`` environment.
        """
        from revteam.crm.salesforce.api_objects import read_api_objects
        from revteam.crm.salesforce.connector import SalesforceConnector, credentials_from_env

        connector = SalesforceConnector(
            backoff=backoff,
            extra_fields=extra_fields,
            session=session,
            **(credentials or credentials_from_env()),
        )
        return self._sync(connector, read_api_objects, full=full, progress=progress)

    def load_exports_folder(
        self, system: str, folder: Path | str, /, *, progress: Progress | None = None
    ) -> list[IngestResult]:
        """Load a folder written by ``write_hubspot_exports`` / ``write_salesforce_exports``.

        Its CRM files go through the CRM reader of ``system`` (hubspot or salesforce), the
        canonical tables beside them load directly, each before the tables that point at it.
        """
        folder = Path(folder)
        canonical = {p.stem: p for p in sorted((folder / "canonical").glob("*.csv"))}
        crm = [p for p in sorted(folder.iterdir()) if p.is_file() and p.suffix == ".csv"]
        first = [t for t in ("campaigns",) if t in canonical]
        results = [r for t in first for r in self._ingest.load(t, canonical[t])]
        results += list(self.load(_system(system), crm, progress=progress).results)
        for table in TABLES:
            if table in canonical and table not in first:
                results += self._ingest.load(table, canonical[table])
        return results

    def _sync(
        self,
        connector: sync.Connector,
        reader: sync.Reader,
        *,
        full: bool,
        progress: Progress | None,
    ) -> sync.SyncResult:
        return sync.run_sync(
            connector,
            reader,
            root=self._root,
            settings=self._settings,
            warehouse=self._warehouse,
            ingest=self._ingest,
            full=full,
            progress=progress,
        )

    def _accounts(self) -> list[tuple[str, str | None]]:
        rows = self._warehouse.con.execute("SELECT account_id, name FROM accounts").fetchall()
        return [(str(r[0]), r[1]) for r in rows]

    def _people(self) -> list[tuple[str, str | None]]:
        """People with a company: a HubSpot deal without one takes its contact's."""
        rows = self._warehouse.con.execute(
            "SELECT person_id, account_id FROM people WHERE account_id IS NOT NULL"
        ).fetchall()
        return [(str(r[0]), r[1]) for r in rows]

    def _users(self) -> list[tuple[str, str | None, str | None]]:
        rows = self._warehouse.con.execute("SELECT user_id, name, email FROM users").fetchall()
        return [(str(r[0]), r[1], r[2]) for r in rows]


def _system(system: str) -> System:
    if system not in sources.SYSTEMS:
        raise CrmConfigError(
            "system", [f"{system!r} is not a CRM revteam reads; use hubspot or salesforce"]
        )
    return "hubspot" if system == "hubspot" else "salesforce"
