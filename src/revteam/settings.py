"""Workspace settings: ``revteam.toml``, overridden by ``REVTEAM_*`` environment variables.

On the ground floor (it needs only the model and the exceptions), so that every package that
reads settings (ingest, crm, metrics, the workspace itself) imports downwards.

Nested fields are overridden with a double underscore, e.g.
``REVTEAM_CONVERSION_WINDOWS__MQL_RATE=60``.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tomli_w
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from revteam.exceptions import ConfigError, WorkspaceNotFoundError
from revteam.model import enums

CONFIG_FILE = "revteam.toml"

DEFAULT_WINDOWS: dict[str, int] = {
    "mql_rate": 90,
    "lead_conversion_rate": 180,
    "lead_to_customer_rate": 365,
    "lead_to_sql_rate": 90,
    "sales_qualification_rate": 60,
    "disqualification_rate": 60,
    "sql_to_opportunity_rate": 90,
    "opportunity_to_customer_rate": 180,
}
"""Conversion windows in days of the cohort metrics of KPIS.md."""


class IdentitySettings(BaseModel):
    """Where identity resolution runs (``[identity]`` in ``revteam.toml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    engine: Literal["duckdb", "spark"] = Field(
        "duckdb",
        description="Run the linker on the embedded DuckDB, or on Spark for more people than "
        "one machine links in good time (needs the spark extra and Java 17).",
    )
    spark_master: str = Field(
        "local[*]", description="Spark master URL when engine is spark: local[N] or a cluster."
    )
    spark_conf: dict[str, str] = Field(
        default_factory=dict,
        description='Extra Spark configuration, e.g. {"spark.driver.memory" = "8g"}.',
    )


REVIEW_SECTIONS: tuple[str, ...] = (
    "scorecard",
    "definitions",
    "changes",
    "sla",
    "campaigns",
    "attribution",
    "cohorts",
    "actions",
    "data",
)


class SparkSettings(BaseModel):
    """The Spark session of a ``warehouse = "spark"`` workspace (``[spark]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    master: str = Field(
        "local[*]",
        description="Spark master URL: local[N] on this machine, or a cluster's "
        "(warehouse = 'spark://host:7077' names one too).",
    )
    database: str = Field(
        "revteam",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="The Spark database holding the canonical tables.",
    )
    location: str = Field(
        "spark-warehouse",
        description="Folder of the tables' Parquet files (relative to the workspace, or any "
        "URI Spark reads: hdfs://, s3a://); empty: the cluster's metastore decides.",
    )
    conf: dict[str, str] = Field(
        default_factory=dict,
        description='Extra Spark configuration, e.g. {"spark.driver.memory" = "8g"}.',
    )


class ReviewSettings(BaseModel):
    """What the joint review pack holds (``[review]`` in ``revteam.toml``; see docs/review.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sections: tuple[str, ...] = Field(
        REVIEW_SECTIONS,
        min_length=1,
        description="The pack's sections, in order: any of " + ", ".join(REVIEW_SECTIONS) + ".",
    )
    fdr: float = Field(
        0.05,
        gt=0,
        lt=0.5,
        description="False-discovery rate at which a change counts as beyond noise.",
    )
    change_dimensions: tuple[str, ...] = Field(
        ("channel", "campaign", "segment"),
        max_length=6,
        description="Dimensions in which the pack looks for changes (besides the total).",
    )
    max_changes: int = Field(8, ge=1, le=50, description="Changes the pack explains at most.")
    rank_metric: str = Field(
        "sales_qualification_rate",
        description="The rate campaigns are ranked by (with shrinkage) in the pack.",
    )
    top_campaigns: int = Field(5, ge=1, le=25, description="Campaigns shown at the top and bottom.")

    @field_validator("sections")
    @classmethod
    def _known_sections(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [s for s in value if s not in REVIEW_SECTIONS]
        if bad or len(set(value)) != len(value):
            raise ValueError(
                f"review.sections must name each of {', '.join(REVIEW_SECTIONS)} at most once "
                f"(got {', '.join(value)})"
            )
        return value


class AlertSettings(BaseModel):
    """How alerts are evaluated and delivered (``[alerts]`` in ``revteam.toml``; docs/review.md).

    Mail server and public URL come from the environment only (``REVTEAM_SMTP_*``,
    ``REVTEAM_PUBLIC_URL``): credentials never sit in a file that is copied around.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    scheduler: bool = Field(
        True,
        description="revteam serve evaluates the rules every minute (one process at a time, "
        "under a lease); false: run `revteam alerts run` from cron instead.",
    )
    max_attempts: int = Field(
        5, ge=1, le=20, description="Attempts per delivery before it is given up."
    )
    retry_minutes: float = Field(
        1.0,
        gt=0,
        le=1440,
        description="Wait before the first retry of a failed delivery; doubled after each.",
    )
    lease_seconds: int = Field(
        600,
        ge=30,
        le=86400,
        description="A run that stops renewing its lease (a killed process) is taken over "
        "after this long.",
    )
    timeout_seconds: float = Field(
        15.0, gt=0, le=300, description="Longest wait for a mail server or webhook to answer."
    )


class GoalSettings(BaseModel):
    """How goals are paced (``[goals]`` in ``revteam.toml``; see docs/goals.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    on_track: float = Field(
        0.7,
        gt=0,
        lt=1,
        description="A goal is on track when the chance of reaching its target is at least this.",
    )
    off_track: float = Field(
        0.3,
        gt=0,
        lt=1,
        description="A goal is off track when the chance of reaching its target is below this; "
        "between the two it is at risk.",
    )
    level: float = Field(
        0.9, gt=0, lt=1, description="Confidence level of the projected period-end interval."
    )
    target_line: Literal["linear", "seasonal"] = Field(
        "seasonal",
        description="The cumulative target line: linear in days, or shaped like the same "
        "period last year (falls back to linear without a year of history).",
    )
    history_days: int = Field(
        56,
        ge=7,
        le=364,
        description="Days before the as-of date whose run rate (weekday-adjusted) projects the "
        "rest of a period for counts and sums.",
    )

    forecast_horizon_days: int = Field(
        180,
        ge=30,
        le=730,
        description="The sales forecast's horizon: win probabilities are of a deal won within "
        "this many days, learnt from deals open at least this long before the as-of date.",
    )
    forecast_history_days: int = Field(
        730,
        ge=90,
        le=3650,
        description="Days of snapshots (before the horizon) the win probabilities learn from.",
    )
    forecast_snapshot_days: int = Field(
        7, ge=1, le=91, description="Days between two snapshots of the open deals."
    )
    forecast_prior: float = Field(
        5.0,
        ge=0,
        le=1000,
        description="Weight, in deals, of the coarser cell's win rate in each finer cell's "
        "(shrinkage).",
    )

    @model_validator(mode="after")
    def _ordered(self) -> GoalSettings:
        if self.off_track >= self.on_track:
            raise ValueError("goals.off_track must be below goals.on_track")
        return self


AttributionModel = Literal[
    "first_touch",
    "last_touch",
    "last_non_direct",
    "linear",
    "time_decay",
    "u_shaped",
    "w_shaped",
    "markov",
    "shapley",
]
ATTRIBUTION_MODELS: tuple[str, ...] = get_args(AttributionModel)
"""The attribution models (``revteam.attribution``), also the values of the metric layer's
``attribution_model`` dimension."""


class ClvSettings(BaseModel):
    """How customer value is modelled (``[clv]``; docs/clv.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: Literal["bg_nbd", "sbg", "both"] = Field(
        "bg_nbd",
        description="Predictive CLV: bg_nbd (with gamma_gamma for spend) for customers who buy "
        "again at will (orders), sbg for customers who renew a contract (renewal deals), both "
        "for a company with contracts and purchases at will ([clv] repeat_products).",
    )
    time_unit: Literal["day", "week", "month"] = Field(
        "week", description="Time unit of the repeat-purchase models' t_x, T and parameters."
    )
    repeat_products: tuple[str, ...] = Field(
        (),
        description="Products whose orders are repeat purchases bought at will (e.g. add-ons); "
        "empty: every order. A customer's first order of any product still starts their "
        "clock, so a subscription's invoices need not count as repeat purchases.",
    )
    discount_rate: float = Field(
        0.10, ge=0, lt=1, description="Yearly discount rate of future value."
    )
    horizon_months: int = Field(
        36, ge=1, le=240, description="Months of future purchases a predicted CLV counts."
    )
    renewal_months: int = Field(
        12,
        ge=1,
        le=60,
        description="Length of a contract (sbg): a renewal falls due this many months after "
        "the last one (or the acquisition).",
    )


class ScoringSettings(BaseModel):
    """How leads are scored (``[scoring]``; docs/scoring.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target: str = Field(
        "lead_to_sql_rate",
        description="The cohort rate a predictive score predicts: a catalogue metric over "
        "people, timed by created_at (lead_to_sql_rate, or lead_conversion_rate for reaching "
        "an opportunity); its window is the score's.",
    )
    model: Literal["logistic", "gradient_boosting"] = Field(
        "logistic",
        description="Regularised logistic regression (explainable, the default) or gradient "
        "boosting (interactions, slower to fit).",
    )
    score_ages_days: tuple[int, ...] = Field(
        (0, 7, 30, 60),
        min_length=1,
        max_length=12,
        description="Ages (days after creation) at which each past lead is seen for training, "
        "while still open: the model learns what a lead's engagement so far says at each age.",
    )
    score_after_days: int = Field(
        7,
        ge=0,
        le=365,
        description="The age at which a lead is judged against the MQL threshold (the "
        "threshold curve and nurture list read the score then).",
    )
    half_life_days: float = Field(
        30.0, gt=0, le=3650, description="Engagement decays by half over this many days."
    )
    holdout_share: float = Field(
        0.2,
        ge=0.05,
        le=0.5,
        description="The latest leads (by creation) kept out of fitting to measure the score; "
        "the same share before them calibrates it.",
    )
    seed: int = Field(0, description="Seed of everything random in fitting (subsamples).")
    reps: int = Field(
        0,
        ge=0,
        le=100_000,
        description="Reps who work MQLs, for the workload of a threshold; 0: the people who "
        "owned leads created in the last 90 days.",
    )
    capacity_per_rep_week: float = Field(
        25.0, gt=0, le=10_000, description="MQLs one rep can work in a week."
    )
    nurture_grades: tuple[str, ...] = Field(
        ("A", "B"),
        description="Fit grades of open leads worth nurturing while their score is below the "
        "MQL threshold (fit, not ready).",
    )
    recycle_days: int = Field(
        180, ge=1, le=3650, description="Disqualified leads of this many days are recycled."
    )
    never_recycle: tuple[str, ...] = Field(
        ("student_or_job_seeker", "competitor"),
        description="Disqualification reasons that are final: such leads are not recycled.",
    )


class AttributionSettings(BaseModel):
    """How journeys are built and credit is shared (``[attribution]``; docs/attribution.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: AttributionModel = Field(
        "linear",
        description="The model attributed KPIs use when none is asked for (it is named "
        "wherever such a number appears).",
    )
    lookback_days: int = Field(
        365,
        ge=1,
        le=3650,
        description="Touches this many days or fewer before a conversion are in its journey.",
    )
    touch_types: tuple[str, ...] = Field(
        (),
        description="Touchpoint types that count (e.g. form_submit, webinar_attended); empty: "
        "every type.",
    )
    email_clicks: bool = Field(
        False,
        description="Add e-mail clicks (email_events) as touches of the e-mail campaign's "
        "channel (off: the touchpoints table already holds the clicks it was sent).",
    )
    sales_activities: bool = Field(
        False,
        description="Add sales activities (calls, e-mails, meetings) as touches of the "
        "`outbound` channel.",
    )
    accounts: bool = Field(
        True,
        description="Opportunity and won journeys are the account's: every touch of its "
        "people (the buying committee) before the deal, not only its contact's.",
    )
    half_life_days: float = Field(
        7.0, gt=0, le=3650, description="Time decay: a touch this many days older counts half."
    )
    direct_channel: str = Field("direct", description="The channel last non-direct passes over.")
    markov_order: int = Field(1, ge=1, le=3, description="Order of the Markov chain.")
    shapley_value: Literal["conversions", "rate"] = Field(
        "conversions",
        description="Shapley's worth of a set of channels: the conversions of the journeys that "
        "touched only those channels (each conversion is then shared equally by the channels "
        "it touched; exact, always adds up), or their conversion rate (non-converting journeys "
        "count; negative values get no credit, per-touch audits may not add up: see "
        "docs/attribution.md).",
    )
    shapley_exact_max: int = Field(
        15, ge=1, le=20, description="Shapley is exact up to this many channels, sampled beyond."
    )
    bootstrap_replicates: int = Field(
        200, ge=20, le=5000, description="Bootstrap replicates of the credit intervals."
    )
    seed: int = Field(0, description="Seed of the bootstrap and sampled Shapley values.")


class LimitSettings(BaseModel):
    """What one request may cost (``[limits]`` in ``revteam.toml``; see docs/web.md, "Limits").

    The defaults bound each request's time and memory while every preset view works at every
    grain. Periods and rows are checked by the metric layer for every face.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_periods: int = Field(
        1500,
        ge=1,
        description="Periods one answer may span; every preset view fits at every grain.",
    )
    max_rows: int = Field(
        100_000,
        ge=1,
        description="Rows one answer may hold: a query, a breakdown, a dimension's values, an "
        "export.",
    )
    query_seconds: float = Field(
        30.0,
        gt=0,
        description="Web app: a request holding the warehouse longer is interrupted (503); a "
        "request waits at most this long for the warehouse, too.",
    )
    warm_seconds: float = Field(
        900.0,
        gt=0,
        description="Web app: the same bound for the background warmer, which computes the "
        "slow views (the attribution credit of 10M leads takes minutes) before visitors ask.",
    )
    fit_wait_seconds: float = Field(
        10.0,
        gt=0,
        description="Web app: how long a request waits for a model fit in progress (the lead "
        "score, CLV) before it gets the last fit marked stale, or 503 with Retry-After.",
    )
    cache_megabytes: int = Field(
        256,
        ge=0,
        description="Web app: memory for cached results and pages per process (least recently "
        "used dropped first); a result over an eighth of it is not cached.",
    )
    max_queued: int = Field(
        16,
        ge=1,
        description="Web app: uncached requests that may wait for (or hold) the warehouse in "
        "one process; more get 503 with Retry-After, cached answers are served meanwhile.",
    )
    max_queued_per_user: int = Field(
        3, ge=1, description="Web app: the same, per user (so one user cannot fill the queue)."
    )
    max_body_kilobytes: int = Field(
        1024,
        ge=1,
        description="Web app: largest request body accepted (API calls and forms); larger "
        "ones get 413.",
    )
    body_timeout_seconds: float = Field(
        30.0,
        gt=0,
        description="Web app: longest wait for the next part of a request body; slower "
        "clients get 408.",
    )
    session_idle_minutes: float = Field(
        30.0,
        gt=0,
        description="Web app: a sign-in ends after this long without a request (besides the "
        "12-hour limit).",
    )


class Settings(BaseSettings):
    """Everything a workspace can be told; each field is documented where it is declared."""

    model_config = SettingsConfigDict(
        env_prefix="REVTEAM_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    warehouse: str = Field(
        "warehouse.duckdb",
        description="Warehouse: a DuckDB file (relative to the workspace) or a duckdb:// URL, "
        "a PostgreSQL database (postgresql://user@host/db, ?schema=… for a schema other than "
        "public), spark (a session from [spark]), or through its ibis backend snowflake://…, "
        "bigquery://… or ibis+<backend>://… (KPIs over tables loaded by others); see "
        "docs/warehouses.md.",
    )
    app_database: str = Field(
        "sqlite:///revteam.db",
        description="Application database (users, goals, alerts) as an SQLAlchemy URL; "
        "relative SQLite paths are relative to the workspace.",
    )
    currency: str = Field(
        "USD", description="Workspace currency (ISO 4217); money is stored in it."
    )
    exchange_rates: dict[str, float] = Field(
        default_factory=dict,
        description="Units of the workspace currency per unit of another currency, used at "
        "ingest, e.g. {EUR = 1.08}.",
    )
    fiscal_year_start_month: int = Field(
        1, ge=1, le=12, description="First month of the fiscal year (1 = January)."
    )
    timezone: str = Field(
        "UTC", description="IANA time zone; timestamps with an offset are converted to it."
    )
    gross_margin: float = Field(
        0.8, gt=0, le=1, description="Gross margin applied to revenue in CLV and ROI."
    )
    plausible_years: tuple[int, int] = Field(
        (1970, 2100),
        description="Dates and times outside these years (inclusive) are refused at ingest: "
        "a year such as 0025 is a two-digit year misread, never data.",
    )
    conversion_windows: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_WINDOWS),
        description="Conversion window in days per cohort metric.",
    )
    stage_mapping: dict[str, str] = Field(
        default_factory=dict,
        description="Source lifecycle-stage names onto canonical stages "
        f"({', '.join(enums.LIFECYCLE_STAGES)}).",
    )
    channel_mapping: dict[str, str] = Field(
        default_factory=dict,
        description="Source channel / lead-source values onto canonical channels.",
    )
    load_wait_seconds: float = Field(
        60.0,
        ge=0,
        description="How long a load (or anything that writes the warehouse) waits for "
        "readers such as the web app to let go of it before giving up (exit code 8).",
    )

    identity: IdentitySettings = Field(
        default_factory=IdentitySettings, description="Identity resolution engine."
    )
    limits: LimitSettings = Field(
        default_factory=LimitSettings,
        description="What one request may cost (periods, rows, time).",
    )
    goals: GoalSettings = Field(
        default_factory=GoalSettings, description="How goals are paced and judged."
    )
    review: ReviewSettings = Field(
        default_factory=ReviewSettings, description="What the joint review pack holds."
    )
    alerts: AlertSettings = Field(
        default_factory=AlertSettings, description="How alerts are evaluated and delivered."
    )
    attribution: AttributionSettings = Field(
        default_factory=AttributionSettings,
        description="Journeys and models of multi-touch attribution.",
    )
    clv: ClvSettings = Field(
        default_factory=ClvSettings,
        description="Customer-value models: repeat purchases, renewals, discounting.",
    )
    scoring: ScoringSettings = Field(
        default_factory=ScoringSettings,
        description="Lead scoring: the predicted outcome, the model, engagement decay.",
    )
    spark: SparkSettings = Field(
        default_factory=SparkSettings,
        description="The Spark session and database of a spark warehouse.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as 'UTC'"
            ) from None
        return value

    @field_validator("plausible_years")
    @classmethod
    def _years(cls, value: tuple[int, int]) -> tuple[int, int]:
        first, last = value
        if not 1 <= first <= last <= 9998:
            raise ValueError(
                f"plausible_years must be [first, last] with first <= last, got {value}"
            )
        return value

    @field_validator("channel_mapping")
    @classmethod
    def _known_channels(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted({v for v in value.values() if v not in enums.CHANNELS})
        if bad:
            raise ValueError(f"unknown channels {bad}; allowed: {', '.join(enums.CHANNELS)}")
        return value

    @field_validator("stage_mapping")
    @classmethod
    def _known_stages(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted({v for v in value.values() if v not in enums.LIFECYCLE_STAGES})
        if bad:
            raise ValueError(f"unknown stages {bad}; allowed: {', '.join(enums.LIFECYCLE_STAGES)}")
        return value

    @field_validator("conversion_windows")
    @classmethod
    def _merge_windows(cls, value: dict[str, int]) -> dict[str, int]:
        bad = {k: v for k, v in value.items() if v <= 0}
        if bad:
            raise ValueError(f"conversion windows must be positive days, got {bad}")
        return {**DEFAULT_WINDOWS, **value}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values arrive as init arguments; the environment must beat them.
        return (env_settings, init_settings)


def load_settings(root: Path) -> Settings:
    """Read ``root/revteam.toml`` and apply the environment on top."""
    path = root / CONFIG_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return _validated(data, path)


def _validated(data: dict[str, Any], path: Path) -> Settings:
    try:
        return Settings(**data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(file)'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from None


def write_settings(root: Path, overrides: dict[str, Any]) -> Settings:
    """Write ``revteam.toml`` with the defaults plus ``overrides`` (validated first)."""
    path = root / CONFIG_FILE
    _validated(overrides, path)
    # Write the defaults and the overrides, not whatever REVTEAM_* happens to say right now.
    fields = Settings.model_fields
    defaults = {k: f.get_default(call_default_factory=True) for k, f in fields.items()}
    data = {k: v.model_dump() if isinstance(v, BaseModel) else v for k, v in defaults.items()}
    data |= overrides
    lines = ["# revteam workspace settings. REVTEAM_<FIELD> environment variables override them.\n"]
    path.write_text("".join(lines) + tomli_w.dumps(data), encoding="utf-8")
    return load_settings(root)


def find_workspace(path: Path | str | None = None) -> Path:
    """The workspace folder: ``path``, else ``REVTEAM_WORKSPACE``, else the current folder.

    Like git, a folder inside a workspace finds the workspace above it.
    """
    start = Path(path or os.environ.get("REVTEAM_WORKSPACE") or ".").expanduser().resolve()
    for candidate in (start, *start.parents):
        if (candidate / CONFIG_FILE).is_file():
            return candidate
        if path is not None:
            break  # an explicit path must itself be the workspace
    raise WorkspaceNotFoundError(start)


class _TextLoader(yaml.SafeLoader):
    """YAML whose scalars all stay text, and whose mappings may not repeat a key.

    YAML 1.1 reads ``no`` as false, ``1:30`` as 90, ``010`` as 8 and dates as dates: a
    workspace file's values (goals, scoring rules) are read as written and checked by their
    own rules instead, and a key written twice is refused rather than one silently winning.
    """


_TextLoader.yaml_implicit_resolvers = {}


def _mapping(loader: _TextLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key {key!r} appears twice", key_node.start_mark
            )
        seen.add(key)
    return dict(loader.construct_pairs(node))


_TextLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_text_yaml(text: str) -> Any:
    """Parse ``text`` with every scalar as text and no repeated keys (see ``_TextLoader``)."""
    return yaml.load(text, Loader=_TextLoader)  # noqa: S506 (a SafeLoader subclass)
