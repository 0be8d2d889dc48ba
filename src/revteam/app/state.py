"""Opening a workspace's application state: its schema, its secret key, and the stores.

- The Alembic migrations ship inside the package (``revteam/app/migrations``); ``revteam db
  upgrade`` and the server's start-up apply them. :func:`upgrade` is idempotent and runs in one
  write transaction, so several workers starting at once do not race.
- The secret key signs session cookies and CSRF tokens. There is no default: it comes from
  ``REVTEAM_SECRET_KEY``, or is generated on first use into the workspace, readable by its
  owner only, created atomically so that concurrent workers end up with the same key.
- :class:`AppState` groups users, API tokens, web sessions and the audit log over one
  application database; :func:`open_app` opens (and migrates) a workspace's.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import stat
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from revteam.app.access import SessionStore, TokenStore
from revteam.app.models import utcnow
from revteam.app.throttle import Clock, Throttle, ThrottlePolicy
from revteam.app.users import SYSTEM, AuditLog, UserStore
from revteam.exceptions import AppDatabaseError, ConfigError, UnknownUserError
from revteam.settings import find_workspace, load_settings
from revteam.storage import AppDatabase

MIGRATIONS = Path(__file__).parent / "migrations"


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    """The newest migration this version of revteam ships."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(db: AppDatabase) -> str | None:
    """The revision the database is at (``None``: never migrated)."""
    with db.connect() as con:
        return MigrationContext.configure(con).get_current_revision()


def upgrade(db: AppDatabase, revision: str = "head") -> str:
    """Migrate the database to ``revision`` (default: the newest); returns the revision."""
    cfg = _config()
    with db.connect() as con:
        cfg.attributes["connection"] = con
        command.upgrade(cfg, revision)
    current = current_revision(db)
    assert current is not None
    return current


_migrate = upgrade  # open_app's ``upgrade`` flag shadows the function


def check_current(db: AppDatabase) -> None:
    """Refuse to run on a database that is behind (or ahead of) this version's schema."""
    current, head = current_revision(db), head_revision()
    if current != head:
        raise AppDatabaseError(
            db.display_url,
            f"schema is at revision {current or 'none'}, this version needs {head}",
            "Run `revteam db upgrade` (or start the server without --no-migrate).",
        )


SECRET_ENV = "REVTEAM_SECRET_KEY"  # noqa: S105 (a variable name, not a secret)
SECRET_FILE = ".revteam-secret"  # noqa: S105 (a file name)
MIN_LENGTH = 32


def load_secret_key(root: Path) -> bytes:
    """The workspace's secret key: from the environment, else the key file (created if absent)."""
    given = os.environ.get(SECRET_ENV)
    if given is not None:
        if len(given) < MIN_LENGTH:
            raise ConfigError(
                f"{SECRET_ENV} has {len(given)} characters; use at least {MIN_LENGTH} random "
                "ones, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
            )
        return given.encode()
    path = root / SECRET_FILE
    if not path.exists():
        _create(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if os.name == "posix" and mode & 0o077:
        raise ConfigError(
            f"{path} is readable by other users (mode {mode:o}); run `chmod 600 {path}`, or "
            f"delete it to generate a new key (everyone will have to sign in again)."
        )
    key = path.read_text(encoding="ascii").strip()
    if len(key) < MIN_LENGTH:
        raise ConfigError(f"{path} holds no usable key; delete it to generate a new one.")
    return key.encode()


def _create(path: Path) -> None:
    tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secrets.token_urlsafe(48) + "\n")
    try:
        os.link(tmp, path)  # atomic, and fails if another process created it first
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


DEMO_EMAIL = "demo@revteam.example"


class AppState:
    """Users, API tokens, web sessions and the audit log, over one application database.

    Parameters
    ----------
    db
        The application database (already migrated, see :func:`open_app`).
    throttle
        When failed sign-ins make an address wait, and for how long.
    session_lifetime
        How long a web sign-in lasts.
    session_idle
        How long a web sign-in lasts without a request.
    clock
        The sign-in throttle's clock (tests move it instead of waiting).
    """

    def __init__(
        self,
        db: AppDatabase,
        *,
        throttle: ThrottlePolicy | None = None,
        session_lifetime: dt.timedelta = dt.timedelta(hours=12),
        session_idle: dt.timedelta = dt.timedelta(minutes=30),
        clock: Clock = utcnow,
    ) -> None:
        self.db = db
        self.throttle = Throttle(db, throttle, clock=clock)
        self.users = UserStore(db, self.throttle)
        self.tokens = TokenStore(db)
        self.sessions = SessionStore(db, lifetime=session_lifetime, idle=session_idle)
        self.audit = AuditLog(db)

    def close(self) -> None:
        self.db.dispose()

    def __enter__(self) -> AppState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_app(
    path: Path | str | None = None,
    *,
    upgrade: bool = True,
    throttle: ThrottlePolicy | None = None,
    session_lifetime: dt.timedelta = dt.timedelta(hours=12),
    session_idle: dt.timedelta = dt.timedelta(minutes=30),
    clock: Clock = utcnow,
) -> AppState:
    """Open a workspace's application database, migrating it first unless ``upgrade=False``.

    Without ``upgrade`` a database behind this version's schema is refused with the fix.
    """
    root = find_workspace(path)
    db = AppDatabase(load_settings(root).app_database, root=root)
    if upgrade:
        _migrate(db)
    else:
        check_current(db)
    return AppState(
        db,
        throttle=throttle,
        session_lifetime=session_lifetime,
        session_idle=session_idle,
        clock=clock,
    )


def demo_sign_in(path: Path | str) -> tuple[str, str]:
    """Create (or reset) the demo admin of a workspace; returns its e-mail and new password.

    ``revteam demo`` prints them so that the person who built the demo can sign in.
    """
    with open_app(path) as app:
        try:
            app.users.get(DEMO_EMAIL)
        except UnknownUserError:
            _, password = app.users.add(
                DEMO_EMAIL, name="Demo admin", role="admin", team="revops", actor=SYSTEM
            )
        else:
            _, password = app.users.reset_password(DEMO_EMAIL, actor=SYSTEM)
            app.users.update(DEMO_EMAIL, active=True, role="admin", actor=SYSTEM)
    assert password is not None
    return DEMO_EMAIL, password
