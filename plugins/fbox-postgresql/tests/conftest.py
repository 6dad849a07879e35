"""fbox-postgresql's tests use a fresh database on a running PostgreSQL server: `postgres_database` is a
fixture of featherbox.testing (127.0.0.1:5432, user postgres, unless FBOX_TEST_PG_HOST/PORT/USER/PASSWORD
say otherwise). Without a reachable server the tests skip, or fail under CI=true."""

from __future__ import annotations

import pytest


@pytest.fixture
def shop(postgres_database):
    """`postgres_database` with two tables: items (3 rows) and tags (2 rows)."""
    postgres_database.sql(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(20))",
        "INSERT INTO items VALUES (1, 'one'), (2, 'two'), (3, 'three')",
        "CREATE TABLE tags (id INTEGER PRIMARY KEY, tag VARCHAR(20))",
        "INSERT INTO tags VALUES (1, 'red'), (2, 'blue')",
    )
    return postgres_database
