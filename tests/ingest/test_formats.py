"""The same records load the same from CSV, TSV, Parquet, JSON Lines and Excel; mappings apply."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.conftest import write
from tests.ingest.conftest import reasons_by_line, rows

from revteam.exceptions import ConfigError, IngestError, SourceFileError
from revteam.workspace import Workspace

RECORDS = [
    {
        "campaign_id": "C1",
        "name": "Spring ads",
        "channel": "paid_search",
        "start_date": "2024-03-01",
        "end_date": "2024-04-30",
        "budget": "1000.5",
    },
    {
        "campaign_id": "C2",
        "name": "Webinar, Q2",
        "channel": "webinar",
        "start_date": "2024-04-01",
        "end_date": "",
        "budget": "",
    },
    {
        "campaign_id": "C3",
        "name": "Broken",
        "channel": "webinar",
        "start_date": "2024-04-10",
        "end_date": "2024-04-01",
        "budget": "10",
    },
]
EXPECTED = [
    ("C1", "Spring ads", "paid_search", "2024-03-01", "2024-04-30", "1000.50"),
    ("C2", "Webinar, Q2", "webinar", "2024-04-01", None, None),
]
QUERY = (
    "SELECT campaign_id, name, channel, start_date::VARCHAR, end_date::VARCHAR, budget::VARCHAR "
    "FROM campaigns ORDER BY 1"
)


def _csv(path: Path, sep: str = ",") -> Path:
    cols = list(RECORDS[0])
    lines = [sep.join(cols)]
    for r in RECORDS:
        lines.append(sep.join(f'"{r[c]}"' if sep in r[c] else r[c] for c in cols))
    return write(path, "\n".join(lines) + "\n")


def _parquet(path: Path) -> Path:
    table = pa.table(
        {
            "campaign_id": [r["campaign_id"] for r in RECORDS],
            "name": [r["name"] for r in RECORDS],
            "channel": [r["channel"] for r in RECORDS],
            "start_date": pa.array(
                [pa.scalar(r["start_date"]).cast(pa.date32()).as_py() for r in RECORDS], pa.date32()
            ),
            "end_date": pa.array(
                [
                    pa.scalar(r["end_date"]).cast(pa.date32()).as_py() if r["end_date"] else None
                    for r in RECORDS
                ],
                pa.date32(),
            ),
            "budget": pa.array([float(r["budget"]) if r["budget"] else None for r in RECORDS]),
        }
    )
    pq.write_table(table, path)
    return path


def _jsonl(path: Path) -> Path:
    recs = [{k: (v or None) for k, v in r.items()} for r in RECORDS]
    return write(path, "\n".join(json.dumps(r) for r in recs) + "\n")


def _excel(path: Path) -> Path:
    import datetime as dt

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(RECORDS[0]))
    for r in RECORDS:
        sheet.append(
            [
                dt.date.fromisoformat(v)
                if k.endswith("date") and v
                else (float(v) if k == "budget" and v else (v or None))
                for k, v in r.items()
            ]
        )
    book.save(path)
    return path


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("c.csv", _csv),
        ("c.tsv", lambda p: _csv(p, "\t")),
        ("c.parquet", _parquet),
        ("c.jsonl", _jsonl),
        ("c.xlsx", _excel),
    ],
)
def test_every_format_loads_the_same(ws: Workspace, tmp_path: Path, name, make):
    [res] = ws.ingest.load("campaigns", make(tmp_path / name))
    assert (res.inserted, res.quarantined) == (2, 1)
    assert rows(ws, QUERY) == EXPECTED
    assert reasons_by_line(ws, "campaigns")[4 if name.endswith(("csv", "tsv", "xlsx")) else 3] == [
        "end_date is before start_date"
    ]


def test_invalid_json_lines_are_quarantined_with_line_numbers(ws: Workspace, tmp_path: Path):
    path = write(
        tmp_path / "c.jsonl",
        '{"campaign_id": "C1", "name": "a", "channel": "email", "start_date": "2024-01-01"}\n'
        "\n"
        "{not json\n"
        "[1, 2]\n"
        '{"campaign_id": "C2", "name": "b", "channel": "email", "start_date": "2024-01-01"}\n',
    )
    [res] = ws.ingest.load("campaigns", path)
    reasons = reasons_by_line(ws, "campaigns")
    assert sorted(reasons) == [3, 4]
    assert reasons[3][0].startswith("not valid JSON")
    assert res.inserted == 2


def test_mapping_renames_maps_values_parses_dates_and_converts_currency(
    tmp_path: Path,
) -> None:
    import revteam

    ws = revteam.init(tmp_path / "ws", exchange_rates={"EUR": 1.1})
    try:
        write(tmp_path / "a.csv", "account_id,name,created_at\nA1,x,2024-01-01\n")
        ws.ingest.load("accounts", tmp_path / "a.csv")
        src = write(
            tmp_path / "deals.csv",
            "Deal ID;Company;Deal Stage;Created;Amount;Cur;Extra\n"
            "D1;A1;Closed Won;03/02/2024 10:30;1.000;EUR;x\n"
            "D2;A1;Appointment Scheduled;04/02/2024 11:00;200;USD;y\n"
            "D3;A1;Appointment Scheduled;05/02/2024 11:00;200;GBP;z\n",
        )
        mapping = write(
            tmp_path / "m.yaml",
            """
