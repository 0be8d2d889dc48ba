"""Attribution models on 1M journeys: revteam against ChannelAttribution, in one run.

    uv run python benchmarks/bench_attribution.py                    # 1M journeys, 12 channels
    uv run python benchmarks/bench_attribution.py --journeys 100000  # a quick look

Generates ``--journeys`` journeys once (1-30 touches, 4 on average, over ``--channels``
channels with repeats; about one in five converts, with a value), then times, best of
``--repeat``:

- every revteam rule-based model, and ChannelAttribution's ``heuristic_models`` (first, last
  and linear touch in one call, compared with the sum of revteam's three);
- Markov order 1: revteam's exact chain against ChannelAttribution's ``markov_model`` with its
  default settings (``ncore=1``, its default; and ``ncore=2``, every core of the box);
- revteam's Shapley values, ``shapley_value="conversions"`` and ``"rate"`` (target ≤ 30 s on
  12 channels and 1M journeys).

ChannelAttribution reads one row per distinct path with its counts, so the journeys are
aggregated by path for it (untimed) and revteam is timed on the same aggregated paths
(``Journeys.from_paths``; parsing them is timed on its own line, as ChannelAttribution parses
its path strings inside each call) and on the 1M journeys as they are, one per row. Results
are checked to agree: heuristics to 1e-6, Markov within ChannelAttribution's sampling noise.
Targets (issue): Markov order 1 and every heuristic no slower than ChannelAttribution on the
same data; Shapley on 12 channels and 1M journeys ≤ 30 s. ChannelAttribution (GPL) is a dev
dependency for this script and the tests, never imported by revteam.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import resource
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from revteam.attribution.models import RULE_BASED, Credit, attribute
from revteam.attribution.paths import Journeys

with contextlib.redirect_stdout(io.StringIO()):  # its "Pro" banner and version, on import
    import ChannelAttribution as ca

CHANNELS = (
    "direct",
    "paid_search",
    "paid_social",
    "organic_search",
    "organic_social",
    "email",
    "events",
    "webinar",
    "content",
    "referral",
    "partner",
    "outbound",
    "display",
    "affiliate",
    "podcast",
    "print",
)
CA_HEURISTICS = ("first_touch", "last_touch", "linear")


def generate(n: int, channels: int, seed: int) -> Journeys:
    """``n`` journeys of 1-30 touches (4 on average) over ``channels`` channels of unequal reach.

    A journey converts with odds raised by some channels and lowered by others (so the models
    disagree) and by its length; a conversion has a gamma-distributed value.
    """
    rng = np.random.default_rng(seed)
    length = np.minimum(rng.geometric(0.25, n), 30)
    journey = np.repeat(np.arange(n), length)
    reach = rng.dirichlet(np.full(channels, 2.0))
    channel = rng.choice(channels, len(journey), p=reach)
    starts = np.r_[0, np.cumsum(length)[:-1]]
    position = np.arange(len(journey)) - starts[journey]
    days = (length[journey] - 1 - position) * 2.0 + rng.random(len(journey))
    lift = np.bincount(journey, rng.normal(0.0, 0.5, channels)[channel], n)
    converts = rng.random(n) < 1 / (1 + np.exp(2.2 - lift - 0.05 * length))
    won = converts.astype(np.float64)
    return Journeys(
        channels=CHANNELS[:channels],
        journey=journey,
        channel=channel,
        days_before=days,
        conversions=won,
        nulls=1.0 - won,
        value=won * np.round(rng.gamma(2.0, 500.0, n), 2),
    )


def aggregate(journeys: Journeys) -> pd.DataFrame:
    """One row per distinct path (``"a > b > c"``) with its conversions, nulls and value."""
    names = np.array(journeys.channels, dtype=object)[journeys.channel]
    paths = pd.Series(names).groupby(journeys.journey, sort=False).agg(" > ".join)
    frame = pd.DataFrame(
        {
            "path": paths.to_numpy(),
            "conv": journeys.conversions.astype(np.int64),
            "null": journeys.nulls.astype(np.int64),
            "value": journeys.value,
        }
    )
    return frame.groupby("path", sort=False, as_index=False).sum()


def from_frame(df: pd.DataFrame) -> Journeys:
    return Journeys.from_paths(
        df["path"].tolist(), df["conv"].tolist(), df["null"].tolist(), df["value"].tolist()
    )


def best(repeat: int, run: Callable[[], Any]) -> tuple[float, Any]:
    """The shortest of ``repeat`` runs, and the last run's result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return min(times), result


def by_name(journeys: Journeys, values: np.ndarray) -> pd.Series:
    return pd.Series(values, index=list(journeys.channels))


def ca_heuristics(df: pd.DataFrame) -> pd.DataFrame:
    found = ca.heuristic_models(df, "path", "conv", var_value="value", flg_pro=False)
    return found.set_index("channel_name")


def ca_markov(df: pd.DataFrame, ncore: int) -> pd.DataFrame:
    found = ca.markov_model(
        df,
        "path",
        "conv",
        var_value="value",
        var_null="null",
        ncore=ncore,
        verbose=False,
        flg_pro=False,
    )
    return found.set_index("channel_name")


