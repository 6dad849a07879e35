"""`fbox plugin new NAME`: scaffold a third-party adapter distribution."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from featherbox.cli.output import echo


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Write FeatherBox plugins.", no_args_is_help=True)
    group.command("new")(new)
    app.add_typer(group, name="plugin")


def new(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Distribution name, e.g. fbox-weather (adapter type `weather`)."),
    directory: Optional[Path] = typer.Option(None, "--dir", "-d", help="Where to write the package (default: ./NAME)."),
    force: bool = typer.Option(False, "--force", "-f", help="Write into a directory that is not empty, overwriting files."),
) -> None:
    """Create a plugin package: pyproject with the entry point, an example adapter, its schema and contract tests."""
    from featherbox import __version__
    from featherbox.errors import FeatherBoxError
    from featherbox.scaffold.plugin_template import plugin_files

    names, files = plugin_files(name, __version__)
    registry = ctx.obj.registry
    if names.type_name in registry.adapters:
        owner = registry.provided_by.get(("adapter", names.type_name), "?")
        raise FeatherBoxError(
            f"adapter type {names.type_name!r} is already provided by the installed plugin {owner}; "
            "choose another name (two plugins cannot provide one type)"
        )
    target = (directory or Path(names.distribution)).expanduser()
    target = target if target.is_absolute() else Path.cwd() / target
    if target.exists() and not target.is_dir():
        raise FeatherBoxError(f"{target} exists and is not a directory")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise FeatherBoxError(f"{target} is not empty; choose another --dir or pass --force to overwrite")
    try:
        for rel, text in files.items():
            path = target / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise FeatherBoxError(f"cannot write the plugin into {target}: {exc.strerror or exc}") from exc
    echo(f"Created {names.distribution} in {target} (adapter type `{names.type_name}`, featherbox=={__version__})")
    for rel in files:
        echo(f"  {rel}")
    echo("\nNext steps:")
    echo(f"  pip install -e '{target}[test]'")
    echo(f"  fbox plugins                     # lists {names.distribution}")
    echo(f"  pytest {target / 'tests'}")
