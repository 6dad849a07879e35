"""`fbox schema`: JSON Schemas of project.yml, adapters (per installed type) and models, for editors."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from featherbox.cli.output import echo


def register(app: typer.Typer) -> None:
    app.command("schema")(schema)


def schema(
    ctx: typer.Context,
    output: Optional[Path] = typer.Option(
        None, "--output", "-o", help="Directory to write to (default: the project's .fbox/schemas)."
    ),
) -> None:
    """Write project.json, adapter.json and model.json so editors complete and check the YAML files."""
    from featherbox.config.editor_schemas import write_schemas
    from featherbox.config.loader import find_project_root
    from featherbox.yaml_text import SCHEMA_DIR

    if output is None:
        output = find_project_root(ctx.obj.base_dir()) / SCHEMA_DIR
    for path in write_schemas(output, ctx.obj.registry):
        echo(f"wrote {path}")
    echo("YAML files written by fbox start with a `# yaml-language-server: $schema=...` line that uses them.")
