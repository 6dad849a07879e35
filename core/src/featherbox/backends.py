"""A project's plugin instances: its catalog database, its storage and one object per adapter."""

from __future__ import annotations

from dataclasses import dataclass, field

from featherbox.config.project import Project
from featherbox.extension import AdapterType, MetadataBackend, StorageBackend
from featherbox.registry import Registry


@dataclass
class Backends:
    database: MetadataBackend
    storage: StorageBackend
    adapters: dict[str, AdapterType] = field(default_factory=dict)

    @classmethod
    def of(cls, project: Project, registry: Registry) -> Backends:
        database = registry.get("database", project.database["type"], "project.yml database.type")
        storage = registry.get("storage", project.storage["type"], "project.yml storage.type")
        adapters = {}
        for name, spec in project.adapters.items():
            adapter = registry.get("adapter", spec.type, str(spec.file))(spec, project)
            adapter.registry = registry  # strategies come from the plugins the project was loaded with
            adapters[name] = adapter
        return cls(database(project.database, project.root), storage(project.storage, project.root), adapters)
