"""What metrics read: canonical tables, a few derived relations, and virtual columns.

Some KPIs need a fact that no single row holds: whether an opportunity is its account's first
win (new customers), an account's revenue to date (CLV), a person's first sales activity after
becoming an MQL (speed to lead), whether a webinar registrant attended, whether a deal is
marketing-sourced, or one row per e-mail recipient (open rates by send date). Each is declared
here once, as a typed *virtual column* or *relation* with the ibis expression that computes it,
so specs can name it like any other column and every engine computes it the same way.

Virtual columns are added to the whole table before any filter, so a window such as "first win
of the account" always sees every row, whatever the query's filters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, get_args

from pydantic import BaseModel, ConfigDict, field_validator

from revteam.model import TABLES, ColumnType, enums

if TYPE_CHECKING:
    import ibis.expr.types as ir

TableProvider = Callable[[str], "ir.Table"]
"""Returns the ibis table of a canonical table name (bound to a backend, or unbound offline)."""

SourcingRule = Literal["lead_source", "first_touch", "marketing_touch_before_sales"]
SOURCING_RULES: tuple[str, ...] = get_args(SourcingRule)

MARKETING_CHANNELS: tuple[str, ...] = tuple(
    c for c in enums.CHANNELS if c not in {"outbound", "partner", "other"}
)
"""Channels counted as marketing by default: all but outbound (Sales), partner and other."""


class Sourcing(BaseModel):
    """The named rule that decides whether a deal is *marketing-sourced* (KPIS.md).

    ``lead_source``: the opportunity's own channel (lead-source field) is a marketing channel.
    ``first_touch``: the channel of its contact's first touchpoint is a marketing channel.
    ``marketing_touch_before_sales``: its contact had a marketing-channel touch before their
    first sales activity (and before the deal was created).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: SourcingRule = "lead_source"
    marketing_channels: tuple[str, ...] = MARKETING_CHANNELS
    source: str = "shipped"

    @field_validator("marketing_channels")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [c for c in value if c not in enums.CHANNELS]
        if bad:
            raise ValueError(f"unknown channels {bad}; allowed: {', '.join(enums.CHANNELS)}")
        return value

    def describe(self) -> str:
        return f"{self.rule} with marketing channels {', '.join(self.marketing_channels)}"


@dataclass(frozen=True)
class Context:
    """Constants a compiled query depends on besides the request itself."""

    as_of: dt.datetime
    """Cut-off for cohort conversions, revenue to date and maturity (see ``docs/metrics.md``)."""
    gross_margin: float = 0.8
    orders_loaded: bool = False
    """Whether CLV counts orders (when the orders table has rows) or won deal amounts."""
    sourcing: Sourcing = field(default_factory=Sourcing)
    attribution_models: tuple[str, ...] = ("linear",)
    """The models whose credit attributed KPIs read (``attribution_credits``): the query's
    ``attribution_model`` filter, every model when grouped by it, else the workspace's."""
    clv_model: str = "bg_nbd"
    """The customer-value model whose predictions ``clv_values`` holds (``[clv] model``)."""


CREDITS = "attribution_credits"
"""The relation of attributed KPIs: one row per conversion, channel and campaign credited."""
CREDIT_COLUMNS: dict[str, ColumnType] = {
    "model": "string",
    "conversion": "string",
    "conversion_id": "string",
    "converted_at": "timestamp",
    "channel": "string",
    "campaign_id": "string",
    "credit": "float",
    "amount": "float",
}


def credit_table(model: str, as_of: dt.datetime) -> str:
    """The name of one model's credit table for a cut-off.

    Supplied by ``revteam.attribution`` through the metrics component's providers, never
    stored in the warehouse.
    """
    return f"{CREDITS}__{model}__{as_of:%Y%m%dT%H%M%S%f}"


