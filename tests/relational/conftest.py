"""Throwaway PostgreSQL (logical decoding) and MariaDB (row binlog) servers for the CDC tests, and
`server`: a scenario written once runs on each server kind (see dbkinds.py).

The `pg` and `my` fixtures (a fresh database on the shared servers) come from tests/conftest.py
(featherbox.testing's `postgres_database` and `mysql_database`).
"""

from __future__ import annotations

import pytest

from dbkinds import MARIADB, POSTGRES, SERVERS
from dbservers import start_mariadb, start_postgres


@pytest.fixture(params=SERVERS, ids=lambda server: server.kind)
def server(request):
    """The description of the server kind the test runs on (what its SQL and checks look like)."""
    return request.param


# throwaway servers for CDC (server settings the shared instances lack; see /work/shared/TESTING.md)


@pytest.fixture(scope="session")
def pg_logical_server():
    """A PostgreSQL 15 with wal_level=logical on a free port, run as the postgres user."""
    with start_postgres(("wal_level=logical", "max_replication_slots=10", "max_wal_senders=10")) as server:
        yield server.params


@pytest.fixture(scope="session")
def pg_password_server():
    """A PostgreSQL 15 that checks passwords (scram-sha-256; the shared server trusts every login),
    on a free port: {host, port, user, password} of its superuser."""
    with start_postgres(auth="scram", prefix="fbox_pgpw_") as server:
        yield server.params


@pytest.fixture
def pgl(pg_logical_server):
    """A fresh database on the logical-decoding server; its replication slots are dropped afterwards."""
    with POSTGRES.fresh_database(pg_logical_server) as source:
        yield source


@pytest.fixture(scope="session")
def mariadb_binlog_server():
    """A MariaDB with a ROW binlog (binlog_row_metadata=FULL) on a free port."""
    binlog = ("--log-bin=mysql-bin", "--binlog-format=ROW", "--binlog-row-metadata=FULL", "--server-id=1")
    with start_mariadb(binlog) as server:
        yield server.params


@pytest.fixture
def myb(mariadb_binlog_server):
    """A fresh database on the binlog MariaDB."""
    with MARIADB.fresh_database(mariadb_binlog_server) as source:
        yield source
