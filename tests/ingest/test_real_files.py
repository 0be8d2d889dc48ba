"""Files as they arrive in practice: bad bytes, JSON arrays, repeated headers, NULs, non-text.

Each case sends a small file through ``ws.ingest.load`` and checks the row-level outcome: the
loaded value, the quarantine reason, or the file-level error text (and that nothing loaded).
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.conftest import write
from tests.ingest.conftest import reasons_by_line, rows

from revteam.exceptions import SourceFileError
from revteam.workspace import Workspace

HEADER = "person_id,email,created_at\n"
PEOPLE = "SELECT person_id, email FROM people ORDER BY 1"


def _refused(ws: Workspace, path: Path, *fragments: str) -> str:
    """Load ``path``, expect a SourceFileError holding every fragment, and nothing loaded."""
    with pytest.raises(SourceFileError) as info:
        ws.ingest.load("people", path)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    assert "Traceback" not in message and "Error:" not in message, message
    assert rows(ws, "SELECT count(*) FROM people") == [(0,)]
    return message


def _xlsx(path: Path, *rows_: list[object]) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows_:
        sheet.append(row)
    book.save(path)
    return path


# 1. JSON Lines with bytes that are not UTF-8 ------------------------------------------------


def test_jsonl_invalid_utf8_record_is_quarantined_and_the_rest_loads(ws: Workspace, tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_bytes(
        b'{"person_id": "P1", "email": "ren\xe9@x.com", "created_at": "2024-01-01"}\n'
        b'{"person_id": "P2", "email": "b@x.com", "created_at": "2024-01-01"}\n'
    )
    [res] = ws.ingest.load("people", path)
    assert (res.rows_read, res.inserted, res.quarantined) == (2, 1, 1)
    assert rows(ws, PEOPLE) == [("P2", "b@x.com")]
    [reason] = reasons_by_line(ws, "people")[1]
    assert reason.startswith("line 1: not valid utf-8 text (byte 0xe9")
    assert "`encoding:` in the mapping file" in reason


def test_jsonl_latin1_loads_with_encoding_in_the_mapping(ws: Workspace, tmp_path: Path):
    path = tmp_path / "p.jsonl"
    path.write_bytes(
        '{"person_id": "P1", "email": "ren\u00e9@x.com", "created_at": "2024-01-01"}\n'.encode(
            "latin-1"
        )
    )
    [res] = ws.ingest.load(
        "people", path, mapping=write(tmp_path / "m.yaml", "encoding: latin-1\n")
    )
    assert res.inserted == 1
    assert rows(ws, PEOPLE) == [("P1", "ren\u00e9@x.com")]


# 2. JSON arrays, objects and scalars ----------------------------------------------------------


@pytest.mark.parametrize("indent", [None, 2])
def test_json_array_of_objects_loads_every_record(ws: Workspace, tmp_path: Path, indent):
    records = [
        {"person_id": "P1", "email": "a@x.com", "created_at": "2024-01-01"},
        {"person_id": "P2", "email": "b@x.com", "created_at": "not a date"},
        "not an object",
        {"person_id": "P4", "email": "d@x.com", "created_at": "2024-01-04"},
    ]
    path = write(tmp_path / "p.json", json.dumps(records, indent=indent))
    [res] = ws.ingest.load("people", path)
    assert (res.rows_read, res.inserted, res.quarantined) == (4, 2, 2)
    assert rows(ws, PEOPLE) == [("P1", "a@x.com"), ("P4", "d@x.com")]
    reasons = reasons_by_line(ws, "people")  # the record number is its index + 1
    assert sorted(reasons) == [2, 3]
    assert reasons[2] == ["created_at: cannot read 'not a date' as a timestamp"]
    assert reasons[3] == [
        "record 3: a record of a JSON array must be an object ({...}), not a string"
    ]


def test_json_object_scalar_empty_array_and_broken_array_are_refused(ws, tmp_path: Path):
    obj = write(tmp_path / "o.json", json.dumps({"results": [{"person_id": "P1"}]}, indent=2))
    _refused(ws, obj, "holds one JSON object (keys: results)", "JSON array of objects")
    _refused(ws, write(tmp_path / "s.json", "42\n"), "a single JSON value (a number)")
    _refused(ws, write(tmp_path / "e.json", "[]\n"), "the JSON array is empty")
    broken = write(tmp_path / "b.json", '[{"person_id": "P1", "created_at": "2024-01-01"},\n')
    _refused(ws, broken, "starts like a JSON array but is not valid JSON", "line 2")


def test_json_lines_record_with_a_repeated_key_is_quarantined(ws: Workspace, tmp_path: Path):
    path = write(
        tmp_path / "p.jsonl",
        '{"person_id": "P1", "email": "a@x.com", "email": "b@x.com", "created_at": "2024-01-01"}\n'
        '{"person_id": "P2", "email": "c@x.com", "created_at": "2024-01-01"}\n',
    )
    ws.ingest.load("people", path)
    assert rows(ws, PEOPLE) == [("P2", "c@x.com")]
    assert reasons_by_line(ws, "people") == {
        1: ["line 1: key 'email' appears twice in the record; keep one of them"]
    }


# 3. Repeated column names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "shown"),
    [
        (["person_id", "email", "created_at", "email"], "'email' and 'email' have the same name"),
        (["person_id", "Email", "created_at", "email"], "'Email' and 'email' have names that"),
        (["person_id", "created_at", "Created At"], "'created_at' and 'Created At' have names"),
    ],
)
@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_repeated_headers_refuse_the_file_naming_both(ws, tmp_path: Path, header, shown, suffix):
    values = ["P1", "a@x.com", "2024-01-01", "b@x.com"][: len(header)]
    if suffix == ".csv":
        path = write(tmp_path / "p.csv", ",".join(header) + "\n" + ",".join(values) + "\n")
    else:
        path = _xlsx(tmp_path / "p.xlsx", header, values)
    _refused(ws, path, shown, "unclear which one holds the data", "rename or remove one")


def test_repeated_header_with_semicolons_and_quotes_is_found(ws: Workspace, tmp_path: Path):
    path = write(tmp_path / "p.csv", 'person_id;"e;mail";created_at;"e;mail"\nP1;a;2024-01-01;b\n')
    _refused(ws, path, "'e;mail' and 'e;mail' have the same name")


def test_a_column_named_like_a_renamed_duplicate_still_loads(ws: Workspace, tmp_path: Path):
    path = write(
        tmp_path / "p.csv", "person_id,email,email_1,created_at\nP1,a@x.com,z,2024-01-01\n"
    )
    [res] = ws.ingest.load("people", path)
    assert res.inserted == 1 and rows(ws, PEOPLE) == [("P1", "a@x.com")]


def test_normalised_duplicate_is_allowed_when_the_mapping_picks_one(ws, tmp_path: Path):
    path = write(
        tmp_path / "p.csv", "person_id,Email,email,created_at\nP1,a@x.com,b@x.com,2024-01-01\n"
    )
    mapping = write(tmp_path / "m.yaml", "columns: {Email: email}\n")
    [res] = ws.ingest.load("people", path, mapping=mapping)
    assert res.inserted == 1 and rows(ws, PEOPLE) == [("P1", "a@x.com")]


def test_json_keys_that_collide_after_normalisation_refuse_the_file(ws, tmp_path: Path):
    path = write(
        tmp_path / "p.jsonl",
        '{"person_id": "P1", "created_at": "2024-01-01"}\n'
        '{"person_id": "P2", "Created At": "2024-01-02"}\n',
    )
    _refused(ws, path, "'created_at' and 'Created At'")


def test_parquet_columns_that_collide_after_normalisation_refuse_the_file(ws, tmp_path: Path):
    path = tmp_path / "p.parquet"
    pq.write_table(
        pa.table({"person_id": ["P1"], "created_at": ["2024-01-01"], "Created At": ["2025-01-01"]}),
        path,
    )
    _refused(ws, path, "'created_at' and 'Created At'")


# 4. NUL characters ----------------------------------------------------------------------------


def test_nul_in_a_csv_key_or_value_is_quarantined(ws: Workspace, tmp_path: Path):
    path = tmp_path / "p.csv"
    path.write_bytes(
        HEADER.encode()
        + b"P\x001,a@x.com,2024-01-01\n"  # 2
        + b"P2,b\x00@x.com,2024-01-01\n"  # 3
        + b"P3,c@x.com,2024-01-01\n"  # 4
    )
    [res] = ws.ingest.load("people", path)
    assert (res.rows_read, res.inserted, res.quarantined) == (3, 1, 2)
    assert rows(ws, PEOPLE) == [("P3", "c@x.com")]
    reasons = reasons_by_line(ws, "people")
    assert reasons[2][0].startswith("person_id: holds a NUL character (byte 0)")
    assert reasons[3][0].startswith("email: holds a NUL character")
    raw = {r["line"]: r["record"] for r in ws.ingest.quarantine().to_pylist()}
    assert "P\\u00001" in raw[2]


def test_nul_in_csv_line_numbers_stay_right_after_malformed_records(ws, tmp_path: Path):
    path = tmp_path / "p.csv"
    path.write_bytes(
        HEADER.encode()
        + b"P1,a@x.com,2024-01-01,extra\n"  # 2 too many columns
        + b"P\x002,b@x.com,2024-01-01\n"  # 3
        + b"P3,c@x.com,2024-01-01\n"  # 4
    )
    ws.ingest.load("people", path)
    assert rows(ws, PEOPLE) == [("P3", "c@x.com")]
    reasons = reasons_by_line(ws, "people")
    assert sorted(reasons) == [2, 3] and "NUL" in reasons[3][0]


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_nul_in_a_key_is_quarantined_in_other_formats(ws: Workspace, tmp_path: Path, suffix):
    records = [
        {"person_id": "P\x001", "email": "a@x.com", "created_at": "2024-01-01"},
        {"person_id": "P2", "email": "b@x.com", "created_at": "2024-01-01"},
    ]
    path = tmp_path / f"p{suffix}"
    if suffix == ".jsonl":
        write(path, "".join(json.dumps(r) + "\n" for r in records))
    else:
        pq.write_table(pa.Table.from_pylist(records), path)
    [res] = ws.ingest.load("people", path)
    assert (res.inserted, res.quarantined) == (1, 1)
    assert rows(ws, PEOPLE) == [("P2", "b@x.com")]
    assert reasons_by_line(ws, "people")[1][0].startswith("person_id: holds a NUL character")


# 5. Files that are not what their name says -------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet", ".xlsx"])
def test_empty_file_is_refused(ws: Workspace, tmp_path: Path, suffix):
    path = tmp_path / f"p{suffix}"
    path.write_bytes(b"")
    _refused(ws, path, "the file is empty (0 bytes)", "export or copy it again")


def test_header_only_csv_loads_nothing_without_error(ws: Workspace, tmp_path: Path):
    [res] = ws.ingest.load("people", write(tmp_path / "p.csv", HEADER))
    assert (res.rows_read, res.inserted, res.quarantined) == (0, 0, 0)


def test_blank_json_lines_file_is_refused(ws: Workspace, tmp_path: Path):
    _refused(ws, write(tmp_path / "p.jsonl", "\n  \n"), "the file holds no records")


def test_compressed_and_binary_files_named_csv_are_refused(ws: Workspace, tmp_path: Path):
    text = (HEADER + "P1,a@x.com,2024-01-01\n").encode()
    gz = tmp_path / "g.csv"
    gz.write_bytes(gzip.compress(text))
    _refused(ws, gz, "this is a gzip-compressed file, not CSV text", "gunzip")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("people.csv", text)
    zp = tmp_path / "z.csv"
    zp.write_bytes(buf.getvalue())
    _refused(ws, zp, "this is a zip archive (it holds people.csv)", "unzip it")
    book = _xlsx(tmp_path / "book.xlsx", ["person_id"], ["P1"])
    renamed = tmp_path / "book.csv"
    renamed.write_bytes(book.read_bytes())
    _refused(ws, renamed, "this is an Excel workbook", "suffix .xlsx")
    png = tmp_path / "i.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    _refused(ws, png, "this is not CSV text (it holds binary data)")


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le"])
def test_utf16_without_a_mapping_is_refused_and_loads_with_one(ws, tmp_path, suffix, codec):
    text = (
        HEADER + "P1,ren\u00e9@x.com,2024-01-01\n"
        if suffix == ".csv"
        else '{"person_id": "P1", "email": "ren\u00e9@x.com", "created_at": "2024-01-01"}\n'
    )
    path = tmp_path / f"p{suffix}"
    path.write_bytes(text.encode(codec))
    _refused(ws, path, "the file is UTF-16 text", "`encoding: utf-16`")
    if codec == "utf-16":  # with a byte-order mark, as Excel and Windows tools write it
        mapping = write(tmp_path / "m.yaml", "encoding: utf-16\n")
        [res] = ws.ingest.load("people", path, mapping=mapping)
        assert res.inserted == 1 and rows(ws, PEOPLE) == [("P1", "ren\u00e9@x.com")]


def test_truncated_and_fake_parquet_files_are_refused(ws: Workspace, tmp_path: Path):
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"person_id": ["P1"], "created_at": ["2024-01-01"]}), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _refused(ws, path, "the Parquet file is incomplete", "copy or export the file again")
    path.write_bytes((HEADER + "P1,a@x.com,2024-01-01\n").encode())
    _refused(ws, path, "this is not a Parquet file")


def test_old_xls_and_text_named_xlsx_are_refused(ws: Workspace, tmp_path: Path):
    path = tmp_path / "p.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512))
    _refused(ws, path, "this is not an Excel .xlsx workbook", "saved as .xlsx")
    path.write_bytes(HEADER.encode())
    _refused(ws, path, "this is not an Excel .xlsx workbook")
