"""Orders: subscription invoices of won deals and add-on repeat purchases (BG/NBD-like).

Small customers pay their annual contract in twelve monthly invoices, larger ones upfront. Add-on
purchases follow the BG/NBD story (Fader, Hardie & Lee 2005): each customer buys at a
Gamma-distributed Poisson rate and, after every purchase, drops out with a Beta-distributed
probability; order values follow the Gamma-Gamma model (Fader, Hardie & Lee 2005b).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from revteam.generate import params
from revteam.generate._private import (
    MISSING,
    Float,
    Int,
    build,
    id_width,
    labels,
    money,
    repeat_index,
    serial_ids,
    stream,
    timestamps,
)
from revteam.generate.deals import UPSELL, WON, YEAR, Deals
from revteam.generate.funnel import People
from revteam.generate.org import Accounts
from revteam.generate.timeline import Span

WEEK = 7 * 86_400
_MAX_ADD_ONS = 200
PRODUCTS = (*params.PLAN_PRODUCTS.values(), "Seat expansion", *params.ADD_ON_PRODUCTS)


@dataclass(frozen=True)
class Orders:
    account: Int
    person: Int
    ordered: Int
    amount: Float
    product: Int


def make_orders(seed: int, span: Span, deals: Deals, accounts: Accounts) -> Orders:
    rng = stream(seed, "orders")
    parts = [_invoices(span, deals, accounts), _add_ons(rng, span, deals)]
    ordered = np.concatenate([p.ordered for p in parts])
    order = np.argsort(ordered, kind="stable")
    return Orders(
        account=np.concatenate([p.account for p in parts])[order],
        person=np.concatenate([p.person for p in parts])[order],
        ordered=ordered[order],
        amount=np.concatenate([p.amount for p in parts])[order],
        product=np.concatenate([p.product for p in parts])[order],
    )


def _invoices(span: Span, deals: Deals, accounts: Accounts) -> Orders:
    won = np.flatnonzero(deals.history.stage == WON)
    account = deals.account[won]
    segment = accounts.segment[account]
    monthly = segment == 0
    count = np.where(monthly, 12, 1)
    row, k = repeat_index(count)
    deal = won[row]
    at = deals.history.closed[deal] + k * (YEAR // 12)
    amount = deals.history.amount[deal] / count[row]
    product = np.where(deals.type[deal] == UPSELL, len(params.PLAN_PRODUCTS), segment[row])
    keep = (at < span.as_of) & (at < deals.account_end[account[row]])
    return Orders(
        account=account[row][keep],
        person=deals.person[deal][keep],
        ordered=at[keep],
        amount=np.round(amount[keep], 2),
        product=product[keep],
    )


def _add_ons(rng: np.random.Generator, span: Span, deals: Deals) -> Orders:
    customers = np.flatnonzero(deals.account_start != MISSING)
    n = len(customers)
    bg, gg = params.BG_NBD, params.GAMMA_GAMMA
    rate = rng.gamma(bg["r"], 1.0 / bg["alpha"], n)  # purchases per week
    dropout = rng.beta(bg["a"], bg["b"], n)
    nu = rng.gamma(gg["q"], 1.0 / gg["gamma"], n)
    t = deals.account_start[customers].astype(np.float64)
    # the win is the first purchase; BG/NBD drops out only after repeat ones (MBG/NBD would
    # also let a customer drop out right after the first)
    alive = np.ones(n, dtype=bool)
    who, when = [], []
    for _ in range(_MAX_ADD_ONS):  # loops over purchase rounds, vectorised over customers
        t = t + rng.exponential(1.0, n) / np.maximum(rate, 1e-12) * WEEK
        alive &= t < span.as_of
        if not alive.any():
            break
        who.append(np.flatnonzero(alive))
        when.append(t[alive].astype(np.int64))
        alive &= rng.random(n) >= dropout
    row = np.concatenate(who) if who else np.zeros(0, dtype=np.int64)
    ordered = np.concatenate(when) if when else np.zeros(0, dtype=np.int64)
    amount = rng.gamma(gg["p"], 1.0 / nu[row])
    first_add_on = len(params.PLAN_PRODUCTS) + 1
    return Orders(
        account=customers[row],
        person=deals.account_buyer[customers[row]],
        ordered=ordered,
        amount=np.round(amount, 2),
        product=first_add_on + rng.integers(0, len(params.ADD_ON_PRODUCTS), len(row)),
    )


def orders_table(orders: Orders, people: People, accounts: Accounts, span: Span) -> pa.Table:
    n = len(orders.ordered)
    return build(
        "orders",
        {
            "order_id": serial_ids("ORD", n, id_width(n, 7)),
            "account_id": accounts.ids(orders.account),
            "person_id": people.ids(orders.person),
            "ordered_at": timestamps(orders.ordered, span.epoch),
            "amount": money(orders.amount),
            "product": labels(PRODUCTS, orders.product),
        },
    )
