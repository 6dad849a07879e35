"""`featherbox.testing`: the test kit for FeatherBox projects and plugins, and a pytest plugin (entry
point `pytest11`) that registers its fixtures in every pytest run where featherbox is installed.

- `AdapterContract` (`contract`): the tests every adapter type must pass;
- `write_project` and the fixture `fbox_project` (`project`): a project on disk;
- `services`: `unavailable(reason)` (skip, or fail under CI=true), `in_ci()`, `free_port()`, and the
  object-store emulators (`start_moto`, `start_gcs_emulator`, `start_azurite`);
- `stores`: `Store`, a fresh bucket and an fsspec filesystem for it;
- `databases`: `Database`, `fresh_database` on a running PostgreSQL or MySQL/MariaDB server;
- fixtures (`fixtures`): `s3_server`, `gcs_server`, `azure_server`, `s3_store`, `gcs_store`,
  `azure_store`, `postgres_database`, `mysql_database`.

Importing this package needs only the core and pytest: the emulators' clients and the database drivers
are imported when a fixture or function needs them.
"""

from __future__ import annotations

from .contract import AdapterContract
from .databases import Database, fresh_database, mysql_params, postgres_params
from .fixtures import (
    azure_server,
    azure_store,
    gcs_server,
    gcs_store,
    mysql_database,
    postgres_database,
    s3_server,
    s3_store,
)
from .project import fbox_project, write_project
from .services import Server, free_port, in_ci, start_server, unavailable
from .stores import Store, new_store

__all__ = [
    "AdapterContract",
    "Database",
    "Server",
    "Store",
    "azure_server",
    "azure_store",
    "fbox_project",
    "free_port",
    "fresh_database",
    "gcs_server",
    "gcs_store",
    "in_ci",
    "mysql_database",
    "mysql_params",
    "new_store",
    "postgres_database",
    "postgres_params",
    "s3_server",
    "s3_store",
    "start_server",
    "unavailable",
    "write_project",
]
