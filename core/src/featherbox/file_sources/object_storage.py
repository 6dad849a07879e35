"""What the object-store plugins share for the DuckLake data path (`storage:` in project.yml)."""

from __future__ import annotations


def object_storage_schema(type_name: str, connection_properties: dict, place: str) -> dict:
    """The `storage:` schema: the plugin's connection options, `place` (`bucket`, `container`)
    required, and `path` as another name for `prefix`."""
    return {
        "type": "object",
        "properties": {
            "type": {"const": type_name},
            **connection_properties,
            "path": {"type": "string", "description": f"same as prefix: where the data files go inside the {place}"},
        },
        "required": ["type", place],
        "additionalProperties": False,
    }


def connection_config(storage: dict) -> dict:
    """The `storage:` section as the plugin's connection settings (`path` becomes `prefix`)."""
    config = {k: v for k, v in storage.items() if k not in ("type", "path")}
    if not config.get("prefix") and storage.get("path"):
        config["prefix"] = storage["path"]
    return config
