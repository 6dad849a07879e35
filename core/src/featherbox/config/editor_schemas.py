"""JSON Schemas for editors (`fbox schema`), built from the same schemas the validator uses."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from featherbox.config.schemas import ADAPTER_SCHEMA, MODEL_SCHEMA, PROJECT_SCHEMA
from featherbox.registry import Registry

DRAFT = "https://json-schema.org/draft/2020-12/schema"
DURATION = {"type": "string", "pattern": r"^(\d+[wdhms])+$", "description": 'a duration such as "30s", "10m", "1h30m", "1d"'}


def _by_type(base: dict, classes: dict) -> dict:
    """`base` plus, for each installed type, that type's own schema when `type` names it."""
    schema = copy.deepcopy(base)
    names = sorted(classes)
    schema.setdefault("properties", {})["type"] = {"enum": names} if names else {"type": "string"}
    schema["allOf"] = [
        {"if": {"properties": {"type": {"const": name}}, "required": ["type"]}, "then": classes[name].config_schema}
        for name in names
    ]
    return schema


def project_schema(registry: Registry) -> dict:
    schema = copy.deepcopy(PROJECT_SCHEMA)
    schema["properties"]["storage"] = _by_type(schema["properties"]["storage"], registry.storages)
    schema["properties"]["database"] = _by_type(schema["properties"]["database"], registry.databases)
    schema["properties"]["deployments"]["properties"]["timeout"] = DURATION
    return {"$schema": DRAFT, "title": "FeatherBox project.yml", **schema}


def adapter_schema(registry: Registry) -> dict:
    return {"$schema": DRAFT, "title": "FeatherBox adapter", **_by_type(ADAPTER_SCHEMA, registry.adapters)}


def model_schema() -> dict:
    schema = copy.deepcopy(MODEL_SCHEMA)
    schema["properties"]["max_age"] = DURATION
    return {"$schema": DRAFT, "title": "FeatherBox model", **schema}


def all_schemas(registry: Registry) -> dict[str, dict]:
    return {"project": project_schema(registry), "adapter": adapter_schema(registry), "model": model_schema()}


def write_schemas(directory: Path, registry: Registry) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in all_schemas(registry).items():
        path = directory / f"{name}.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written
