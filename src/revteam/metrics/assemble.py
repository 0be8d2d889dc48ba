"""Assemble executed groups into one tidy table: a row per (metric, period, dimension values).

The aggregated groups are small (periods by dimension values), so this step works on plain
Python values. Totals of additive parts are the sums of the groups' parts (never an average of
group ratios); totals of medians come from their own period-only aggregation. Derived metrics
are evaluated here, from the same parts that are shown beside them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pyarrow as pa

from revteam.metrics import derived, periods
from revteam.metrics.columns import FIXED_COLUMNS, PERIOD
from revteam.metrics.plan import Atom, Plan, Recipe
from revteam.metrics.sources import Context
from revteam.metrics.spec import Formula

Key = tuple[dt.date, tuple[str | None, ...], bool]
"""(period start, dimension values in request order, is_total)."""
Row = dict[str, Any]


def _day(value: Any) -> dt.date:
    """Engines return periods as dates or as midnight timestamps."""
    return value.date() if isinstance(value, dt.datetime) else value


def _num(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return float(value)
    f = float(value)
    return None if math.isnan(f) else f


class Assembler:
    def __init__(self, plan: Plan, results: Mapping[tuple[object, ...], pa.Table], ctx: Context):
        self.plan, self.ctx, self.q = plan, ctx, plan.query
        self.values: dict[Atom, dict[tuple[dt.date, tuple[str | None, ...]], float]] = {}
        self.totals: dict[Atom, dict[dt.date, float]] = {}
        self.periods: set[dt.date] = set()
        self._spines: dict[bool, list[dt.date]] = {}
        for key, table in results.items():
            self._load(plan.groups[key].dims, plan.groups[key].atoms, table)
        for group in plan.groups.values():
            if group.mode == "open":
                self._accumulate(group.atoms)
        self.metric_rows: dict[str, dict[Key, Row]] = {}

    # -- loading -------------------------------------------------------------------------------
    def _load(self, dims: tuple[str, ...], atoms: Mapping[Atom, str], table: pa.Table) -> None:
        data = table.to_pydict()
        flags = data.get("_total", [False] * table.num_rows)
        period_col = [_day(p) for p in data[PERIOD]]
        keys = list(zip(*(data[d] for d in dims), strict=True)) or [()] * table.num_rows
        for atom, name in atoms.items():
            vals: dict[tuple[dt.date, tuple[str | None, ...]], float] = {}
            totals: dict[tuple[dt.date, tuple[str | None, ...]], float] = {}
            # A group the query saw counts even where its sum is empty (0, not missing), so
            # e.g. growth of a channel whose revenue fell to nothing is -100 %, not unknown.
            empty = 0.0 if atom.additive else None
            for p, key, total, raw in zip(period_col, keys, flags, data[name], strict=True):
                v = _num(raw)
                v = empty if v is None else v
                if v is not None:
                    (totals if total else vals)[(p, () if total else key)] = v
            self.values[atom] = vals
            if totals:
                self.values[_twin(atom)] = totals
        self.periods.update(p for p in period_col if p is not None)

    def _accumulate(self, atoms: Mapping[Atom, str]) -> None:
        """Turn per-period changes into the state at each period's end, on the spine."""
        spine = self.spine(snapshot=True)
        for atom in atoms:
            by_key: dict[tuple[str | None, ...], list[tuple[dt.date, float]]] = defaultdict(list)
            for (p, dims), v in self.values[atom].items():
                by_key[dims].append((p, v))
            out: dict[tuple[dt.date, tuple[str | None, ...]], float] = {}
            for dims, moves in by_key.items():
                moves.sort()
                running, i = 0.0, 0
                for p in spine:
                    while i < len(moves) and moves[i][0] <= p:
                        running += moves[i][1]
                        i += 1
                    if i and abs(running) > 1e-9:
                        out[(p, dims)] = round(running, 6)
            self.values[atom] = out

    def spine(self, *, snapshot: bool = False) -> list[dt.date]:
        """Periods every total row is shown for (counts of a quiet period are 0, not missing).

        From the request's first period (else the first with data) to its last (else the last
        with data; for snapshots, the period of the as-of time). Kept on the instance: a
        ``functools.cache`` on the method would keep every assembler, and its values, alive.
        """
        found = self._spines.get(snapshot)
        if found is None:
            found = self._spines[snapshot] = self._spine(snapshot)
        return found

    def _spine(self, snapshot: bool) -> list[dt.date]:
        q = self.q
        if q.whole:
            assert q.first_period is not None
            return [q.first_period]
        seen = sorted(self.periods)
        first = q.start or (seen[0] if seen else None)
        if q.end is not None:
            last: dt.date | None = q.end
        elif snapshot:
            last = periods.floor(self.ctx.as_of.date(), q.calendar, q.fy_start)
        else:
            last = seen[-1] if seen else None
        if first is None or last is None:
            return []
        return q.spine(first, last)

    # -- atom lookups --------------------------------------------------------------------------
    def get(self, atom: Atom | None, key: Key) -> float | None:
        if atom is None:
            return None
        period, dims, is_total = key
        if is_total and atom.dims:
            if atom.summable:
                return self._total(atom).get(period, 0.0)
            twin = self.values.get(_twin(atom), {})
            return twin.get((period, ()))
        found = self.values.get(atom, {}).get((period, self._project(atom, dims)))
        return 0.0 if found is None and atom.additive else found

    def _project(self, atom: Atom, dims: tuple[str | None, ...]) -> tuple[str | None, ...]:
        """The request's dimension values restricted to those ``atom`` is grouped by."""
        if atom.dims == self.q.by:
            return dims
        return tuple(v for d, v in zip(self.q.by, dims, strict=True) if d in atom.dims)

    def _total(self, atom: Atom) -> dict[dt.date, float]:
        if atom not in self.totals:
            sums: dict[dt.date, float] = defaultdict(float)
            for (p, _), v in self.values.get(atom, {}).items():
                sums[p] += v
            self.totals[atom] = dict(sums)
        return self.totals[atom]

    def keys(self, recipe: Recipe) -> set[Key]:
        """Rows of a metric: every group its full-grouping atoms saw, plus a total per period."""
        full = tuple(self.q.by)
        atoms = [a for a in (recipe.value, recipe.numerator, recipe.denominator) if a]
        out: set[Key] = set()
        for atom in atoms:
            for p, dims in self.values.get(atom, {}):
                if full and atom.dims == full:
                    out.add((p, dims, False))
                out.add((p, (None,) * len(full), True))
        out |= {(p, (None,) * len(full), True) for p in self.spine(snapshot=_is_open(recipe))}
        return out

    # -- metric rows ---------------------------------------------------------------------------
    def rows(self, metric: str) -> dict[Key, Row]:
        if metric not in self.metric_rows:
            recipe = self.plan.recipes[metric]
            if recipe.spec.kind == "derived":
                self.metric_rows[metric] = self._derived(recipe)
            else:
                self.metric_rows[metric] = {k: self._row(recipe, k) for k in self.keys(recipe)}
        return self.metric_rows[metric]

    def _row(self, recipe: Recipe, key: Key) -> Row:
        n = self.get(recipe.n, key)
        if recipe.value is not None:
            return self._flags(recipe, key, value=self.get(recipe.value, key), n=n)
        num, den = self.get(recipe.numerator, key), self.get(recipe.denominator, key)
        num = None if num is None else num * recipe.scale
        value = num / den if num is not None and den else None
        return self._flags(recipe, key, value=value, numerator=num, denominator=den, n=n)

    def _flags(self, recipe: Recipe, key: Key, **row: Any) -> Row:
        spec = recipe.spec
        if spec.is_cohort:
            after = self.q.period_end(key[0])
            period_end = dt.datetime.combine(after, dt.time()) if after else self.ctx.as_of
            age = max(0, (self.ctx.as_of - period_end).days)
            row["age_days"] = age
            row["window_days"] = spec.window_days
            row["immature"] = spec.window_days is not None and age < spec.window_days
        return row

    def _derived(self, recipe: Recipe) -> dict[Key, Row]:
        formula = recipe.spec.formula
        assert formula is not None
        refs = recipe.spec.references()
        keys: set[Key] = set()
        for ref in refs:
            keys |= set(self.rows(ref))
        spine = self.spine()
        for shift, ref in self._shifts(formula):
            # A group that fell to nothing still has its earlier value to compare with.
            keys |= {
                (later, dims, total)
                for period, dims, total in self.rows(ref)
                if not total
                and (later := self.q.forward(period, shift)) is not None
                and spine
                and later <= spine[-1]
            }
        out: dict[Key, Row] = {}
        for key in keys:
            lookup = self._lookup(key)
            num = derived.evaluate(formula.numerator, lookup)
            den = derived.evaluate(formula.denominator, lookup) if formula.denominator else None
            if formula.value:
                value = derived.evaluate(formula.value, _with_parts(num, den, lookup))
            elif formula.denominator:
                value = num / den if num is not None and den else None
            else:
                value = num
            row: Row = {"value": value, "numerator": num, "denominator": den}
            ref_rows = [self.rows(r).get(key, {}) for r in refs]
            if any(r.get("immature") for r in ref_rows):
                row["immature"] = True
            ages = [r["age_days"] for r in ref_rows if r.get("age_days") is not None]
            if ages:
                row["age_days"] = min(ages)
            out[key] = row
        return out

    @staticmethod
    def _shifts(formula: Formula) -> set[tuple[str, str]]:
        found: set[tuple[str, str]] = set()
        for expression in (formula.numerator, formula.denominator):
            found |= derived.shifts_in(expression) if expression else set()
        return found

    def _lookup(self, key: Key) -> derived.Lookup:
        def lookup(name: str, shift: str | None) -> float | None:
            if name == "gross_margin":
                return self.ctx.gross_margin
            period: dt.date | None = key[0]
            if shift is not None:
                period = self.q.shifted(key[0], shift)
                if period is None:
                    return None  # no earlier period to a whole range
            assert period is not None
            row = self.rows(name).get((period, key[1], key[2]))
            if row is None:
                recipe = self.plan.recipes[name]
                additive = recipe.value is not None and recipe.value.additive
                return 0.0 if additive else None
            return row.get("value")

        return lookup


