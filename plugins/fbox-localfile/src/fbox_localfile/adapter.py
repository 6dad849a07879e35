"""Files on the local disk, under `config.base_path` (relative to the project directory)."""

from __future__ import annotations

from pathlib import Path

from featherbox.file_sources.adapter import FileAdapter
from featherbox.file_sources.schema import file_adapter_schema
from featherbox.file_sources.template import file_template


class LocalFileAdapter(FileAdapter):
    type_name = "localfile"
    description = "csv/tsv/json/ndjson/parquet files (gz/zst) on the local disk"
    config_schema = file_adapter_schema(
        "localfile",
        {"base_path": {"type": "string", "minLength": 1, "description": "directory the path is relative to; relative to the project (default: the project directory)"}},
        [],
    )
    new_options = {
        **FileAdapter.new_options,
        "base-path": "directory the path is relative to, relative to the project (default: ., the project directory)",
    }

    @classmethod
    def new_file(cls, name: str, options: dict[str, str], description: str | None = None):
        """The file template with `config.base_path` written out (as a user reads --path: relative to the project)."""
        return file_template(cls, name, options, description, {"base_path": options.get("base-path") or "."}, "base_path")

    def filesystem(self):
        from fsspec.implementations.local import LocalFileSystem

        return LocalFileSystem()

    def root(self) -> str:
        base = Path(self.spec.config.get("base_path", "."))
        base = base if base.is_absolute() else self.project.root / base
        return str(base.resolve()).rstrip("/")

    def _base(self) -> str:
        return f"config.base_path {self.spec.config['base_path']!r}" if "base_path" in self.spec.config else "the project directory"

    def location_problem(self) -> str | None:
        root = Path(self.root())
        if root.exists() and not root.is_dir():
            return f"{self._base()} is a file ({root}), not a directory; base_path names the directory the path is relative to"
        return None

    def no_files_hint(self) -> str:
        if not Path(self.root()).exists():
            return f"{self._base()} ({self.root()}) does not exist"
        return ""
