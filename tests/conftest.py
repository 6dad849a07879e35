"""Fixtures shared by every test folder; command-line helpers live in `fboxcli`."""

from __future__ import annotations

import pytest

from featherbox.testing import in_ci

# featherbox.testing (a pytest plugin) provides the service fixtures: s3_server, gcs_server, azure_server,
# s3_store, gcs_store, azure_store, postgres_database, mysql_database.


@pytest.fixture
def ci() -> bool:
    """Whether this is a CI run, where a missing service fails a test (featherbox.testing.unavailable)."""
    return in_ci()


@pytest.fixture
def pg(postgres_database):
    """A fresh database on the shared PostgreSQL server (the short name the tests use)."""
    return postgres_database


@pytest.fixture
def my(mysql_database):
    """A fresh database on the shared MySQL/MariaDB server (the short name the tests use)."""
    return mysql_database


def pytest_configure(config):
    """Install the DuckDB extensions once, before xdist starts its workers, so they do not race."""
    if hasattr(config, "workerinput"):
        return
    import duckdb

    from featherbox.duckdb_extensions import load_extensions

    con = duckdb.connect()
    try:
        load_extensions(con, ["ducklake", "sqlite", "httpfs", "azure", "postgres", "mysql"])
    finally:
        con.close()
