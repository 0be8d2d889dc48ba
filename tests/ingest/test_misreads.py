"""Values an adversarial pass found loading wrong without a word, each now read right or refused.

Timestamps with a word after the time (PM, EST, junk), numbers with spaces inside, typed numbers
(JSON, Excel) deciding how the file's text writes decimals, fractions into whole-number columns,
integers beyond a double's precision, and currency signs that are not the row's currency.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.ingest.conftest import reasons_by_line, rows

import revteam
from revteam.ingest.readers import neutral_number
from revteam.workspace import Workspace


def _workspace(tmp_path: Path, *, timezone: str = "UTC", rates: str = "") -> Workspace:
    root = tmp_path / "ws"
    revteam.init(root).close()
    toml = root / "revteam.toml"
    text = toml.read_text(encoding="utf-8")
    assert 'timezone = "UTC"' in text and "[exchange_rates]" in text
    text = text.replace('timezone = "UTC"', f"timezone = {json.dumps(timezone)}")
    toml.write_text(text.replace("[exchange_rates]", f"[exchange_rates]\n{rates}"))
    return revteam.open(root)


def _load(ws: Workspace, path: Path, table: str, mapping: str | None = None) -> tuple[int, int]:
    spec = None
    if mapping is not None:
        spec = path.with_suffix(".yaml")
        spec.write_text(mapping, encoding="utf-8")
    [result] = ws.ingest.load(table, path, mapping=spec)
    return result.inserted, result.quarantined


def test_only_iso_times_and_real_zones_are_read(tmp_path: Path):
    ws = _workspace(tmp_path, timezone="Europe/Berlin")
    lines = [
        "A1,utc,2025-03-04 10:00:00 UTC",  # 11:00 in Berlin
        "A2,ny,2025-03-04 10:00:00 America/New_York",  # 16:00
        "A3,z,2025-03-04T10:00:00Z",  # 11:00
        "A4,offset,2025-03-04T10:00:00-05:00",  # 16:00
        "A5,local,2025-03-04 10:00",  # local already
        "A6,slashes,2025/03/04",
        "A7,pm,2025-03-04 10:00 PM",  # DuckDB's cast reads 10:00: refused
        "A8,est,2025-03-04 10:00:00 EST",  # an abbreviation: refused
        "A9,junk,2025-03-04 10:00:00 ABC",
        "A10,dmy,03/04/2025",
    ]
    path = tmp_path / "accounts.csv"
    path.write_text("account_id,name,created_at\n" + "\n".join(lines) + "\n", encoding="utf-8")
    try:
        assert _load(ws, path, "accounts") == (6, 4)
        got = dict(rows(ws, "SELECT account_id, created_at FROM accounts"))
        day = dt.datetime(2025, 3, 4)
        assert got == {
            "A1": day.replace(hour=11),
            "A2": day.replace(hour=16),
            "A3": day.replace(hour=11),
            "A4": day.replace(hour=16),
            "A5": day.replace(hour=10),
            "A6": day,
        }
        reasons = reasons_by_line(ws, "accounts")
        for line in (8, 9, 10):
            [reason] = reasons[line]
            assert "after an ISO date only a time and its offset" in reason
            assert 'date_formats: {created_at: "%Y-%m-%d %I:%M %p"}' in reason
        assert "is not a year-first (ISO) date" in reasons[11][0]
    finally:
        ws.close()


def test_a_declared_am_pm_format_reads_the_afternoon(tmp_path: Path):
    ws = _workspace(tmp_path)
    path = tmp_path / "accounts.csv"
    path.write_text("account_id,name,created_at\nA1,x,2025-03-04 10:00 PM\n", encoding="utf-8")
    try:
        mapping = "date_formats: {created_at: '%Y-%m-%d %I:%M %p'}\n"
        assert _load(ws, path, "accounts", mapping) == (1, 0)
        assert rows(ws, "SELECT created_at FROM accounts") == [(dt.datetime(2025, 3, 4, 22),)]
    finally:
        ws.close()


@pytest.mark.parametrize(
    ("amount", "read"),
    [
        ("1 000", Decimal("1000")),
        ("1\u00a0000,50\u00a0€", None),  # a euro sign in a dollar workspace: refused
        ("1\u202f234\u202f567", Decimal("1234567")),
        ("1'000.50", Decimal("1000.50")),
        ("$ 1 000", Decimal("1000")),
        ("5 10", None),
        ("1 2", None),
        ("1'2'3", None),
        ("5€10", None),
        ("12 3456", None),
    ],
)
def test_spaces_and_apostrophes_separate_thousands_only(
    tmp_path: Path, amount: str, read: Decimal | None
):
    ws = _workspace(tmp_path)
    path = tmp_path / "costs.csv"
    path.write_text(f'date,team,category,amount\n2025-01-01,marketing,media,"{amount}"\n')
    try:
        assert _load(ws, path, "costs") == ((1, 0) if read is not None else (0, 1))
        if read is not None:
            assert rows(ws, "SELECT amount FROM costs") == [(read,)]
    finally:
        ws.close()


def test_typed_numbers_do_not_say_how_the_file_writes_decimals(tmp_path: Path):
    """A JSON number 2500.5 beside a German text "1.500" once made the file 'dot-decimal', and
    the text loaded as 1.5. Typed numbers read exactly and leave the text's mark undecided."""
    ws = _workspace(tmp_path)
    day = {"created_at": "2025-01-01"}
    records = [
        {"account_id": "A1", "name": "typed", "annual_revenue": 2500.5, "employees": 7} | day,
        {"account_id": "A2", "name": "german", "annual_revenue": "1.500", "employees": 8} | day,
        {"account_id": "A3", "name": 0.1, "annual_revenue": 0.30000000000000004} | day,
        {"account_id": "A4", "name": "half", "employees": 7.5} | day,  # not a whole number
    ]
    path = tmp_path / "accounts.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    try:
        assert _load(ws, path, "accounts") == (2, 2)
        got = {
            r[0]: r[1:] for r in rows(ws, "SELECT account_id, name, annual_revenue FROM accounts")
        }
        assert got == {"A1": ("typed", Decimal("2500.50")), "A3": ("0.1", Decimal("0.30"))}
        assert "could be read two ways" in reasons_by_line(ws, "accounts")[2][0]
        [half] = [q for q in ws.ingest.quarantine(table="accounts").to_pylist() if q["line"] == 4]
        assert half["reasons"] == ["employees: cannot read '7.5' as a whole number"]
        assert '"employees":"7.5"' in half["record"]  # the record as the file wrote it
    finally:
        ws.close()
    # Declared, the same text reads as the declaration says; the typed number is unchanged.
    ws = _workspace(tmp_path / "declared")
    try:
        assert _load(ws, path, "accounts", 'decimal: ","\n') == (3, 1)
        got = dict(rows(ws, "SELECT account_id, annual_revenue FROM accounts"))
        assert got == {"A1": Decimal("2500.50"), "A2": Decimal("1500.00"), "A3": Decimal("0.30")}
    finally:
        ws.close()