def heuristic_gaps(
    journeys: Journeys, ours: dict[str, Credit], theirs: pd.DataFrame
) -> tuple[float, float]:
    """The largest differences per channel: of conversions, and of value over the total value.

    Value sums to about 1e8 here, where float rounding alone moves the last digits (1e-6).
    """
    conv, value = [], []
    for model, name in zip(
        CA_HEURISTICS, ("first_touch", "last_touch", "linear_touch"), strict=True
    ):
        for values, column, gaps in (
            (ours[model].channel_credit, "conversions", conv),
            (ours[model].channel_value, "value", value),
        ):
            mine = by_name(journeys, values)
            gaps.append((mine - theirs[f"{name}_{column}"].reindex(mine.index)).abs().max())
    return float(max(conv)), float(max(value) / journeys.value.sum())


Row = tuple[str, float | None, float | None, float | None, str]
"""What, revteam on the aggregated paths, revteam on the rows, CA on the paths, a note."""


def heuristic_rows(agg: Journeys, raw: Journeys, df: pd.DataFrame, r: int) -> list[Row]:
    rows: list[Row] = []
    ours_agg: dict[str, Credit] = {}
    ours_raw: dict[str, Credit] = {}
    for model in RULE_BASED:
        t_agg, ours_agg[model] = best(r, lambda m=model: attribute(agg, m))
        t_raw, ours_raw[model] = best(r, lambda m=model: attribute(raw, m))
        rows.append((model, t_agg, t_raw, None, ""))
    t_ca, theirs = best(r, lambda: ca_heuristics(df))
    ours = [(t_agg, t_raw) for m, t_agg, t_raw, *_ in rows if m in CA_HEURISTICS]
    gaps = [heuristic_gaps(agg, ours_agg, theirs), heuristic_gaps(raw, ours_raw, theirs)]
    conv, value = np.max(gaps, axis=0)
    note = f"max |difference| {conv:.1e} conversions, {value:.1e} of the value"
    summed = np.sum(ours, axis=0)
    rows.append(("first + last + linear", summed[0], summed[1], t_ca, note))
    return rows


def markov_rows(agg: Journeys, raw: Journeys, df: pd.DataFrame, r: int) -> list[Row]:
    t_agg, markov = best(r, lambda: attribute(agg, "markov"))
    t_raw, markov_raw = best(r, lambda: attribute(raw, "markov"))
    exact = by_name(agg, markov.channel_credit)
    value = by_name(agg, markov.details["value_by_removal"])
    same = (exact - by_name(raw, markov_raw.channel_credit).reindex(exact.index)).abs().max()
    rows: list[Row] = []
    for ncore, label in ((1, "CA ncore=1, its default"), (2, "CA ncore=2")):
        t_ca, theirs = best(r, lambda n=ncore: ca_markov(df, n))
        worst = (theirs["total_conversions"].reindex(exact.index) - exact).abs().idxmax()
        off = abs(theirs.loc[worst, "total_conversions"] - exact[worst])
        off_v = (theirs["total_conversion_value"].reindex(value.index) - value).abs().max()
        note = (
            f"max |difference| {off:,.0f} conversions ({worst}: {off / exact[worst]:.1%} of its "
            f"credit, {off / exact.sum():.2%} of all), value {off_v / value.sum():.2%} of all"
        )
        if ncore == 1:
            note += f"; revteam paths vs rows {same:.1e}"
        rows.append((f"markov, order 1 ({label})", t_agg, t_raw, t_ca, note))
    return rows


def shapley_rows(agg: Journeys, raw: Journeys, r: int) -> list[Row]:
    rows: list[Row] = []
    for worth in ("conversions", "rate"):
        t_agg, _ = best(r, lambda w=worth: attribute(agg, "shapley", shapley_value=w))
        t_raw, _ = best(r, lambda w=worth: attribute(raw, "shapley", shapley_value=w))
        rows.append((f"shapley ({worth})", t_agg, t_raw, None, "target ≤ 30 s on 1M journeys"))
    return rows


def cell(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds:.2f} s"


def ratio(ours: float | None, theirs: float | None) -> str:
    return "" if ours is None or theirs is None else f"{ours / theirs:.2f}x"


def print_table(rows: list[Row], parse: float, repeat: int) -> None:
    print(f"\nBest of {repeat}; ratio = revteam / ChannelAttribution (CA), lower is faster")
    print(
        f"{'model':44} {'revteam paths':>14} {'revteam rows':>13} {'CA paths':>9} "
        f"{'ratio paths':>12} {'ratio rows':>11}  agreement"
    )
    print(f"{'parse the paths (Journeys.from_paths)':44} {cell(parse):>14}")
    for label, a, b, c, note in rows:
        print(
            f"{label:44} {cell(a):>14} {cell(b):>13} {cell(c):>9} "
            f"{ratio(a, c):>12} {ratio(b, c):>11}  {note}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--journeys", type=int, default=1_000_000)
    parser.add_argument("--channels", type=int, default=12, choices=range(2, len(CHANNELS) + 1))
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    raw = generate(args.journeys, args.channels, args.seed)
    df = aggregate(raw)
    prep = time.perf_counter() - started
    parse, agg = best(args.repeat, lambda: from_frame(df))
    print(
        f"{raw.n_journeys:,} journeys, {raw.n_touches:,} touches, {len(raw.channels)} channels, "
        f"{int(raw.conversions.sum()):,} conversions; {len(df):,} distinct paths "
        f"({agg.n_touches:,} touches); generated and aggregated in {prep:.1f} s"
    )
    rows = heuristic_rows(agg, raw, df, args.repeat)
    rows += markov_rows(agg, raw, df, args.repeat)
    rows += shapley_rows(agg, raw, args.repeat)
    print_table(rows, parse, args.repeat)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:,.0f} MB")


if __name__ == "__main__":
    main()
