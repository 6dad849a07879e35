"""fbox-azure's tests run against azurite: `azure_server` and `azure_store` (a fresh container) are
fixtures of featherbox.testing (install with `pip install "fbox-azure[test]"`; azurite itself comes from
npm: on PATH, or installed by the fixture with `npm install azurite` into ~/.cache/featherbox-test)."""

from __future__ import annotations

import pytest


@pytest.fixture
def azure_env(azure_server) -> dict:
    """The environment variables of the adapter documents' `$VAR`s (`azure_config`)."""
    return {"FB_AZURE_CS": azure_server.connection_string}


@pytest.fixture
def azure_config(azure_store) -> dict:
    """An adapter's `config:` for the container `azure_store`, with azurite's connection string."""
    return {"container": azure_store.bucket, "connection_string": "$FB_AZURE_CS"}
