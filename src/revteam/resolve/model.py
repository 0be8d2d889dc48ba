"""Probabilistic record linkage of people with splink 5, on DuckDB or on Spark.

:func:`resolve_records` takes one table of person records (any mix of sources) with some of
the columns ``first_name``, ``last_name``, ``email``, ``company``, ``dob``, ``city`` and links
them with a Fellegi-Sunter model: match probabilities of (blocked) pairs, clusters of records
above ``threshold`` (connected components), and the pairs in the uncertain band for review.
Comparisons and blocking rules use only the columns that have values, so the same code serves
CRM people (names, e-mail, company) and data sets with dates of birth.

The model is trained on the data itself: the share of matching pairs from deterministic rules,
the chance of coincidental agreement (``u``) from random pairs; the agreement rates of true
matches (``m``) are informed priors (:data:`PRIOR_M`), optionally refined by expectation
maximisation.

References
----------
Fellegi, I. P., & Sunter, A. B. (1969). A theory for record linkage. JASA 64(328), 1183-1210.
Splink: https://moj-analytical-services.github.io/splink/

The records are cleaned in DuckDB either way; the linker (pairs, training, prediction,
clusters) runs on DuckDB by default, or on a Spark session for more people than one machine
compares in good time (:mod:`revteam.resolve.spark`). The model and its settings are the same.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from revteam.exceptions import ResolveError
from revteam.model import identity as N

COLUMNS = ("first_name", "last_name", "email", "company", "dob", "city")
"""Identifying columns the model can use; at least two must have values."""

Progress = Callable[[str, float], None]
"""Called with the phase's name and the fraction of the run done."""

DEFAULT_THRESHOLD = 0.5
"""Match probability from which two records are one person: more likely the same than not."""
DEFAULT_REVIEW_LOW = 0.2
"""Lower edge of the band of uncertain pairs listed for review."""


class Engine(Protocol):
    """Where splink runs: its database API, the records handed to it, and reading results."""

    def api(self) -> Any:
        """A splink ``DatabaseAPI``."""
        ...

    def register(self, api: Any, con: duckdb.DuckDBPyConnection) -> Any:
        """The prepared records (``_people`` of ``con``) as the linker's input table."""
        ...

    def arrow(self, sql: str) -> pa.Table:
        """Run a query (Spark SQL and DuckDB share what is used here) and fetch it."""
        ...