CLV_VALUES = "clv_values"
"""The relation of predicted customer value: one row per customer (revteam.clv)."""
CLV_COLUMNS: dict[str, ColumnType] = {
    "account_id": "string",
    "person_id": "string",
    "owner_id": "string",
    "type": "string",
    "channel": "string",
    "campaign_id": "string",
    "acquired_at": "timestamp",
    "value_to_date": "float",
    "future_value": "float",
    "lifetime_value": "float",
}
SUPPLIED: dict[str, dict[str, ColumnType]] = {CREDITS: CREDIT_COLUMNS, CLV_VALUES: CLV_COLUMNS}
"""Relations supplied per model and cut-off by a package above the metric layer."""


def clv_table(model: str, as_of: dt.datetime) -> str:
    """The name of one customer-value model's predictions for a cut-off.

    Supplied by ``revteam.clv`` through the metrics component's providers, never stored.
    """
    return f"{CLV_VALUES}__{model}__{as_of:%Y%m%dT%H%M%S%f}"


def _clv_values(ctx: Context, tables: TableProvider) -> ir.Table:
    return tables(clv_table(ctx.clv_model, ctx.as_of))


def _credits(ctx: Context, tables: TableProvider) -> ir.Table:
    import ibis

    parts = [tables(credit_table(m, ctx.as_of)) for m in ctx.attribution_models]
    return parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)


Builder = Callable[["ir.Table", Context, TableProvider], "ir.Table"]


@dataclass(frozen=True)
class VirtualColumn:
    name: str
    type: ColumnType
    description: str
    build: Builder
    needs: tuple[str, ...]
    """Columns of the table the builder reads."""


@dataclass(frozen=True)
class Relation:
    """Something a metric can read: a canonical table or a derived relation."""

    name: str
    description: str
    columns: Mapping[str, ColumnType]
    reach_table: str
    """The canonical table whose dimension paths this relation shares."""
    build: Callable[[Context, TableProvider], ir.Table] | None = None
    virtual: Mapping[str, VirtualColumn] = field(default_factory=dict)
    key: tuple[str, ...] = ()
    """Columns that identify a row (records are ordered by them, so pages are stable)."""
    fitted: bool = False
    """Its rows come from a fitted model (predicted CLV): costly the first time, so lists of
    every KPI leave its metrics out unless they are named."""

    def column_type(self, name: str) -> ColumnType | None:
        if name in self.virtual:
            return self.virtual[name].type
        return self.columns.get(name)

    @property
    def all_columns(self) -> tuple[str, ...]:
        return (*self.columns, *self.virtual)

    def enum(self, column: str) -> tuple[str, ...] | None:
        if self.name in TABLES and column in TABLES[self.name].column_names:
            return TABLES[self.name].column(column).enum
        return None


def _marketing_sourced(o: ir.Table, ctx: Context, tables: TableProvider) -> ir.Table:
    import ibis

    chs = list(ctx.sourcing.marketing_channels)
    if ctx.sourcing.rule == "lead_source":
        return o.mutate(marketing_sourced=o.channel.isin(chs).fill_null(False))
    tp = tables("touchpoints")
    if ctx.sourcing.rule == "first_touch":
        rn = ibis.row_number().over(group_by=tp.person_id, order_by=[tp.occurred_at, tp.touch_id])
        first = tp.mutate(_rn=rn).filter(lambda t: t._rn == 0)
        first = first.select(_ft_person=first.person_id, _ft_channel=first.channel)
        j = o.left_join(first, o.person_id == first._ft_person)
        return j.mutate(marketing_sourced=j._ft_channel.isin(chs).fill_null(False)).drop(
            "_ft_person", "_ft_channel"
        )
    sa = tables("sales_activities")
    first_sale = sa.group_by(_fs_person=sa.person_id).aggregate(_fs_at=sa.occurred_at.min())
    mt = tp.filter(tp.channel.isin(chs))
    first_mkt = mt.group_by(_fm_person=mt.person_id).aggregate(_fm_at=mt.occurred_at.min())
    j = o.left_join(first_mkt, o.person_id == first_mkt._fm_person)
    j = j.left_join(first_sale, j.person_id == first_sale._fs_person)
    sourced = (
        j._fm_at.notnull()
        & (j._fm_at <= j.created_at)
        & (j._fs_at.isnull() | (j._fm_at < j._fs_at))
    )
    return j.mutate(marketing_sourced=sourced.fill_null(False)).drop(
        "_fm_person", "_fm_at", "_fs_person", "_fs_at"
    )


