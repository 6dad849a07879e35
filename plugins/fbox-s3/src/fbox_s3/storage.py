"""An S3 bucket (or S3-compatible store) as the DuckLake data path."""

from __future__ import annotations

from featherbox.extension import StorageBackend

from fbox_s3.connection import CONFIG_PROPERTIES, S3Settings


class S3Storage(StorageBackend):
    type_name = "s3"
    description = "DuckLake data files in an S3 bucket or S3-compatible store"
    config_schema = {
        "type": "object",
        "properties": {
            "type": {"const": "s3"},
            **CONFIG_PROPERTIES,
            "path": {"type": "string", "description": "same as prefix: where the data files go inside the bucket"},
        },
        "required": ["type", "bucket"],
        "additionalProperties": False,
    }

    @property
    def settings(self) -> S3Settings:
        config = dict(self.config)
        if not config.get("prefix") and config.get("path"):
            config["prefix"] = config["path"]
        config.pop("path", None)
        config.pop("type", None)
        return S3Settings(config)

    def data_path(self) -> str:
        return self.settings.url() + "/"

    def duckdb_extensions(self) -> list[str]:
        return ["httpfs"]

    def prepare(self, con) -> None:
        settings = self.settings
        settings.create_secret(con, settings.url())
