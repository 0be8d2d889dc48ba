"""Customer value: retention, BG/NBD, Gamma-Gamma and sBG fits, predictions. See docs/clv.md."""

from __future__ import annotations

from revteam.clv.models import (
    BG_NBD,
    GAMMA_GAMMA,
    SBG,
    Fit,
    Lifetimes,
    RepeatData,
    fit_bg_nbd,
    fit_gamma_gamma,
    fit_sbg,
)
from revteam.clv.summary import TIME_UNITS, Summary, summarise

__all__ = [
    "BG_NBD",
    "GAMMA_GAMMA",
    "SBG",
    "TIME_UNITS",
    "Fit",
    "Lifetimes",
    "RepeatData",
    "Summary",
    "fit_bg_nbd",
    "fit_gamma_gamma",
    "fit_sbg",
    "summarise",
]
