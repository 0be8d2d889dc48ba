"""Values that used to load wrong without a word: two-digit years and European numbers.

Each test sends the input and asserts the row-level outcome: the loaded value, or the refusal
with its reason. A number or date is read one way only when the file says which; otherwise the
row is refused with the fix, never guessed.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.ingest.conftest import reasons_by_line, rows

import revteam
from revteam.exceptions import ConfigError, SourceFileError
from revteam.workspace import Workspace

HEAD = "account_id;name;employees;annual_revenue;created_at\n"


def load(ws: Workspace, tmp: Path, text: str, mapping: str | None = None) -> tuple[int, int]:
    path = tmp / "accounts.csv"
    path.write_text(text, encoding="utf-8")
    spec = None
    if mapping is not None:
        spec = tmp / "m.yaml"
        spec.write_text(mapping, encoding="utf-8")
    [result] = ws.ingest.load("accounts", path, mapping=spec)
    return result.inserted, result.quarantined


def loaded(ws: Workspace) -> dict[str, tuple[object, ...]]:
    got = rows(ws, "SELECT account_id, employees, annual_revenue, created_at FROM accounts")
    return {str(r[0]): r[1:] for r in got}


@pytest.mark.parametrize("value", ["1/2/25", "31/12/24", "25-01-02"])
def test_two_digit_years_are_refused_with_the_fix(ws: Workspace, tmp_path: Path, value: str):
    text = HEAD.replace(";", ",") + f"A1,x,5,100,{value}\nA2,y,5,100,2024-03-01\n"
    assert load(ws, tmp_path, text) == (1, 1)
    [reason] = reasons_by_line(ws, "accounts")[2]
    assert reason.startswith(f"created_at: '{value}' is not a year-first (ISO) date")
    assert 'date_formats: {created_at: "%d/%m/%y"}' in reason
    assert set(loaded(ws)) == {"A2"}


def test_a_declared_two_digit_year_reads_right(ws: Workspace, tmp_path: Path):
    text = HEAD + "A1;x;5;100;31/12/24\nA2;y;5;100;1/2/69\n"
    assert load(ws, tmp_path, text, "date_formats: {created_at: '%d/%m/%y'}\n") == (1, 1)
    assert loaded(ws)["A1"][2] == dt.datetime(2024, 12, 31)
    # %y reads 69 as 1969: outside the plausible years, so refused rather than trusted.
    assert "1969-02-01, outside the plausible years" in reasons_by_line(ws, "accounts")[3][0]


def test_plausible_years_are_a_setting_and_bind_typed_files_too(tmp_path: Path):
    ws = revteam.init(tmp_path / "ws", plausible_years=[1900, 2100])
    try:
        text = HEAD + "A1;x;5;100;1950-06-01\nA2;y;5;100;2150-01-01\n"
        assert load(ws, tmp_path, text) == (1, 1)
        assert "1950" in str(loaded(ws)["A1"][2])
        table = pa.table(
            {
                "account_id": ["P1", "P2"],
                "name": ["p", "q"],
                "created_at": [dt.datetime(1850, 1, 1), dt.datetime(2020, 1, 1)],
            }
        )
        pq.write_table(table, tmp_path / "accounts.parquet")
        [res] = ws.ingest.load("accounts", tmp_path / "accounts.parquet")
        assert (res.inserted, res.quarantined) == (1, 1)
    finally:
        ws.close()
    with pytest.raises(ConfigError, match="plausible_years"):
        revteam.init(tmp_path / "bad", plausible_years=[2100, 1970])


def test_european_numbers_are_read_when_the_file_says_so(ws: Workspace, tmp_path: Path):
    text = HEAD + "A1;x;20.000;1.200,50;2024-01-02\nA2;y;1.200;3,5;2024-01-03\n"
    assert load(ws, tmp_path, text) == (2, 0)
    got = loaded(ws)
    assert got["A1"][:2] == (20000, Decimal("1200.50"))
    assert got["A2"][:2] == (1200, Decimal("3.50"))


def test_us_numbers_are_read_when_the_file_says_so(ws: Workspace, tmp_path: Path):
    text = (
        HEAD.replace(";", ",") + 'A1,x,"1,200","1,234.50",2024-01-02\nA2,y,7,"2,500",2024-01-03\n'
    )
    assert load(ws, tmp_path, text) == (2, 0)
    got = loaded(ws)
    assert got["A1"][:2] == (1200, Decimal("1234.50"))
    assert got["A2"][:2] == (7, Decimal("2500.00"))


def test_a_number_that_reads_two_ways_is_refused_not_guessed(ws: Workspace, tmp_path: Path):
    text = HEAD + "A1;x;1.200;100;2024-01-02\nA2;y;7;0,125;2024-01-03\nA3;z;8;1.5;2024-01-04\n"
    # 0,125 and 1.5 each say their own mark, but they disagree: only 1.200 stays unreadable.
    assert load(ws, tmp_path, text) == (2, 1)
    [reason] = reasons_by_line(ws, "accounts")[2]
    assert reason.startswith("employees: '1.200' could be read two ways")
    assert 'decimal: ","' in reason and "locale" in reason
    got = loaded(ws)
    assert got["A2"][1] == Decimal("0.13") and got["A3"][1] == Decimal("1.50")


@pytest.mark.parametrize(
    ("mapping", "employees", "revenue"),
    [
        ("decimal: ','\n", 1200, Decimal("1200.00")),
        ("locale: de_DE\n", 1200, Decimal("1200.00")),
        ("decimal: '.'\n", None, Decimal("1.20")),  # 1.200 employees is not a whole number
    ],
)
def test_a_declared_decimal_mark_wins(
    ws: Workspace, tmp_path: Path, mapping: str, employees: int | None, revenue: Decimal
):
    text = HEAD + "A1;x;1.200;1.200;2024-01-02\n"
    load(ws, tmp_path, text, mapping)
    got = loaded(ws).get("A1")
    if employees is None:
        assert got is None
        assert (
            "employees: cannot read '1.200' as a whole number"
            in (reasons_by_line(ws, "accounts")[2])
        )
    else:
        assert got is not None and got[:2] == (employees, revenue)


def test_a_declared_mark_refuses_numbers_written_the_other_way(ws: Workspace, tmp_path: Path):
    text = HEAD + "A1;x;5;1,234.50;2024-01-02\n"
    assert load(ws, tmp_path, text, "decimal: ','\n") == (0, 1)
    assert (
        "annual_revenue: cannot read '1,234.50' as an amount"
        in (reasons_by_line(ws, "accounts")[2])
    )


def test_an_unknown_locale_is_refused_with_the_choices(ws: Workspace, tmp_path: Path):
    with pytest.raises(SourceFileError, match="locale 'xx' is not known"):
        load(ws, tmp_path, HEAD + "A1;x;5;1;2024-01-02\n", "locale: xx\n")


def test_a_corrected_file_replaces_its_refusals_and_clear_forgets(ws: Workspace, tmp_path: Path):
    assert load(ws, tmp_path, HEAD + "A1;x;5;100;1/2/25\nA2;y;1.200;100;2024-01-02\n") == (0, 2)
    assert ws.ingest.quarantine(table="accounts").num_rows == 2
    # The same path, corrected: its old refusals go; only what is still wrong stays.
    assert load(ws, tmp_path, HEAD + "A1;x;5;100;2025-02-01\nA2;y;1.200;100;2024-01-02\n") == (
        1,
        1,
    )
    [left] = ws.ingest.quarantine(table="accounts").to_pylist()
    assert left["line"] == 3 and "employees" in left["reasons"][0]
    other = tmp_path / "other.csv"
    other.write_text(HEAD + "B1;z;5;100;0099-01-01\n", encoding="utf-8")
    ws.ingest.load("accounts", other)
    assert ws.ingest.clear_quarantine(source=str(other)) == 1
    assert ws.ingest.quarantine(table="accounts").num_rows == 1
    assert ws.ingest.clear_quarantine(table="accounts") == 1
    assert ws.ingest.quarantine().num_rows == 0
    assert set(loaded(ws)) == {"A1"}  # clearing refusals never touches the data


def test_windows_1252_files_load_when_declared(ws: Workspace, tmp_path: Path):
    text = "account_id,name,created_at\nA1,Caf\u00e9 \u201cNord\u201d \u2013 \u20ac,2024-01-02\n"
    path = tmp_path / "accounts.csv"
    path.write_bytes(text.encode("cp1252"))
    # Undeclared, the bytes are not UTF-8: refused, and the reason names windows-1252.
    [res] = ws.ingest.load("accounts", path)
    assert (res.inserted, res.quarantined) == (0, 1)
    assert "windows-1252" in reasons_by_line(ws, "accounts")[2][0]
    for name in ("windows-1252", "cp1252"):
        spec = tmp_path / "m.yaml"
        spec.write_text(f"encoding: {name}\n", encoding="utf-8")
        [res] = ws.ingest.load("accounts", path, mapping=spec)
        assert res.quarantined == 0
        assert rows(ws, "SELECT name FROM accounts") == [
            ("Caf\u00e9 \u201cNord\u201d \u2013 \u20ac",)
        ]
    path.write_bytes(b"account_id,name,created_at\nA2,bad \x81 byte,2024-01-02\n")
    with pytest.raises(SourceFileError, match="byte 0x81 is not a windows-1252 character"):
        ws.ingest.load("accounts", path, mapping=spec)
    assert rows(ws, "SELECT count(*) FROM accounts") == [(1,)]
