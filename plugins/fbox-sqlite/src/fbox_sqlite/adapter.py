"""Tables of a SQLite database, copied through DuckDB's sqlite scanner."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

from featherbox.errors import FeatherBoxError
from featherbox.execute.lake import quote_ident, quote_table, sql_string
from featherbox.extension import AdapterType, Detection, LoadContext, LoadResult


class SQLiteAdapter(AdapterType):
    type_name = "sqlite"
    description = "tables of a SQLite database file"
    config_schema = {
        "type": "object",
        "properties": {
            "type": {"const": "sqlite"},
            "description": {"type": "string"},
            "config": {
                "type": "object",
                "properties": {"path": {"type": "string", "minLength": 1, "description": "SQLite file; relative to the project"}},
                "required": ["path"],
                "additionalProperties": False,
            },
            "tables": {
                "description": "tables to copy; omit to copy all",
                "type": "array",
                "minItems": 1,
                "items": {
                    "oneOf": [
                        {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                        {
                            "type": "object",
                            "properties": {
                                "name": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                                "query": {"type": "string", "minLength": 1},
                            },
                            "required": ["name"],
                            "additionalProperties": False,
                        },
                    ]
                },
            },
        },
        "required": ["type", "config"],
        "additionalProperties": False,
    }

    @property
    def path(self) -> Path:
        path = Path(self.spec.config["path"])
        return path if path.is_absolute() else self.project.root / path

    def duckdb_extensions(self) -> list[str]:
        return ["sqlite"]

    def _declared(self) -> list[dict] | None:
        tables = self.spec.raw.get("tables")
        if tables is None:
            return None
        return [t if isinstance(t, dict) else {"name": t} for t in tables]

    def _source_tables(self) -> list[str]:
        if not self.path.exists():
            raise FeatherBoxError(f"adapter {self.name} ({self.spec.file}): SQLite file {self.path} does not exist")
        con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        try:
            rows = con.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name"
            ).fetchall()
        except sqlite3.Error as exc:
            raise FeatherBoxError(f"adapter {self.name} ({self.spec.file}): cannot read {self.path}: {exc}") from None
        finally:
            con.close()
        return [r[0] for r in rows]

    def tables(self) -> list[dict]:
        declared = self._declared()
        return declared if declared is not None else [{"name": t} for t in self._source_tables()]

    def output_tables(self) -> list[str]:
        return [f"{self.name}.{t['name']}" for t in self.tables()]

    def _source_version(self) -> str:
        stat = os.stat(self.path)
        return f"{stat.st_size}:{stat.st_mtime_ns}"

    def detect(self, con, previous):
        if previous is None:
            return Detection(True, "never loaded")
        if not self.path.exists():
            raise FeatherBoxError(f"adapter {self.name} ({self.spec.file}): SQLite file {self.path} does not exist")
        if previous.get("source_version") != self._source_version():
            return Detection(True, "source database changed")
        return Detection(False)

    def load(self, ctx: LoadContext) -> LoadResult:
        con = ctx.con
        version = self._source_version()
        tables = self.tables()
        known = set(self._source_tables())
        path = sql_string(str(self.path))
        # DETACH is refused inside the open transaction, so the source stays attached for the process
        alias = "fbox_src_" + hashlib.sha256(str(self.path).encode()).hexdigest()[:12]
        if any("query" in t for t in tables):
            con.execute(f"ATTACH IF NOT EXISTS {path} AS {alias} (TYPE sqlite, READ_ONLY)")
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(self.name)}")
        rows = {}
        for table in tables:
            target = f"{self.name}.{table['name']}"
            if "query" in table:
                source = f"sqlite_query({sql_string(alias)}, {sql_string(table['query'])})"
            elif table["name"] in known:
                source = f"sqlite_scan({path}, {sql_string(table['name'])})"
            else:
                raise FeatherBoxError(
                    f"adapter {self.name} ({self.spec.file}): table {table['name']!r} is not in {self.path} "
                    f"(it has: {', '.join(sorted(known)) or 'no tables'})"
                )
            con.execute(f"CREATE OR REPLACE TABLE {quote_table(target)} AS SELECT * FROM {source}")
            rows[target] = con.execute(f"SELECT count(*) FROM {quote_table(target)}").fetchone()[0]
        return LoadResult(rows, {"source_version": version}, f"copied {len(rows)} tables")
