"""The company's own people (users) and the companies it sells to (accounts)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from revteam.generate import _words, params
from revteam.generate._private import (
    Column,
    Float,
    Int,
    build,
    cumulative,
    grouped,
    id_width,
    ids,
    integers,
    labels,
    money,
    pick,
    serial_ids,
    timestamps,
)
from revteam.generate.timeline import Span
from revteam.model import enums

_ROLES: tuple[tuple[str, str, str | None, int], ...] = (
    # (team, role, manager role, how many) for everyone but the regional sales teams
    ("leadership", "CEO", None, 1),
    ("leadership", "Chief Revenue Officer", "CEO", 1),
    ("leadership", "Chief Marketing Officer", "CEO", 1),
    ("revops", "Revenue Operations Manager", "Chief Revenue Officer", 1),
    ("revops", "Revenue Operations Analyst", "Revenue Operations Manager", 1),
    ("customer_success", "Customer Success Manager", "Chief Revenue Officer", 3),
    ("marketing", "Demand Generation Manager", "Chief Marketing Officer", 3),
    ("marketing", "Content Marketing Manager", "Chief Marketing Officer", 2),
    ("marketing", "Events Manager", "Chief Marketing Officer", 1),
    ("marketing", "Marketing Operations Manager", "Chief Marketing Officer", 1),
    ("marketing", "SEO Specialist", "Chief Marketing Officer", 1),
    ("marketing", "Social Media Manager", "Chief Marketing Officer", 1),
    ("marketing", "Product Marketing Manager", "Chief Marketing Officer", 1),
)


@dataclass(frozen=True)
class Team:
    """Users, with the sales reps' planted skills (indices are user rows)."""

    table: pa.Table
    user_ids: tuple[str, ...]
    sdr_user: Int
    sdr_region: Int
    sdr_speed_hours: Float
    """Each SDR's median hours from MQL to first sales activity."""
    ae_user: Int
    ae_region: Int
    ae_skill: Float
    """Each AE's multiplier on the win probability of their deals."""
    csm_user: Int


def make_team(rng: np.random.Generator) -> Team:
    rows: list[tuple[str, str, str | None, str | None]] = []  # team, role, region, manager role
    for team, role, manager, count in _ROLES:
        rows += [(team, role, None, manager)] * count
    sdr, ae = [], []
    for region, (n_sdr, n_ae) in params.SALES_TEAM.items():
        manager = f"Sales Manager {region}"
        rows.append(("sales", manager, region, "Chief Revenue Officer"))
        for _ in range(n_sdr):
            sdr.append((len(rows), enums.REGIONS.index(region)))
            rows.append(("sales", "SDR", region, manager))
        for _ in range(n_ae):
            ae.append((len(rows), enums.REGIONS.index(region)))
            rows.append(("sales", "AE", region, manager))
    n = len(rows)
    user_ids = tuple(f"U{i + 1:03d}" for i in range(n))
    first_of_role = {role: user_ids[i] for i, (_, role, _, _) in reversed(list(enumerate(rows)))}
    first = rng.choice(len(_words.FIRST_NAMES), n)
    last = rng.choice(len(_words.LAST_NAMES), n)
    names = [
        f"{_words.FIRST_NAMES[f]} {_words.LAST_NAMES[la]}"
        for f, la in zip(first, last, strict=True)
    ]
    table = build(
        "users",
        {
            "user_id": pa.array(user_ids, pa.string()),
            "name": pa.array(names, pa.string()),
            "email": pa.array(
                [f"{nm.lower().replace(' ', '.')}@{params.COMPANY_DOMAIN}" for nm in names],
                pa.string(),
            ),
            "team": pa.array([r[0] for r in rows], pa.string()),
            "role": pa.array([r[1].removesuffix(f" {r[2]}") for r in rows], pa.string()),
            "region": pa.array([r[2] for r in rows], pa.string()),
            "manager_id": pa.array(
                [first_of_role[r[3]] if r[3] else None for r in rows], pa.string()
            ),
        },
    )
    mu, sigma = params.SPEED_TO_LEAD_HOURS
    skill = np.exp(rng.normal(0.0, params.AE_SKILL_SIGMA, len(ae))).clip(0.6, 1.6)
    return Team(
        table=table,
        user_ids=user_ids,
        sdr_user=np.array([s[0] for s in sdr], dtype=np.int64),
        sdr_region=np.array([s[1] for s in sdr], dtype=np.int64),
        sdr_speed_hours=rng.lognormal(mu, sigma, len(sdr)).clip(0.25, 48.0).round(2),
        ae_user=np.array([a[0] for a in ae], dtype=np.int64),
        ae_region=np.array([a[1] for a in ae], dtype=np.int64),
        ae_skill=skill.round(3),
        csm_user=np.array([i for i, r in enumerate(rows) if r[0] == "customer_success"]),
    )