def _is_first_win(o: ir.Table, ctx: Context, tables: TableProvider) -> ir.Table:
    import ibis

    rank = ibis.row_number().over(
        group_by=[o.account_id, o.is_won], order_by=[o.closed_at, o.opportunity_id]
    )
    # A deal without an account is no account's first win (metrics.placement counts it).
    first = o.is_won & o.closed_at.notnull() & o.account_id.notnull() & (rank == 0)
    return o.mutate(is_first_win=first.fill_null(False))


def _account_revenue(o: ir.Table, ctx: Context, tables: TableProvider) -> ir.Table:
    import ibis

    cut = ibis.literal(ctx.as_of, type="timestamp")
    if ctx.orders_loaded:
        src = tables("orders")
        src = src.filter(src.ordered_at <= cut)
    else:
        src = tables("opportunities")
        src = src.filter(src.is_won & (src.closed_at <= cut))
    rev = src.group_by(_rv_account=src.account_id).aggregate(_rv=src.amount.sum())
    j = o.left_join(rev, o.account_id == rev._rv_account)
    value = j._rv.cast("float64").fill_null(0.0)
    return j.mutate(account_revenue_to_date=value).drop("_rv_account", "_rv")


OPEN_STAGES: tuple[str, ...] = tuple(
    s for s in enums.OPPORTUNITY_STAGES if not s.startswith("closed")
)
"""Stages a deal is open in, in the order it moves through them."""


def _stage_visits(ctx: Context, tables: TableProvider) -> ir.Table:
    """One row per stage a deal entered, with when it left and where it went (by the as-of)."""
    import ibis

    s = tables("opportunity_stages")
    cut = ibis.literal(ctx.as_of, type="timestamp")
    s = s.filter(s.entered_at <= cut)
    order = ibis.cases(
        *((s.stage == name, i) for i, name in enumerate(enums.OPPORTUNITY_STAGES)), else_=99
    )
    s = s.mutate(_sv_order=order)
    w = ibis.window(group_by=s.opportunity_id, order_by=[s.entered_at, s._sv_order])
    left = s.entered_at.lead().over(w)
    s = s.mutate(left_at=left, next_stage=s.stage.lead().over(w))
    nxt = ibis.cases(
        *((s.next_stage == name, i) for i, name in enumerate(enums.OPPORTUNITY_STAGES)),
        else_=-1,
    )
    seconds = s.left_at.epoch_seconds() - s.entered_at.epoch_seconds()
    # A stage without a probability weighs nothing, as in the CRMs' own weighted amounts.
    weighted = s.amount.cast("float64") * s.probability.fill_null(0.0)
    return s.mutate(
        weighted_amount=weighted.cast("float64"),
        # in doubles on every engine (Spark reads 86400.0 as a decimal and rounds the quotient)
        days_in_stage=seconds.cast("float64") / 86400.0,
        advanced=(s.left_at.notnull() & (s.next_stage != "closed_lost") & (nxt > s._sv_order)),
    ).drop("_sv_order")


def _first_sales_activity(p: ir.Table, ctx: Context, tables: TableProvider) -> ir.Table:
    import ibis

    sa = tables("sales_activities")
    sa = sa.filter(sa.occurred_at <= ibis.literal(ctx.as_of, type="timestamp"))  # known by then
    mqls = p.filter(p.mql_at.notnull()).select(_sa_person=p.person_id, _sa_mql=p.mql_at)
    j = mqls.join(sa, (mqls._sa_person == sa.person_id) & (sa.occurred_at >= mqls._sa_mql))
    first = j.group_by("_sa_person").aggregate(_sa_first=j.occurred_at.min())
    out = p.left_join(first, p.person_id == first._sa_person)
    return out.mutate(first_sales_activity_at=out._sa_first).drop("_sa_person", "_sa_first")


