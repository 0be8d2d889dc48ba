"""The KPI catalogue: the shipped YAML files plus the workspace's own ``metrics/*.yaml``.

A workspace file may add metrics, override a shipped one (the spec then says
``source == "workspace (overrides shipped)"``) and replace the ``sourcing`` rule. A file that
cannot be used is refused with every problem of every file listed in one
:class:`~revteam.exceptions.CatalogueError`, each naming the file, metric, field and what is
allowed.

File format::

    metrics:
      - id: revenue
        label: Total sales revenue (bookings)
        ...
    sourcing:            # optional: the marketing-sourced rule
      rule: lead_source
      marketing_channels: [paid_search, ...]
    funnel:              # optional: the lead funnel's stages, as catalogue metrics
      overall: lead_to_customer_rate
      stages:
        - {stage: lead, label: Leads, owners: marketing, count: leads}
        - {stage: mql, label: MQLs, owners: marketing, count: mqls, conversion: mql_rate}
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import yaml
from pydantic import ValidationError

from revteam.exceptions import CatalogueError, CatalogueProblem, UnknownMetricError
from revteam.metrics.checks import (
    check_catalogue,
    check_funnel,
    check_scorecard,
    supported_dimensions,
)
from revteam.metrics.sources import Sourcing
from revteam.metrics.spec import OVERRIDE, Funnel, MetricSpec, Scorecard

SHIPPED = "shipped"
WORKSPACE = "workspace"
APPROVED = "approved"
"""A definition both owning teams signed off (``revteam.proposals``): it overrides any other."""
APPROVED_DIR = "approved"
"""The workspace's ``metrics/approved/``: the agreed definitions, one file per metric, written
by revteam when a proposal is approved (their history is in the application database)."""
_TOP_LEVEL = ("metrics", "sourcing", "funnel", "scorecard")
_LOADER_FIELDS = ("source", "path")
_FILE_ORDER = {"sales.yaml": 0, "marketing.yaml": 1, "shared.yaml": 2}
"""Shipped files in the order of KPIS.md; any others follow by name."""


@dataclass(frozen=True)
class Catalogue:
    """Validated metric specs by id (in file order) and the marketing-sourced rule."""

    specs: Mapping[str, MetricSpec]
    sourcing: Sourcing = field(default_factory=Sourcing)
    funnel: Funnel | None = None
    scorecard: Scorecard | None = None
    """The agreed shared scorecard; every shared metric in catalogue order when none is set."""
    _dims: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "specs", MappingProxyType(dict(self.specs)))

    def __getitem__(self, metric: str) -> MetricSpec:
        try:
            return self.specs[metric]
        except KeyError:
            raise UnknownMetricError(metric, self.specs) from None

    def __contains__(self, metric: object) -> bool:
        return metric in self.specs

    def __iter__(self) -> Iterator[MetricSpec]:
        return iter(self.specs.values())

    def __len__(self) -> int:
        return len(self.specs)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self.specs)

    def scorecard_sections(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """(title, metric ids) of the shared scorecard, as agreed (or every shared metric)."""
        if self.scorecard is None:
            shared = tuple(s.id for s in self if s.owners == "shared")
            return (("Shared KPIs", shared),) if shared else ()
        return tuple(
            (sec.title, tuple(i.metric for i in sec.metrics)) for sec in self.scorecard.sections
        )

    def scorecard_metrics(self) -> tuple[str, ...]:
        """The shared scorecard's metrics, in order."""
        return tuple(m for _, ids in self.scorecard_sections() for m in ids)

    def scorecard_owner(self, metric: str) -> str:
        """The team answering for ``metric`` on the scorecard."""
        default = self[metric].owners
        return default if self.scorecard is None else self.scorecard.owner_of(metric, default)

    def dimensions(self, metric: str) -> tuple[str, ...]:
        """Conformed dimensions ``metric`` can be grouped and filtered by."""
        self[metric]
        if metric not in self._dims:
            self._dims[metric] = supported_dimensions(metric, self.specs)
        return self._dims[metric]

    @functools.cached_property
    def fingerprint(self) -> str:
        """A hash of every definition, for cache keys."""
        data: list[object] = [s.model_dump(mode="json") for s in self]
        data.append(self.sourcing.model_dump(mode="json"))
        data.append(self.funnel.model_dump(mode="json") if self.funnel else None)
        data.append(self.scorecard.model_dump(mode="json") if self.scorecard else None)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

    def with_windows(self, windows: Mapping[str, int]) -> Catalogue:
        """Conversion windows resolved: workspace YAML, else the setting, else shipped YAML."""
        specs = {}
        for mid, spec in self.specs.items():
            explicit = spec.source != SHIPPED and spec.window_days is not None
            if spec.kind == "cohort_rate" and mid in windows and not explicit:
                spec = spec.model_copy(update={"window_days": windows[mid]})
            specs[mid] = spec
        return Catalogue(specs, self.sourcing, self.funnel, self.scorecard)


def shipped_files() -> list[tuple[str, str]]:
    """(name, text) of every shipped catalogue file, in KPIS.md order."""
    folder = resources.files("revteam.metrics").joinpath("catalogue")
    files = [p for p in folder.iterdir() if p.name.endswith((".yaml", ".yml"))]
    files.sort(key=lambda p: (_FILE_ORDER.get(p.name, len(_FILE_ORDER)), p.name))
    return [(f"catalogue/{p.name}", p.read_text(encoding="utf-8")) for p in files]


@cache
def shipped_catalogue() -> Catalogue:
    return load_catalogue(None)


