"""fbox-gcs's tests run against gcp-storage-emulator: `gcs_server` and `gcs_store` (a fresh bucket) are
fixtures of featherbox.testing (install with `pip install "fbox-gcs[test]"`)."""

from __future__ import annotations

import pytest


@pytest.fixture
def gcs_env(gcs_server) -> dict:
    """The environment variables of the adapter documents' `$VAR`s (`gcs_config`)."""
    return {"FB_GCS_ENDPOINT": gcs_server.url}


@pytest.fixture
def gcs_config(gcs_store) -> dict:
    """An adapter's `config:` for the bucket `gcs_store` on the emulator (anonymous)."""
    return {"bucket": gcs_store.bucket, "project": "test", "token": "anon", "endpoint": "$FB_GCS_ENDPOINT"}