def _hours_to_first_sales_activity(p: ir.Table, ctx: Context, tables: TableProvider) -> ir.Table:
    known = "first_sales_activity_at" in p.columns  # when both columns are asked for
    worked = p if known else _first_sales_activity(p, ctx, tables)
    seconds = worked.first_sales_activity_at.epoch_seconds() - worked.mql_at.epoch_seconds()
    out = worked.mutate(hours_to_first_sales_activity=(seconds / 3600.0).cast("float64"))
    return out if known else out.drop("first_sales_activity_at")


def _attended(tp: ir.Table, ctx: Context, tables: TableProvider) -> ir.Table:
    import ibis

    att = tables("touchpoints")
    att = att.filter(
        (att.type == "webinar_attended") & (att.occurred_at <= ibis.literal(ctx.as_of))
    ).select(_wa_person=att.person_id, _wa_campaign=att.campaign_id, _wa_at=att.occurred_at)
    reg = tables("touchpoints")
    reg = reg.filter(reg.type == "webinar_registration")
    j = reg.join(
        att,
        (reg.person_id == att._wa_person)
        & reg.campaign_id.identical_to(att._wa_campaign)
        & (att._wa_at >= reg.occurred_at),
    )
    hit = j.select(_wa_touch=j.touch_id).distinct()
    out = tp.left_join(hit, tp.touch_id == hit._wa_touch)
    return out.mutate(attended=out._wa_touch.notnull()).drop("_wa_touch")


def _email_sends(ctx: Context, tables: TableProvider) -> ir.Table:
    import ibis

    e = tables("email_events")
    return e.group_by(["email_id", "person_id"]).aggregate(
        campaign_id=e.campaign_id.max(),
        sent_at=ibis.coalesce(e.occurred_at.min(where=e.type == "sent"), e.occurred_at.min()),
        delivered=(e.type == "delivered").any(),
        opened=(e.type == "open").any(),
        clicked=(e.type == "click").any(),
    )


def _renewal_decisions(ctx: Context, tables: TableProvider) -> ir.Table:
    """One row per renewal decided by the as-of time, with the contract it renewed.

    ``prior_amount``: the account's latest won new-business or renewal deal closed before this
    renewal was created (the contract up for renewal); ``upsell_amount``: its upsells won in
    the year before the renewal was due. ``channel`` and ``campaign_id`` are those of the
    account's first won deal (the channel that acquired the customer).
    """
    import ibis

    o = tables("opportunities")
    cut = ibis.literal(ctx.as_of, type="timestamp")
    known = o.filter(o.closed_at.notnull() & (o.closed_at <= cut) & o.account_id.notnull())
    ren = known.filter((known.type == "renewal") & known.is_closed)
    due = ibis.coalesce(ren.expected_close_date.cast("timestamp"), ren.closed_at)
    ren = ren.mutate(due_at=due)
    contracts = known.filter(known.is_won & known.type.isin(["new_business", "renewal"]))
    c = contracts.select(
        _c_acc=contracts.account_id, _c_at=contracts.closed_at, _c_amt=contracts.amount
    )
    pairs = ren.select("opportunity_id", "account_id", "created_at").join(
        c, (ren.account_id == c._c_acc) & (c._c_at < ren.created_at)
    )
    prior = pairs.group_by(_p_id=pairs.opportunity_id).aggregate(
        _prior=pairs._c_amt.argmax(pairs._c_at)
    )
    ups = known.filter(known.is_won & (known.type == "upsell"))
    u = ups.select(_u_acc=ups.account_id, _u_at=ups.closed_at, _u_amt=ups.amount)
    upairs = ren.select("opportunity_id", "account_id", "due_at").join(
        u,
        (ren.account_id == u._u_acc)
        & (u._u_at <= ren.due_at)
        & (u._u_at > ren.due_at - ibis.interval(days=365)),
    )
    upsold = upairs.group_by(_s_id=upairs.opportunity_id).aggregate(_ups=upairs._u_amt.sum())
    wins = known.filter(known.is_won)
    rank = ibis.row_number().over(
        group_by=wins.account_id, order_by=[wins.closed_at, wins.opportunity_id]
    )
    first = wins.mutate(_rank=rank).filter(lambda t: t._rank == 0)
    acquired = first.select(_a_acc=first.account_id, _a_ch=first.channel, _a_cp=first.campaign_id)
    j = ren.left_join(prior, ren.opportunity_id == prior._p_id)
    j = j.left_join(upsold, j.opportunity_id == upsold._s_id)
    j = j.left_join(acquired, j.account_id == acquired._a_acc)
    renewed = j.is_won.fill_null(False)
    prior_amount = j._prior.cast("float64")
    renewal_amount = ibis.ifelse(renewed, j.amount.cast("float64").fill_null(0.0), 0.0)
    upsell = ibis.ifelse(renewed, j._ups.cast("float64").fill_null(0.0), 0.0)
    return j.select(
        opportunity_id=j.opportunity_id,
        account_id=j.account_id,
        person_id=j.person_id,
        owner_id=j.owner_id,
        type=j.type,
        channel=j._a_ch,
        campaign_id=j._a_cp,
        due_at=j.due_at,
        closed_at=j.closed_at,
        renewed=renewed,
        has_prior=prior_amount.notnull(),
        prior_amount=prior_amount,
        renewal_amount=renewal_amount,
        kept_amount=ibis.ifelse(
            prior_amount.notnull(), ibis.least(renewal_amount, prior_amount), 0.0
        ),
        net_amount=renewal_amount + upsell,
    )