def load_catalogue(
    workspace_dir: Path | None = None, approved: Sequence[tuple[str, str]] = ()
) -> Catalogue:
    """The shipped catalogue, with ``workspace_dir/*.yaml`` (if given) added and overriding.

    ``approved`` are (name, YAML text) of agreed definitions, applied last: each replaces the
    metric of the same id wherever it came from.
    """
    problems: list[CatalogueProblem] = []
    specs: dict[str, MetricSpec] = {}
    sourcing = Sourcing()
    files: list[tuple[str, str, str]] = [(n, t, SHIPPED) for n, t in shipped_files()]
    if workspace_dir is not None and workspace_dir.is_dir():
        found = sorted([*workspace_dir.glob("*.yaml"), *workspace_dir.glob("*.yml")])
        files += [(str(p), p.read_text(encoding="utf-8"), WORKSPACE) for p in found]
    files += [(name, text, APPROVED) for name, text in approved]
    funnel: Funnel | None = None
    scorecard: Scorecard | None = None
    seen: dict[str, str] = {}
    for name, text, origin in files:
        loaded, found_sourcing, found_funnel, found_scorecard = _read(name, text, origin, problems)
        if found_sourcing is not None:
            sourcing = found_sourcing
        if found_funnel is not None:
            funnel = found_funnel
        if found_scorecard is not None:
            scorecard = found_scorecard
        for spec in loaded:
            replaces = origin == APPROVED and seen.get(spec.id) != APPROVED
            if spec.id in seen and not replaces and (seen[spec.id] != SHIPPED or origin == SHIPPED):
                problems.append(
                    CatalogueProblem(
                        name, spec.id, "id", f"defined twice (also in {specs[spec.id].path})"
                    )
                )
                continue
            if spec.id in seen and origin != APPROVED:
                spec = spec.model_copy(update={"source": OVERRIDE})
            seen[spec.id] = origin
            specs[spec.id] = spec
    path_of = {mid: s.path or "" for mid, s in specs.items()}
    problems += [
        CatalogueProblem(path_of.get(m, ""), m, f, msg) for m, f, msg in check_catalogue(specs)
    ]
    if funnel is not None:
        problems += [
            CatalogueProblem("funnel", None, f, msg) for f, msg in check_funnel(funnel, specs)
        ]
    if scorecard is not None:
        problems += [
            CatalogueProblem("scorecard", None, f, msg)
            for f, msg in check_scorecard(scorecard, specs)
        ]
    if problems:
        raise CatalogueError(problems)
    return Catalogue(specs, sourcing, funnel, scorecard)


def _read(
    name: str, text: str, origin: str, problems: list[CatalogueProblem]
) -> tuple[list[MetricSpec], Sourcing | None, Funnel | None, Scorecard | None]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problems.append(CatalogueProblem(name, None, None, f"not valid YAML: {exc}"))
        return [], None, None, None
    if data is None:
        return [], None, None, None
    if not isinstance(data, dict) or set(data) - set(_TOP_LEVEL):
        problems.append(
            CatalogueProblem(
                name, None, None, f"a catalogue file is a mapping with keys {', '.join(_TOP_LEVEL)}"
            )
        )
        return [], None, None, None
    sourcing = _block(Sourcing, "sourcing", name, data.get("sourcing"), origin, problems)
    funnel = _block(Funnel, "funnel", name, data.get("funnel"), origin, problems)
    scorecard = _block(Scorecard, "scorecard", name, data.get("scorecard"), origin, problems)
    entries = data.get("metrics") or []
    if not isinstance(entries, list):
        problems.append(CatalogueProblem(name, None, "metrics", "must be a list of metrics"))
        return [], sourcing, funnel, scorecard
    specs = [s for i, e in enumerate(entries) if (s := _spec(name, i, e, origin, problems))]
    return specs, sourcing, funnel, scorecard


def _spec(
    name: str, index: int, entry: Any, origin: str, problems: list[CatalogueProblem]
) -> MetricSpec | None:
    if not isinstance(entry, dict):
        problems.append(CatalogueProblem(name, f"#{index + 1}", None, "a metric is a mapping"))
        return None
    metric = str(entry.get("id") or f"#{index + 1}")
    misplaced = [k for k in _LOADER_FIELDS if k in entry]
    if misplaced:
        problems += [
            CatalogueProblem(name, metric, k, "set by the loader; remove it") for k in misplaced
        ]
        return None
    try:
        return MetricSpec.model_validate({**entry, "source": origin, "path": name})
    except ValidationError as exc:
        problems += [
            CatalogueProblem(name, metric, ".".join(str(p) for p in e["loc"]) or None, _msg(e))
            for e in exc.errors()
        ]
        return None


def _msg(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        fields = [f for f in MetricSpec.model_fields if f not in _LOADER_FIELDS]
        return f"unknown field; a metric's fields are: {', '.join(fields)}"
    if error["type"] == "missing":
        return "required"
    return str(error["msg"])


B = TypeVar("B", Sourcing, Funnel, Scorecard)


def _block(
    kind: type[B], key: str, name: str, raw: Any, origin: str, problems: list[CatalogueProblem]
) -> B | None:
    """A file's ``sourcing`` or ``funnel`` block, validated; problems named by field."""
    if raw is None:
        return None
    try:
        return kind.model_validate({**raw, "source": origin} if isinstance(raw, dict) else raw)
    except ValidationError as exc:
        problems += [
            CatalogueProblem(name, None, f"{key}." + ".".join(str(p) for p in e["loc"]), _msg(e))
            for e in exc.errors()
        ]
        return None
