"""The ``revteam`` command line: thin commands over library calls.

Errors derived from ``RevteamError`` become a one-line message with the fix and a stable exit
code (the table is ``revteam.cli._errors.EXIT_CODES``, documented in ``docs/cli.md``);
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from typer.core import TyperGroup

import revteam
from revteam.cli import _common
from revteam.cli._common import err_console, state
from revteam.cli._errors import exit_code_of
from revteam.exceptions import RevteamError


class _Group(TyperGroup):
    """Root group that turns revteam errors into messages and exit codes, in one place."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except RevteamError as exc:
            if state.debug:
                raise
            # escaped: messages name settings as "[clv] model", which is not Rich markup
            message = escape(str(exc))
            err_console.print(f"[bold red]Error:[/] {message}", highlight=False, soft_wrap=True)
            raise typer.Exit(exit_code_of(exc)) from None


app = typer.Typer(
    cls=_Group,
    name="revteam",
    help="Shared revenue KPIs for Sales and Marketing.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"revteam {revteam.__version__}")
        raise typer.Exit


@app.callback()
def _root(
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            envvar="REVTEAM_WORKSPACE",
            help="Workspace folder (default: the current folder or one above it).",
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    state.workspace = workspace
    state.debug = debug


def _register() -> None:
    import importlib
    import importlib.util

    for name in (
        "setup",
        "data",
        "kpis",
        "proposals",
        "stats",
        "goals",
        "attribution",
        "clv",
        "score",
        "review",
        "alerts",
        "web",
        "crm",
    ):
        if importlib.util.find_spec(f"revteam.cli.{name}") is not None:
            importlib.import_module(f"revteam.cli.{name}").register(app)


_register()


def main() -> None:
    app()


__all__ = ["_common", "app", "main"]
