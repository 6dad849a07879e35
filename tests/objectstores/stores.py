"""What the object-store tests need to know about each store, written once: a filesystem to put objects
with, the connection config of an adapter or a DuckLake storage (every value from an environment
variable) and those variables, given the store's running server (featherbox.testing's `s3_server`,
`gcs_server`, `azure_server`; `Store`, a fresh bucket, is featherbox.testing's too)."""

from __future__ import annotations

from pathlib import Path

import yaml

from featherbox.testing import write_project
from featherbox.testing.samples import HOURLY as PATTERN
from featherbox.testing.stores import Store, azure_filesystem, gcs_filesystem, new_store, s3_filesystem

__all__ = ["KINDS", "Kind", "PATTERN", "Store", "new_store", "project"]


class Kind:
    """One store type. `name` is the adapter and storage type, `server` the fixture that serves it."""

    name = server = ""

    def filesystem(self, server):
        raise NotImplementedError

    def config(self, bucket: str) -> dict:
        """The connection config, without a prefix."""
        raise NotImplementedError

    def env(self, server) -> dict:
        raise NotImplementedError

    def new_store(self, server, prefix: str = "b-") -> Store:
        return new_store(self.filesystem(server), prefix)


class S3(Kind):
    name, server = "s3", "s3_server"

    def __init__(self, key: str = "AKIATESTKEY", secret: str = "s3cr3t-value-never-printed"):
        self.key, self.secret = key, secret

    def filesystem(self, server):
        return s3_filesystem(server)

    def config(self, bucket: str) -> dict:
        # every connection value from the environment, as strings (ssl: "false")
        return {"bucket": bucket, "region": "us-east-1", "access_key": "$FB_S3_KEY", "secret_key": "$FB_S3_SECRET",
                "endpoint": "$FB_S3_ENDPOINT", "path_style": True, "ssl": "$FB_S3_SSL"}

    def env(self, server) -> dict:
        return {"FB_S3_KEY": self.key, "FB_S3_SECRET": self.secret, "FB_S3_ENDPOINT": server.url, "FB_S3_SSL": "false"}


class GCS(Kind):
    name, server = "gcs", "gcs_server"

    def filesystem(self, server):
        return gcs_filesystem(server)

    def config(self, bucket: str) -> dict:
        return {"bucket": bucket, "project": "test", "token": "anon", "endpoint": "$FB_GCS_ENDPOINT"}

    def env(self, server) -> dict:
        return {"FB_GCS_ENDPOINT": server.url}


class Azure(Kind):
    name, server = "azure", "azure_server"

    def filesystem(self, server):
        return azure_filesystem(server)

    def config(self, bucket: str) -> dict:
        return {"container": bucket, "connection_string": "$FB_AZURE_CS"}

    def env(self, server) -> dict:
        return {"FB_AZURE_CS": server.connection_string}


KINDS = {kind.name: kind for kind in (S3(), GCS(), Azure())}


def project(root: Path, kind: Kind, bucket: str, extra: dict | None = None, strategy: str = "filename",
            lake_on_store: bool = False, config: dict | None = None, files: dict | None = None) -> Path:
    """A project with one adapter `logs` over PATTERN under the prefix `logs` (`config` replaces the
    connection config), and with `lake_on_store` the DuckLake data files under `lake` in the same bucket."""
    connection = config or kind.config(bucket)
    adapter = {"type": kind.name, "config": {**connection, "prefix": "logs"}, "path": PATTERN, "format": "csv",
               "update_strategy": strategy, **(extra or {})}
    files = {"adapters/logs.yml": yaml.safe_dump(adapter, sort_keys=False), **(files or {})}
    if lake_on_store:
        storage = {"type": kind.name, **connection, "path": "lake"}
        files["project.yml"] = yaml.safe_dump({"storage": storage}, sort_keys=False)
    return write_project(root, files)
