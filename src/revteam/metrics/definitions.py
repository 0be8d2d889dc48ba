"""A workspace's metric definitions without its warehouse: the catalogue and request checks.

The metric component reads its catalogue from here, and the web app asks :meth:`Definitions.check`
before a request joins the warehouse queue, so an unknown metric or a century by day is a 400
at once, whatever the queue holds, and both faces refuse it for the same reason.

The agreed definitions in ``metrics/approved/`` are used only as the application database
records them: when the folder is read (the catalogue's first load and each change of its files,
never per query) every file is compared with its subject's newest agreed version, and a file
changed, added or removed by hand is refused (:class:`UnagreedDefinitionError`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from revteam.app.agreed import Agreed, agreed_definitions
from revteam.exceptions import CatalogueProblem, UnagreedDefinitionError
from revteam.metrics import request
from revteam.metrics.catalogue import APPROVED_DIR, Catalogue, load_catalogue
from revteam.metrics.plan import Query
from revteam.metrics.request import RangeOptions
from revteam.settings import Settings
from revteam.storage import AppDatabase

AgreedSource = Callable[[], Mapping[str, Agreed]]
"""Reads each subject's newest agreed definition from the application database."""


class Definitions:
    """The shipped plus workspace catalogue, reloaded when a file in ``folder`` changes.

    ``agreed`` reads the agreed definitions (the workspace's application database, opened from
    the settings for the moment of the read when not given).
    """

    def __init__(
        self, folder: Path, settings: Settings, *, agreed: AgreedSource | None = None
    ) -> None:
        self._folder, self._settings = folder, settings
        self._agreed = agreed
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
        """(name, text) of the agreed definitions in ``metrics/approved/``.

        Each checked against the application database: refused with
        :class:`UnagreedDefinitionError` unless the folder holds exactly the newest agreed
        version of every subject. No folder (nothing agreed yet): nothing to read or check.
        """
        folder = self._folder / APPROVED_DIR
        if not folder.is_dir():
            return []
        # named within the workspace: the name is shown as the definition's source
        files = [
            (f"metrics/{APPROVED_DIR}/{p.name}", p.read_text(encoding="utf-8"))
            for p in sorted(folder.glob("*.y*ml"))
        ]
        problems = unagreed(files, self._read_agreed())
        if problems:
            raise UnagreedDefinitionError(problems)
        return files

    def _read_agreed(self) -> Mapping[str, Agreed]:
        if self._agreed is not None:
            return self._agreed()
        db = AppDatabase(self._settings.app_database, root=self._folder.parent)
        try:
            return agreed_definitions(db)
        finally:
            db.dispose()

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


def unagreed(
    files: Sequence[tuple[str, str]], agreed: Mapping[str, Agreed]
) -> list[CatalogueProblem]:
    """What in ``metrics/approved/`` (``files``: name, text) is not what was agreed."""
    held = {Path(name).stem: (name, text) for name, text in files}
    problems = []
    for subject, (name, text) in held.items():
        found = agreed.get(subject)
        if found is None:
            message = f"no version of {subject} was agreed (the application database has none)"
        elif text != found.text:
            message = f"differs from {_version(found)}, the text it must hold"
        else:
            continue
        problems.append(CatalogueProblem(name, subject, None, message))
    problems += [
        CatalogueProblem(
            f"metrics/{APPROVED_DIR}/{subject}.yaml", subject, None, f"missing: {_version(found)}"
        )
        for subject, found in agreed.items()
        if subject not in held
    ]
    return problems


def _version(found: Agreed) -> str:
    who = " and ".join(found.approved_by)
    return f"version {found.version} agreed on {found.approved_at:%Y-%m-%d} by {who}"
