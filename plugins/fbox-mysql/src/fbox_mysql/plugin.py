"""Entry point of fbox-mysql: MySQL/MariaDB tables as a source and MySQL/MariaDB as the project database."""

from featherbox.hookspecs import hookimpl


@hookimpl
def fbox_adapter_types():
    from fbox_mysql.adapter import MySQLAdapter

    return [MySQLAdapter]


@hookimpl
def fbox_metadata_backends():
    from fbox_mysql.backend import MySQLBackend

    return [MySQLBackend]
