"""A workspace's metric definitions without its warehouse: the catalogue and request checks.

The metric component reads its catalogue from here, and the web app asks :meth:`Definitions.check`
before a request joins the warehouse queue, so an unknown metric or a century by day is a 400
at once, whatever the queue holds, and both faces refuse it for the same reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from revteam.metrics import request
from revteam.metrics.catalogue import APPROVED_DIR, Catalogue, load_catalogue
from revteam.metrics.plan import Query
from revteam.metrics.request import RangeOptions
from revteam.settings import Settings


class Definitions:
    """The shipped plus workspace catalogue, reloaded when a file in ``folder`` changes."""

    def __init__(self, folder: Path, settings: Settings) -> None:
        self._folder, self._settings = folder, settings
        self._loaded: tuple[tuple[Any, ...], Catalogue] | None = None

    @property
    def catalogue(self) -> Catalogue:
        """Shipped and workspace metrics and the agreed definitions, with conversion windows.

        Each access lists and stats the folder (and ``approved/``), so a request reads it
        once and passes the catalogue down. Safe from several threads: at worst two load the
        same files.
        """
        folder = self._folder
        files = sorted(folder.glob("*.y*ml")) if folder.is_dir() else []
        agreed = folder / APPROVED_DIR
        files += sorted(agreed.glob("*.y*ml")) if agreed.is_dir() else []
        stats = [(p, p.stat()) for p in files]
        signature = tuple((str(p), st.st_mtime_ns, st.st_size) for p, st in stats)
        loaded = self._loaded
        if loaded is None or loaded[0] != signature:
            catalogue = self.build(self.approved_files())
            loaded = self._loaded = (signature, catalogue)
        return loaded[1]

    @property
    def plausible_years(self) -> tuple[int, int]:
        """The years a request's days may fall in (``plausible_years``)."""
        return self._settings.plausible_years

    def approved_files(self) -> list[tuple[str, str]]:
        """(name, text) of the agreed definitions in ``metrics/approved/``."""
        agreed = self._folder / APPROVED_DIR
        found = sorted(agreed.glob("*.y*ml")) if agreed.is_dir() else []
        # named within the workspace: the name is shown as the definition's source
        return [(f"metrics/{APPROVED_DIR}/{p.name}", p.read_text(encoding="utf-8")) for p in found]

    def build(self, approved: Sequence[tuple[str, str]]) -> Catalogue:
        """The catalogue with these agreed definitions instead of the folder's.

        For a preview of a proposal, or the definitions as they stood on a past day.
        """
        return load_catalogue(self._folder, approved).with_windows(
            self._settings.conversion_windows
        )

    def check(
        self,
        metrics: str | Iterable[str],
        options: RangeOptions | None = None,
        *,
        totals: bool = True,
        catalogue: Catalogue | None = None,
    ) -> Query:
        """The request as a :class:`Query`, or the error the metric layer would raise for it.

        Everything that needs no data: metric ids, dimensions and filters, grain, plausible
        years, and ``limits.max_periods`` when the range is given at both ends. A range open at
        one end is counted against the data's first or as-of day, later, by the layer.
        """
        return request.build_query(
            catalogue or self.catalogue,
            metrics,
            options,
            fy_start=self._settings.fiscal_year_start_month,
            totals=totals,
            years=self._settings.plausible_years,
            max_periods=self._settings.limits.max_periods,
        )
