"""``ws.scoring``: a lead score learnt from the workspace's own history, and used on open leads.

>>> ws.scoring.fit().holdout.auc            # doctest: +SKIP
>>> ws.scoring.score()                       # doctest: +SKIP
>>> ws.scoring.explain("P0000042")           # doctest: +SKIP

The outcome is the catalogue's ``[scoring] target`` (``lead_to_sql_rate``: reached SQL within
its window): the metric layer's records say which lead reached it and when, and its query the
window, so the score predicts exactly the KPI both teams read. See docs/scoring.md.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from revteam.exceptions import ScoringError
from revteam.metrics.request import DateLike, to_as_of
from revteam.scoring.agreement import Agreement, ThresholdAgreements
from revteam.scoring.features import US_PER_DAY, Leads, features, read_leads
from revteam.scoring.fitting import FitInputs, Outcomes, ScoreFit, day_of, fit_score, micros_of
from revteam.scoring.model import quality
from revteam.scoring.rules import Rules, load_rules

if TYPE_CHECKING:
    from revteam.metrics import MetricsComponent
    from revteam.settings import Settings
    from revteam.stats import StatsComponent
    from revteam.storage import AppDatabase

I64 = npt.NDArray[np.int64]
KEPT = 4
SCORES_DIR = "scores"
"""The workspace folder where :meth:`ScoringComponent.save` keeps each run's scores."""
DRIFT_LARGE = 0.25
"""Population stability index above which a month's scores have shifted a lot."""
AUC_DROP = 0.05
"""How far below the holdout's AUC a later month may rank before the score is degraded."""


