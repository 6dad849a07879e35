"""fbox-azure against `featherbox.testing.AdapterContract`, on azurite; runs with only the core and this
plugin installed (`pytest plugins/fbox-azure/tests`)."""

from __future__ import annotations

from datetime import datetime

import pytest

from featherbox.testing import AdapterContract
from featherbox.testing.samples import HOURLY, hourly_files, truncated_gzip

HOURS = [datetime(2024, 1, 1, h) for h in (0, 1, 2)]


class TestAzureContract(AdapterContract):
    @pytest.fixture
    def adapter_type(self):
        from fbox_azure.adapter import AzureAdapter

        return AzureAdapter

    @pytest.fixture
    def adapter_env(self, azure_env):
        return azure_env

    @pytest.fixture
    def valid_config(self, azure_store, azure_config):
        azure_store.put_many(hourly_files(HOURS))
        return {"type": "azure", "config": {**azure_config, "prefix": "logs"}, "path": HOURLY, "format": "csv",
                "update_strategy": "filename"}

    @pytest.fixture
    def add_rows(self, azure_store):
        return lambda root: azure_store.put_many(hourly_files([datetime(2024, 1, 1, 3)]))

    @pytest.fixture
    def break_source(self, azure_store):
        return lambda root: azure_store.put(*truncated_gzip(datetime(2024, 1, 1, 4)))
