"""fbox-gcs against `featherbox.testing.AdapterContract`, on gcp-storage-emulator; runs with only the core
and this plugin installed (`pytest plugins/fbox-gcs/tests`)."""

from __future__ import annotations

from datetime import datetime

import pytest

from featherbox.testing import AdapterContract
from featherbox.testing.samples import HOURLY, hourly_files, truncated_gzip

HOURS = [datetime(2024, 1, 1, h) for h in (0, 1, 2)]


class TestGCSContract(AdapterContract):
    @pytest.fixture
    def adapter_type(self):
        from fbox_gcs.adapter import GCSAdapter

        return GCSAdapter

    @pytest.fixture
    def adapter_env(self, gcs_env):
        return gcs_env

    @pytest.fixture
    def valid_config(self, gcs_store, gcs_config):
        gcs_store.put_many(hourly_files(HOURS))
        return {"type": "gcs", "config": {**gcs_config, "prefix": "logs"}, "path": HOURLY, "format": "csv",
                "update_strategy": "filename"}

    @pytest.fixture
    def add_rows(self, gcs_store):
        return lambda root: gcs_store.put_many(hourly_files([datetime(2024, 1, 1, 3)]))

    @pytest.fixture
    def break_source(self, gcs_store):
        return lambda root: gcs_store.put(*truncated_gzip(datetime(2024, 1, 1, 4)))
