"""A local directory as the DuckLake data path."""

from __future__ import annotations

from pathlib import Path

from featherbox.extension import StorageBackend


class LocalStorage(StorageBackend):
    type_name = "local"
    description = "DuckLake data files in a local directory"
    config_schema = {
        "type": "object",
        "properties": {
            "type": {"const": "local"},
            "path": {"type": "string", "minLength": 1, "description": "directory; relative to the project directory"},
        },
        "required": ["type"],
        "additionalProperties": False,
    }

    def data_path(self) -> str:
        # not created here: DuckLake makes the folders it writes into, so a command that only
        # reads (or is refused because the data is elsewhere) leaves no empty folder behind
        path = Path(self.config.get("path", "data"))
        path = path if path.is_absolute() else self.root / path
        return str(path) + "/"
