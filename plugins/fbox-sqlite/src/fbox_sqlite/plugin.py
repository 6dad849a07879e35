"""Entry point of fbox-sqlite: SQLite tables as a source and SQLite as the project database."""

from featherbox.hookspecs import hookimpl


@hookimpl
def fbox_adapter_types():
    from fbox_sqlite.adapter import SQLiteAdapter

    return [SQLiteAdapter]


@hookimpl
def fbox_metadata_backends():
    from fbox_sqlite.backend import SQLiteBackend

    return [SQLiteBackend]
