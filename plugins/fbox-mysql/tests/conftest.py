"""fbox-mysql's tests use a fresh database on a running MySQL or MariaDB server: `mysql_database` is a
fixture of featherbox.testing (127.0.0.1:3306, user root, unless FBOX_TEST_MYSQL_HOST/PORT/USER/PASSWORD
say otherwise). Without a reachable server the tests skip, or fail under CI=true."""

from __future__ import annotations

import pytest


@pytest.fixture
def shop(mysql_database):
    """`mysql_database` with two tables: items (3 rows) and tags (2 rows)."""
    mysql_database.sql(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(20))",
        "INSERT INTO items VALUES (1, 'one'), (2, 'two'), (3, 'three')",
        "CREATE TABLE tags (id INTEGER PRIMARY KEY, tag VARCHAR(20))",
        "INSERT INTO tags VALUES (1, 'red'), (2, 'blue')",
    )
    return mysql_database