def test_excel_number_cells_do_not_decide_the_text_s_decimal_mark(tmp_path: Path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["account_id", "name", "annual_revenue", "created_at"])
    sheet.append(["A1", "cell", 2500.5, "2025-01-01"])
    sheet.append(["A2", "text", "1.500", "2025-01-01"])
    path = tmp_path / "accounts.xlsx"
    book.save(path)
    ws = _workspace(tmp_path)
    try:
        assert _load(ws, path, "accounts") == (1, 1)
        assert rows(ws, "SELECT account_id, annual_revenue FROM accounts") == [
            ("A1", Decimal("2500.50"))
        ]
        assert "could be read two ways" in reasons_by_line(ws, "accounts")[3][0]
    finally:
        ws.close()


def test_neutral_numbers_are_exact():
    for value in (2500.5, 0.1, -1.25, 1e-5, 1.5e20, 0.30000000000000004, 123456.789):
        text = neutral_number(value)
        assert "." not in text and "," not in text and float(text) == value


def test_typed_fractions_into_whole_numbers_and_flags_are_refused(tmp_path: Path):
    table = pa.table(
        {
            "date": [dt.date(2025, 1, d) for d in (1, 2, 3)],
            "channel": ["direct"] * 3,
            "source_detail": ["x", "y", "z"],
            "sessions": [1.5, 2.0, 7.0],
        }
    )
    path = tmp_path / "web_traffic.parquet"
    pq.write_table(table, path)
    ws = _workspace(tmp_path)
    try:
        assert _load(ws, path, "web_traffic") == (2, 1)
        assert sorted(r[0] for r in rows(ws, "SELECT sessions FROM web_traffic")) == [2, 7]
        assert "sessions: cannot read '1.5'" in reasons_by_line(ws, "web_traffic")[1][0]
    finally:
        ws.close()


def test_whole_numbers_beyond_a_double_s_precision_are_exact(tmp_path: Path):
    ws = _workspace(tmp_path)
    path = tmp_path / "accounts.csv"
    path.write_text(
        "account_id,name,employees,created_at\n"
        "A1,x,12345678901234567,2025-01-01\nA2,y,42.00,2025-01-01\n"
    )
    try:
        assert _load(ws, path, "accounts") == (2, 0)
        got = dict(rows(ws, "SELECT account_id, employees FROM accounts"))
        assert got == {"A1": 12345678901234567, "A2": 42}
    finally:
        ws.close()


