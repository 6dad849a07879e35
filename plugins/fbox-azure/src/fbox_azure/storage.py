"""An Azure Blob Storage container as the DuckLake data path (DuckDB's azure extension writes az:// paths)."""

from __future__ import annotations

from featherbox.extension import StorageBackend

from fbox_azure.connection import CONFIG_PROPERTIES, AzureSettings


class AzureStorage(StorageBackend):
    type_name = "azure"
    description = "DuckLake data files in an Azure Blob Storage container"
    config_schema = {
        "type": "object",
        "properties": {
            "type": {"const": "azure"},
            **CONFIG_PROPERTIES,
            "path": {"type": "string", "description": "same as prefix: where the data files go inside the container"},
        },
        "required": ["type", "container"],
        "additionalProperties": False,
    }

    @property
    def settings(self) -> AzureSettings:
        config = {k: v for k, v in self.config.items() if k not in ("type", "path")}
        if not config.get("prefix") and self.config.get("path"):
            config["prefix"] = self.config["path"]
        return AzureSettings(config)

    def data_path(self) -> str:
        return self.settings.url() + "/"

    def duckdb_extensions(self) -> list[str]:
        return ["azure"]

    def prepare(self, con) -> None:
        self.settings.create_secret(con)
