"""Shared by the resolution tests: a generated company with injected duplicates, and Spark."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import revteam
from revteam.generate import GeneratorConfig, generate_company
from revteam.workspace import Workspace


def _typo(word: str, rng: random.Random) -> str:
    j = rng.randrange(1, len(word) - 1)
    return word[:j] + word[j + 1] + word[j] + word[j + 2 :]


def _duplicates(people: list[dict], rng: random.Random, n: int) -> list[tuple[str, dict]]:
    """Copies of real people as other systems hold them: typos, aliases, case, company names."""
    out = []
    for i, person in enumerate(rng.sample(people, n)):
        dup = dict(person, person_id=f"D{i:04d}")
        local, domain = person["email"].split("@")
        kind = i % 4
        if kind == 0:
            dup["last_name"] = _typo(person["last_name"], rng)
        elif kind == 1:
            dup["email"] = f"{local}+webinar@{domain}"
        elif kind == 2:
            dup |= {"email": person["email"].upper(), "first_name": person["first_name"].upper(),
                    "last_name": person["last_name"].lower()}  # fmt: skip
        else:
            dup["company_name"] = person["company_name"].rsplit(" ", 1)[0]  # "Acme Inc" → "Acme"
            dup["first_name"] = (
                _typo(person["first_name"], rng)
                if len(person["first_name"]) > 3
                else person["first_name"]
            )
        out.append((person["person_id"], dup))
    return out


def company_with_duplicates(root: Path) -> tuple[Workspace, list[dict], list[tuple[str, dict]]]:
    """A generated company of 1,500 leads plus 100 copies of its people, loaded."""
    company = generate_company(GeneratorConfig(n_leads=1500, seed=5))
    people = company.tables["people"].to_pylist()
    dups = _duplicates(people, random.Random(7), 100)
    company.write(root / "data")
    table = pa.Table.from_pylist(
        people + [d for _, d in dups], schema=company.tables["people"].schema
    )
    pq.write_table(table, root / "data" / "people.parquet")
    ws = revteam.init(root / "ws")
    ws.ingest.load_directory(root / "data")
    return ws, people, dups


@pytest.fixture(scope="module")
def resolved(tmp_path_factory: pytest.TempPathFactory):
    ws, people, dups = company_with_duplicates(tmp_path_factory.mktemp("dups"))
    result = ws.identity.run()
    yield ws, people, dups, result
    ws.close()


def links_of(ws: Workspace) -> dict[str, str]:
    return {r["person_id"]: r["unified_id"] for r in ws.identity.links().to_pylist()}


def indistinguishable(a: dict, b: dict) -> bool:
    """Colleagues whose names and e-mails differ by one letter: a typo would look the same."""
    from difflib import SequenceMatcher

    close = lambda x, y: SequenceMatcher(None, x, y).ratio() >= 0.75  # noqa: E731
    return (
        a["last_name"] == b["last_name"]
        and close(a["first_name"], b["first_name"])
        and close(a["email"], b["email"])
    )


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local Spark session (two cores) for every Spark test of a worker."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        # CI installs the spark extra (scripts/test): missing there is a broken set-up.
        if os.environ.get("CI") == "true":
            pytest.fail("pyspark is not installed; scripts/test installs the spark extra")
        pytest.skip("pyspark is not installed (pip install 'revteam[spark]')")
    from revteam.resolve.spark import session

    spark = session("local[2]")
    yield spark
    spark.stop()
