"""The service fixtures of the `featherbox.testing` pytest plugin (registered for every pytest run in an
environment with featherbox installed; nothing starts until a test asks for a fixture).

Session-scoped servers (one per pytest process; with pytest-xdist one per worker):
`s3_server` (moto), `gcs_server` (gcp-storage-emulator), `azure_server` (azurite; `.connection_string`).
Per test: `s3_store`, `gcs_store`, `azure_store` (a fresh bucket/container, a `Store`) and
`postgres_database`, `mysql_database` (a fresh database on the running server, a `Database`).
A missing service skips the test with the reason, or fails it under CI=true.
"""

from __future__ import annotations

import pytest

from . import databases, services, stores


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """moto_server on a free port: `.url` is the S3 endpoint (any key and secret are accepted)."""
    server = services.start_moto(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def gcs_server(tmp_path_factory):
    """gcp-storage-emulator on a free port: `.url` is the endpoint (token "anon", project "test")."""
    server = services.start_gcs_emulator(tmp_path_factory.mktemp("gcs"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def azure_server(tmp_path_factory):
    """azurite (Blob) on a free port: `.connection_string` reaches it with the development account."""
    server = services.start_azurite(tmp_path_factory.mktemp("azurite"))
    yield server
    server.stop()


@pytest.fixture
def s3_store(s3_server) -> stores.Store:
    """A fresh bucket on `s3_server`."""
    return stores.new_store(stores.s3_filesystem(s3_server))


@pytest.fixture
def gcs_store(gcs_server) -> stores.Store:
    """A fresh bucket on `gcs_server`."""
    return stores.new_store(stores.gcs_filesystem(gcs_server))


@pytest.fixture
def azure_store(azure_server) -> stores.Store:
    """A fresh container on `azure_server`."""
    return stores.new_store(stores.azure_filesystem(azure_server))


@pytest.fixture
def postgres_database():
    """A fresh database on the PostgreSQL server of `postgres_params()`, dropped afterwards."""
    with databases.fresh_database("postgresql", databases.postgres_params()) as database:
        yield database


@pytest.fixture
def mysql_database():
    """A fresh database on the MySQL/MariaDB server of `mysql_params()`, dropped afterwards."""
    with databases.fresh_database("mysql", databases.mysql_params()) as database:
        yield database
