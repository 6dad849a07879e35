"""Projects on disk for tests: `write_project` and the `fbox_project` fixture."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest


def write_project(root: Path, files: dict[str, str]) -> Path:
    """Write `files` (relative path -> text, dedented) under `root`; project.yml defaults to empty."""
    root.mkdir(parents=True, exist_ok=True)
    files = {"project.yml": "", **files}
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


@pytest.fixture
def fbox_project(tmp_path):
    """A factory: `fbox_project({"adapters/x.yml": "..."})` writes a project and returns its directory."""

    def make(files: dict[str, str] | None = None, name: str = "project") -> Path:
        return write_project(tmp_path / name, files or {})

    return make
