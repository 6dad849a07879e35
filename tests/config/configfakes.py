"""Fake plugin types for the config tests: the loader only checks documents against their schemas,
so these types have a schema and nothing that runs."""

from __future__ import annotations

from featherbox.extension import AdapterType, MetadataBackend, StorageBackend
from featherbox.registry import Registry


class FakeLocalStorage(StorageBackend):
    type_name = "local"
    config_schema = {"type": "object", "required": ["path"], "properties": {"path": {"type": "string"}}}

    def data_path(self):
        return self.config["path"]


class FakeSqliteDatabase(MetadataBackend):
    type_name = "sqlite"
    config_schema = {"type": "object", "properties": {"path": {"type": "string"}}}

    def ducklake_catalog(self):
        return "sqlite:" + self.config["path"]

    def connect(self):
        raise NotImplementedError

    def run_lock(self):
        raise NotImplementedError


def fake_registry(*adapters: type[AdapterType]) -> Registry:
    """A registry with `adapters` (by their type_name), local storage and a SQLite database."""
    registry = Registry()
    for adapter in adapters:
        registry.adapters[adapter.type_name] = adapter
    registry.storages["local"] = FakeLocalStorage
    registry.databases["sqlite"] = FakeSqliteDatabase
    return registry


def file_adapter_schema(**extra: dict) -> dict:
    """The schema of a `localfile`-like adapter: a few known keys (and `extra` ones), nothing else."""
    return {
        "type": "object",
        "properties": {
            "type": {},
            "description": {},
            "config": {},
            "path": {"type": "string"},
            "format": {"enum": ["csv", "json", "parquet"]},
            **extra,
        },
        "additionalProperties": False,
    }


class FakeFileAdapter(AdapterType):
    type_name = "localfile"
    config_schema = file_adapter_schema()

    def output_tables(self):
        return []

    def load(self, ctx):
        raise NotImplementedError
