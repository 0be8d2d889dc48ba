"""Identity resolution over the warehouse: one unified id per person, across every source.

``ws.identity.run()`` (an :class:`IdentityComponent`) reads ``people`` (with their account's
name), links them with :func:`revteam.resolve.model.resolve_records`, links people to accounts
by e-mail domain and company name, and replaces three warehouse tables in one transaction:

- ``person_links``: every person id with its ``unified_id`` — the smallest person id of its
  cluster, so it stays the same from run to run as long as the cluster does;
- ``identity_review``: pairs whose match probability lies in the uncertain band, to check by
  hand (they are *not* merged);
- ``person_account_links``: the account each person's company e-mail domain (or, failing that,
  company name) points at, beside the account the source gave.

Canonical tables are not changed: the links sit beside them for metrics and reports to use.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

from revteam.crm.loading import staged_system_sql
from revteam.model import identity as N
from revteam.resolve.model import (
    DEFAULT_REVIEW_LOW,
    DEFAULT_THRESHOLD,
    Progress,
    Resolution,
    resolve_records,
)
from revteam.settings import Settings
from revteam.storage import Warehouse

LINKS = "person_links"
REVIEW = "identity_review"
ACCOUNT_LINKS = "person_account_links"


_RECORDS = f"""
SELECT p.person_id AS record_id, p.first_name, p.last_name, p.email,
       COALESCE(p.company_name, a.name) AS company,
       COALESCE({staged_system_sql("p._source")},
                regexp_extract(p._source, '[^/\\\\]+$')) AS source
