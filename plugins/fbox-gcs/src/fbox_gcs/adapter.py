"""Files in a Google Cloud Storage bucket, under `config.prefix`."""

from __future__ import annotations

from featherbox.file_sources.adapter import FileAdapter
from featherbox.file_sources.schema import file_adapter_schema

from fbox_gcs.connection import CONFIG_PROPERTIES, GCSSettings


class GCSAdapter(FileAdapter):
    type_name = "gcs"
    description = "csv/tsv/json/ndjson/parquet files (gz/zst) in a Google Cloud Storage bucket"
    location_label = "objects"
    config_schema = file_adapter_schema("gcs", CONFIG_PROPERTIES, ["bucket"])

    @property
    def settings(self) -> GCSSettings:
        return GCSSettings(self.spec.config, self.project.root)

    def filesystem(self):
        return self.settings.filesystem()

    def root(self) -> str:
        return self.settings.fs_root()

    def duckdb_path(self, fs_path: str) -> str:
        return fs_path if "://" in fs_path else "gs://" + fs_path

    def prepare(self, con) -> None:
        self.settings.register(con)

    def location(self) -> str:
        return self.settings.url()

    def scrub(self, error: BaseException | str) -> str:
        return self.settings.scrub(error)
