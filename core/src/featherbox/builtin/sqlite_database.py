"""SQLite as the project database: one file holds the DuckLake catalog and FeatherBox's tables."""

from __future__ import annotations

from pathlib import Path

from featherbox.extension import MetadataBackend
from featherbox.state.file_lock import FileRunLock


class SQLiteBackend(MetadataBackend):
    type_name = "sqlite"
    parallel_transactions = False  # DuckLake holds its SQLite read from BEGIN to COMMIT
    description = "DuckLake catalog and FeatherBox state in one SQLite file (the default)"
    config_schema = {
        "type": "object",
        "properties": {
            "type": {"const": "sqlite"},
            "path": {"type": "string", "minLength": 1, "description": "SQLite file; relative to the project directory"},
        },
        "required": ["type"],
        "additionalProperties": False,
    }

    @property
    def path(self) -> Path:
        path = Path(self.config.get("path", ".fbox/catalog.sqlite"))
        return path if path.is_absolute() else self.root / path

    def catalog_exists(self) -> bool:
        return self.path.is_file()

    def ducklake_catalog(self) -> str:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:{self.path}"

    def duckdb_extensions(self) -> list[str]:
        return ["sqlite"]

    def ducklake_options(self) -> dict[str, str]:
        return {"META_JOURNAL_MODE": "'WAL'", "META_BUSY_TIMEOUT": "30000"}

    def connect(self, lake=None):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if lake is None:
            # No DuckDB instance has the file open: Python's sqlite3 is quicker than loading the
            # sqlite extension. Never both at once: two SQLite copies in one process break each
            # other's POSIX locks on the same file.
            import sqlite3

            con = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            con.execute("PRAGMA journal_mode=WAL")
            return con
        # With the lake open, through DuckDB's sqlite extension, the SQLite library DuckLake uses.
        con = lake.cursor()
        path = str(self.path).replace("'", "''")
        con.execute(f"ATTACH IF NOT EXISTS '{path}' AS fbox_state (TYPE sqlite, BUSY_TIMEOUT 30000, JOURNAL_MODE 'WAL')")
        con.execute("USE fbox_state")
        return con

    def run_lock(self) -> FileRunLock:
        return FileRunLock(self.path.with_name(self.path.name + ".lock"))

    def describe(self) -> str:
        return f"sqlite {self.path}"
