"""The application database: migrations, file permissions, the secret key."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import revteam
from revteam.app import current_revision, head_revision, load_secret_key, open_app, upgrade
from revteam.app.models import Base
from revteam.app.state import SECRET_ENV, SECRET_FILE, check_current
from revteam.exceptions import AppDatabaseError, ConfigError
from revteam.storage import AppDatabase, resolve_app_url


@pytest.fixture
def ws_root(tmp_path: Path) -> Path:
    with revteam.init(tmp_path / "ws"):
        pass
    return tmp_path / "ws"


def test_migrations_build_exactly_the_models(tmp_path: Path):
    db = AppDatabase(f"sqlite:///{tmp_path / 'app.db'}")
    assert current_revision(db) is None
    assert upgrade(db) == head_revision()
    with db.connect() as con:
        diff = compare_metadata(MigrationContext.configure(con), Base.metadata)
    assert diff == []
    assert upgrade(db) == head_revision()  # idempotent


def test_votes_kept_from_before_0008_are_given_on_their_proposals_base(tmp_path: Path):
    """0008 records the version each vote was given on; a rebase used to delete the others."""
    from alembic import command
    from sqlalchemy import text

    from revteam.app.state import _config

    db = AppDatabase(f"sqlite:///{tmp_path / 'app.db'}")
    upgrade(db, "0007")
    with db.connect() as con:
        con.execute(
            text(
                "INSERT INTO metric_proposals (id, metric, text, reason, base_version, status, "
                "created_at, created_by, decision) VALUES (1, 'sqls', 'x', 'y', 2, 'open', "
                "'2026-01-01', 'a@example.com', '')"
            )
        )
        con.execute(
            text(
                "INSERT INTO proposal_votes (proposal_id, voter, team, vote, reason, at) "
                "VALUES (1, 'b@example.com', 'sales', 'approve', '', '2026-01-02')"
            )
        )
    assert upgrade(db) == head_revision()
    with db.connect() as con:
        assert con.execute(text("SELECT base_version FROM proposal_votes")).scalar() == 2
        cfg = _config()
        cfg.attributes["connection"] = con
        command.downgrade(cfg, "0007")
        columns = [r[1] for r in con.execute(text("PRAGMA table_info(proposal_votes)"))]
    assert "base_version" not in columns and current_revision(db) == "0007"


def test_roles_and_teams_are_seeded(ws_root: Path):
    from sqlalchemy import text

    with open_app(ws_root) as app, app.db.session() as s:
        roles = {r[0] for r in s.execute(text("SELECT name FROM roles"))}
        teams = {r[0] for r in s.execute(text("SELECT name FROM teams"))}
    assert roles == {"admin", "editor", "viewer"}
    assert teams == {"sales", "marketing", "leadership", "revops"}


def test_an_unmigrated_database_is_refused_with_the_fix(ws_root: Path):
    with pytest.raises(AppDatabaseError, match="revteam db upgrade"):
        open_app(ws_root, upgrade=False)
    db = AppDatabase("sqlite:///revteam.db", root=ws_root)
    upgrade(db)
    check_current(db)


def test_sqlite_file_is_private_and_relative_to_the_workspace(ws_root: Path):
    url = resolve_app_url("sqlite:///revteam.db", ws_root)
    assert url.database == str(ws_root / "revteam.db")
    open_app(ws_root).close()
    mode = stat.S_IMODE((ws_root / "revteam.db").stat().st_mode)
    assert mode == 0o600


def test_bad_urls_and_unusable_paths_name_the_fix(tmp_path: Path):
    with pytest.raises(ConfigError, match="SQLAlchemy URL"):
        resolve_app_url("not a url", tmp_path)
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(AppDatabaseError, match="REVTEAM_APP_DATABASE"):
        AppDatabase(f"sqlite:///{tmp_path / 'a-file' / 'app.db'}")


def test_secret_key_is_generated_once_with_owner_only_permissions(ws_root: Path, monkeypatch):
    monkeypatch.delenv(SECRET_ENV, raising=False)
    first = load_secret_key(ws_root)
    assert len(first) >= 32
    assert load_secret_key(ws_root) == first
    assert stat.S_IMODE((ws_root / SECRET_FILE).stat().st_mode) == 0o600
    os.chmod(ws_root / SECRET_FILE, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_secret_key(ws_root)


def test_secret_key_from_the_environment_must_be_long(ws_root: Path, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, "short")
    with pytest.raises(ConfigError, match="at least 32"):
        load_secret_key(ws_root)
    monkeypatch.setenv(SECRET_ENV, "x" * 40)
    assert load_secret_key(ws_root) == b"x" * 40
    assert not (ws_root / SECRET_FILE).exists()