class _DuckDBEngine:
    """The embedded default: splink on the in-memory DuckDB that prepared the records."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def api(self) -> Any:
        from splink import DuckDBAPI

        return DuckDBAPI(connection=self._con)

    def register(self, api: Any, con: duckdb.DuckDBPyConnection) -> Any:
        return api.register("_people")  # already a table of this connection

    def arrow(self, sql: str) -> pa.Table:
        return self._con.sql(sql).to_arrow_table()


PRIOR_M: dict[str, tuple[float, ...]] = {
    "name_or_swapped": (0.75, 0.05, 0.08, 0.04, 0.04, 0.04),
    "name": (0.8, 0.08, 0.04, 0.04, 0.04),
    "email": (0.85, 0.1, 0.05),
    "company": (0.75, 0.12, 0.13),
    "dob": (0.8, 0.1, 0.03, 0.03, 0.02, 0.02),
    "city": (0.8, 0.1, 0.1),
}
"""How often two records of one person agree at each comparison level (exact first, "all
other" last; names: exact, swapped, three closeness levels). These ``m`` values are set, not
learnt: with the few duplicates a CRM holds, and namesakes whose e-mails follow the same
pattern, expectation maximisation learns the wrong thing (on a generated company with 120
injected duplicates it missed 24 of them). The data teaches ``u`` (chance agreement) and the
share of matching pairs, which is where companies differ most."""


@dataclass(frozen=True)
class Resolution:
    """Clusters, scored pairs and the review list of one resolution run."""

    clusters: pa.Table
    """``record_id``, ``unified_id`` (smallest record id of the cluster), ``cluster_size``."""
    pairs: pa.Table
    """``record_id_l``, ``record_id_r``, ``match_probability`` of pairs at or above the review
    band's lower edge."""
    review: pa.Table
    """Pairs whose probability lies in the uncertain band ``[review_low, threshold)``."""
    records: int
    pairs_compared: int
    threshold: float

    @property
    def cluster_count(self) -> int:
        return len(set(self.clusters.column("unified_id").to_pylist()))

    @property
    def merged_records(self) -> int:
        """Records that share their unified id with at least one other record."""
        return sum(1 for n in self.clusters.column("cluster_size").to_pylist() if n > 1)


def prepare(con: duckdb.DuckDBPyConnection, records: pa.Table) -> list[str]:
    """Register the records as ``_people`` with cleaned columns; return the usable columns."""
    con.register("_raw_people", records)
    missing, repeated = con.execute(
        "SELECT count(*) FILTER (WHERE record_id IS NULL), "
        "count(record_id) - count(DISTINCT record_id) FROM _raw_people"
    ).fetchall()[0]
    if missing or repeated:
        con.unregister("_raw_people")
        raise ResolveError(
            f"{missing} record(s) without a record_id and {repeated} repeated record_id(s)",
            "Give every record its own id (a repeated id would merge two records unseen).",
        )
    have = set(records.column_names)
    exprs = {
        "first_name": N.name_sql("first_name"),
        "last_name": N.name_sql("last_name"),
        "email": N.email_sql("email"),
        "company": N.company_sql("company"),
        "dob": "NULLIF(trim(CAST(dob AS VARCHAR)), '')",
        "city": N.name_sql("city"),
    }
    present = [c for c in COLUMNS if c in have]
    cols = ["CAST(record_id AS VARCHAR) AS unique_id", *(f"{exprs[c]} AS {c}" for c in present)]
    con.execute(f"CREATE OR REPLACE TABLE _people AS SELECT {', '.join(cols)} FROM _raw_people")
    con.unregister("_raw_people")
    counts = con.execute(
        f"SELECT {', '.join(['0', *(f'count({c})' for c in present)])} FROM _people"
    ).fetchall()[0][1:]
    return [c for c, n in zip(present, counts, strict=True) if n]


def _settings(usable: list[str], *, n: int) -> Any:
    import splink.comparison_library as cl
    from splink import SettingsCreator

    names = {"first_name", "last_name"} <= set(usable)
    small = n < MIN_LEARN
    comparisons: list[Any] = []
    for c in usable:
        key = c
        if c in ("first_name", "last_name"):
            key = "name_or_swapped" if names else "name"
            other = "last_name" if c == "first_name" else "first_name"
            comparison = _name_comparison(c, other if names else None, tf=not small)
        elif c == "email":
            comparison = _email_comparison()
        elif c == "company":
            comparison = cl.JaroWinklerAtThresholds(c, [0.95])
        elif c == "dob":
            comparison = cl.DateOfBirthComparison(c, input_is_string=True)
        else:
            comparison = cl.JaroWinklerAtThresholds(c, [0.9]).configure(
                term_frequency_adjustments=not small
            )
        options: dict[str, Any] = {"m_probabilities": list(PRIOR_M[key])}
        if small or c in ("email", "company"):  # levels random pairs rarely reach
            options["u_probabilities"] = list(PRIOR_U[key])
        comparisons.append(comparison.configure(**options))
    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=comparisons,
        # about one record in twenty a duplicate: the prior share of matching pairs
        probability_two_random_records_match=min(0.1, 0.1 / max(1, n - 1)),
        blocking_rules_to_generate_predictions=[_rule(r) for r in _blocking(usable)],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


PRIOR_U: dict[str, tuple[float, ...]] = {
    "name_or_swapped": (0.01, 0.0005, 0.005, 0.01, 0.05, 0.9245),
    "name": (0.01, 0.005, 0.01, 0.05, 0.925),
    "email": (0.0001, 0.0001, 0.9998),
    "company": (0.005, 0.002, 0.993),
    "dob": (0.0003, 0.002, 0.003, 0.03, 0.3, 0.6647),
    "city": (0.05, 0.01, 0.94),
}
"""Chance agreement by level: the starting point that random pairs refine, and what is used
as it is for data sets too small to learn it from (fewer than :data:`MIN_LEARN` records)."""
MIN_LEARN = 200


def _name_comparison(column: str, other: str | None, *, tf: bool) -> Any:
    """A name: exact (less telling for common names), swapped with the other name, or close.

    Forms and imports often swap first and last names; a name found in the other column is
    evidence, not a disagreement.
    """
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    levels = [
        cll.NullLevel(column),
        cll.ExactMatchLevel(column).configure(tf_adjustment_column=column if tf else None),
    ]
    if other is not None:
        levels.append(
            cll.CustomLevel(
                f'"{column}_l" = "{other}_r" OR "{column}_r" = "{other}_l"',
                label_for_charts=f"{column} swapped with {other}",
                base_dialect_str="duckdb",  # double quotes: identifiers, on Spark too
            )
        )
    levels += [cll.JaroWinklerLevel(column, t) for t in (0.92, 0.88, 0.7)]
    return cl.CustomComparison(
        comparison_levels=[*levels, cll.ElseLevel()], output_column_name=column
    )


def _email_comparison() -> Any:
    """E-mail: the same address, or one with a few typos, or not.

    Two levels of splink's ``EmailComparison`` mislead on B2B data, so they are left out:
    a fuzzy match of whole addresses (colleagues share the domain) and an exact match of the
    part before ``@`` alone (``tariq.gomez@`` at two companies is two people called Tariq
    Gomez, and the names already say so).
    """
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import ColumnExpression

    full = ColumnExpression("email")
    user = ColumnExpression("email").regex_extract("^[^@]+")
    domain = ColumnExpression("email").regex_extract("[^@]+$")
    return cl.CustomComparison(
        comparison_levels=[
            cll.NullLevel(full),
            cll.ExactMatchLevel(full).configure(tf_adjustment_column="email"),
            cll.And(cll.DamerauLevenshteinLevel(user, 1), cll.DamerauLevenshteinLevel(domain, 2)),
            cll.ElseLevel(),
        ],
        output_column_name="email",
    )


SWAPPED = "l.first_name = r.last_name AND l.last_name = r.first_name"
"""Blocking rule for records whose first and last names were swapped."""


def _rule(rule: tuple[Any, ...] | str) -> Any:
    from splink import block_on

    return block_on(*rule) if isinstance(rule, tuple) else rule


def _blocking(usable: list[str]) -> list[tuple[Any, ...] | str]:
    """Blocking rules over the usable columns: every true pair should share one of them."""
    from splink import ColumnExpression

    has = set(usable).__contains__
    rules: list[tuple[Any, ...] | str] = []
    if has("email"):
        rules.append(("email",))
    if has("first_name") and has("last_name"):
        rules.append(("first_name", "last_name"))
        rules.append(("substr(first_name, 1, 2)", "substr(last_name, 1, 2)"))
    rules += [("last_name", o) for o in ("dob", "company", "city") if has(o) and has("last_name")]
    if has("dob"):
        rules.append(("dob",))
    if has("email") and has("first_name"):
        # splink writes the extraction in each engine's dialect (Spark needs a group index)
        rules.append(("first_name", ColumnExpression("email").regex_extract("^[^@]+")))
    if has("first_name") and has("last_name"):
        rules.append(SWAPPED)
    if not rules:
        raise ResolveError(
            f"no blocking rule fits the columns with values ({', '.join(usable) or 'none'})",
            "Records need an e-mail, or first and last names, or a date of birth.",
        )
    return rules


def _train(linker: Any, usable: list[str], seed: int, *, em: bool, small: bool) -> None:
    from splink import block_on

    if small:
        return  # too few records to learn from: the priors stand
    deterministic = [_rule(r) for r in _blocking(usable)[:2]]
    with contextlib.suppress(ValueError):  # rules matching more pairs than recall 0.7 allows
        linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
    if not em:
        return
    for cols in (("first_name", "last_name"), ("dob",)):
        if set(cols) <= set(usable):
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(*cols), fix_u_probabilities=True
            )


