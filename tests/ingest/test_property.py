"""Random mixtures of good and bad rows: no good row is lost and no bad row is loaded."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.ingest.conftest import ACCOUNTS, PEOPLE_HEADER

import revteam

GOOD = {
    "email": "x@y.com",
    "channel": "email",
    "account_id": "A1",
    "created_at": "2024-02-01 09:00:00",
    "mql_at": "2024-02-02",
    "sql_at": "",
}
CORRUPTIONS = {
    "bad_timestamp": ("created_at", "31/31/2024"),
    "unknown_channel": ("channel", "fax"),
    "unknown_account": ("account_id", "A404"),
    "order": ("mql_at", "2024-01-01"),
    "missing_created": ("created_at", ""),
    "comma_in_value": ("email", '"a,b@y.com"'),  # quoted: a good row despite the comma
}


def _state(ws: revteam.Workspace) -> tuple[object, ...]:
    """The rows, the quarantine (less its run and time) and the data version, to compare."""
    con = ws.warehouse.con
    return (
        con.execute("SELECT * FROM people ORDER BY person_id").fetchall(),
        con.execute(
            "SELECT line, record, reasons FROM quarantine WHERE table_name = 'people' ORDER BY line"
        ).fetchall(),
        ws.data_version,
    )


row = st.tuples(st.sampled_from([None, *CORRUPTIONS]), st.booleans())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(row, min_size=1, max_size=40))
def test_no_good_row_lost_no_bad_row_loaded(spec: list[tuple[str | None, bool]]) -> None:
    tmp = Path(tempfile.mkdtemp())
    try:
        lines, good, bad = [], set(), {}
        for i, (corruption, keep_case) in enumerate(spec):
            values = {"person_id": f"P{i}", **GOOD}
            if keep_case:
                values["channel"] = values["channel"].upper()  # normalised, still good
            if corruption:
                column, value = CORRUPTIONS[corruption]
                values[column] = value
            line = ",".join(values[c] for c in PEOPLE_HEADER.strip().split(","))
            lines.append(line)
            if corruption in (None, "comma_in_value"):
                good.add(f"P{i}")
            else:
                bad[i + 2] = f"P{i}"
        (tmp / "a.csv").write_text(ACCOUNTS)
        (tmp / "p.csv").write_text(PEOPLE_HEADER + "\n".join(lines) + "\n")
        with revteam.init(tmp / "ws") as ws:
            ws.ingest.load("accounts", tmp / "a.csv")
            [res] = ws.ingest.load("people", tmp / "p.csv")
            loaded = {
                r[0] for r in ws.warehouse.con.execute("SELECT person_id FROM people").fetchall()
            }
            quarantined = {r["line"]: r for r in ws.ingest.quarantine(table="people").to_pylist()}
            before = _state(ws)
            [again] = ws.ingest.load("people", tmp / "p.csv")
            after = _state(ws)
        assert loaded == good
        assert set(quarantined) == set(bad)
        for line, pid in bad.items():
            assert f'"person_id":"{pid}"' in quarantined[line]["record"]
            assert quarantined[line]["reasons"]
        assert res.rows_read == len(spec) == res.loaded + res.quarantined
        assert (res.inserted, res.updated, res.unchanged) == (len(good), 0, 0)
        assert res.quarantined == len(bad)
        # Loading the same file again changes nothing: not the rows, nor the quarantine.
        assert (again.inserted, again.updated, again.unchanged) == (0, 0, len(good))
        assert again.quarantined == len(bad)
        assert after == before
    finally:
        shutil.rmtree(tmp)
