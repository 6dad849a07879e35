"""The validated, interpolated project: what every later step of the data path reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

MAIN_SCHEMA = "main"


@dataclass(frozen=True)
class AdapterSpec:
    """One `adapters/<name>.yml`. Adapters write into the lake schema named after the adapter."""

    name: str
    type: str
    file: Path
    raw: dict[str, Any]  # the whole document, `$VAR`s substituted
    config: dict[str, Any]  # raw["config"] or {}
    description: str | None = None
    lines: dict[str, int] = field(default_factory=dict, compare=False)  # "config.path" -> line


@dataclass(frozen=True)
class ModelSpec:
    """One `models/**/<name>.yml`; a model in `models/<folder>/` becomes table `<folder>.<name>`."""

    name: str
    schema: str
    file: Path
    sql: str
    raw: dict[str, Any]
    max_age: timedelta | None = None
    description: str | None = None
    lines: dict[str, int] = field(default_factory=dict, compare=False)

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Project:
    root: Path
    storage: dict[str, Any]  # {"type": "local", "path": ...}; relative paths already made absolute
    database: dict[str, Any]  # {"type": "sqlite", "path": ...}
    timeout: timedelta | None
    adapters: dict[str, AdapterSpec]  # by adapter name
    models: dict[str, ModelSpec]  # by qualified name "schema.name"
    secrets: frozenset[str] = frozenset()  # the values of secret fields (featherbox.secrets)

    @property
    def state_dir(self) -> Path:
        return self.root / ".fbox"
