"""Any warehouse ibis reaches (Snowflake, BigQuery, …): KPIs over tables loaded by others.

``warehouse = "snowflake://user@account/database/schema?warehouse=WH"`` or
``"bigquery://project/dataset"`` (or ``"ibis+<backend>://…"`` for any other ibis backend)
opens the backend with :func:`ibis.connect` and the backend's own driver, installed with its
ibis extra (``pip install 'ibis-framework[snowflake]'``). The metric layer compiles for the
backend's dialect and this runs the SQL, returning Arrow. revteam does not load into these
warehouses: the company's pipeline (Fivetran, dbt) keeps the canonical tables there and bumps
the data version in ``_revteam_meta`` when they change (docs/warehouses.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from revteam.exceptions import ConfigError

if TYPE_CHECKING:
    import pyarrow as pa

META_TABLE = "_revteam_meta"


def backend_url(url: str) -> str:
    """The URL :func:`ibis.connect` takes: ``ibis+trino://…`` becomes ``trino://…``."""
    return url[5:] if url.lower().startswith("ibis+") else url


class IbisWarehouse:
    """The canonical tables in a warehouse an ibis backend reaches, read by the metric layer."""

    def __init__(self, url: str, *, timezone: str = "UTC", read_only: bool = False) -> None:
        import ibis

        target = backend_url(url)
        scheme = target.partition("://")[0]
        try:
            self.con: Any = ibis.connect(target)
        except ImportError as exc:
            raise ConfigError(
                f"The {scheme} warehouse needs its ibis backend: pip install "
                f"'ibis-framework[{scheme}]' ({exc})."
            ) from exc
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ConfigError(f"Cannot connect to the {scheme} warehouse: {first}") from exc
        self.dialect: str = self.con.name
        self.read_only = read_only
        self.timezone = timezone
        self._scheme = scheme

    @property
    def data_version(self) -> int:
        """``_revteam_meta``'s data version, kept by whoever loads the tables (else 0)."""
        try:
            found = self.arrow(f"SELECT value FROM {META_TABLE} WHERE key = 'data_version'")
        except Exception:
            return 0
        values = found.column(0).to_pylist() if found.num_rows else []
        return int(values[0]) if values and values[0] is not None else 0

    def identity(self) -> tuple[object, ...] | None:
        return (self._scheme, id(self.con), self.data_version)

    def arrow(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        """Run a read query of the backend's dialect; its result as Arrow."""
        if params:
            raise ConfigError(
                f"Queries on the {self._scheme} warehouse take no parameters; inline literals."
            )
        table: pa.Table = self.con.sql(sql, dialect=self.dialect).to_pyarrow()
        return table

    def provide(self, name: str, table: pa.Table) -> None:
        """A temporary table of this connection (attribution credit, customer values)."""
        self.con.create_table(name, table, temp=True, overwrite=True)

    def withdraw(self, name: str) -> None:
        self.con.drop_table(name, force=True)

    def interrupt(self) -> None:
        """Nothing to do generally: the web app stops waiting, the warehouse finishes the query."""

    def close(self) -> None:
        self.con.disconnect()
