"""`fbox schema`: JSON Schemas of project.yml, adapters (per installed type) and models, for editors."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from featherbox.cli.output import echo


def register(app: typer.Typer) -> None:
    app.command("schema")(schema)


def schema(
    output: Optional[Path] = typer.Option(
        None, "--output", "-o", help="Directory to write to (default: the project's .fbox/schemas)."
    ),
) -> None:
    """Write project.json, adapter.json and model.json so editors complete and check the YAML files."""
    from featherbox.cli.app import state
    from featherbox.config.editor_schemas import write_schemas
    from featherbox.config.loader import find_project_root
    from featherbox.registry import default_registry
    from featherbox.scaffold.templates import SCHEMA_DIR

    if output is None:
        output = find_project_root(Path(state.project_dir or Path.cwd()).resolve()) / SCHEMA_DIR
    for path in write_schemas(output, default_registry()):
        echo(f"wrote {path}")
    echo("YAML files written by fbox start with a `# yaml-language-server: $schema=...` line that uses them.")
