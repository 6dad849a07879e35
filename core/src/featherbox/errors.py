"""Errors FeatherBox reports to users: one clear paragraph, no traceback unless --debug."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class FeatherBoxError(Exception):
    """A user-facing error: its message says what went wrong, where, and how to fix it."""


@dataclass(frozen=True)
class ConfigIssue:
    file: Path | None
    field: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = str(self.file) if self.file else "<config>"
        if self.line:
            where += f":{self.line}"
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class ConfigError(FeatherBoxError):
    """All the problems found in a project's files, reported together."""

    def __init__(self, issues: list[ConfigIssue]):
        self.issues = sorted(issues, key=lambda i: (str(i.file), i.line or 0, i.field))
        count = len(self.issues)
        head = f"{count} problem{'s' if count != 1 else ''} in the project configuration:"
        super().__init__("\n".join([head] + [f"  {issue}" for issue in self.issues]))


class GraphError(FeatherBoxError):
    """A model's SQL does not parse, names an unknown table, or the models form a cycle."""
