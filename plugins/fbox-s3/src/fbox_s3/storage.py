"""An S3 bucket (or S3-compatible store) as the DuckLake data path."""

from __future__ import annotations

from featherbox.extension import StorageBackend
from featherbox.file_sources.object_storage import connection_config, object_storage_schema

from fbox_s3.connection import CONFIG_PROPERTIES, S3Settings


class S3Storage(StorageBackend):
    type_name = "s3"
    description = "DuckLake data files in an S3 bucket or S3-compatible store"
    config_schema = object_storage_schema("s3", CONFIG_PROPERTIES, "bucket")

    @property
    def settings(self) -> S3Settings:
        return S3Settings(connection_config(self.config))

    def data_path(self) -> str:
        return self.settings.url() + "/"

    def duckdb_extensions(self) -> list[str]:
        return ["httpfs"]

    def prepare(self, con) -> None:
        settings = self.settings
        settings.create_secret(con, settings.url())
