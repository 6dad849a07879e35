"""fbox-postgresql against `featherbox.testing.AdapterContract`, on the local PostgreSQL server; runs with
only the core and this plugin installed (`pytest plugins/fbox-postgresql/tests`)."""

from __future__ import annotations

import pytest

from featherbox.testing import AdapterContract


class TestPostgreSQLContract(AdapterContract):
    @pytest.fixture
    def adapter_type(self):
        from fbox_postgresql.adapter import PostgresAdapter

        return PostgresAdapter

    @pytest.fixture
    def valid_config(self, shop):
        return {"type": "postgresql", "config": shop.config(), "tables": ["items", "tags"]}

    @pytest.fixture
    def add_rows(self, shop):
        return lambda root: shop.sql("INSERT INTO items VALUES (4, 'four'), (5, 'five')")

    @pytest.fixture
    def break_source(self, shop):
        return lambda root: shop.sql("DROP TABLE tags")  # a listed table the source no longer has