def _canonical(name: str, virtual: Iterable[VirtualColumn] = ()) -> Relation:
    t = TABLES[name]
    return Relation(
        name,
        t.description,
        {c.name: c.type for c in t.columns},
        name,
        virtual={v.name: v for v in virtual},
        key=t.key,
    )


_VIRTUAL: dict[str, tuple[VirtualColumn, ...]] = {
    "opportunities": (
        VirtualColumn(
            "marketing_sourced",
            "boolean",
            "Sourced by marketing under the catalogue's sourcing rule",
            _marketing_sourced,
            ("channel", "person_id", "created_at"),
        ),
        VirtualColumn(
            "is_first_win",
            "boolean",
            "The account's first won opportunity (ties broken by opportunity id)",
            _is_first_win,
            ("account_id", "is_won", "closed_at", "opportunity_id"),
        ),
        VirtualColumn(
            "account_revenue_to_date",
            "float",
            "The account's won amounts (or orders, where loaded) up to the as-of time",
            _account_revenue,
            ("account_id",),
        ),
    ),
    "people": (
        VirtualColumn(
            "first_sales_activity_at",
            "timestamp",
            "First sales activity with the person at or after mql_at",
            _first_sales_activity,
            ("person_id", "mql_at"),
        ),
        VirtualColumn(
            "hours_to_first_sales_activity",
            "float",
            "Hours from mql_at to the first sales activity at or after it (empty: not worked yet)",
            _hours_to_first_sales_activity,
            ("person_id", "mql_at"),
        ),
    ),
    "touchpoints": (
        VirtualColumn(
            "attended",
            "boolean",
            "For a webinar registration: the person attended that campaign's webinar afterwards",
            _attended,
            ("touch_id",),
        ),
    ),
}