def resolve_records(
    records: pa.Table,
    /,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    review_low: float = DEFAULT_REVIEW_LOW,
    seed: int = 42,
    em: bool = False,
    progress: Progress | None = None,
    spark: Any | None = None,
) -> Resolution:
    """Link person records; ``records`` needs ``record_id`` and identifying columns.

    Parameters
    ----------
    records
        One row per record: ``record_id`` and some of :data:`COLUMNS`.
    threshold
        Match probability from which two records are one person (0.5: more likely the same
        person than not).
    review_low
        Lower edge of the review band ``[review_low, threshold)``.
    seed
        Seed of the random pairs that estimate chance agreement (same seed, same result).
    em
        Also learn the ``m`` values by expectation maximisation, blocked on names and on dates
        of birth; for large data sets with an identifier independent of names.
    spark
        A ``SparkSession`` to run the linker on (see :func:`revteam.resolve.spark.session`);
        ``None`` runs it on an in-memory DuckDB.
    """
    from splink import Linker

    if "record_id" not in records.column_names:
        raise ResolveError("the records have no record_id column", "Name the id record_id.")
    if not 0 < review_low <= threshold <= 1:
        raise ResolveError(
            f"review band [{review_low}, {threshold}) is not inside (0, 1]",
            "Use 0 < review_low <= threshold <= 1.",
        )
    say = progress or (lambda _phase, _fraction: None)
    splink_log = logging.getLogger("splink")
    level = splink_log.level
    splink_log.setLevel(logging.ERROR)  # splink reports training to the log; figures are ours
    con = duckdb.connect(":memory:")
    con.execute("SET threads = 1")  # sampling and EM repeat exactly from run to run
    try:
        say("preparing", 0.05)
        usable = prepare(con, records)
        n = int(con.execute("SELECT count(*) FROM _people").fetchall()[0][0])
        if n < 2 or len(usable) < 2:
            return _trivial(con.sql("SELECT unique_id FROM _people").to_arrow_table(), threshold)
        engine: Engine
        if spark is None:
            engine = _DuckDBEngine(con)
        else:
            from revteam.resolve.spark import SparkEngine

            engine = SparkEngine(spark)
        with warnings.catch_warnings():
            # splink warns about untrained levels on tiny data; pyspark leaves the sockets
            # of fetched results to the garbage collector (ResourceWarning)
            warnings.simplefilter("ignore")
            db_api = engine.api()
            small = n < MIN_LEARN
            settings = _settings(usable, n=n)
            linker = Linker(engine.register(db_api, con), settings, log_level=None)
            say("training", 0.15)
            _train(linker, usable, seed, em=em, small=small)
            say("predicting", 0.6)
            predictions = linker.inference.predict()
            table = predictions.physical_name
            compared = _count(engine, table)
            say("clustering", 0.8)
            clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
                predictions, threshold_match_probability=threshold
            )
            say("collecting", 0.95)
            result = _collect(
                engine, table, clusters.physical_name, n, compared, threshold, review_low
            )
            linker.table_management.delete_tables_created_by_splink_from_db()  # type: ignore[no-untyped-call]
        return result
    except Exception as exc:
        if spark is not None:
            from revteam.resolve.spark import failure

            if (error := failure(exc)) is not None:
                raise error from exc
        raise
    finally:
        con.close()
        splink_log.setLevel(level)


