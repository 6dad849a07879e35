"""An Azure Blob Storage container as the DuckLake data path (DuckDB's azure extension writes az:// paths)."""

from __future__ import annotations

from featherbox.extension import StorageBackend
from featherbox.file_sources.object_storage import connection_config, object_storage_schema

from fbox_azure.connection import CONFIG_PROPERTIES, AzureSettings


class AzureStorage(StorageBackend):
    type_name = "azure"
    description = "DuckLake data files in an Azure Blob Storage container"
    config_schema = object_storage_schema("azure", CONFIG_PROPERTIES, "container")

    @property
    def settings(self) -> AzureSettings:
        return AzureSettings(connection_config(self.config))

    def data_path(self) -> str:
        return self.settings.url() + "/"

    def duckdb_extensions(self) -> list[str]:
        return ["azure"]

    def prepare(self, con) -> None:
        self.settings.create_secret(con)
