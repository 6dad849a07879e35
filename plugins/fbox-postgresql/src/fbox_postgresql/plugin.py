"""Entry point of fbox-postgresql: PostgreSQL tables as a source and PostgreSQL as the project database."""

from featherbox.hookspecs import hookimpl


@hookimpl
def fbox_adapter_types():
    from fbox_postgresql.adapter import PostgresAdapter

    return [PostgresAdapter]


@hookimpl
def fbox_metadata_backends():
    from fbox_postgresql.backend import PostgresBackend

    return [PostgresBackend]