RELATIONS: dict[str, Relation] = {
    **{name: _canonical(name, _VIRTUAL.get(name, ())) for name in TABLES},
    "email_sends": Relation(
        "email_sends",
        "One row per e-mail and recipient: when it was sent and whether it was delivered, "
        "opened (any open event) and clicked.",
        {
            "email_id": "string",
            "person_id": "string",
            "campaign_id": "string",
            "sent_at": "timestamp",
            "delivered": "boolean",
            "opened": "boolean",
            "clicked": "boolean",
        },
        "email_events",
        build=_email_sends,
        key=("email_id", "person_id"),
    ),
    CREDITS: Relation(
        CREDITS,
        "One row per conversion (lead, opportunity, won, customer), channel and campaign "
        "credited by an attribution model: the conversions (credit) and amount it gets "
        "(revteam.attribution; docs/attribution.md).",
        CREDIT_COLUMNS,
        CREDITS,
        build=_credits,
        key=("model", "conversion", "conversion_id", "channel", "campaign_id"),
    ),
    "renewal_decisions": Relation(
        "renewal_decisions",
        "One row per renewal deal decided (closed) by the as-of time: when it was due (its "
        "expected close date, else its close), whether it renewed, the contract it renewed "
        "(prior_amount: the account's latest won new-business or renewal deal before it), the "
        "renewal amount, kept_amount (the renewal up to the prior amount: gross retention) and "
        "net_amount (the renewal plus upsells won in the year before it was due: net "
        "retention); channel and campaign are those that acquired the customer.",
        {
            "opportunity_id": "string",
            "account_id": "string",
            "person_id": "string",
            "owner_id": "string",
            "type": "string",
            "channel": "string",
            "campaign_id": "string",
            "due_at": "timestamp",
            "closed_at": "timestamp",
            "renewed": "boolean",
            "has_prior": "boolean",
            "prior_amount": "float",
            "renewal_amount": "float",
            "kept_amount": "float",
            "net_amount": "float",
        },
        "opportunities",
        build=_renewal_decisions,
        key=("opportunity_id",),
    ),
    CLV_VALUES: Relation(
        CLV_VALUES,
        "One row per customer (account) with a first won deal by the as-of time: when it was "
        "acquired, by which channel and campaign (its first won deal's), its revenue to date "
        "× gross margin, and the value the customer-value model expects of it over [clv] "
        "horizon_months, discounted (revteam.clv; docs/clv.md).",
        CLV_COLUMNS,
        CLV_VALUES,
        build=_clv_values,
        key=("account_id",),
        fitted=True,
    ),
    "stage_visits": Relation(
        "stage_visits",
        "One row per stage an opportunity entered (opportunity_stages): when it left the stage "
        "for the next one (empty while it is still there at the as-of time), which stage came "
        "next, the days it spent there, whether it moved forward (to a later open stage or "
        "closed_won, not closed_lost), and its amount times probability at the time.",
        {
            "opportunity_id": "string",
            "stage": "string",
            "entered_at": "timestamp",
            "amount": "money",
            "probability": "float",
            "left_at": "timestamp",
            "next_stage": "string",
            "days_in_stage": "float",
            "advanced": "boolean",
            "weighted_amount": "float",
        },
        "opportunity_stages",
        build=_stage_visits,
        key=("opportunity_id", "entered_at", "stage"),
    ),
}
"""Everything a spec's ``table`` may name."""


def build_relation(
    name: str, columns: Iterable[str], ctx: Context, tables: TableProvider
) -> ir.Table:
    """The ibis relation ``name`` with just ``columns``, virtual ones computed.

    Selecting only what the query reads keeps the compiled SQL short and readable.
    """
    rel = RELATIONS[name]
    wanted = set(columns)
    virtual = sorted(wanted & set(rel.virtual))
    base = (wanted - set(virtual)).union(*(rel.virtual[v].needs for v in virtual))
    t = rel.build(ctx, tables) if rel.build else tables(name)
    t = t.select(*(c for c in rel.columns if c in base))
    for col in virtual:
        t = rel.virtual[col].build(t, ctx, tables)
    return t


_IBIS_TYPES: dict[str, str] = {
    "string": "string",
    "integer": "int64",
    "float": "float64",
    "money": "decimal(18, 2)",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamp",
}


def offline_tables() -> TableProvider:
    """Unbound ibis tables of the canonical model, for compiling SQL without a database."""
    import ibis

    cache: dict[str, ir.Table] = {}

    def provide(name: str) -> ir.Table:
        if name not in cache:
            kind = name.split("__", 1)[0]
            if kind in SUPPLIED:
                cache[name] = ibis.table(
                    {c: _IBIS_TYPES[t] for c, t in SUPPLIED[kind].items()}, name=name
                )
                return cache[name]
            schema = {c.name: _IBIS_TYPES[c.type] for c in TABLES[name].columns}
            cache[name] = ibis.table(schema, name=name)
        return cache[name]

    return provide
