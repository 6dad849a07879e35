"""`featherbox.testing.AdapterContract` run against the first-party adapter types whose tests need
servers (localfile and sqlite have theirs in plugins/fbox-localfile/tests and plugins/fbox-sqlite/tests).

s3, gcs and azure use the object-store servers of tests/objectstores/conftest.py (moto, gcp-storage-emulator, azurite); postgresql and mysql use the
database servers of tests/relational/conftest.py. Those fixtures skip when their server cannot be
started or reached, and fail instead under CI=true, as in their own test modules.
"""

from __future__ import annotations

from datetime import datetime

import pytest
import yaml

from featherbox.testing import AdapterContract
from objectstores.conftest import azure_store, azurite, gcs_emulator, gcs_store, moto, s3_store  # noqa: F401  (fixtures)
from objectstores.helpers import csv_gz, hourly_name, rows_for


HOURLY = "[YYYY]/[MM]/[DD]/app_[YYYY][MM][DD]T[HH].csv.gz"
HOURS = [datetime(2024, 1, 1, h) for h in (0, 1, 2)]


# --- object stores ---------------------------------------------------------------------------


def _put_hours(store):
    for t in HOURS:
        store.put(hourly_name(t), csv_gz(rows_for(t)))


class TestS3Contract(AdapterContract):
    @pytest.fixture
    def adapter_type(self):
        from fbox_s3.adapter import S3Adapter

        return S3Adapter

    @pytest.fixture
    def adapter_env(self, moto):
        return {"FB_S3_KEY": "AKIATESTKEY", "FB_S3_SECRET": "contract-secret", "FB_S3_ENDPOINT": moto.url, "FB_S3_SSL": "false"}

    @pytest.fixture
    def valid_config(self, s3_store):
        _put_hours(s3_store)
        config = {"bucket": s3_store.bucket, "region": "us-east-1", "access_key": "$FB_S3_KEY", "secret_key": "$FB_S3_SECRET",
                  "endpoint": "$FB_S3_ENDPOINT", "path_style": True, "ssl": "$FB_S3_SSL", "prefix": "logs"}
        return {"type": "s3", "config": config, "path": HOURLY, "format": "csv", "update_strategy": "filename"}


class TestGCSContract(AdapterContract):
    @pytest.fixture
    def adapter_type(self):
        from fbox_gcs.adapter import GCSAdapter

        return GCSAdapter

    @pytest.fixture
    def adapter_env(self, gcs_emulator):
        return {"FB_GCS_ENDPOINT": gcs_emulator.url}

    @pytest.fixture
    def valid_config(self, gcs_store):
        _put_hours(gcs_store)
        config = {"bucket": gcs_store.bucket, "prefix": "logs", "project": "test", "token": "anon", "endpoint": "$FB_GCS_ENDPOINT"}
        return {"type": "gcs", "config": config, "path": HOURLY, "format": "csv", "update_strategy": "filename"}


class TestAzureContract(AdapterContract):
    @pytest.fixture
    def adapter_type(self):
        from fbox_azure.adapter import AzureAdapter

        return AzureAdapter

    @pytest.fixture
    def adapter_env(self, azurite):
        return {"FB_AZURE_CS": azurite.connection_string}

    @pytest.fixture
    def valid_config(self, azure_store):
        _put_hours(azure_store)
        config = {"container": azure_store.bucket, "prefix": "logs", "connection_string": "$FB_AZURE_CS"}
        return {"type": "azure", "config": config, "path": HOURLY, "format": "csv", "update_strategy": "filename"}


# --- relational databases --------------------------------------------------------------------


def _relational_config(source, type_name: str) -> dict:
    source.sql(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(20))",
        "INSERT INTO items VALUES (1, 'one'), (2, 'two'), (3, 'three')",
    )
    return {"type": type_name, **yaml.safe_load("config:\n" + source.config_yaml())}


class TestPostgreSQLContract(AdapterContract):
    @pytest.fixture
    def adapter_type(self):
        from fbox_postgresql.adapter import PostgresAdapter

        return PostgresAdapter

    @pytest.fixture
    def valid_config(self, pg):
        return _relational_config(pg, "postgresql")

    @pytest.fixture
    def add_rows(self, pg):
        return lambda root: pg.sql("INSERT INTO items VALUES (4, 'four'), (5, 'five')")


class TestMySQLContract(AdapterContract):
    @pytest.fixture
    def adapter_type(self):
        from fbox_mysql.adapter import MySQLAdapter

        return MySQLAdapter

    @pytest.fixture
    def valid_config(self, my):
        return _relational_config(my, "mysql")

    @pytest.fixture
    def add_rows(self, my):
        return lambda root: my.sql("INSERT INTO items VALUES (4, 'four'), (5, 'five')")
