"""Pure pieces of the web face: filters, formatting, CSV safety."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from starlette.datastructures import QueryParams

from revteam.exceptions import MetricQueryError
from revteam.metrics.request import MAX_VALUES
from revteam.web.filters import ViewFilters, parse_where
from revteam.web.format import MISSING, change, compact, display
from revteam.web.pages.records import defuse
from revteam.web.pages.render import period_name, records_url
from revteam.web.views.charts import sparkline
from revteam.web.views.scorecard import Point

AS_OF = dt.date(2026, 10, 31)


def test_filters_round_trip_through_the_url():
    f = ViewFilters.parse(
        QueryParams("period=6m&grain=week&channel=email&channel=events&segment=smb&by=region")
    )
    assert f.where == (("channel", ("email", "events")), ("segment", ("smb",)))
    assert ViewFilters.parse(QueryParams(f.query_string()[1:])) == f
    assert ViewFilters.parse(QueryParams("")) == ViewFilters()
    assert ViewFilters().query_string() == ""


@pytest.mark.parametrize(
    ("query", "first", "last"),
    [
        ("", dt.date(2025, 11, 1), AS_OF),
        ("period=3m", dt.date(2026, 8, 1), AS_OF),
        ("period=ytd", dt.date(2026, 1, 1), AS_OF),
        ("period=all", None, AS_OF),
        ("period=12m&grain=quarter", dt.date(2025, 10, 1), AS_OF),
        ("start=2026-01-15&end=2027-01-01", dt.date(2026, 1, 15), AS_OF),
    ],
)
def test_presets_resolve_against_the_as_of_date(query, first, last):
    assert ViewFilters.parse(QueryParams(query)).range(AS_OF) == (first, last)


@pytest.mark.parametrize(
    "query",
    [
        "grain=hour",
        "period=5y",
        "start=2026-02-30",
        "start=2026-03-01&end=2026-01-01",
        "by=colour",
        "&".join(f"channel=c{i}" for i in range(60)),
    ],
)
def test_bad_filters_name_the_problem(query):
    with pytest.raises(MetricQueryError):
        ViewFilters.parse(QueryParams(query))


@pytest.mark.parametrize(
    ("value", "unit", "short", "text"),
    [
        (0.12345, "percent", False, "12.3%"),
        (1_234_567.8, "money", True, "$1.23M"),
        (1_234_567.8, "money", False, "$1,234,568"),
        (-4_321.0, "money", True, "-$4.32K"),
        (999.0, "money", True, "$999"),
        (8_863, "count", True, "8,863"),
        (123_456, "count", True, "123K"),
        (37.25, "days", False, "37.2 days"),
        (None, "count", False, MISSING),
        (float("nan"), "percent", False, MISSING),
    ],
)
def test_display(value, unit, short, text):
    assert display(value, unit, short=short) == text


def test_change_is_points_for_rates_and_relative_otherwise():
    assert change(0.25, 0.20, "percent")[1] == "+5.0 pp"
    assert change(110, 100, "count")[1] == "+10.0%"
    assert change(1, 0, "count") == (None, "")
    assert compact(12_345) == "12.3K"


def test_csv_export_defuses_spreadsheet_formulas():
    table = pa.table({"name": ['=HYPERLINK("x")', "+1", "ok", None], "n": [1, -2, 3, 4]})
    out = defuse(table).to_pylist()
    assert [r["name"] for r in out] == ['\'=HYPERLINK("x")', "'+1", "ok", None]
    assert [r["n"] for r in out] == [1, -2, 3, 4]


def test_small_helpers():
    assert period_name("2026-10") == "Oct 2026" and period_name("2026-Q3") == "2026-Q3"
    url = records_url(
        "leads",
        ViewFilters(where=(("channel", ("email",)),)),
        dt.date(2026, 3, 1),
        dt.date(2026, 3, 31),
        campaign="C1",
    )
    assert url == (
        "/records?metric=leads&start=2026-03-01&end=2026-03-31&channel=email&campaign=C1"
    )
    points = [Point(dt.date(2026, m, 1), "", float(m), m > 4, False) for m in range(1, 7)]
    svg = str(sparkline(points, "#2563eb", label="<x>"))
    assert svg.count("<polyline") == 2 and "stroke-dasharray" in svg and "&lt;x&gt;" in svg


def test_public_names_are_pinned():
    import revteam.app
    import revteam.web

    assert set(revteam.web.__all__) == {
        "API_PREFIX",
        "WebOptions",
        "create_app",
        "serve",
        "serve_demo",
    }
    assert {
        "AppState",
        "open_app",
        "demo_sign_in",
        "upgrade",
        "load_secret_key",
        "ThrottlePolicy",
        "UserInfo",
        "TokenInfo",
    } <= set(revteam.app.__all__)
    for module in (revteam.web, revteam.app):
        assert all(hasattr(module, name) for name in module.__all__)


def test_one_filter_parser_for_pages_and_apis():
    assert parse_where(
        {"segment": [" smb", "smb ", "", "mid_market", "(none)"], "channel": ["email"]}
    ) == (
        ("channel", ("email",)),
        ("segment", ("mid_market", "smb", None)),
    )
    page = ViewFilters.parse(QueryParams("segment=%20smb&segment=mid_market&channel=email"))
    assert page.where == parse_where({"channel": ["email"], "segment": ["smb", "mid_market"]})
    with pytest.raises(MetricQueryError, match="mid_market"):
        parse_where({"segment": ["mid"]})  # the vocabulary is checked once, for every face
    blank = ViewFilters.parse(QueryParams("segment=&channel=email"))  # the form's "All"
    assert blank.where == (("channel", ("email",)),)
    nothing = ViewFilters.parse(QueryParams("segment=(none)"))
    assert (
        nothing.where == (("segment", (None,)),) and "segment=%28none%29" in nothing.query_string()
    )
    assert len(parse_where({"campaign": [f"c{i}" for i in range(MAX_VALUES)]})[0][1]) == 50
    for bad in ({"campaign": [f"c{i}" for i in range(MAX_VALUES + 1)]}, {"campaign": ["x" * 201]}):
        with pytest.raises(MetricQueryError):
            parse_where(bad)
    with pytest.raises(MetricQueryError, match="dimension"):
        parse_where({"colour": ["red"]})
