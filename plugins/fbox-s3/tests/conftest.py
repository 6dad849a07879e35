"""fbox-s3's tests run against moto: `s3_server` and `s3_store` (a fresh bucket) are fixtures of
featherbox.testing (install with `pip install "fbox-s3[test]"`)."""

from __future__ import annotations

import pytest


@pytest.fixture
def s3_env(s3_server) -> dict:
    """The environment variables of the adapter documents' `$VAR`s (`s3_config`)."""
    return {"FB_S3_KEY": "AKIATESTKEY", "FB_S3_SECRET": "contract-secret", "FB_S3_ENDPOINT": s3_server.url,
            "FB_S3_SSL": "false"}


@pytest.fixture
def s3_config(s3_store) -> dict:
    """An adapter's `config:` for the bucket `s3_store`, every connection value from `s3_env`."""
    return {"bucket": s3_store.bucket, "region": "us-east-1", "access_key": "$FB_S3_KEY", "secret_key": "$FB_S3_SECRET",
            "endpoint": "$FB_S3_ENDPOINT", "path_style": True, "ssl": "$FB_S3_SSL"}
