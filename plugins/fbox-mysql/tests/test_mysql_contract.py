"""fbox-mysql against `featherbox.testing.AdapterContract`, on the local MySQL/MariaDB server; runs with
only the core and this plugin installed (`pytest plugins/fbox-mysql/tests`)."""

from __future__ import annotations

import pytest

from featherbox.testing import AdapterContract


class TestMySQLContract(AdapterContract):
    @pytest.fixture
    def adapter_type(self):
        from fbox_mysql.adapter import MySQLAdapter

        return MySQLAdapter

    @pytest.fixture
    def valid_config(self, shop):
        return {"type": "mysql", "config": shop.config(), "tables": ["items", "tags"]}

    @pytest.fixture
    def add_rows(self, shop):
        return lambda root: shop.sql("INSERT INTO items VALUES (4, 'four'), (5, 'five')")

    @pytest.fixture
    def break_source(self, shop):
        return lambda root: shop.sql("DROP TABLE tags")  # a listed table the source no longer has
