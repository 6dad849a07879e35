"""`fbox init`, `fbox adapter new|delete` and `fbox model new|delete`: create and remove project files.

The work is done in `featherbox.scaffold`, imported when a command runs so `fbox --help` stays light.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Optional

import typer


def _base_dir(ctx: typer.Context) -> Path:
    return ctx.obj.base_dir()


def _root(ctx: typer.Context) -> Path:
    from featherbox.scaffold import project_root

    return project_root(ctx.obj.project_dir)


def _shown(path: Path, base: Path | None = None) -> str:
    """`path` relative to the current directory when that is shorter, for messages."""
    base = base or Path.cwd()
    try:
        relative = os.path.relpath(path, base)
    except ValueError:
        return str(path)
    return relative if not relative.startswith("../..") else str(path)


# --- init -----------------------------------------------------------------------------------

def init(
    ctx: typer.Context,
    directory: Path = typer.Argument(Path("."), help="Where to create the project (default: the current directory)."),
    example: bool = typer.Option(
        False, "--example",
        help="Also write a runnable example: sample logs and database, adapters and models.",
    ),
    force: bool = typer.Option(
        False, "--force", "-f",
        help="Overwrite an existing project.yml (and, with --example, the example's files).",
    ),
) -> None:
    """Create a new project: project.yml, adapters/, models/ and a .gitignore."""
    from featherbox.scaffold import init_project

    target = directory if directory.is_absolute() else _base_dir(ctx) / directory
    result = init_project(target, example=example, force=force)
    root = result.root
    from featherbox.config.editor_schemas import write_schemas
    from featherbox.yaml_text import SCHEMA_DIR

    write_schemas(root / SCHEMA_DIR, ctx.obj.registry)
    where = _shown(root)
    typer.echo(f"Created a FeatherBox project in {where if where != '.' else root}")
    for path in result.written:
        if "sample/logs/" in path.relative_to(root).as_posix():
            continue
        typer.echo(f"  {path.relative_to(root).as_posix()}")
    if example:
        typer.echo("  sample/logs/... (48 hourly log files)")

    prefix = "" if root == Path.cwd().resolve() else f"cd {shlex.quote(_shown(root))}\n  "
    typer.echo("\nNext steps:")
    if example:
        typer.echo(f"  {prefix}fbox run")
        typer.echo('  fbox query "SELECT * FROM datastore.daily_active_users"')
        typer.echo("  fbox query \"SELECT * FROM datastore.sales_by_country\"")
    else:
        typer.echo(f"  {prefix}fbox adapter new logs --type localfile --path 'logs/*.csv'   # a source")
        typer.echo("  fbox model new staging/logs --sql 'SELECT * FROM raw.logs'       # a SQL model over it")
        typer.echo("  fbox run                                                          # load and build what changed")


# --- adapters -------------------------------------------------------------------------------

def adapter_new(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Adapter name: the file adapters/NAME.yml (letters, digits, _)."),
    type_name: str = typer.Option(
        ..., "--type", "-t",
        help="Adapter type, e.g. localfile or sqlite (`fbox plugins` lists the installed ones).",
    ),
    path: Optional[str] = typer.Option(
        None, "--path",
        help="File types (localfile, s3, ...): glob or time pattern of the files.",
    ),
    fmt: Optional[str] = typer.Option(
        None, "--format",
        help="File types: csv, tsv, json, ndjson or parquet (default: from --path).",
    ),
    base_path: Optional[str] = typer.Option(
        None, "--base-path",
        help="localfile: directory the path is relative to (default: ., the project directory).",
    ),
    db_path: Optional[str] = typer.Option(None, "--db-path", help="sqlite: the SQLite file, relative to the project."),
    tables: Optional[str] = typer.Option(
        None, "--tables",
        help="sqlite: tables to copy, comma-separated (default: all).",
    ),
    option: Optional[list[str]] = typer.Option(
        None, "--option", metavar="NAME=VALUE",
        help="Another option of the type's template (repeatable); a type that does not take it says which types do.",
    ),
    description: Optional[str] = typer.Option(None, "--description", help="A description for the file."),
    force: bool = typer.Option(False, "--force", "-f", help="Overwrite an existing adapters/NAME.yml."),
) -> None:
    """Create adapters/NAME.yml from a commented template for the type.

    Each type takes its own options: the flags below, or --option NAME=VALUE.
    """
    from featherbox.errors import FeatherBoxError
    from featherbox.scaffold import new_adapter

    root = _root(ctx)
    flags = {"path": path, "format": fmt, "base-path": base_path, "db-path": db_path, "tables": tables}
    options = {key: value for key, value in flags.items() if value is not None}
    for item in option or []:
        key, sep, value = item.partition("=")
        key = key.strip().removeprefix("--")
        if not sep or not key:
            raise FeatherBoxError(f"--option takes NAME=VALUE, got {item!r}")
        if key in options and options[key] != value:
            raise FeatherBoxError(f"option {key} is given twice: {options[key]!r} and {value!r}")
        options[key] = value
    result = new_adapter(root, name, type_name, ctx.obj.registry, options=options, description=description, force=force)
    typer.echo(f"Created {_shown(result.file)} (type {result.type})")
    if result.tables:
        typer.echo(f"  writes: {', '.join(result.tables)}")
    for warning in result.warnings:
        typer.echo(f"  to fill in: {warning}")
    typer.echo("Edit the file to match your source, then `fbox run` loads it.")


def adapter_delete(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Adapter name (the file adapters/NAME.yml)."),
    force: bool = typer.Option(False, "--force", "-f", help="Delete even if models read the adapter's tables."),
) -> None:
    """Delete adapters/NAME.yml; the next `fbox run` drops its tables."""
    from featherbox.scaffold import delete_adapter

    result = delete_adapter(ctx.obj.workspace(), name, force=force)
    tables = f" ({', '.join(result.tables)})" if result.tables else ""
    _report_deleted(result, f"The next `fbox run` drops its tables{tables}.")


def _report_deleted(result, then: str) -> None:
    typer.echo(f"Deleted {_shown(result.file)}")
    for warning in result.warnings:
        typer.echo(f"  warning: {warning}")
    if result.dependents:
        typer.echo(f"  warning: these models read it and will fail until changed: {', '.join(result.dependents)}")
    typer.echo(then)


# --- models ---------------------------------------------------------------------------------

def model_new(
    ctx: typer.Context,
    name: str = typer.Argument(
        ...,
        help="folder/name, schema.name or name: models/folder/name.yml becomes table folder.name.",
    ),
    sql: Optional[str] = typer.Option(None, "--sql", help="The model's SELECT (default: a placeholder to edit)."),
    max_age: Optional[str] = typer.Option(None, "--max-age", help="Rebuild at least this often, e.g. 6h."),
    description: Optional[str] = typer.Option(None, "--description", help="A description for the file."),
    force: bool = typer.Option(False, "--force", "-f", help="Overwrite an existing model file."),
) -> None:
    """Create models/[FOLDER/]NAME.yml from a commented template."""
    from featherbox.scaffold import new_model

    result = new_model(_root(ctx), name, sql=sql, max_age=max_age, description=description, force=force)
    typer.echo(f"Created {_shown(result.file)} (table {result.qualified})")
    if sql is None:
        typer.echo("Replace its placeholder SELECT with your query, then `fbox run` builds it.")
    else:
        typer.echo("`fbox run` builds it.")


def model_delete(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="schema.name, folder/name, or a model name only one model has."),
    force: bool = typer.Option(False, "--force", "-f", help="Delete even if other models read it."),
) -> None:
    """Delete a model's file; the next `fbox run` drops its table."""
    from featherbox.scaffold import delete_model

    result = delete_model(ctx.obj.workspace(), name, force=force)
    _report_deleted(result, f"The next `fbox run` drops table {result.node}.")


def register(app: typer.Typer) -> None:
    app.command("init")(init)

    adapters = typer.Typer(help="Create and delete adapters: the sources `fbox run` loads.", no_args_is_help=True)
    adapters.command("new")(adapter_new)
    adapters.command("delete")(adapter_delete)
    app.add_typer(adapters, name="adapter")

    models = typer.Typer(
        help="Create and delete models: SQL that builds tables from adapters and other models.", no_args_is_help=True
    )
    models.command("new")(model_new)
    models.command("delete")(model_delete)
    app.add_typer(models, name="model")
