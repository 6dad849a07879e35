"""The embedded defaults every project can use with only the core installed: DuckLake data files in
a local directory, and the catalog with FeatherBox's state in one SQLite file."""

from featherbox.hookspecs import hookimpl


@hookimpl
def fbox_storage_backends():
    from featherbox.builtin.local_storage import LocalStorage

    return [LocalStorage]


@hookimpl
def fbox_metadata_backends():
    from featherbox.builtin.sqlite_database import SQLiteBackend

    return [SQLiteBackend]
