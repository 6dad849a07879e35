"""The validated, interpolated project: what every later step of the data path reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

MAIN_SCHEMA = "main"
#: a model's `materialized`: how its table is written (docs/project.md)
TABLE, VIEW, APPEND, MERGE, DELETE_INSERT = "table", "view", "append", "merge", "delete+insert"
INCREMENTAL = (APPEND, MERGE, DELETE_INSERT)


@dataclass(frozen=True)
class AdapterSpec:
    """One `adapters/<name>.yml`. Adapters write into their own schemas (featherbox.layout)."""

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

    @property
    def materialized(self) -> str:
        """`table`, `view`, `append`, `merge` or `delete+insert`."""
        return self.raw.get("materialized") or TABLE

    @property
    def incremental(self) -> bool:
        """Whether a build may change the table in place instead of rewriting it."""
        return self.materialized in INCREMENTAL


@dataclass(frozen=True)
class Project:
    root: Path
    storage: dict[str, Any]  # {"type": "local", "path": ...}; relative paths already made absolute
    database: dict[str, Any]  # {"type": "sqlite", "path": ...}
    timeout: timedelta | None
    adapters: dict[str, AdapterSpec]  # by adapter name
    models: dict[str, ModelSpec]  # by qualified name "schema.name"
    secrets: frozenset[str] = frozenset()  # the values of secret fields (featherbox.secrets)