def test_a_currency_sign_must_be_the_row_s_currency(tmp_path: Path):
    ws = _workspace(tmp_path, rates="EUR = 1.1\nGBP = 1.3")
    lines = [
        "2025-01-01,marketing,media,€1000,",  # a euro sign, the row in dollars: refused
        "2025-01-02,marketing,media,£1000,GBP",  # 1300 dollars
        "2025-01-03,marketing,media,$1000,EUR",  # a dollar sign on a euro row: refused
        "2025-01-04,marketing,media,€1000,EUR",  # 1100 dollars
        "2025-01-05,marketing,media,$1000,",  # 1000 dollars
        "2025-01-06,marketing,media,¥1000,",  # refused
    ]
    path = tmp_path / "costs.csv"
    path.write_text("date,team,category,amount,cur\n" + "\n".join(lines) + "\n")
    try:
        assert _load(ws, path, "costs", "currency_column: cur\n") == (3, 3)
        got = {r[0].day: r[1] for r in rows(ws, "SELECT date, amount FROM costs")}
        assert got == {2: Decimal("1300.00"), 4: Decimal("1100.00"), 5: Decimal("1000.00")}
        reasons = reasons_by_line(ws, "costs")
        assert reasons[2] == [
            "amount: '€1000' is written in €, but the row's currency is USD; declare the "
            "currency (currency: or currency_column: in the mapping) or write the amount "
            "without the sign"
        ]
        assert "written in $, but the row's currency is EUR" in reasons[4][0]
        assert "written in ¥" in reasons[7][0]
    finally:
        ws.close()


def test_formulas_without_saved_results_refuse_the_workbook(tmp_path: Path):
    """openpyxl reads a formula that was never calculated as empty: 50 employees would load as
    missing. Such a workbook is refused; the same values saved as results load."""
    import openpyxl

    from revteam.exceptions import SourceFileError

    def book(employees: object) -> Path:
        made = openpyxl.Workbook()
        sheet = made.active
        assert sheet is not None
        sheet.append(["account_id", "name", "employees", "created_at"])
        sheet.append(["A1", "Formula Co", employees, "2025-01-01"])
        path = tmp_path / f"accounts_{employees!s:.2}.xlsx"
        made.save(path)
        return path

    ws = _workspace(tmp_path)
    try:
        with pytest.raises(SourceFileError, match=r"C2 holds a formula whose result was never"):
            ws.ingest.load("accounts", book("=10*5"))
        assert rows(ws, "SELECT count(*) FROM accounts") == [(0,)]
        assert _load(ws, book(50), "accounts") == (1, 0)
        assert rows(ws, "SELECT employees FROM accounts") == [(50,)]
    finally:
        ws.close()


@pytest.mark.parametrize(
    ("header", "mapped", "refused"),
    [
        ("Amount (€)", False, "EUR"),  # matches amount by name
        ("Amount [GBP]", True, "GBP"),  # a name with a code is mapped (columns:) and checked
        ("Amount (USD)", True, None),
        ("Amount ($)", False, None),
    ],
)
def test_a_currency_in_a_column_s_name_must_be_declared(
    tmp_path: Path, header: str, mapped: bool, refused: str | None
):
    """``Amount (€)`` matches ``amount`` by name; in a dollar workspace its euros would have
    loaded as dollars. Declared, the mapping's currency converts them."""
    named = f'columns: {{"{header}": amount}}\n' if mapped else ""
    from revteam.exceptions import SourceFileError

    ws = _workspace(tmp_path, rates="EUR = 1.1\nGBP = 1.3")
    path = tmp_path / "costs.csv"
    path.write_text(f"date,team,category,{header}\n2025-01-01,marketing,media,1000\n")
    try:
        if refused is None:
            assert _load(ws, path, "costs", named or None) == (1, 0)
            return
        with pytest.raises(SourceFileError, match=f"currency: {refused}"):
            _load(ws, path, "costs", named or None)
        assert rows(ws, "SELECT count(*) FROM costs") == [(0,)]
        assert _load(ws, path, "costs", f"{named}currency: {refused}\n") == (1, 0)
        expected = {"EUR": Decimal("1100.00"), "GBP": Decimal("1300.00")}[refused]
        assert rows(ws, "SELECT amount FROM costs") == [(expected,)]
    finally:
        ws.close()


def test_tabs_and_no_break_spaces_around_a_key_are_not_part_of_it(tmp_path: Path):
    ws = _workspace(tmp_path)
    path = tmp_path / "accounts.csv"
    path.write_text(
        "account_id,name,created_at\nB1\u00a0,one,2025-01-01\n\tB2,two,2025-01-01\n",
        encoding="utf-8",
    )
    try:
        assert _load(ws, path, "accounts") == (2, 0)
        assert sorted(rows(ws, "SELECT account_id FROM accounts")) == [("B1",), ("B2",)]
    finally:
        ws.close()


def test_a_date_column_takes_the_day_as_written_whatever_the_zone(tmp_path: Path):
    """A dump writes dates as midnight UTC; converted to New York time they would move to the
    day before. A date is the day written; a timestamp column converts (above)."""
    ws = _workspace(tmp_path, timezone="America/New_York")
    lines = ["2025-03-04T00:00:00Z", "2025-03-05 00:00:00 UTC", "2025-03-06 00:00:00.000+0000"]
    path = tmp_path / "costs.csv"
    path.write_text(
        "date,team,category,amount\n"
        + "".join(f"{d},marketing,media,{n}\n" for n, d in enumerate(lines, start=1))
    )
    try:
        assert _load(ws, path, "costs") == (3, 0)
        got = dict(rows(ws, "SELECT date, amount FROM costs"))
        assert got == {dt.date(2025, 3, d): Decimal(d - 3) for d in (4, 5, 6)}
    finally:
        ws.close()
