"""Web-app commands: ``serve``, ``db upgrade``, ``users …`` and ``tokens list|revoke``.

``users add|list|disable|reset-password|unlock`` manage who can sign in; ``tokens`` lists and
revokes every user's API tokens.

The CLI never imports the web package (the two faces stay independent): ``serve`` calls
:mod:`revteam.app.server`, which hands uvicorn the app factory by its import string.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from revteam.cli._common import OutputFormat, console, emit, state

users_app = typer.Typer(
    help="Who can sign in to the web app and the REST API.", no_args_is_help=True
)
db_app = typer.Typer(
    help="The application database (users, sessions, tokens, audit log).", no_args_is_help=True
)
tokens_app = typer.Typer(help="Every user's API tokens: list and revoke.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(db_app, name="db")
    app.add_typer(users_app, name="users")
    app.add_typer(tokens_app, name="tokens")


def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on (0.0.0.0: every interface).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help="Addresses of trusted reverse proxies whose X-Forwarded-For/Proto headers "
            "are believed (comma-separated, * for any). Default: none, not even this machine.",
        ),
    ] = None,
) -> None:
    """Serve the dashboards and the REST API (sign-in required; see `revteam users add`)."""
    from revteam.app import server

    server.serve(
        state.workspace,
        host=host,
        port=port,
        workers=workers,
        forwarded_allow_ips=forwarded_allow_ips,
        announce=console.print,
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the application database's migrations (also done when the server starts)."""
    from revteam.app import current_revision, head_revision, open_app

    with open_app(state.workspace, upgrade=True) as app:
        revision = current_revision(app.db)
        console.print(
            f"Application database {app.db.display_url} is at revision {revision} "
            f"(newest: {head_revision()})."
        )


def _password(from_stdin: bool) -> str | None:
    if not from_stdin:
        return None
    return sys.stdin.readline().rstrip("\r\n")


def _show_password(email: str, password: str | None) -> None:
    if password:
        console.print(f"Password for [bold]{email}[/] (shown once): {password}", highlight=False)


Stdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from standard input instead of "
        "generating one (never pass passwords as arguments).",
    ),
]


@users_app.command("add")
def users_add(
    email: Annotated[str, typer.Argument(help="E-mail address; the sign-in name.")],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    role: Annotated[str, typer.Option(help="admin, editor or viewer.")] = "viewer",
    team: Annotated[str, typer.Option(help="sales, marketing, leadership or revops.")] = "revops",
    password_stdin: Stdin = False,
) -> None:
    """Add a user; prints a random password unless --password-stdin is given."""
    from revteam.app import open_app

    with open_app(state.workspace) as app:
        user, password = app.users.add(
            email, name=name, role=role, team=team, password=_password(password_stdin)
        )
    console.print(f"Added {user.email} ({user.role}, {user.team}).")
    _show_password(user.email, password)


@users_app.command("list")
def users_list(fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table) -> None:
    """List users with role, team, status and last sign-in."""
    from revteam.app import open_app

    with open_app(state.workspace) as app:
        users = app.users.list()
    rows = [
        {
            "email": u.email,
            "name": u.name,
            "role": u.role,
            "team": u.team,
            "active": u.is_active,
            "last_login": u.last_login_at,
        }
        for u in users
    ]
    emit(
        rows, fmt, title="Users", columns=["email", "name", "role", "team", "active", "last_login"]
    )


@users_app.command("disable")
def users_disable(email: Annotated[str, typer.Argument(help="The user's e-mail.")]) -> None:
    """Stop a user from signing in; ends their sessions and revokes their API tokens for good."""
    from revteam.app import open_app

    with open_app(state.workspace) as app:
        user = app.users.disable(email)
    console.print(f"Disabled {user.email}.")


@users_app.command("reset-password")
def users_reset_password(
    email: Annotated[str, typer.Argument(help="The user's e-mail.")],
    password_stdin: Stdin = False,
) -> None:
    """Give a user a new password (random unless --password-stdin).

    Ends their sessions, revokes their API tokens and unlocks their sign-in.
    """
    from revteam.app import open_app

    with open_app(state.workspace) as app:
        user, password = app.users.reset_password(email, _password(password_stdin))
    console.print(
        f"New password set for {user.email}; their sessions ended and their API tokens "
        "were revoked."
    )
    _show_password(user.email, password)


@users_app.command("unlock")
def users_unlock(email: Annotated[str, typer.Argument(help="The user's e-mail.")]) -> None:
    """Let every address try signing in to an account again, after failed attempts."""
    from revteam.app import open_app

    with open_app(state.workspace) as app:
        user, cleared = app.users.unlock(email)
    console.print(f"Unlocked {user.email} ({cleared} address(es) had failed sign-ins).")


@tokens_app.command("list")
def tokens_list(
    user: Annotated[str | None, typer.Option("--user", help="Only this user's (e-mail).")] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """List API tokens with their user, creation, last use, expiry and status."""
    from revteam.app import open_app

    with open_app(state.workspace) as app:
        user_id = app.users.get(user).id if user else None
        tokens, _ = app.tokens.list_all(user_id=user_id, limit=None)
    rows = [
        {
            "id": t.id,
            "user": t.user_email,
            "name": t.name,
            "prefix": t.prefix,
            "created": t.created_at,
            "last_used": t.last_used_at,
            "expires": t.expires_at,
            "status": t.status,
        }
        for t in tokens
    ]
    emit(rows, fmt, title="API tokens")


@tokens_app.command("revoke")
def tokens_revoke(token_id: Annotated[int, typer.Argument(help="The token's id.", min=1)]) -> None:
    """Revoke any user's API token at once (`revteam tokens list` shows the ids)."""
    from revteam.app import CLI, open_app

    with open_app(state.workspace) as app:
        token = app.tokens.revoke_any(token_id, actor=CLI)
    console.print(f"Revoked token {token.id} “{token.name}” of {token.user_email}.")