class ScoringComponent:
    """Fits, scores and explains (``ws.scoring``).

    Each use takes an optional ``fit``: a :class:`ScoreFit` made elsewhere (``fit_score`` on
    :meth:`inputs`, as the web app does off its request path) instead of fitting here.
    """

    def __init__(
        self,
        *,
        metrics: MetricsComponent,
        settings: Settings,
        root: Path | None = None,
        stats: StatsComponent | None = None,
        app_db: Callable[[], AppDatabase] | None = None,
    ) -> None:
        self._metrics, self._settings, self._root = metrics, settings, root
        self._stats = stats
        self._app_db = app_db
        self._fits: OrderedDict[tuple[Any, ...], ScoreFit] = OrderedDict()
        self._leads: OrderedDict[tuple[Any, ...], Leads] = OrderedDict()

    # -- fitting -------------------------------------------------------------------------------
    def fit(self, *, as_of: DateLike | None = None) -> ScoreFit:
        """Fit the score on every lead whose window has closed by ``as_of``.

        Measured on the newest of them (``[scoring] holdout_share``), never seen in fitting;
        the returned scorer is then refitted to include them (:func:`fit_score`).
        """
        cut = self._cut(as_of)
        key = (cut, self._settings.scoring, self._metrics.data_version)
        found = self._fits.get(key)
        if found is None:
            found = self._fits[key] = fit_score(self.inputs(as_of=cut))
            while len(self._fits) > KEPT:
                self._fits.popitem(last=False)
        return found

    def inputs(self, *, as_of: DateLike | None = None) -> FitInputs:
        """What fitting reads from the warehouse (fitting itself then needs none of it)."""
        cut = self._cut(as_of)
        leads = self._read(cut)
        window = self._window(cut)
        rules, source = self.rules()
        return FitInputs(
            cut=cut,
            settings=self._settings.scoring,
            leads=leads,
            outcomes=self._outcomes(leads, cut),
            window_days=window,
            rules=rules,
            rules_source=source,
            data_version=self._metrics.data_version,
        )

    def _fit_for(self, cut: dt.datetime, given: ScoreFit | None) -> ScoreFit:
        """``given`` (fitted elsewhere, e.g. off a server's request path) or the fit at ``cut``.

        A fit of earlier data may score later leads (a model is used until refitted); one
        that learnt outcomes after ``cut`` may not: it would score the past with hindsight.
        """
        if given is None:
            return self.fit(as_of=cut)
        if given.as_of > cut:
            raise ScoringError(
                f"The score given was fitted as of {given.as_of:%Y-%m-%d}, after {cut:%Y-%m-%d}: "
                "it knows outcomes that were not known then.",
                "Fit as of that day (leave the fit out).",
            )
        return given

    @property
    def agreements(self) -> ThresholdAgreements:
        """The MQL threshold's proposals and sign-offs (the application database)."""
        if self._app_db is None:
            raise ScoringError("No application database to keep agreements in.", "Use ws.scoring.")
        return ThresholdAgreements(self._app_db())

    def propose_threshold(
        self, threshold: float, *, note: str = "", objective: str = "", **who: Any
    ) -> Agreement:
        """Propose an MQL threshold; every team owning the target KPI must approve it."""
        target = self._settings.scoring.target
        return self.agreements.propose(
            threshold,
            target=target,
            catalogue=self._metrics.catalogue,
            objective=objective,
            note=note,
            **who,
        )

    def rules(self) -> tuple[Rules, str]:
        """The rules score (the workspace's ``scoring.yaml``, or the shipped one) and its source."""
        return load_rules(self._root)

    # -- using ---------------------------------------------------------------------------------
    def score(self, *, as_of: DateLike | None = None, fit: ScoreFit | None = None) -> pa.Table:
        """Every open lead at ``as_of``, scored as of then, most likely first.

        Open: created, not yet at the target, not disqualified, its window still open.
        Columns: ``person_id``, ``created_at``, ``age_days``, ``score`` (the probability of
        reaching the target within its window), ``grade``, ``fit_points`` and
        ``engagement_points`` (the rules score), ``scored_at``.
        """
        cut = self._cut(as_of)
        fit = self._fit_for(cut, fit)
        leads = self._read(cut)
        rows = self._open(leads, cut, fit.window_days)
        at = np.full(len(rows), micros_of(cut), dtype=np.int64)
        x = features(leads, rows, at, half_life_days=self._settings.scoring.half_life_days)
        p = fit.scorer.predict(x)
        fit_points, engaged, grade = self.rules()[0].score(x)
        table = pa.table(
            {
                "person_id": leads.person_id.take(pa.array(rows)),
                "created_at": pa.array(leads.created_us[rows], pa.timestamp("us")),
                "age_days": x.column("age_days"),
                "score": pa.array(p),
                "grade": grade,
                "fit_points": pa.array(fit_points),
                "engagement_points": pa.array(engaged),
                "scored_at": pa.array(at, pa.timestamp("us")),
            }
        )
        order = pc.sort_indices(
            table, sort_keys=[("score", "descending"), ("person_id", "ascending")]
        )
        return table.take(order)

    def save(self, table: pa.Table) -> Path:
        """Keep a :meth:`score` table as given: ``scores/<scored_at>.parquet`` in the workspace.

        Each file is one run: every open lead's score, grade and points with the moment it
        was scored, the model and the target; :meth:`history` reads them back, so a score can
        later be judged as it was given, not as today's model would give it.
        """
        if self._root is None:
            raise ScoringError("No workspace folder to keep scores in.", "Use ws.scoring.")
        if not table.num_rows:
            raise ScoringError("No open lead to keep a score of.", "Load leads first.")
        moment = table.column("scored_at")[0].as_py()
        folder = self._root / SCORES_DIR
        folder.mkdir(exist_ok=True)
        path = folder / f"{moment:%Y%m%dT%H%M%S}.parquet"
        cfg = self._settings.scoring
        kept = table.append_column("model", pa.array([cfg.model] * table.num_rows)).append_column(
            "target", pa.array([cfg.target] * table.num_rows)
        )
        partial = path.with_suffix(".parquet.part")
        pq.write_table(kept, partial)
        partial.replace(path)  # whole or not at all: a reader never sees half a run
        return path

    def history(self, person_id: str | None = None) -> pa.Table:
        """Every score kept by :meth:`save`, oldest first (of one lead, or of all)."""
        folder = self._root / SCORES_DIR if self._root is not None else None
        files = sorted(folder.glob("*.parquet")) if folder is not None and folder.is_dir() else []
        if not files:
            return pa.table({"person_id": pa.array([], pa.string())})
        table = pa.concat_tables([pq.read_table(f) for f in files], promote_options="permissive")
        if person_id is not None:
            table = table.filter(pc.equal(table.column("person_id"), person_id))
        return table.sort_by([("scored_at", "ascending"), ("person_id", "ascending")])

    def explain(
        self, person_id: str, *, as_of: DateLike | None = None, fit: ScoreFit | None = None
    ) -> dict[str, Any]:
        """Why a lead scores what it does: its probability and the features that moved it."""
        cut = self._cut(as_of)
        leads = self._read(cut)
        where = pc.index(leads.person_id, person_id).as_py()
        if where < 0:  # said before fitting: a fit takes minutes on a large company
            raise ScoringError(
                f"No person {person_id!r} was created by {cut:%Y-%m-%d}.",
                "Give a person_id from the people table (revteam score run lists open leads).",
            )
        fit = self._fit_for(cut, fit)
        rows = np.array([where], dtype=np.int64)
        at = np.array([micros_of(cut)], dtype=np.int64)
        x = features(leads, rows, at, half_life_days=self._settings.scoring.half_life_days)
        fit_points, engaged, grade = self.rules()[0].score(x)
        return {
            "person_id": person_id,
            "scored_at": cut.isoformat(),
            "age_days": float(x.column("age_days")[0].as_py()),
            "score": float(fit.scorer.predict(x)[0]),
            "grade": grade[0].as_py(),
            "fit_points": float(fit_points[0]),
            "engagement_points": float(engaged[0]),
            "contributions": fit.scorer.explain(x)[0],
        }

    def threshold(
        self,
        *,
        as_of: DateLike | None = None,
        candidates: Sequence[float] | None = None,
        objective: str = "capacity",
        sqr_target: float | None = None,
        level: float = 0.9,
        fit: ScoreFit | None = None,
    ) -> dict[str, Any]:
        """The MQL threshold's trade-off curve, and the threshold an objective recommends.

        A lead becomes an MQL when its score at ``[scoring] score_after_days`` old reaches the
        threshold. Per candidate, on the holdout's leads of that age (scored by a model that
        never saw them): ``mqls_per_month`` (with a Poisson interval), the expected
        ``sales_qualification_rate`` (the mean probability of the MQLs reaching the target,
        with the interval of a rate of that many leads, Σ p(1−p)), the ``realised`` rate,
        ``sqls_per_month``, ``lead_to_opportunity_rate`` (realised: the catalogue's
        lead_conversion_rate among them) and ``mqls_per_rep_week`` against
        ``[scoring] capacity_per_rep_week``. ``objective``: ``capacity`` (the most SQLs
        Sales can work) or ``sqr`` (the most SQLs with the expected SQR ≥ ``sqr_target``).
        """
        from scipy.stats import norm  # type: ignore[import-untyped]

        if not 0.5 <= level < 1:
            raise ScoringError(f"level {level} is out of range.", "Give 0.5 ≤ level < 1.")
        if objective not in ("capacity", "sqr"):
            raise ScoringError(f"Unknown objective {objective!r}.", "Use capacity or sqr.")
        if objective == "sqr" and not (sqr_target is not None and 0 < sqr_target < 1):
            raise ScoringError(
                "The sqr objective needs a target rate.", "Give sqr_target between 0 and 1."
            )
        cut = self._cut(as_of)
        fit = self._fit_for(cut, fit)
        cfg = self._settings.scoring
        judged = fit.predictions.filter(
            pc.equal(fit.predictions.column("age_days"), fit.judged_age)
        )
        p = judged.column("score").to_numpy()
        y = judged.column("reached").to_numpy().astype(bool)
        start, end = fit.periods["holdout"]
        months = ((end - start).days + 1) / (365.25 / 12)
        opportunity = self._reached("lead_conversion_rate", judged.column("person_id"), cut)
        reps = cfg.reps or self._reps(cut)
        z = float(norm.ppf(0.5 + level / 2))
        cuts = sorted(
            {float(c) for c in candidates}
            if candidates is not None
            # the scores' own values (isotonic calibration gives steps): each a real cut
            else set(np.quantile(p, np.linspace(0.0, 0.98, 50), method="lower").tolist())
        )
        rows = []
        for tau in cuts:
            mine = p >= tau
            n = int(mine.sum())
            if n == 0:
                continue
            expected = float(p[mine].mean())
            # a rate of n leads scatters around its expectation (Σ p(1−p) / n²), and the
            # expectation itself owes something to the leads that calibrated the score
            binomial = float((p[mine] * (1 - p[mine])).sum()) / n**2
            calibration = float(np.var(fit.resampled[:, mine].mean(axis=1)))
            spread = z * float(np.sqrt(binomial + calibration))
            per_month = n / months
            workload = per_month / reps / (365.25 / 12 / 7) if reps else None
            rows.append(
                {
                    "threshold": tau,
                    "mqls": n,
                    "mqls_per_month": per_month,
                    "mqls_per_month_low": max(n - z * np.sqrt(n), 0.0) / months,
                    "mqls_per_month_high": (n + z * np.sqrt(n)) / months,
                    "sales_qualification_rate": expected,
                    "sales_qualification_rate_low": max(expected - spread, 0.0),
                    "sales_qualification_rate_high": min(expected + spread, 1.0),
                    "realised_sales_qualification_rate": float(y[mine].mean()),
                    "sqls_per_month": float(p[mine].sum()) / months,
                    "lead_to_opportunity_rate": float(opportunity[mine].mean()),
                    "mqls_per_rep_week": workload,
                    "within_capacity": workload is None or workload <= cfg.capacity_per_rep_week,
                }
            )
        agreed = self.agreements.current() if self._app_db is not None else None
        if objective == "capacity":
            fits = [r for r in rows if r["within_capacity"]]
        else:
            fits = [r for r in rows if r["sales_qualification_rate"] >= (sqr_target or 0)]
        best = max(fits, key=lambda r: (r["sqls_per_month"], -r["threshold"]), default=None)
        return {
            "target": fit.target,
            "judged_age_days": fit.judged_age,
            "holdout": [start.isoformat(), end.isoformat()],
            "months": months,
            "reps": reps,
            "capacity_per_rep_week": cfg.capacity_per_rep_week,
            "level": level,
            "objective": objective,
            "sqr_target": sqr_target,
            "recommended": best,
            "agreed": agreed.as_dict() if agreed is not None else None,
            "curve": rows,
        }

    def monitor(
        self, *, as_of: DateLike | None = None, months: int = 12, fit: ScoreFit | None = None
    ) -> dict[str, Any]:
        """Whether the score still ranks leads, and today's leads are like those it learnt from.

        Per month of creation over the last ``months``, each lead scored at ``[scoring]
        score_after_days`` old (if still open then): ``drift``, the population stability
        index of the month's scores against the holdout's (ten bins at the holdout's
        deciles; above 0.1 a shift, above 0.25 a large one), and for months whose window has
        closed the ``auc`` and the realised rate per score decile (``deciles``: does the top
        tenth still convert most?), ranked by the model measured on the holdout (learnt on
        the training slice only); months it learnt from are marked ``in_sample``;
        ``degraded`` says whether the latest month drifted past 0.25 or the latest closed
        month out of sample ranks more than 0.05 below the holdout's AUC.
        """
        cut = self._cut(as_of)
        cfg = self._settings.scoring
        fit = self._fit_for(cut, fit)
        leads = self._read(cut)
        outcome = self._outcomes(leads, cut)
        reached, dq, within = outcome.reached, outcome.disqualified, outcome.within
        age = fit.judged_age * US_PER_DAY
        moment = leads.created_us + age
        now = micros_of(cut)
        back = cut.year * 12 + cut.month - 1 - (months - 1)  # the first month shown
        first = micros_of(dt.datetime(back // 12, back % 12 + 1, 1))
        rows = np.flatnonzero(
            (leads.created_us >= first) & (moment <= now) & (reached > moment) & (dq > moment)
        )
        x = features(leads, rows, moment[rows], half_life_days=cfg.half_life_days)
        p = fit.scorer.predict(x)
        # the reference: the holdout's leads, scored by the same (refitted) scorer
        start, end = (micros_of(dt.datetime.combine(d, dt.time())) for d in fit.periods["holdout"])
        created = leads.created_us[rows]
        reference = p[(created >= start) & (created < end + US_PER_DAY)]
        if not len(reference):
            raise ScoringError(
                f"No lead of the holdout ({fit.periods['holdout'][0]} to "
                f"{fit.periods['holdout'][1]}) is within the last {months} months.",
                "Give more months.",
            )
        edges = np.unique(np.quantile(reference, np.linspace(0, 1, 11)[1:-1]))
        expected = np.bincount(np.searchsorted(edges, reference, side="right"),
                               minlength=len(edges) + 1) / len(reference)  # fmt: skip
        month = np.array(
            [day_of(t).replace(day=1) for t in leads.created_us[rows]], dtype="datetime64[D]"
        )
        window = fit.window_days * US_PER_DAY
        learnt_until = np.datetime64(fit.periods["calibrate"][0])
        ranked = fit.checked.predict(x)  # learnt on train only: later months are out of sample
        out = []
        for m in np.unique(month):
            mine = month == m
            scores, rows_m = p[mine], rows[mine]
            got = np.bincount(np.searchsorted(edges, scores, side="right"),
                              minlength=len(edges) + 1) / len(scores)  # fmt: skip
            psi = float(np.sum((got - expected) * np.log((got + 1e-6) / (expected + 1e-6))))
            closed = bool((leads.created_us[rows_m] + window <= now).all())
            entry: dict[str, Any] = {
                "month": str(m)[:7],
                "leads": int(mine.sum()),
                "mean_score": float(scores.mean()),
                "drift": psi,
                "closed": closed,
                "in_sample": bool(m < learnt_until),
                "auc": None,
                "realised": None,
                "deciles": [],
            }
            if closed:
                y = within[rows_m]
                entry["realised"] = float(y.mean())
                entry["auc"] = quality(y, ranked[mine]).auc
                entry["deciles"] = _deciles(ranked[mine], scores, y)
            out.append(entry)
        latest = out[-1] if out else None
        closed_out = [e for e in out if e["closed"] and not e["in_sample"] and e["auc"] is not None]
        reasons = []
        if latest is not None and latest["drift"] > DRIFT_LARGE:
            reasons.append(
                f"the leads of {latest['month']} score unlike those the score was measured on "
                f"(drift {latest['drift']:.2f} > {DRIFT_LARGE})"
            )
        holdout_auc = fit.by_age[fit.judged_age].auc
        if closed_out and closed_out[-1]["auc"] < holdout_auc - AUC_DROP:
            reasons.append(
                f"the score ranks the leads of {closed_out[-1]['month']} at AUC "
                f"{closed_out[-1]['auc']:.3f}, below its holdout's {holdout_auc:.3f}"
            )
        kept = self._judge_kept(leads, outcome, cut, fit.window_days)
        judged = [k for k in kept if k["auc"] is not None]
        if judged and judged[-1]["auc"] < holdout_auc - AUC_DROP:
            reasons.append(
                f"the scores kept on {judged[-1]['scored_at'][:10]} ranked their leads at AUC "
                f"{judged[-1]['auc']:.3f}, below the holdout's {holdout_auc:.3f}"
            )
        return {
            "judged_age_days": fit.judged_age,
            "holdout_auc": holdout_auc,
            "months": out,
            "kept": kept,
            "degraded": bool(reasons),
            "reasons": reasons,
        }

    def _judge_kept(
        self, leads: Leads, outcome: Outcomes, cut: dt.datetime, window: int
    ) -> list[dict[str, Any]]:
        """Each run kept by :meth:`save`, judged as it was given (did its order come true).

        Per run, over its leads whose window has closed by ``cut``: the mean score given, the
        realised rate, the AUC of the scores given and the realised rate per decile of them.
        Scores are read as kept, so a model since replaced is judged, not today's.
        """
        history = self.history()
        if "scored_at" not in history.column_names:
            return []
        where = np.asarray(
            pc.index_in(history.column("person_id"), value_set=leads.person_id)
            .fill_null(-1)
            .to_numpy(zero_copy_only=False),
            dtype=np.int64,
        )
        scored_at = _micros_or(history.column("scored_at"), 0)
        score = np.asarray(history.column("score").to_numpy(), dtype=np.float64)
        closed = (where >= 0) & (
            leads.created_us[np.maximum(where, 0)] + window * US_PER_DAY <= micros_of(cut)
        )
        runs = []
        for moment in np.unique(scored_at[scored_at <= micros_of(cut)]):
            mine = scored_at == moment
            done = mine & closed
            entry: dict[str, Any] = {
                "scored_at": dt.datetime.fromtimestamp(moment / 1e6, dt.UTC)
                .replace(tzinfo=None)
                .isoformat(),
                "model": str(history.column("model")[int(np.argmax(mine))].as_py())
                if "model" in history.column_names
                else None,
                "leads": int(mine.sum()),
                "closed": int(done.sum()),
                "mean_score": None,
                "realised": None,
                "auc": None,
                "deciles": [],
            }
            if done.any():
                y, p = outcome.within[where[done]], score[done]
                entry["mean_score"], entry["realised"] = float(p.mean()), float(y.mean())
                if 0 < y.sum() < len(y):
                    entry["auc"] = quality(y, p).auc
                entry["deciles"] = _deciles(p, p, y)
            runs.append(entry)
        return runs

    def nurture(
        self,
        *,
        threshold: float | None = None,
        as_of: DateLike | None = None,
        fit: ScoreFit | None = None,
    ) -> pa.Table:
        """Fit but not ready: open leads of a nurture grade scoring below the MQL threshold.

        ``threshold`` defaults to the agreed one, else the one the curve recommends. Columns:
        those of :meth:`score`, with the lead's e-mail, names, company and channel (for export).
        """
        cut = self._cut(as_of)
        cfg = self._settings.scoring
        if threshold is None:
            agreed = self.agreements.current() if self._app_db is not None else None
            if agreed is not None:
                threshold = agreed.threshold
            else:
                best = self.threshold(as_of=cut, fit=fit)["recommended"]
                threshold = float(best["threshold"]) if best else 1.0
        if not 0 <= threshold <= 1:
            raise ScoringError(f"threshold {threshold} is out of range.", "Give 0 to 1.")
        scored = self.score(as_of=cut, fit=fit)
        keep = pc.and_(
            pc.is_in(scored.column("grade"), pa.array(list(cfg.nurture_grades), pa.string())),
            pc.less(scored.column("score"), threshold),
        )
        return self._contacts(scored.filter(keep), cut)

    def recycle(self, *, as_of: DateLike | None = None) -> pa.Table:
        """Leads Sales disqualified in the last ``[scoring] recycle_days``, back to Marketing.

        Except those disqualified for a final reason (``[scoring] never_recycle``). Columns:
        ``person_id``, ``disqualified_at``, ``disqualification_reason``, the rules score now
        (``grade``, ``fit_points``, ``engagement_points``) and the contact columns; the best
        fit first.
        """
        cut = self._cut(as_of)
        cfg = self._settings.scoring
        leads = self._read(cut)
        people = self._metrics.relation(
            "people", ["person_id", "disqualified_at", "disqualification_reason"], as_of=cut
        )
        since = pa.scalar(cut - dt.timedelta(days=cfg.recycle_days), pa.timestamp("us"))
        recent = people.filter(
            pc.and_(
                pc.greater_equal(people.column("disqualified_at"), since),
                pc.invert(
                    pc.is_in(
                        pc.fill_null(people.column("disqualification_reason"), ""),
                        pa.array(list(cfg.never_recycle), pa.string()),
                    )
                ),
            )
        )
        rows = np.asarray(
            pc.index_in(recent.column("person_id"), value_set=leads.person_id)
            .fill_null(-1)
            .to_numpy(zero_copy_only=False),
            dtype=np.int64,
        )
        recent = recent.filter(pa.array(rows >= 0))
        rows = rows[rows >= 0]
        at = np.full(len(rows), micros_of(cut), dtype=np.int64)
        x = features(leads, rows, at, half_life_days=cfg.half_life_days)
        fit_points, engaged, grade = self.rules()[0].score(x)
        table = recent.append_column("grade", grade)
        table = table.append_column("fit_points", pa.array(fit_points))
        table = table.append_column("engagement_points", pa.array(engaged))
        order = pc.sort_indices(
            table,
            sort_keys=[
                ("fit_points", "descending"),
                ("engagement_points", "descending"),
                ("person_id", "ascending"),
            ],
        )
        return self._contacts(table.take(order), cut)

    def feedback(
        self,
        *,
        by: str = "channel",
        period: DateLike | None = None,
        grain: str = "quarter",
        alpha: float = 0.05,
    ) -> dict[str, Any]:
        """Sales' verdicts on Marketing's leads: disqualification reasons by source.

        For each disqualification reason and each group of ``by`` (channel, campaign, …): the
        share of the group's MQLs of ``period`` that Sales disqualified for that reason (the
        catalogue's ``disqualification_rate`` broken down by reason), against the same share
        among the other groups' MQLs, tested (z or Fisher, by the statistics layer), with
        p-values adjusted by Benjamini-Hochberg over every reason and group at once. The
        significant excesses are the sources Sales rejects, and why.
        """
        from revteam.stats import benjamini_hochberg, meta_of

        if self._stats is None:
            raise ScoringError("No statistics component to test with.", "Use ws.scoring.")
        metric = "disqualification_rate"
        reasons = [
            r["disqualification_reason"]
            for r in self._metrics.query(
                [metric], by=["disqualification_reason"], grain="all"
            ).to_pylist()
            if not r["is_total"] and r["disqualification_reason"] is not None
        ]
        rows: list[dict[str, Any]] = []
        period_label = None
        for reason in sorted(set(reasons)):
            table = self._stats.compare(
                metric,
                by=[by, "disqualification_reason"],  # a breakdown is filtered beside itself
                period=period,
                grain=grain,
                where={"disqualification_reason": [reason]},
                alpha=alpha,
            )
            period_label = meta_of(table).get("period")
            rows.extend(
                {"reason": reason, by: r["segment"].rsplit(" · ", 1)[0]} | _pick(r)
                for r in table.to_pylist()
            )
        adjusted = benjamini_hochberg(
            [r["p_value"] if r["p_value"] is not None else np.nan for r in rows]
        )
        for r, p in zip(rows, adjusted, strict=True):
            r["p_adjusted"] = None if not np.isfinite(p) else float(p)
            r["significant"] = r["p_adjusted"] is not None and r["p_adjusted"] < alpha
        rows.sort(key=lambda r: (not r["significant"], -(r["difference"] or 0.0)))
        return {"metric": metric, "by": by, "period": period_label, "alpha": alpha, "rows": rows}

    # -- internals -----------------------------------------------------------------------------
    def _contacts(self, table: pa.Table, cut: dt.datetime) -> pa.Table:
        """``table`` (with ``person_id``) and each lead's e-mail, names, company, channel."""
        cols = ["person_id", "email", "first_name", "last_name", "company_name", "channel"]
        people = self._metrics.relation("people", cols, as_of=cut)
        where = pc.index_in(
            table.column("person_id"), value_set=people.column("person_id").combine_chunks()
        )
        for name in cols[1:]:
            table = table.append_column(name, people.column(name).combine_chunks().take(where))
        return table

    def _cut(self, as_of: DateLike | None) -> dt.datetime:
        """The as-of time asked for, refused past the end of the data.

        A lead would look as if it had gone quiet since.
        """
        data_end = self._metrics.as_of()
        cut = to_as_of(as_of)
        if cut is None:
            return data_end
        if cut.date() > data_end.date():
            raise ScoringError(
                f"as_of {cut.date()} is after the data ends ({data_end.date()}): every lead "
                "would look as if it had gone quiet since.",
                f"Give an as-of on or before {data_end.date()}, or leave it out.",
            )
        return min(cut, data_end)

    def _reached(
        self, metric: str, ids: pa.ChunkedArray, cut: dt.datetime
    ) -> npt.NDArray[np.bool_]:
        """Whether each of ``ids`` is in ``metric``'s numerator (the metric layer's records)."""
        found = self._metrics.records(metric, grain="all", as_of=cut, columns=["person_id"])
        where = pc.index_in(ids, value_set=found.column("person_id").combine_chunks())
        counted = np.r_[
            np.asarray(
                pc.fill_null(found.column("in_numerator"), False).to_numpy(zero_copy_only=False),
                dtype=bool,
            ),
            False,
        ]
        out: npt.NDArray[np.bool_] = counted[
            np.asarray(where.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
        ]
        return out

    def _reps(self, cut: dt.datetime) -> int:
        """The people who owned leads created in the 90 days before ``cut``."""
        people = self._metrics.relation("people", ["owner_id", "created_at"], as_of=cut)
        since = pa.scalar(cut - dt.timedelta(days=90), pa.timestamp("us"))
        recent = people.filter(pc.greater_equal(people.column("created_at"), since))
        return int(pc.count_distinct(recent.column("owner_id")).as_py())

    def _read(self, cut: dt.datetime) -> Leads:
        key = (cut, self._metrics.data_version)
        found = self._leads.get(key)
        if found is None:
            found = read_leads(self._metrics, cut)
            self._leads[key] = found
            while len(self._leads) > 2:
                self._leads.popitem(last=False)
        return found

    def _window(self, cut: dt.datetime) -> int:
        """The target's window (the metric layer's, with any workspace override)."""
        target = self._settings.scoring.target
        if target not in self._metrics.catalogue:
            raise ScoringError(
                f"[scoring] target {target!r} is not a metric of the catalogue.",
                "Name a cohort rate over people, e.g. lead_to_sql_rate.",
            )
        spec = self._metrics.get(target)
        if spec.kind != "cohort_rate" or spec.table != "people" or spec.time != "created_at":
            raise ScoringError(
                f"[scoring] target {target!r} is not a rate of leads by when they were created.",
                "Name a cohort rate over people timed by created_at, e.g. lead_to_sql_rate or "
                "lead_conversion_rate.",
            )
        row = self._metrics.query([target], grain="all", as_of=cut).to_pylist()[0]
        return int(row["window_days"])

    def _outcomes(self, leads: Leads, cut: dt.datetime) -> Outcomes:
        """Per lead of ``leads``, from the metric layer's records of the target.

        When it reached the target and was disqualified (int64 max for never), whether it
        reached it within its window (the KPI's numerator), and whether the target counts it
        at all.
        """
        target = self._settings.scoring.target
        found = self._metrics.records(
            target, grain="all", as_of=cut, columns=["person_id", "disqualified_at"]
        )
        never = np.iinfo(np.int64).max
        where = np.asarray(
            pc.index_in(leads.person_id, value_set=found.column("person_id").combine_chunks())
            .fill_null(-1)
            .to_numpy(zero_copy_only=False),
            dtype=np.int64,
        )
        counted = np.asarray(
            pc.fill_null(found.column("in_numerator"), False).to_numpy(zero_copy_only=False),
            dtype=bool,
        )
        return Outcomes(
            known=where >= 0,
            reached=np.r_[_micros_or(found.column("reached_at"), never), never][where],
            disqualified=np.r_[_micros_or(found.column("disqualified_at"), never), never][where],
            within=np.r_[counted, False][where],
        )

    def _open(self, leads: Leads, cut: dt.datetime, window: int) -> I64:
        outcome = self._outcomes(leads, cut)
        now = micros_of(cut)
        reached, dq = outcome.reached, outcome.disqualified
        created = leads.created_us
        open_ = (created <= now) & (reached > now) & (dq > now)
        open_ &= created + window * US_PER_DAY > now
        out: I64 = np.flatnonzero(open_)
        return out


def _deciles(
    rank: npt.NDArray[np.float64], scores: npt.NDArray[np.float64], y: npt.NDArray[np.bool_]
) -> list[dict[str, Any]]:
    """Leads in tenths by ``rank`` (highest first): the mean score and realised rate of each."""
    order = np.argsort(-rank, kind="stable")
    return [
        {
            "decile": k + 1,
            "mean_score": float(scores[part].mean()),
            "realised": float(y[part].mean()),
            "leads": len(part),
        }
        for k, part in enumerate(np.array_split(order, 10))
        if len(part)
    ]


def _pick(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("value", "baseline", "difference", "diff_low", "diff_high", "n", "baseline_n")
    return {k: row[k] for k in keys} | {"test": row["test"], "p_value": row["p_value"]}


def _micros_or(column: pa.ChunkedArray, missing: int) -> I64:
    values = pc.cast(pc.cast(column, pa.timestamp("us")), pa.int64()).fill_null(missing)
    out: I64 = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.int64)
    return out
