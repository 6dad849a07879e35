"""fbox-sqlite against `featherbox.testing.AdapterContract`; runs with only the core and this plugin
installed (`pytest plugins/fbox-sqlite/tests`)."""

from __future__ import annotations

import sqlite3

import pytest

from featherbox.testing import AdapterContract


def _execute(root, *statements: str) -> None:
    con = sqlite3.connect(root / "shop.sqlite")
    try:
        for statement in statements:
            con.execute(statement)
        con.commit()
    finally:
        con.close()


class TestSQLiteContract(AdapterContract):
    @pytest.fixture
    def adapter_type(self):
        from fbox_sqlite.adapter import SQLiteAdapter

        return SQLiteAdapter

    @pytest.fixture
    def valid_config(self):
        return {"type": "sqlite", "config": {"path": "shop.sqlite"}, "tables": ["users", "orders"]}

    @pytest.fixture
    def project_files(self, tmp_path):
        db = tmp_path / "seed.sqlite"
        con = sqlite3.connect(db)
        con.executescript(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);"
            "INSERT INTO users VALUES (1, 'ann'), (2, 'bob');"
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER, amount REAL);"
            "INSERT INTO orders VALUES (10, 1, 9.5), (11, 2, 3.25), (12, 1, 1.0);"
        )
        con.commit()
        con.close()
        return {"shop.sqlite": db.read_bytes()}

    @pytest.fixture
    def add_rows(self):
        return lambda root: _execute(root, "INSERT INTO orders VALUES (13, 2, 4.0), (14, 1, 2.5)")

    @pytest.fixture
    def break_source(self):
        return lambda root: _execute(root, "DROP TABLE users")  # a listed table the source no longer has
