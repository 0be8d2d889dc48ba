"""Excel as exported in practice (summary tabs, title rows, date serials), preambles, progress.

Each case sends a file through ``ws.ingest.load`` and checks the row-level outcome: the values
read back from the warehouse, the quarantine reason, or the file-level error text.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zipfile
from pathlib import Path

import pytest
from tests.conftest import write
from tests.ingest.conftest import reasons_by_line, rows

from revteam.exceptions import SourceFileError
from revteam.ingest import Mapping
from revteam.workspace import Workspace

PEOPLE = "SELECT person_id, email, created_at FROM people ORDER BY 1"
HEADER = ["person_id", "email", "created_at"]
JAN1 = dt.datetime(2024, 1, 1)


def _book(path: Path, sheets: dict[str, list[list[object]]], *, mac: bool = False) -> Path:
    """A workbook with the given sheets (in order) and rows; ``mac``: the 1904 date system."""
    import openpyxl
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    book = openpyxl.Workbook()
    if mac:
        book.epoch = CALENDAR_MAC_1904
    assert book.active is not None
    book.remove(book.active)
    for title, content in sheets.items():
        sheet = book.create_sheet(title)
        for row in content:
            sheet.append(row)
    book.save(path)
    return path


def _refused(ws: Workspace, path: Path, mapping: Mapping | None = None) -> str:
    """Load ``path``, expect a file-level refusal, check nothing loaded; the message."""
    with pytest.raises(SourceFileError) as info:
        ws.ingest.load("people", path, mapping=mapping)
    assert rows(ws, "SELECT count(*) FROM people") == [(0,)]
    return str(info.value)


TITLED = [
    ["Pipeline report"],
    ["Exported 2024-05-01 by the CRM"],
    [],
    HEADER,
    ["P1", "a@x.com", JAN1],
    ["P2", "b@x.com", "not a date"],
]


# Sheets: the one holding the table, by default or as declared ---------------------------------


def test_the_first_sheet_holding_the_required_columns_is_read(ws: Workspace, tmp_path: Path):
    path = _book(
        tmp_path / "p.xlsx",
        {
            "Summary": [["Metric", "Value"], ["Leads", 2]],
            "People": [HEADER, ["P1", "a@x.com", JAN1]],
        },
    )
    [res] = ws.ingest.load("people", path)
    assert (res.inserted, res.quarantined) == (1, 0)
    assert rows(ws, PEOPLE) == [("P1", "a@x.com", JAN1)]


def test_required_columns_count_after_the_mappings_renames(ws: Workspace, tmp_path: Path):
    path = _book(
        tmp_path / "p.xlsx",
        {
            "Notes": [["Contact ID", "Note"], ["P9", "call back"]],
            "Contacts": [["Contact ID", " EMAIL ", "Create Date"], ["P1", "a@x.com", JAN1]],
        },
    )
    spec = Mapping(columns={"Contact ID": "person_id", "Create Date": "created_at"})
    ws.ingest.load("people", path, mapping=spec)
    assert rows(ws, PEOPLE) == [("P1", "a@x.com", JAN1)]


@pytest.mark.parametrize("sheet", ["sheet: People", "sheet: people", "sheet: 2"])
def test_a_declared_sheet_is_read_by_name_or_position(ws: Workspace, tmp_path: Path, sheet: str):
    path = _book(
        tmp_path / "p.xlsx",
        {"Old": [HEADER, ["P0", "old@x.com", JAN1]], "People": [HEADER, ["P1", "a@x.com", JAN1]]},
    )
    ws.ingest.load("people", path, mapping=write(tmp_path / "m.yaml", sheet + "\n"))
    assert rows(ws, PEOPLE) == [("P1", "a@x.com", JAN1)]


def test_no_sheet_fitting_lists_the_sheets_and_what_each_lacks(ws: Workspace, tmp_path: Path):
    path = _book(
        tmp_path / "p.xlsx",
        {"Summary": [["Metric", "Value"], ["Leads", 2]], "Leads": [["person_id", "email"]]},
    )
    message = _refused(ws, path)
    assert "no sheet holds the columns table 'people' needs (person_id, created_at)" in message
    assert "sheet 'Summary' lacks person_id, created_at" in message
    assert "sheet 'Leads' lacks created_at" in message
    assert "sheet: <name>, or sheet: <position>" in message


def test_a_missing_named_sheet_is_refused_with_the_sheets_there(ws: Workspace, tmp_path: Path):
    path = _book(tmp_path / "p.xlsx", {"2024": [HEADER], "Data": [HEADER]})
    message = _refused(ws, path, Mapping(sheet="Pipeline"))
    assert "the workbook has no sheet 'Pipeline'; its sheets are '2024', 'Data'" in message
    assert "set `sheet:` in the mapping file" in message
    # An unquoted number is a position; the message tells how to name a sheet called "2024".
    spec = write(tmp_path / "m.yaml", "sheet: 2024\n")
    with pytest.raises(SourceFileError) as info:
        ws.ingest.load("people", path, mapping=spec)
    assert "no sheet 2024: it has 2 ('2024', 'Data')" in str(info.value)
    assert 'quote it: sheet: "2024"' in str(info.value)
    ws.ingest.load("people", path, mapping=write(tmp_path / "m.yaml", 'sheet: "2024"\n'))


def test_sheet_zero_is_refused_in_the_mapping(ws: Workspace, tmp_path: Path):
    path = _book(tmp_path / "p.xlsx", {"Data": [HEADER]})
    with pytest.raises(SourceFileError, match="sheet"):
        ws.ingest.load("people", path, mapping=write(tmp_path / "m.yaml", "sheet: 0\n"))


# Title and preamble rows -----------------------------------------------------------------------


def test_a_title_read_as_the_header_is_refused_naming_the_header_row(ws: Workspace, tmp_path):
    path = _book(tmp_path / "p.xlsx", {"Report": TITLED})
    message = _refused(ws, path)
    assert "row 1 of sheet 'Report', read as the header, holds only 'Pipeline report'" in message
    assert "looks like a title" in message
    assert "declare `header_row: 4`" in message


@pytest.mark.parametrize("spec", [Mapping(header_row=4), Mapping(skip_rows=3)])
def test_header_row_skips_title_rows_and_lines_are_sheet_rows(
    ws: Workspace, tmp_path: Path, spec: Mapping
):
    path = _book(tmp_path / "p.xlsx", {"Report": TITLED})
    [res] = ws.ingest.load("people", path, mapping=spec)
    assert (res.inserted, res.quarantined) == (1, 1)
    assert rows(ws, PEOPLE) == [("P1", "a@x.com", JAN1)]
    assert reasons_by_line(ws, "people") == {
        6: ["created_at: cannot read 'not a date' as a timestamp"]
    }


def test_a_title_on_a_second_sheet_is_told_in_the_sheet_list(ws: Workspace, tmp_path: Path):
    path = _book(tmp_path / "p.xlsx", {"Summary": [["Metric", "Value"]], "Report": TITLED})
    message = _refused(ws, path)
    assert "sheet 'Report' lacks person_id, created_at (its row 1 holds only" in message
    assert "sheet 'Report' has them on row 4: sheet: 'Report' and header_row: 4" in message
    spec = Mapping(sheet="Report", header_row=4)
    assert ws.ingest.load("people", path, mapping=spec)[0].inserted == 1


def test_an_empty_declared_header_row_is_refused(ws: Workspace, tmp_path: Path):
    path = _book(tmp_path / "p.xlsx", {"Report": TITLED})
    message = _refused(ws, path, Mapping(header_row=3))
    assert "row 3 of sheet 'Report' is empty" in message


def test_header_row_and_skip_rows_must_agree(tmp_path: Path):
    from revteam.ingest import load_mapping

    with pytest.raises(SourceFileError, match="header_row: 4 and skip_rows: 1 disagree"):
        load_mapping(write(tmp_path / "m.yaml", "header_row: 4\nskip_rows: 1\n"))


CSV_TITLED = (
    "Pipeline report,,\nExported 2024-05-01,,\n,,\n"
    "person_id,email,created_at\nP1,a@x.com,2024-01-01\nP2,b@x.com,soon\n"
)


def test_a_csv_title_line_is_refused_naming_the_header_line(ws: Workspace, tmp_path: Path):
    message = _refused(ws, write(tmp_path / "p.csv", CSV_TITLED))
    assert "line 1, read as the header, holds only 'Pipeline report'" in message
    assert "the column names are on line 4: declare `header_row: 4`" in message


@pytest.mark.parametrize("spec", ["header_row: 4\n", "skip_rows: 3\n"])
def test_csv_header_row_skips_preamble_lines_and_keeps_line_numbers(
    ws: Workspace, tmp_path: Path, spec: str
):
    path = write(tmp_path / "p.csv", CSV_TITLED + 'P3,"c@x.com",2024-01-03,extra\n')
    [res] = ws.ingest.load("people", path, mapping=write(tmp_path / "m.yaml", spec))
    assert (res.inserted, res.quarantined) == (1, 2)
    assert rows(ws, PEOPLE) == [("P1", "a@x.com", JAN1)]
    reasons = reasons_by_line(ws, "people")
    assert sorted(reasons) == [6, 7]
    assert reasons[6] == ["created_at: cannot read 'soon' as a timestamp"]


@pytest.mark.parametrize("line", [3, 7, 50])
def test_a_declared_csv_header_line_that_is_empty_is_refused(ws, tmp_path: Path, line: int):
    path = write(tmp_path / "p.csv", CSV_TITLED)
    message = _refused(ws, path, Mapping(header_row=line))
    assert f"line {line}, declared as the header, is empty or past the end of the file" in message


def test_csv_header_row_works_for_windows_1252_files(ws: Workspace, tmp_path: Path):
    path = tmp_path / "p.csv"
    path.write_bytes(
        ("Caf\u00e9 report\n" + "\n".join(CSV_TITLED.splitlines()[3:])).encode("cp1252")
    )
    spec = Mapping(header_row=2, encoding="windows-1252")
    [res] = ws.ingest.load("people", path, mapping=spec)
    assert (res.inserted, res.quarantined) == (1, 1)
    assert reasons_by_line(ws, "people") == {4: ["created_at: cannot read 'soon' as a timestamp"]}


# Excel date serials ----------------------------------------------------------------------------


def test_excel_date_serials_load_as_dates(ws: Workspace, tmp_path: Path):
    path = _book(
        tmp_path / "p.xlsx",
        {
            "People": [
                HEADER,
                ["P1", "a@x.com", 45292],  # 2024-01-01
                ["P2", "b@x.com", 45292.5],  # noon
                ["P3", "c@x.com", dt.datetime(2024, 3, 5, 8, 30)],  # a date cell
                ["P4", "d@x.com", 1],  # 1900-01-01: outside the plausible years
                ["P5", "e@x.com", 10**9],  # no calendar has it
                ["P6", "f@x.com", "2024-02-01"],  # text, as today
            ]
        },
    )
    [res] = ws.ingest.load("people", path)
    assert (res.inserted, res.quarantined) == (4, 2)
    assert rows(ws, "SELECT person_id, created_at FROM people ORDER BY 1") == [
        ("P1", JAN1),
        ("P2", dt.datetime(2024, 1, 1, 12)),
        ("P3", dt.datetime(2024, 3, 5, 8, 30)),
        ("P6", dt.datetime(2024, 2, 1)),
    ]
    reasons = reasons_by_line(ws, "people")
    assert reasons[5] == [
        "created_at: '1900-01-01T00:00:00' is read as 1900-01-01, outside the plausible years "
        "1970 to 2100 (plausible_years in revteam.toml) (a two-digit year? declare it in the "
        'mapping: date_formats: {created_at: "%d/%m/%y"})'
    ]
    assert reasons[6] == ["created_at: cannot read '1000000000' as a timestamp"]


def test_serials_fill_date_columns_and_other_columns_keep_their_numbers(ws: Workspace, tmp_path):
    head = ["campaign_id", "name", "channel", "start_date", "end_date", "budget"]
    path = _book(
        tmp_path / "c.xlsx",
        {"Campaigns": [head, ["C1", 45292, "webinar", 45292, 45322.75, 45292]]},
    )
    [res] = ws.ingest.load("campaigns", path)
    assert res.quarantined == 0
    assert rows(ws, "SELECT name, start_date, end_date, budget FROM campaigns") == [
        ("45292", dt.date(2024, 1, 1), dt.date(2024, 1, 31), 45292)
    ]


def test_a_1904_workbook_reads_serials_in_its_own_date_system(ws: Workspace, tmp_path: Path):
    path = _book(
        tmp_path / "p.xlsx",
        {"People": [HEADER, ["P1", "a@x.com", 43830], ["P2", "b@x.com", JAN1]]},
        mac=True,
    )
    ws.ingest.load("people", path)
    assert rows(ws, "SELECT person_id, created_at FROM people ORDER BY 1") == [
        ("P1", JAN1),
        ("P2", JAN1),
    ]


def test_a_declared_date_format_reads_numbers_by_the_format(ws: Workspace, tmp_path: Path):
    path = _book(tmp_path / "p.xlsx", {"People": [HEADER, ["P1", "a@x.com", 20240101]]})
    ws.ingest.load("people", path, mapping=Mapping(date_formats={"created_at": "%Y%m%d"}))
    assert rows(ws, PEOPLE) == [("P1", "a@x.com", JAN1)]


def test_a_number_in_a_csv_date_column_is_not_read_as_a_serial(ws: Workspace, tmp_path: Path):
    path = write(tmp_path / "p.csv", "person_id,email,created_at\nP1,a@x.com,45292\n")
    [res] = ws.ingest.load("people", path)
    assert (res.inserted, res.quarantined) == (0, 1)
    assert reasons_by_line(ws, "people") == {2: ["created_at: cannot read '45292' as a timestamp"]}


def test_rows_past_a_wrongly_declared_sheet_size_still_load(ws: Workspace, tmp_path: Path):
    """Some writers declare a sheet as A1:A1; read-only openpyxl would stop there."""
    path = _book(
        tmp_path / "p.xlsx", {"People": [HEADER] + [[f"P{i}", "x@x.com", JAN1] for i in range(3)]}
    )
    fixed = tmp_path / "fixed.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(fixed, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                data = re.sub(rb'<dimension ref="[^"]+"', b'<dimension ref="A1:A1"', data)
            dst.writestr(item, data)
    [res] = ws.ingest.load("people", fixed)
    assert res.inserted == 3
    assert rows(ws, "SELECT count(*), min(email) FROM people") == [(3, "x@x.com")]


# Progress --------------------------------------------------------------------------------------

N = 12_000


def _people(n: int) -> list[dict[str, str]]:
    return [
        {"person_id": f"P{i}", "email": f"p{i}@example.com", "created_at": "2024-01-01"}
        for i in range(n)
    ]


def _csv(path: Path) -> Path:
    lines = [",".join(HEADER)] + [",".join(r.values()) for r in _people(N)]
    return write(path, "\n".join(lines) + "\n")


def _jsonl(path: Path) -> Path:
    return write(path, "".join(json.dumps(r) + "\n" for r in _people(N)))


def _array(path: Path) -> Path:
    return write(path, json.dumps(_people(N), indent=1))


def _xlsx(path: Path) -> Path:
    return _book(path, {"People": [HEADER] + [list(r.values()) for r in _people(N)]})


def _xlsx_unsized(path: Path) -> Path:
    """A workbook that does not declare its sheet's size, as streaming writers make them."""
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("People")
    for row in [HEADER] + [list(r.values()) for r in _people(N)]:
        sheet.append(row)
    book.save(path)
    return path


def _cp1252(path: Path) -> Path:
    _csv(path)
    return path


@pytest.mark.parametrize(
    ("name", "make", "spec"),
    [
        ("p.csv", _csv, None),
        ("p.csv", _cp1252, Mapping(encoding="windows-1252")),
        ("p.jsonl", _jsonl, None),
        ("p.json", _array, None),
        ("p.xlsx", _xlsx, None),
        ("p.xlsx", _xlsx_unsized, None),
    ],
)
def test_reading_reports_progress_as_it_goes(
    ws: Workspace, tmp_path: Path, name: str, make, spec: Mapping | None
):
    calls: list[tuple[str, str, float]] = []
    [res] = ws.ingest.load(
        "people", make(tmp_path / name), mapping=spec, progress=lambda *c: calls.append(c)
    )
    assert res.inserted == N
    assert {file for file, _, _ in calls} == {name}
    fractions = [f for _, _, f in calls]
    assert fractions == sorted(fractions), "progress never moves backwards"
    assert calls[-1][1:] == ("done", 1.0)
    reading = {f for _, phase, f in calls if phase == "reading" and 0 < f < 0.25}
    assert len(reading) >= 5, sorted(reading)
