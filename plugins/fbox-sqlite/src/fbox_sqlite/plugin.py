"""Entry point of fbox-sqlite: SQLite tables as a source (SQLite as the project database is built into the core)."""

from featherbox.hookspecs import hookimpl


@hookimpl
def fbox_adapter_types():
    from fbox_sqlite.adapter import SQLiteAdapter

    return [SQLiteAdapter]