def _with_parts(num: float | None, den: float | None, lookup: derived.Lookup) -> derived.Lookup:
    """A lookup that also knows the row's ``numerator`` and ``denominator``."""
    parts = {"numerator": num, "denominator": den}
    return lambda name, shift: parts[name] if name in parts else lookup(name, shift)


def _twin(atom: Atom) -> Atom:
    from dataclasses import replace

    return replace(atom, dims=())


def _is_open(recipe: Recipe) -> bool:
    atom = recipe.value or recipe.numerator
    return atom is not None and atom.mode == "open"


def _sort_key(key: Key) -> tuple[Any, ...]:
    period, dims, total = key
    return (period, not total, tuple((v is None, v or "") for v in dims))


def to_arrow(asm: Assembler) -> pa.Table:
    """The tidy result: one row per metric, period and dimension values (totals included)."""
    q = asm.q
    cols: dict[str, list[Any]] = {PERIOD: [], "period_label": []}
    cols |= {d: [] for d in q.by}
    cols["is_total"] = []
    cols |= {c: [] for c in FIXED_COLUMNS}
    labels: dict[dt.date, str] = {}
    for metric in q.metrics:
        spec = asm.plan.recipes[metric].spec
        for key in sorted(asm.rows(metric), key=_sort_key):
            period, dims, total = key
            if not q.whole and ((q.start and period < q.start) or (q.end and period > q.end)):
                continue
            if total and q.by and not q.totals:
                continue
            row = asm.rows(metric)[key]
            cols[PERIOD].append(period)
            if period not in labels:
                labels[period] = q.label(period)
            cols["period_label"].append(labels[period])
            for d, v in zip(q.by, dims, strict=True):
                cols[d].append(v)
            cols["is_total"].append(total)
            cols["metric"].append(metric)
            cols["owners"].append(spec.owners)
            cols["unit"].append(spec.unit)
            for c in ("value", "numerator", "denominator"):
                cols[c].append(row.get(c))
            for c in ("n", "age_days", "window_days"):
                cols[c].append(None if row.get(c) is None else round(row[c]))
            cols["immature"].append(bool(row.get("immature", False)))
    return pa.table(cols, schema=schema(q.by))


def schema(by: tuple[str, ...]) -> pa.Schema:
    fields = [pa.field(PERIOD, pa.date32()), pa.field("period_label", pa.string())]
    fields += [pa.field(d, pa.string()) for d in by]
    fields += [
        pa.field("is_total", pa.bool_()),
        pa.field("metric", pa.string()),
        pa.field("owners", pa.string()),
        pa.field("unit", pa.string()),
        pa.field("value", pa.float64()),
        pa.field("numerator", pa.float64()),
        pa.field("denominator", pa.float64()),
        pa.field("n", pa.int64()),
        pa.field("immature", pa.bool_()),
        pa.field("age_days", pa.int64()),
        pa.field("window_days", pa.int64()),
    ]
    return pa.schema(fields)