@dataclass(frozen=True)
class Accounts:
    """Account attributes as arrays (row i is account ``A…{i + 1}``); ``created_at`` comes later."""

    n: int
    segment: Int
    region: Int
    country: Int
    owner_ae: Int
    name: pa.Array
    domain: pa.Array
    industry: Int
    employees: Int
    annual_revenue: Float

    @property
    def width(self) -> int:
        return id_width(self.n, 6)

    def ids(self, rows: Column) -> pa.Array:
        return ids("A", rows, self.width)


COUNTRY_CODES: tuple[str, ...] = tuple(c for cs in params.COUNTRIES.values() for c, _ in cs)
_EMPLOYEES = ((5, 200), (200, 2_000), (2_000, 100_000))


def make_accounts(rng: np.random.Generator, n_leads: int, team: Team) -> Accounts:
    n = max(20, n_leads // 6)
    segment = rng.choice(3, n, p=params.ACCOUNT_SEGMENT_SHARE)
    segment[:3] = (0, 1, 2)  # every segment has accounts, however small the company
    region = rng.choice(len(enums.REGIONS), n, p=params.REGION_SHARE)
    offsets = np.cumsum([0] + [len(params.COUNTRIES[r]) for r in enums.REGIONS])
    country = offsets[region] + pick(
        rng, cumulative([[w for _, w in params.COUNTRIES[r]] for r in enums.REGIONS]), region
    )
    low, high = np.log(np.array(_EMPLOYEES, dtype=np.float64)).T
    employees = np.exp(low[segment] + rng.random(n) * (high - low)[segment]).astype(np.int64)
    revenue = employees * rng.lognormal(np.log(150_000.0), 0.5, n)
    name, domain = _names(n)
    return Accounts(
        n=n,
        segment=segment,
        region=region,
        country=country,
        owner_ae=_balanced_owner(region, team),
        name=name,
        domain=domain,
        industry=rng.choice(len(_words.INDUSTRIES), n, p=_words.INDUSTRY_SHARE),
        employees=employees,
        annual_revenue=np.round(revenue, -3),
    )


def _balanced_owner(region: Int, team: Team) -> Int:
    """Deal out each region's accounts to its AEs in turn, so every AE has the same load."""
    members, starts, counts = grouped(region, len(enums.REGIONS))
    rank = np.empty(len(region), dtype=np.int64)
    rank[members] = np.arange(len(region)) - np.repeat(starts, counts)
    ae_members, ae_starts, ae_counts = grouped(team.ae_region, len(enums.REGIONS))
    return ae_members[ae_starts[region] + rank % ae_counts[region]]


def _names(n: int) -> tuple[pa.Array, pa.Array]:
    """Unique company names ("Apex Cedar Analytics Inc") and their web domains."""
    a, b, s = _words.COMPANY_WORDS_A, _words.COMPANY_WORDS_B, _words.COMPANY_SUFFIXES
    total = len(a) * len(a) * len(b) * len(s)
    code = (np.arange(n, dtype=np.int64) * 1_000_003) % total  # scatter neighbours apart
    code, i_s = np.divmod(code, len(s))
    code, i_b = np.divmod(code, len(b))
    i_a2, i_a1 = np.divmod(code, len(a))
    words_a = pa.array(a, pa.string())
    first, second = pc.take(words_a, pa.array(i_a1)), pc.take(words_a, pa.array(i_a2))
    noun = pc.take(pa.array(b, pa.string()), pa.array(i_b))
    name = pc.binary_join_element_wise(
        first, second, noun, pc.take(pa.array(s, pa.string()), pa.array(i_s)), " "
    )
    tld = pc.take(pa.array(_words.TLDS, pa.string()), pa.array((i_a1 + i_b) % len(_words.TLDS)))
    domain = pc.utf8_lower(pc.binary_join_element_wise(first, second, noun, tld, ""))
    return name, domain


def accounts_table(accounts: Accounts, created: Int, team: Team, span: Span) -> pa.Table:
    return build(
        "accounts",
        {
            "account_id": serial_ids("A", accounts.n, accounts.width),
            "name": accounts.name,
            "domain": accounts.domain,
            "industry": labels(_words.INDUSTRIES, accounts.industry),
            "employees": integers(accounts.employees),
            "annual_revenue": money(accounts.annual_revenue),
            "segment": labels(enums.SEGMENTS, accounts.segment),
            "region": labels(enums.REGIONS, accounts.region),
            "country": labels(COUNTRY_CODES, accounts.country),
            "owner_id": labels(team.user_ids, team.ae_user[accounts.owner_ae]),
            "created_at": timestamps(created, span.epoch),
        },
    )
