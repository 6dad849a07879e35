"""`create_app` builds the typer application; plugins add commands through `fbox_register_commands`."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer

from featherbox import __version__
from featherbox.cli.context import AppContext

DEBUG_ENV = "FBOX_DEBUG"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"fbox {__version__}")
        raise typer.Exit()


def create_app(pm=None, context: AppContext | None = None) -> typer.Typer:
    """The `fbox` application over the plugins of `pm` (default: the installed ones), with `context`
    (built here when not given) handed to every command."""
    from featherbox.cli import (
        graph_cmd, plugin_new_cmd, plugins_cmd, project_cmds, query_cmds, restore_cmd, run_cmds, schema_cmd,
    )

    app = typer.Typer(
        name="fbox",
        help="FeatherBox: ELT on DuckDB and DuckLake. Adapters load sources, models transform them; "
        "`fbox run` does only the work that changed.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    if context is None:
        context = AppContext.default() if pm is None else AppContext(pm)
    pm = context.pm

    @app.callback()
    def root(
        ctx: typer.Context,
        project: Optional[Path] = typer.Option(
            None, "--project", "-C", help="Project directory (default: the nearest one with project.yml).",
            envvar="FBOX_PROJECT",
        ),
        debug: bool = typer.Option(False, "--debug", help="Show tracebacks of errors.", envvar=DEBUG_ENV),
        version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
    ) -> None:
        context.project_dir = project
        context.debug = debug
        ctx.obj = context

    for module in (project_cmds, run_cmds, restore_cmd, query_cmds, graph_cmd, plugins_cmd, plugin_new_cmd, schema_cmd):
        module.register(app)
    for impl in pm.hook.fbox_register_commands.get_hookimpls():
        try:
            impl.function(app=app)
        except Exception as exc:  # one plugin's broken command must not take the CLI down
            typer.echo(f"Warning: plugin {impl.plugin_name} could not add its commands: {exc}", err=True)
    return app


def main() -> None:
    from featherbox.errors import FeatherBoxError

    context = None
    try:
        context = AppContext.default()
        create_app(context=context)(prog_name="fbox")  # standalone: usage errors print and exit
    except FeatherBoxError as exc:
        _report(exc, context)
        sys.exit(1)
    except (FileExistsError, FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError) as exc:
        from featherbox.errors import os_error_message

        _report(exc, context, text=os_error_message(exc))  # what and where, not "unexpected"
        sys.exit(1)
    except Exception as exc:
        _report(exc, context, unexpected=True)
        sys.exit(1)


def _report(exc: BaseException, context: AppContext | None, unexpected: bool = False, text: str | None = None) -> None:
    from featherbox.secrets import redact

    if (context is not None and context.debug) or os.environ.get(DEBUG_ENV):
        import traceback

        typer.echo(redact("".join(traceback.format_exception(exc))), err=True)
    if text is None:
        text = str(exc) if not unexpected else f"unexpected error: {type(exc).__name__}: {exc} (run with --debug for the traceback)"
    typer.echo(redact(f"Error: {text}"), err=True)
