"""Files in an Azure Blob Storage container, under `config.prefix`."""

from __future__ import annotations

from featherbox.file_sources.adapter import FileAdapter
from featherbox.file_sources.schema import file_adapter_schema

from fbox_azure.connection import CONFIG_PROPERTIES, AzureSettings


class AzureAdapter(FileAdapter):
    type_name = "azure"
    description = "csv/tsv/json/ndjson/parquet files (gz/zst) in an Azure Blob Storage container"
    location_label = "blobs"
    config_schema = file_adapter_schema("azure", CONFIG_PROPERTIES, ["container"])

    @property
    def settings(self) -> AzureSettings:
        return AzureSettings(self.spec.config)

    def duckdb_extensions(self) -> list[str]:
        return ["azure"]

    def filesystem(self):
        return self.settings.filesystem()

    def root(self) -> str:
        return self.settings.fs_root()

    def duckdb_path(self, fs_path: str) -> str:
        return fs_path if "://" in fs_path else "az://" + fs_path

    def prepare(self, con) -> None:
        self.settings.create_secret(con)

    def location(self) -> str:
        return self.settings.url()

    def scrub(self, error: BaseException | str) -> str:
        return self.settings.scrub(error)
