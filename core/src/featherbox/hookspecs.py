"""The hooks a FeatherBox plugin can implement.

Every hook hands over classes (or registers callbacks); the core collects them, rejects duplicate
names and decides when to call them. Plugins decorate their functions with :data:`hookimpl`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import typer

    from featherbox.extension import AdapterType, IncrementalStrategy, MetadataBackend, StorageBackend

PROJECT_NAME = "featherbox"
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def fbox_adapter_types() -> list[type[AdapterType]]:
    """Return the adapter classes this plugin provides, one per `type:` value of `adapters/*.yml`.

    Each class names its type (`type_name`), carries the JSON Schema its adapter file must satisfy
    (`config_schema`) and loads data when the engine asks it to.
    """


@hookspec
def fbox_incremental_strategies() -> list[type[IncrementalStrategy]]:
    """Return incremental strategy classes (`filename`, `content`, `column`, `cdc`, ...).

    A strategy decides what part of a source is new since the state recorded by the last
    successful run; adapters look strategies up by name.
    """


@hookspec
def fbox_metadata_backends() -> list[type[MetadataBackend]]:
    """Return metadata backend classes, one per `database.type` of `project.yml`.

    A backend holds the DuckLake catalog and FeatherBox's own state (run history, the run lock).
    """


@hookspec
def fbox_storage_backends() -> list[type[StorageBackend]]:
    """Return storage backend classes, one per `storage.type` of `project.yml`.

    A backend turns the storage config into a DuckLake `DATA_PATH` and prepares the DuckDB
    connection (secrets, filesystems) so DuckLake can read and write there.
    """


@hookspec
def fbox_register_commands(app: typer.Typer) -> None:
    """Add commands to the `fbox` command line; `app` is the root typer application."""
