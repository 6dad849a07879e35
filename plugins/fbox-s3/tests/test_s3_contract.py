"""fbox-s3 against `featherbox.testing.AdapterContract`, on moto; runs with only the core and this plugin
installed (`pytest plugins/fbox-s3/tests`)."""

from __future__ import annotations

from datetime import datetime

import pytest

from featherbox.testing import AdapterContract
from featherbox.testing.samples import HOURLY, hourly_files, truncated_gzip

HOURS = [datetime(2024, 1, 1, h) for h in (0, 1, 2)]


class TestS3Contract(AdapterContract):
    @pytest.fixture
    def adapter_type(self):
        from fbox_s3.adapter import S3Adapter

        return S3Adapter

    @pytest.fixture
    def adapter_env(self, s3_env):
        return s3_env

    @pytest.fixture
    def valid_config(self, s3_store, s3_config):
        s3_store.put_many(hourly_files(HOURS))
        return {"type": "s3", "config": {**s3_config, "prefix": "logs"}, "path": HOURLY, "format": "csv",
                "update_strategy": "filename"}

    @pytest.fixture
    def add_rows(self, s3_store):
        return lambda root: s3_store.put_many(hourly_files([datetime(2024, 1, 1, 3)]))

    @pytest.fixture
    def break_source(self, s3_store):
        return lambda root: s3_store.put(*truncated_gzip(datetime(2024, 1, 1, 4)))