table: opportunities
delimiter: ";"
columns: {Deal ID: opportunity_id, Company: account_id, Deal Stage: stage, Created: created_at,
          Amount: amount}
values:
  stage: {closed won: closed_won, appointment scheduled: qualification}
date_formats: {created_at: "%d/%m/%Y %H:%M"}
defaults: {type: new_business, is_closed: false, is_won: false}
currency_column: Cur
""",
        )
        [res] = ws.ingest.load("opportunities", src, mapping=mapping)
        got = rows(
            ws,
            "SELECT opportunity_id, stage, created_at::VARCHAR, amount::VARCHAR "
            "FROM opportunities ORDER BY 1",
        )
        # D1 is closed_won with is_closed false: refused by the stage rule, not silently fixed.
        assert got == [("D2", "qualification", "2024-02-04 11:00:00", "200.00")]
        reasons = reasons_by_line(ws, "opportunities")
        # "1.000" in a ;-file could be 1.0 or 1000 and nothing in the file tells: refused too.
        assert reasons[2][0] == "stage disagrees with is_closed/is_won"
        assert reasons[2][1].startswith("amount: '1.000' could be read two ways")
        assert reasons[4] == [
            "amount: no exchange rate for this row's currency; add it to exchange_rates in "
            "revteam.toml"
        ]
        assert any("Extra" in n for n in res.notes)
    finally:
        ws.close()


def test_file_currency_is_converted(tmp_path: Path) -> None:
    import revteam

    ws = revteam.init(tmp_path / "ws", exchange_rates={"EUR": 1.1})
    try:
        write(tmp_path / "a.csv", "account_id,name,created_at\nA1,x,2024-01-01\n")
        ws.ingest.load("accounts", tmp_path / "a.csv")
        src = write(
            tmp_path / "o.csv", "order_id,account_id,ordered_at,amount\nX1,A1,2024-01-02,100\n"
        )
        ws.ingest.load("orders", src, mapping=write(tmp_path / "m.yaml", "currency: EUR\n"))
        assert rows(ws, "SELECT amount::VARCHAR FROM orders") == [("110.00",)]
        with pytest.raises(ConfigError, match="no exchange rate for it"):
            ws.ingest.load("orders", src, mapping=write(tmp_path / "m2.yaml", "currency: JPY\n"))
    finally:
        ws.close()


def test_bad_mapping_files_are_refused_with_every_problem(ws: Workspace, tmp_path: Path):
    src = write(tmp_path / "a.csv", "account_id,name,created_at\nA1,x,2024-01-01\n")
    bad = write(tmp_path / "m.yaml", "colums: {a: b}\nencoding: 5\n")
    with pytest.raises(SourceFileError) as info:
        ws.ingest.load("accounts", src, mapping=bad)
    assert "colums" in str(info.value) and "encoding" in str(info.value)
    wrong_table = write(tmp_path / "m2.yaml", "table: people\n")
    with pytest.raises(IngestError, match="for table 'people'"):
        ws.ingest.load("accounts", src, mapping=wrong_table)
    unknown_target = write(tmp_path / "m3.yaml", "columns: {name: nom}\n")
    with pytest.raises(SourceFileError, match="nom"):
        ws.ingest.load("accounts", src, mapping=unknown_target)
    assert rows(ws, "SELECT count(*) FROM accounts") == [(0,)]
