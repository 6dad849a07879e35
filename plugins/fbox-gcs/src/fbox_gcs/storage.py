"""A Google Cloud Storage bucket as the DuckLake data path (through the registered gcsfs filesystem)."""

from __future__ import annotations

from featherbox.extension import StorageBackend

from fbox_gcs.connection import CONFIG_PROPERTIES, GCSSettings


class GCSStorage(StorageBackend):
    type_name = "gcs"
    description = "DuckLake data files in a Google Cloud Storage bucket"
    config_schema = {
        "type": "object",
        "properties": {
            "type": {"const": "gcs"},
            **CONFIG_PROPERTIES,
            "path": {"type": "string", "description": "same as prefix: where the data files go inside the bucket"},
        },
        "required": ["type", "bucket"],
        "additionalProperties": False,
    }

    @property
    def settings(self) -> GCSSettings:
        config = {k: v for k, v in self.config.items() if k not in ("type", "path")}
        if not config.get("prefix") and self.config.get("path"):
            config["prefix"] = self.config["path"]
        return GCSSettings(config, self.root)

    def data_path(self) -> str:
        return self.settings.url() + "/"

    def prepare(self, con) -> None:
        self.settings.register(con)
