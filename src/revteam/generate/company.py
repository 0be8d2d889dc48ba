"""``generate_company``: every canonical table of one synthetic company, plus its truth."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from revteam.exceptions import GeneratorError
from revteam.generate import costs, email, engagement, orders, org, pipeline, web
from revteam.generate._private import DAY, stream
from revteam.generate.campaigns import campaigns_table, make_campaigns
from revteam.generate.config import GeneratorConfig
from revteam.generate.deals import make_deals
from revteam.generate.funnel import People, make_people, people_table
from revteam.generate.timeline import Span
from revteam.generate.truth import make_truth
from revteam.model import TABLES

Format = Literal["parquet", "csv"]
FORMATS: tuple[Format, ...] = ("parquet", "csv")


@dataclass(frozen=True)
class Company:
    """A generated company: the 14 canonical tables and the parameters planted in them."""

    tables: dict[str, pa.Table]
    """Canonical table name → Arrow table with exactly the declared columns and types."""
    truth: dict[str, Any] = field(repr=False)
    """JSON-ready planted parameters and expected KPI values (see :mod:`revteam.generate.truth`)."""
    config: GeneratorConfig
    as_of: dt.datetime
    """End of the data: nothing in the tables happens at or after this moment."""
    planted: dict[str, pa.Table] = field(default_factory=dict, repr=False)
    """Per-row planted truth too large for ``truth.json`` (kept in memory, not written):
    ``lead_probabilities``, each person's planted chance of becoming an MQL (``p_mql``) and
    of an MQL becoming an SQL (``p_sql``), against which lead scores are judged."""

    def write(self, directory: str | Path, /, *, format: Format = "parquet") -> dict[str, Path]:
        """Write ``<table>.<format>`` for every table and ``truth.json`` into ``directory``.

        CSV files have a header row, timestamps as ``YYYY-MM-DD HH:MM:SS``, booleans as
        ``true``/``false`` and empty fields for nulls. Returns each table's file.
        """
        if format not in FORMATS:
            raise GeneratorError(
                f"Unknown format {format!r}; expected one of: {', '.join(FORMATS)}"
            )
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {}
        for name, table in self.tables.items():
            path = folder / f"{name}.{format}"
            if format == "parquet":
                pq.write_table(table, path)
            else:
                pacsv.write_csv(_csv_ready(table), path, pacsv.WriteOptions(quoting_style="needed"))
            paths[name] = path
        (folder / "truth.json").write_text(
            json.dumps(self.truth, indent=2) + "\n", encoding="utf-8"
        )
        return paths


def _csv_ready(table: pa.Table) -> pa.Table:
    """Timestamps to whole seconds (all generated ones are), so CSV shows no fraction."""
    columns = [
        c.cast(pa.timestamp("s")) if pa.types.is_timestamp(c.type) else c for c in table.columns
    ]
    return pa.table(columns, names=table.column_names)


def generate_company(
    config: GeneratorConfig | None = None,
    /,
    *,
    progress: Callable[[str], None] | None = None,
) -> Company:
    """Generate a synthetic B2B SaaS company: every table of ``revteam.model.TABLES``.

    Parameters
    ----------
    config
        Size, span and seed; the default is ``GeneratorConfig()``. The same config always gives
        byte-identical tables.
    progress
        Called with each table's name as soon as that table is made (for a progress bar).
    """
    config = config or GeneratorConfig()
    span = Span.of(config)
    seed = config.seed
    made: dict[str, pa.Table] = {}

    def done(name: str, table: pa.Table) -> None:
        made[name] = table
        if progress is not None:
            progress(name)

    team = org.make_team(stream(seed, "users"))
    done("users", team.table)
    accounts = org.make_accounts(stream(seed, "accounts"), config.n_leads, team)
    campaigns = make_campaigns(stream(seed, "campaigns"), config.n_campaigns, span)
    done("campaigns", campaigns_table(campaigns, span, config.n_leads))
    people = make_people(config, span, accounts, campaigns, team)
    deals = make_deals(config, span, people, accounts, campaigns, team)
    # the event tables first: they need the most working memory, and fewer tables are held then
    mail, clicks = email.email_events(seed, span, people, campaigns)
    done("email_events", mail)
    done(
        "touchpoints",
        engagement.touchpoints_table(seed, span, people, accounts, campaigns, clicks),
    )
    del clicks
    done(
        "sales_activities",
        engagement.sales_activities_table(seed, span, people, deals, accounts, team),
    )
    created = _account_created(stream(seed, "accounts.created"), people, accounts.n, span)
    done("accounts", org.accounts_table(accounts, created, team, span))
    done("people", people_table(people, deals.customer, accounts, team, campaigns, span))
    done(
        "opportunities",
        pipeline.opportunities_table(deals, people, accounts, campaigns, team, span),
    )
    done("opportunity_stages", pipeline.opportunity_stages_table(deals, span))
    sales_orders = orders.make_orders(seed, span, deals, accounts)
    done("orders", orders.orders_table(sales_orders, people, accounts, span))
    done("costs", costs.costs_table(seed, span, config.n_leads, campaigns, deals))
    done("web_traffic", web.web_traffic_table(seed, span, people, config.n_leads))
    done("social_posts", web.social_posts_table(seed, span, campaigns))
    done("seo_rankings", web.seo_rankings_table(seed, span))
    tables = {name: made[name] for name in TABLES}
    as_of = dt.datetime.combine(config.end, dt.time())
    truth = make_truth(config, span, team, campaigns, tables)
    planted = {
        "lead_probabilities": pa.table(
            {
                "person_id": tables["people"].column("person_id"),
                "p_mql": np.clip(people.p_mql, 0.0, 1.0),
                "p_sql": people.p_sql,
            }
        )
    }
    return Company(tables=tables, truth=truth, config=config, as_of=as_of, planted=planted)


def _account_created(rng: np.random.Generator, people: People, n_accounts: int, span: Span) -> Any:
    """Accounts appear a little before their first lead; those without leads at random."""
    created = rng.integers(-365 * DAY, span.as_of, n_accounts)
    accounts, first = np.unique(people.account, return_index=True)
    lead_time = (rng.exponential(20.0, len(accounts)) * DAY).astype(np.int64)
    created[accounts] = people.created[first] - lead_time
    return created
