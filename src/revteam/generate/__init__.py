"""Synthetic B2B SaaS company: every canonical table, with known planted parameters.

``generate_company(GeneratorConfig(n_leads=20_000))`` returns a :class:`Company` whose tables fill
the warehouse for demos, tests and benchmarks, and whose ``truth`` says what every KPI should
find (see :mod:`revteam.generate.truth`).
"""

from __future__ import annotations

from revteam.generate.company import Company, generate_company
from revteam.generate.config import GeneratorConfig

__all__ = ["Company", "GeneratorConfig", "generate_company"]
