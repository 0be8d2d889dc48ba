"""Every kind of bad input lands in quarantine with the right reason; good rows still load."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import write
from tests.ingest.conftest import PEOPLE_HEADER, reasons_by_line, rows

from revteam.exceptions import MissingColumnsError, SourceFileError
from revteam.workspace import Workspace


def _load_people(ws: Workspace, tmp_path: Path, body: str) -> dict[int, list[str]]:
    ws.ingest.load("people", write(tmp_path / "people.csv", PEOPLE_HEADER + body))
    return reasons_by_line(ws, "people")


def test_each_bad_value_is_refused_with_its_reason(accounts_loaded: Workspace, tmp_path: Path):
    body = (
        "P1,a@x.com,paid_search,A1,2024-02-01 10:00:00,2024-02-02,\n"  # 2 good
        "P2,b@x.com,paid_search,A1,not a date,,\n"  # 3 bad timestamp
        "P3,c@x.com,carrier_pigeon,A1,2024-02-01,,\n"  # 4 unknown channel
        ",d@x.com,email,A1,2024-02-01,,\n"  # 5 missing key
        "P5,e@x.com,email,A9,2024-02-01,,\n"  # 6 unknown account
        "P6,f@x.com,email,A2,2024-02-05,2024-02-01,\n"  # 7 mql before created
        "P7,g@x.com,Paid Social,A2,2024-02-05,,\n"  # 8 good (normalised enum)
        "P8,h@x.com,email,,,,\n"  # 9 missing required created_at
    )
    reasons = _load_people(accounts_loaded, tmp_path, body)
    assert sorted(reasons) == [3, 4, 5, 6, 7, 9]
    assert reasons[3] == ["created_at: cannot read 'not a date' as a timestamp"]
    assert "channel: 'carrier_pigeon' is not one of" in reasons[4][0]
    assert reasons[5] == ["person_id: required value is missing"]
    assert reasons[6] == ["account_id: 'A9' not found in accounts (load accounts first)"]
    assert reasons[7] == ["mql_at is before created_at"]
    assert reasons[9] == ["created_at: required value is missing"]
    loaded = rows(accounts_loaded, "SELECT person_id, channel FROM people ORDER BY 1")
    assert loaded == [("P1", "paid_search"), ("P7", "paid_social")]


def test_all_reasons_of_a_row_are_kept(accounts_loaded: Workspace, tmp_path: Path):
    reasons = _load_people(accounts_loaded, tmp_path, "P1,a@x.com,tv,A9,yesterday,,\n")
    assert len(reasons[2]) == 3
    assert {r.split(":")[0] for r in reasons[2]} == {"channel", "account_id", "created_at"}


def test_raw_record_is_kept_verbatim(accounts_loaded: Workspace, tmp_path: Path):
    _load_people(accounts_loaded, tmp_path, "P2,b@x.com,paid_search,A1,not a date,,\n")
    [entry] = accounts_loaded.ingest.quarantine(table="people").to_pylist()
    assert '"created_at":"not a date"' in entry["record"]
    assert entry["source"].endswith("people.csv")


def test_duplicate_keys_within_a_file(accounts_loaded: Workspace, tmp_path: Path):
    body = (
        "P1,a@x.com,email,A1,2024-02-01,,\n"  # 2
        "P1,a@x.com,email,A1,2024-02-01,,\n"  # 3 exact repeat of 2
        "P2,b@x.com,email,A1,2024-02-01,,\n"  # 4 conflicts with 5
        "P2,OTHER@x.com,email,A1,2024-02-01,,\n"  # 5
    )
    reasons = _load_people(accounts_loaded, tmp_path, body)
    assert reasons[3] == ["exact duplicate of line 2"]
    assert "appears on several lines" in reasons[4][0] and "first on line 4" in reasons[4][0]
    assert 5 in reasons
    assert rows(accounts_loaded, "SELECT person_id FROM people") == [("P1",)]


def test_later_stage_fills_earlier_and_is_reported(accounts_loaded: Workspace, tmp_path: Path):
    path = write(tmp_path / "p.csv", PEOPLE_HEADER + "P1,a@x.com,email,A1,2024-02-01,,2024-03-01\n")
    [res] = accounts_loaded.ingest.load("people", path)
    assert rows(accounts_loaded, "SELECT CAST(mql_at AS DATE)::VARCHAR FROM people") == [
        ("2024-03-01",)
    ]
    assert any("mql_at filled from a later stage on 1 row" in n for n in res.notes)


def test_negative_amount_and_rules_on_opportunities(accounts_loaded: Workspace, tmp_path: Path):
    head = (
        "opportunity_id,account_id,type,created_at,closed_at,stage,is_closed,is_won,amount,"
        "probability\n"
    )
    body = (
        'O1,A1,new_business,2024-01-01,2024-02-01,closed_won,true,true,"$1,200.50",1\n'  # 2 good
        "O2,A1,new_business,2024-01-01,,qualification,false,false,-5,0.1\n"  # 3 negative
        "O3,A1,new_business,2024-01-01,,closed_won,false,true,10,0.1\n"  # 4 rules
        "O4,A1,upsell,2024-03-01,2024-02-01,closed_lost,yes,no,10,1.5\n"  # 5 order, prob
        "O5,A1,new_business,2024-01-01,,proposal,maybe,false,10,0.5\n"  # 6 bad boolean
    )
    accounts_loaded.ingest.load("opportunities", write(tmp_path / "o.csv", head + body))
    reasons = reasons_by_line(accounts_loaded, "opportunities")
    assert sorted(reasons) == [3, 4, 5, 6]
    assert reasons[3] == ["amount: -5.00 is negative"]
    assert set(reasons[4]) == {
        "is_won is true but is_closed is false",
        "stage disagrees with is_closed/is_won",
    }
    assert set(reasons[5]) == {"probability: 1.5 is above 1", "closed_at is before created_at"}
    assert reasons[6][0] == "is_closed: cannot read 'maybe' as true/false"
    assert rows(accounts_loaded, "SELECT amount::VARCHAR FROM opportunities") == [("1200.50",)]


def test_invalid_utf8_and_malformed_csv_records(accounts_loaded: Workspace, tmp_path: Path):
    path = tmp_path / "p.csv"
    path.write_bytes(
        PEOPLE_HEADER.encode()
        + b"P1,a@x.com,email,A1,2024-02-01,,\n"  # 2
        + b"P2,b\xff@x.com,email,A1,2024-02-01,,\n"  # 3 not utf-8
        + b"P3,c@x.com,email,A1,2024-02-01,,,extra\n"  # 4 too many columns
        + b"P4,d@x.com,email,A1,2024-02-01,,\n"  # 5
    )
    [res] = accounts_loaded.ingest.load("people", path)
    reasons = reasons_by_line(accounts_loaded, "people")
    assert sorted(reasons) == [3, 4]
    assert "not valid utf-8 text" in reasons[3][0]
    assert "malformed CSV record" in reasons[4][0]
    assert res.rows_read == 4 and res.inserted == 2 and res.quarantined == 2
    assert rows(accounts_loaded, "SELECT person_id FROM people ORDER BY 1") == [("P1",), ("P4",)]


def test_latin1_file_reads_with_encoding_in_mapping(ws: Workspace, tmp_path: Path):
    path = tmp_path / "a.csv"
    path.write_bytes("account_id,name,created_at\nA1,Müller GmbH,2024-01-01\n".encode("latin-1"))
    mapping = write(tmp_path / "m.yaml", "encoding: latin-1\n")
    [res] = ws.ingest.load("accounts", path, mapping=mapping)
    assert res.inserted == 1
    assert rows(ws, "SELECT name FROM accounts") == [("Müller GmbH",)]


def test_missing_required_column_refuses_the_file(ws: Workspace, tmp_path: Path):
    path = write(tmp_path / "a.csv", "account_id,domain\nA1,acme.com\n")
    with pytest.raises(MissingColumnsError, match=r"needs column\(s\) name, created_at"):
        ws.ingest.load("accounts", path)
    assert rows(ws, "SELECT count(*) FROM accounts") == [(0,)]


def test_unknown_file_type_and_missing_file(ws: Workspace, tmp_path: Path):
    with pytest.raises(SourceFileError, match="unknown file type"):
        ws.ingest.load("accounts", write(tmp_path / "a.docx", "x"))
    with pytest.raises(SourceFileError, match="file not found"):
        ws.ingest.load("accounts", tmp_path / "nope.csv")


def test_timestamps_with_offsets_convert_to_workspace_zone(tmp_path: Path):
    import revteam

    ws = revteam.init(tmp_path / "ws", timezone="Europe/Berlin")
    try:
        path = write(
            tmp_path / "a.csv",
            "account_id,name,created_at\nA1,x,2024-01-15T10:00:00Z\nA2,y,2024-01-15 10:00:00\n",
        )
        ws.ingest.load("accounts", path)
        got = rows(ws, "SELECT account_id, created_at::VARCHAR FROM accounts ORDER BY 1")
        assert got == [("A1", "2024-01-15 11:00:00"), ("A2", "2024-01-15 10:00:00")]
    finally:
        ws.close()


def test_surrounding_spaces_are_trimmed_and_blank_is_missing(ws: Workspace, tmp_path: Path):
    path = write(
        tmp_path / "a.csv",
        'account_id,name,domain,created_at\n" A1 ","  Acme ",acme.com,2024-01-01\n'
        'A2,"   ",beta.com,2024-01-01\nA3,Gamma,"  ",2024-01-01\n',
    )
    ws.ingest.load("accounts", path)
    assert rows(ws, "SELECT account_id, name, domain FROM accounts ORDER BY 1") == [
        ("A1", "Acme", "acme.com"),
        ("A3", "Gamma", None),
    ]
    assert reasons_by_line(ws, "accounts") == {3: ["name: required value is missing"]}


@pytest.mark.parametrize("with_bad_row", [False, True])
def test_filled_stages_are_counted_with_and_without_refused_rows(
    accounts_loaded: Workspace, tmp_path: Path, with_bad_row: bool
):
    body = (
        "P1,a@x.com,email,A1,2024-02-01,,2024-03-01\n"  # mql_at filled
        "P2,b@x.com,email,A1,2024-02-01,2024-02-02,2024-03-01\n"  # nothing filled
        "P3,c@x.com,email,A1,2024-02-01,,\n"  # nothing to fill
    ) + ("P4,d@x.com,email,A9,2024-02-01,,2024-03-01\n" if with_bad_row else "")
    [res] = accounts_loaded.ingest.load("people", write(tmp_path / "p.csv", PEOPLE_HEADER + body))
    assert res.quarantined == int(with_bad_row)
    assert [n for n in res.notes if "filled" in n] == [
        "mql_at filled from a later stage on 1 row(s) (a later stage implies it)"
    ]


def test_many_malformed_records_keep_their_lines(accounts_loaded: Workspace, tmp_path: Path):
    """Malformed records (some in runs, first and last) shift no other record's line."""
    lines, malformed, refused, good = [], set(), set(), set()
    for n in range(2, 302):  # n is the record's line in the file; its email repeats it
        if n % 7 in (0, 1) or n in (2, 301):
            lines.append(f"P{n},l{n}@x.com,email,A1,2024-02-01,,,extra")
            malformed.add(n)
        elif n % 3:
            lines.append(f"P{n},l{n}@x.com,nope,A1,2024-02-01,,")
            refused.add(n)
        else:
            lines.append(f"P{n},l{n}@x.com,email,A1,2024-02-01,,")
            good.add(f"P{n}")
    path = write(tmp_path / "p.csv", PEOPLE_HEADER + "\n".join(lines) + "\n")
    [res] = accounts_loaded.ingest.load("people", path)
    entries = accounts_loaded.ingest.quarantine(table="people", limit=1000).to_pylist()
    assert sorted(e["line"] for e in entries) == sorted(malformed | refused)
    for e in entries:
        assert f"l{e['line']}@x.com" in e["record"]
        kind = "malformed CSV record" if e["line"] in malformed else "channel: 'nope'"
        assert e["reasons"][0].startswith(kind), e
    assert (res.inserted, res.quarantined) == (len(good), len(malformed) + len(refused))
    assert {r[0] for r in rows(accounts_loaded, "SELECT person_id FROM people")} == good
    quarantine = "SELECT line, record, reasons FROM quarantine ORDER BY line"
    before = rows(accounts_loaded, quarantine), accounts_loaded.data_version
    [again] = accounts_loaded.ingest.load("people", path)
    assert (again.inserted, again.updated, again.quarantined) == (0, 0, res.quarantined)
    assert (rows(accounts_loaded, quarantine), accounts_loaded.data_version) == before