FROM people p LEFT JOIN accounts a ON a.account_id = p.account_id
"""


@dataclass(frozen=True)
class ResolveResult:
    """The figures of one run that tell how much to trust it."""

    run_id: str
    people: int
    pairs_compared: int
    clusters: int
    merged_people: int
    review_pairs: int
    account_links: int
    threshold: float
    review_low: float
    seconds: float
    engine: str = "duckdb"

    def rows(self) -> list[dict[str, object]]:
        return [
            {"figure": "engine", "value": self.engine},
            {"figure": "people", "value": self.people},
            {"figure": "pairs compared", "value": self.pairs_compared},
            {"figure": "unified people (clusters)", "value": self.clusters},
            {"figure": "people merged with another record", "value": self.merged_people},
            {
                "figure": f"uncertain pairs to review ({self.review_low:g} to {self.threshold:g})",
                "value": self.review_pairs,
            },
            {"figure": "people linked to an account", "value": self.account_links},
        ]


class IdentityComponent:
    """``ws.identity``: resolve people across sources and read the links."""

    def __init__(self, *, settings: Settings, warehouse: Warehouse) -> None:
        self._settings = settings
        self._warehouse = warehouse

    def run(
        self,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        review_low: float = DEFAULT_REVIEW_LOW,
        engine: Literal["duckdb", "spark"] | None = None,
        progress: Progress | None = None,
    ) -> ResolveResult:
        """Link every person and replace the link tables (one transaction).

        ``engine`` overrides the workspace's ``[identity] engine`` setting; ``"spark"`` starts
        (or joins) a session on ``[identity] spark_master``.
        """
        started = time.perf_counter()
        config = self._settings.identity
        engine = engine or config.engine
        spark = None
        if engine == "spark":
            from revteam.resolve.spark import session

            if progress:
                progress("starting Spark", 0.01)
            spark = session(config.spark_master, conf=config.spark_conf)
        wh = self._warehouse
        records = wh.arrow(_RECORDS)
        resolution = resolve_records(
            records.drop_columns(["source"]),
            threshold=threshold,
            review_low=review_low,
            progress=progress,
            spark=spark,
        )
        if progress:
            progress("writing", 0.97)
        run_id = uuid.uuid4().hex[:16]
        accounts = self._write(resolution, records, run_id)
        if progress:
            progress("done", 1.0)
        return ResolveResult(
            run_id,
            resolution.records,
            resolution.pairs_compared,
            resolution.cluster_count,
            resolution.merged_records,
            resolution.review.num_rows,
            accounts,
            threshold,
            review_low,
            time.perf_counter() - started,
            engine,
        )

    def _write(self, res: Resolution, records: pa.Table, run_id: str) -> int:
        """Replace the link tables, joined to the records the model compared (one join each)."""
        con = self._warehouse.con
        with self._warehouse.transaction():
            con.register("_links", res.clusters)
            con.register("_review", res.review)
            con.register("_records", records)
            con.execute(f"""CREATE OR REPLACE TABLE {LINKS} AS
                SELECT l.record_id AS person_id, l.unified_id, l.cluster_size, r.source,
                       CAST(current_timestamp AS TIMESTAMP) AS resolved_at, '{run_id}' AS run_id
                FROM _links l LEFT JOIN _records r USING (record_id)""")
            con.execute(f"""CREATE OR REPLACE TABLE {REVIEW} AS
                SELECT v.record_id_l AS person_id_l, v.record_id_r AS person_id_r,
                       v.match_probability,
                       l.email AS email_l, r.email AS email_r,
                       concat_ws(' ', l.first_name, l.last_name) AS name_l,
                       concat_ws(' ', r.first_name, r.last_name) AS name_r,
                       l.company AS company_l, r.company AS company_r,
                       CAST(current_timestamp AS TIMESTAMP) AS resolved_at, '{run_id}' AS run_id
                FROM _review v JOIN _records l ON l.record_id = v.record_id_l
                JOIN _records r ON r.record_id = v.record_id_r""")
            con.execute(f"CREATE OR REPLACE TABLE {ACCOUNT_LINKS} AS {_account_links(run_id)}")
            for name in ("_links", "_review", "_records"):
                con.unregister(name)
            n = con.execute(f"SELECT count(*) FROM {ACCOUNT_LINKS}").fetchall()
        return int(n[0][0])

    def links(self) -> pa.Table:
        """Every person id with its unified id (empty before the first run)."""
        return self._read(LINKS, "unified_id, person_id")

    def review(self) -> pa.Table:
        """Uncertain pairs, most likely matches first."""
        return self._read(REVIEW, "match_probability DESC")

    def account_links(self) -> pa.Table:
        return self._read(ACCOUNT_LINKS, "person_id")

    def _read(self, table: str, order: str) -> pa.Table:
        exists = self._warehouse.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]
        ).fetchall()
        if not exists[0][0]:
            return pa.table({})
        result: pa.Table = self._warehouse.arrow(f"SELECT * FROM {table} ORDER BY {order}")
        return result


def _account_links(run_id: str) -> str:
    """People → accounts by company e-mail domain, else by company name (unambiguous only)."""
    return f"""
        WITH p AS (SELECT person_id, account_id AS source_account_id,
                          {N.domain_sql("email")} AS domain,
                          {N.company_sql("company_name")} AS company FROM people),
        a AS (SELECT account_id, lower(domain) AS domain, {N.company_sql("name")} AS company
              FROM accounts),
        by_domain AS (SELECT domain, min(account_id) AS account_id FROM a
                      WHERE domain IS NOT NULL GROUP BY domain HAVING count(*) = 1),
        by_company AS (SELECT company, min(account_id) AS account_id FROM a
                       WHERE company IS NOT NULL GROUP BY company HAVING count(*) = 1)
        SELECT p.person_id, COALESCE(d.account_id, c.account_id) AS account_id,
               CASE WHEN d.account_id IS NOT NULL THEN 'email_domain' ELSE 'company_name' END
                   AS method,
               p.source_account_id,
               p.source_account_id IS NOT DISTINCT FROM COALESCE(d.account_id, c.account_id)
                   AS agrees_with_source,
               CAST(current_timestamp AS TIMESTAMP) AS resolved_at, '{run_id}' AS run_id
        FROM p LEFT JOIN by_domain d ON d.domain = p.domain
        LEFT JOIN by_company c ON c.company = p.company
        WHERE COALESCE(d.account_id, c.account_id) IS NOT NULL
        ORDER BY p.person_id"""