def _count(engine: Engine, table: str) -> int:
    return int(engine.arrow(f"SELECT count(*) AS n FROM {table}").column(0)[0].as_py())


def _collect(
    engine: Engine,
    predictions: str,
    clusters: str,
    n: int,
    compared: int,
    threshold: float,
    review_low: float,
) -> Resolution:
    members = engine.arrow(f"""
        SELECT unique_id AS record_id,
               min(unique_id) OVER (PARTITION BY cluster_id) AS unified_id,
               count(*) OVER (PARTITION BY cluster_id) AS cluster_size
        FROM {clusters} ORDER BY record_id
    """)
    pairs = engine.arrow(f"""
        SELECT least(unique_id_l, unique_id_r) AS record_id_l,
               greatest(unique_id_l, unique_id_r) AS record_id_r, match_probability
        FROM {predictions} WHERE match_probability >= {review_low}
        ORDER BY match_probability DESC, record_id_l, record_id_r
    """)
    members, pairs = _schema(members, _MEMBERS), _schema(pairs, _PAIRS)
    review = pairs.filter(pc.less(pairs.column("match_probability"), threshold))
    return Resolution(members, pairs, review, n, compared, threshold)


_MEMBERS = pa.schema(
    [("record_id", pa.string()), ("unified_id", pa.string()), ("cluster_size", pa.int64())]
)
_PAIRS = pa.schema(
    [("record_id_l", pa.string()), ("record_id_r", pa.string()),
     ("match_probability", pa.float64())]
)  # fmt: skip
"""The result tables' columns, the same whichever engine produced them."""


def _schema(table: pa.Table, schema: pa.Schema) -> pa.Table:
    return table.select(schema.names).cast(schema)


def _trivial(people: pa.Table, threshold: float) -> Resolution:
    """Fewer than two records or usable columns: everyone is their own cluster."""
    ids = pc.sort_indices(people, [("unique_id", "ascending")])
    uid = people.column("unique_id").take(ids)
    members = pa.table([uid, uid, pa.array([1] * len(uid), pa.int64())], schema=_MEMBERS)
    empty = _PAIRS.empty_table()
    return Resolution(members, empty, empty, people.num_rows, 0, threshold)
