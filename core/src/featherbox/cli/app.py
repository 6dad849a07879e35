"""`create_app` builds the typer application; plugins add commands through `fbox_register_commands`."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer

from featherbox import __version__

DEBUG_ENV = "FBOX_DEBUG"


class State:
    project_dir: Optional[Path] = None
    debug: bool = False


state = State()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"fbox {__version__}")
        raise typer.Exit()


def create_app(pm=None) -> typer.Typer:
    from featherbox.cli import (
        graph_cmd, plugin_cmd, plugins_cmd, project_cmds, query_cmds, restore_cmd, run_cmds, schema_cmd,
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

    @app.callback()
    def root(
        project: Optional[Path] = typer.Option(
            None, "--project", "-C", help="Project directory (default: the nearest one with project.yml).",
            envvar="FBOX_PROJECT",
        ),
        debug: bool = typer.Option(False, "--debug", help="Show tracebacks of errors.", envvar=DEBUG_ENV),
        version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
    ) -> None:
        state.project_dir = project
        state.debug = debug

    for module in (project_cmds, run_cmds, restore_cmd, query_cmds, graph_cmd, plugins_cmd, plugin_cmd, schema_cmd):
        module.register(app)
    if pm is None:
        from featherbox.plugins import default_manager

        pm, _ = default_manager()
    for impl in pm.hook.fbox_register_commands.get_hookimpls():
        try:
            impl.function(app=app)
        except Exception as exc:  # one plugin's broken command must not take the CLI down
            typer.echo(f"Warning: plugin {impl.plugin_name} could not add its commands: {exc}", err=True)
    return app


def main() -> None:
    from featherbox.errors import FeatherBoxError

    try:
        create_app()(prog_name="fbox")  # standalone: usage errors print and exit
    except FeatherBoxError as exc:
        _report(exc)
        sys.exit(1)
    except (FileExistsError, FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError) as exc:
        from featherbox.errors import os_error_message

        _report(exc, text=os_error_message(exc))  # what and where, not "unexpected"
        sys.exit(1)
    except Exception as exc:
        _report(exc, unexpected=True)
        sys.exit(1)


def _report(exc: BaseException, unexpected: bool = False, text: str | None = None) -> None:
    from featherbox.secrets import redact

    if state.debug or os.environ.get(DEBUG_ENV):
        import traceback

        typer.echo(redact("".join(traceback.format_exception(exc))), err=True)
    if text is None:
        text = str(exc) if not unexpected else f"unexpected error: {type(exc).__name__}: {exc} (run with --debug for the traceback)"
    typer.echo(redact(f"Error: {text}"), err=True)


def workspace():
    from featherbox.workspace import Workspace

    return Workspace(state.project_dir)
