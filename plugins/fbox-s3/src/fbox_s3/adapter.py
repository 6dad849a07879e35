"""Files in an S3 bucket (or an S3-compatible store), under `config.prefix`."""

from __future__ import annotations

from featherbox.file_sources.adapter import FileAdapter
from featherbox.file_sources.schema import file_adapter_schema

from fbox_s3.connection import CONFIG_PROPERTIES, S3Settings


class S3Adapter(FileAdapter):
    type_name = "s3"
    description = "csv/tsv/json/ndjson/parquet files (gz/zst) in an S3 bucket or S3-compatible store"
    location_label = "objects"
    config_schema = file_adapter_schema("s3", CONFIG_PROPERTIES, ["bucket"])

    @property
    def settings(self) -> S3Settings:
        return S3Settings(self.spec.config)

    def duckdb_extensions(self) -> list[str]:
        return ["httpfs"]

    def filesystem(self):
        return self.settings.filesystem()

    def root(self) -> str:
        return self.settings.fs_root()

    def duckdb_path(self, fs_path: str) -> str:
        return fs_path if "://" in fs_path else "s3://" + fs_path

    def prepare(self, con) -> None:
        settings = self.settings
        settings.create_secret(con, settings.url())

    def location(self) -> str:
        return self.settings.url()

    def scrub(self, error: BaseException | str) -> str:
        return self.settings.scrub(error)
