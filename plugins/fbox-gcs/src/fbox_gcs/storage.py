"""A Google Cloud Storage bucket as the DuckLake data path (through the registered gcsfs filesystem)."""

from __future__ import annotations

from featherbox.extension import StorageBackend
from featherbox.file_sources.object_storage import connection_config, object_storage_schema

from fbox_gcs.connection import CONFIG_PROPERTIES, GCSSettings


class GCSStorage(StorageBackend):
    type_name = "gcs"
    description = "DuckLake data files in a Google Cloud Storage bucket"
    config_schema = object_storage_schema("gcs", CONFIG_PROPERTIES, "bucket")

    @property
    def settings(self) -> GCSSettings:
        return GCSSettings(connection_config(self.config), self.root)

    def data_path(self) -> str:
        return self.settings.url() + "/"

    def prepare(self, con) -> None:
        self.settings.register(con)
