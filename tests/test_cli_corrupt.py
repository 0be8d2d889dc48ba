"""A warehouse file that cannot be read: a message with the file and the fix, never a traceback."""

from __future__ import annotations

import random
import shutil
import struct
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

import revteam
from revteam.cli import app
from revteam.exceptions import ConfigError, IngestError, UnreadableWarehouseError
from revteam.generate import GeneratorConfig, generate_company

runner = CliRunner()
WAREHOUSE = "warehouse.duckdb"


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small company in a closed workspace, to be copied and damaged by each test."""
    root = tmp_path_factory.mktemp("corrupt")
    generate_company(GeneratorConfig(n_leads=3_000, seed=3)).write(root / "data")
    with revteam.init(root / "ws") as ws:
        ws.ingest.load_directory(root / "data")
    return root


@pytest.fixture
def ws_dir(company: Path, tmp_path: Path) -> Path:
    shutil.copytree(company / "ws", tmp_path / "ws")
    return tmp_path / "ws"


def _text(data: bytes) -> bytes:
    return b"account_id,name\nA1,Acme\n"  # a CSV saved under the warehouse's name


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]  # a copy cut short


def _garbage_in_the_middle(data: bytes) -> bytes:
    out, n, rnd = bytearray(data), len(data), random.Random(0)
    out[n // 4 : 3 * n // 4] = rnd.randbytes(3 * n // 4 - n // 4)
    return bytes(out)


def _newer_duckdb(data: bytes) -> bytes:
    """The file as a newer DuckDB would write it: a higher storage version in the main header.

    The header holds a checksum (bytes 0-8) of the rest of its 4 KiB block, then ``DUCK`` and
    the storage version (bytes 12-20); the checksum is DuckDB's, recomputed so that only the
    version is wrong.
    """
    out = bytearray(data)
    struct.pack_into("<Q", out, 12, 5000)
    words = struct.unpack_from("<511Q", out, 8)
    checksum = 5381
    for word in words:
        checksum ^= (word * 0xBF58476D1CE4E5B9) & 0xFFFF_FFFF_FFFF_FFFF
    struct.pack_into("<Q", out, 0, checksum)
    return bytes(out)


def _damage(ws: Path, how: Callable[[bytes], bytes]) -> Path:
    path = ws / WAREHOUSE
    path.write_bytes(how(path.read_bytes()))
    return path


def _run(ws: Path, *args: str):
    return runner.invoke(app, ["-w", str(ws), *args])


COMMANDS = {
    "status": ("status",),
    "kpis": ("kpis",),
    "ingest": ("ingest", "accounts", "{data}/accounts.parquet"),
}


@pytest.mark.parametrize(
    ("how", "problem"),
    [
        (_text, "it is not a DuckDB database at all"),
        (_truncated, "it is incomplete"),
        (_newer_duckdb, "it was written by a newer version of DuckDB"),
    ],
    ids=["text", "truncated", "newer-duckdb"],
)
@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_says_the_file_is_unreadable_and_how_to_fix_it(
    company: Path, ws_dir: Path, how: Callable[[bytes], bytes], problem: str, command: str
):
    path = _damage(ws_dir, how)
    args = [a.format(data=company / "data") for a in COMMANDS[command]]
    result = _run(ws_dir, *args)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # no traceback
    message = " ".join(result.output.split())
    assert f"The warehouse file {path} is not a readable revteam warehouse: {problem}" in message
    fix = "Upgrade revteam" if how is _newer_duckdb else "Restore it from a backup"
    assert fix in message and "Traceback" not in result.output


def test_a_damaged_part_is_reported_when_a_query_reads_it(ws_dir: Path):
    # The file opens; the kpis read the damaged blocks.
    path = _damage(ws_dir, _garbage_in_the_middle)
    result = _run(ws_dir, "kpis")
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert (
        f"The warehouse file {path} is not a readable revteam warehouse: it is damaged" in message
    )
    assert "Traceback" not in result.output


def test_moving_the_file_aside_and_loading_again_is_the_way_out(company: Path, ws_dir: Path):
    path = _damage(ws_dir, _text)
    path.rename(path.with_name("warehouse.duckdb.damaged"))
    status = _run(ws_dir, "status")
    assert status.exit_code == 2 and "Load data with `revteam ingest" in status.output
    loaded = _run(ws_dir, "ingest", "accounts", str(company / "data" / "accounts.parquet"))
    assert loaded.exit_code == 0, loaded.output
    with revteam.open(ws_dir, read_only=True) as ws:
        assert {t.name: t.rows for t in ws.status().tables}["accounts"] > 0


def test_the_python_api_raises_a_revteam_error(ws_dir: Path):
    path = _damage(ws_dir, _truncated)
    with pytest.raises(UnreadableWarehouseError) as raised:
        revteam.open(ws_dir)  # read-write: the damage shows when the file is opened
    assert raised.value.path == path and raised.value.problem.startswith("it is incomplete")
    assert isinstance(raised.value, ConfigError)  # what opening a warehouse raised before
    # The web face takes a ConfigError that mentions a lock for a busy warehouse.
    assert "lock" not in str(raised.value).lower()
    with revteam.open(ws_dir, read_only=True) as ws, pytest.raises(UnreadableWarehouseError):
        ws.status()  # read-only: when a query reads it


def test_an_error_caused_by_a_damaged_file_is_recognised(ws_dir: Path):
    with revteam.open(ws_dir, read_only=True) as ws:
        try:
            try:
                raise duckdb.Error("Corrupt database file: computed checksum 1 does not match")
            except duckdb.Error as exc:
                raise IngestError("Loading x.csv failed") from exc
        except IngestError as exc:
            found = ws.warehouse.unreadable(exc)
        assert found is not None and found.problem.startswith("it is damaged")
        assert ws.warehouse.unreadable(duckdb.Error("Binder Error: no column x")) is None
        assert ws.warehouse.unreadable(found) is None  # said already
