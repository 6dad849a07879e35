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


def os_error_message(exc: OSError, doing: str = "") -> str:
    """`exc` (a file-system error) as what is wrong, where, and what to do about it, after `doing`
    ("project.yml storage: cannot use the lake's data folder")."""
    import os

    prefix = f"{doing}: " if doing else ""
    path = exc.filename
    if path is None:
        if isinstance(exc, FileNotFoundError):
            try:
                os.getcwd()
            except OSError:
                return f"{prefix}the current folder no longer exists (deleted or moved?); change to your project's folder, or pass -C DIR"
        return f"{prefix}{exc.strerror or exc}"
    path = os.fsdecode(path)
    if isinstance(exc, FileExistsError):
        if os.path.exists(path) and not os.path.isdir(path):
            return f"{prefix}{path} is a file, where a folder is needed; move or rename that file, or change the setting that names this path"
        return f"{prefix}{path} already exists; remove it, or choose another path"
    if isinstance(exc, NotADirectoryError):
        blocker = file_in_the_way(path)
        if blocker:
            return f"{prefix}{blocker} is a file, so {path} cannot be inside it; move or rename {blocker}, or choose another path"
        return f"{prefix}{path} is not a folder; choose a folder"
    if isinstance(exc, IsADirectoryError):
        return f"{prefix}{path} is a folder, where a file is needed; choose a file's path"
    if isinstance(exc, FileNotFoundError):
        missing = _first_missing(path)
        if missing and missing != path:
            return f"{prefix}{path} cannot be made: {missing} does not exist and cannot be created there ({exc.strerror})"
        return f"{prefix}{path} does not exist ({exc.strerror}); create it, or correct the path"
    if isinstance(exc, PermissionError):
        return f"{prefix}no permission to use {path} ({exc.strerror}); change its permissions, or choose a path you may write to"
    return f"{prefix}{path}: {exc.strerror or exc}"


def file_in_the_way(path: str) -> str | None:
    """The first part of `path` that is a file (so nothing can be inside it)."""
    import os

    parts = os.path.abspath(path).split(os.sep)
    for i in range(2, len(parts) + 1):
        prefix = os.sep.join(parts[:i]) or os.sep
        if os.path.exists(prefix) and not os.path.isdir(prefix):
            return prefix
    return None


def _first_missing(path: str) -> str | None:
    import os

    parts = os.path.abspath(path).split(os.sep)
    for i in range(2, len(parts) + 1):
        prefix = os.sep.join(parts[:i])
        if not os.path.exists(prefix):
            return prefix
    return None
