"""`type: sqlite`: tables of a SQLite database file, through DuckDB's sqlite extension.

Full copies, or increments by a watermark column, with the machinery every database source shares
(`featherbox.database_sources`). Increments read `WHERE column >= watermark` through `sqlite_query`, which
pushes the filter into SQLite (the scanner alone would read the whole table).
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import duckdb

from featherbox.errors import FeatherBoxError
from featherbox.sql import quote_ident
from featherbox.database_sources.adapter import DatabaseAdapter
from featherbox.database_sources.column_mode import OPERATIONAL_KEYS
from featherbox.database_sources.connection import Dialect, adapter_schema, run_query, shapes_of

from fbox_sqlite import template


class SQLiteDialect(Dialect):
    title = "SQLite"
    extension = "sqlite"
    attach_type = "sqlite"
    query_function = "sqlite_query"
    default_port = 0
    schemes = ()
    signature_meaning = "file size or modification time"

    def quote(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def connect(self, params: dict):
        import sqlite3

        path = params["path"]
        if not Path(path).exists():
            raise FeatherBoxError("the file does not exist")  # the adapter names it (DatabaseAdapter.connect)
        try:
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            con.execute("SELECT count(*) FROM sqlite_master").fetchall()
        except sqlite3.Error as exc:
            raise FeatherBoxError(f"cannot read the file: {exc}") from None
        return con

    def attach_dsn(self, params: dict) -> str:
        return params["path"]

    def source_schema(self, adapter) -> str:
        return "main"

    def list_tables(self, conn, schema: str) -> list[str]:
        rows = run_query(
            conn, "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
        return [r[0] for r in rows]

    def describe(self, conn, schema: str) -> dict[str, tuple[list[str], list[str]]]:
        rows = []
        for name in self.list_tables(conn, schema):
            for _cid, column, _type, _notnull, _default, pk in run_query(conn, f"PRAGMA table_info({self.quote(name)})"):
                rows.append((name, column, pk or None))
        return shapes_of(rows)

    def probe(self, con, alias: str) -> None:
        pass  # a file: the lake's COMMIT needs nothing more from it

    def scan(self, con, alias: str, sql: str, table: str) -> str:
        # sqlite_query returns every column as VARCHAR: cast those of the table back to its types
        call = super().scan(con, alias, sql, table)
        # DESCRIBE of the one table: duckdb_columns() would list every attached catalog's, the lake's too
        try:
            described = con.execute(f"DESCRIBE {quote_ident(alias)}.{quote_ident(table)}").fetchall()
        except duckdb.CatalogException:
            # a query table: the source has no table of its name, its columns stay text (a catalog error
            # leaves the load's transaction usable; asking sqlite_master first would cost every load a query)
            described = []
        types = {row[0]: row[1] for row in described}
        names = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {call}").fetchall()]
        columns = ", ".join(
            f"CAST({quote_ident(n)} AS {types[n]}) AS {quote_ident(n)}" if n in types else quote_ident(n) for n in names
        )
        return f"(SELECT {columns} FROM {call})"

    def signature(self, conn, schema: str, table: dict):
        path = next(row[2] for row in run_query(conn, "PRAGMA database_list") if row[1] == "main")
        return file_signature(Path(path))


def file_signature(path: Path) -> str:
    """Size and modification time of a SQLite file and of its write-ahead log: one of them changes
    whenever any table does (in WAL mode a commit touches only the -wal file until a checkpoint)."""
    parts = []
    for candidate in (path, path.with_name(path.name + "-wal")):
        try:
            stat = os.stat(candidate)
        except FileNotFoundError:
            continue
        parts.append(f"{stat.st_size}:{stat.st_mtime_ns}")
    return "/".join(parts)


def _schema() -> dict:
    schema = copy.deepcopy(adapter_schema("sqlite", "SQLite", with_schema=False))
    schema["properties"]["config"] = {
        "type": "object",
        "properties": {"path": {"type": "string", "minLength": 1, "description": "SQLite file; relative to the project"}},
        "required": ["path"],
        "additionalProperties": False,
    }
    # SQLite has no change log to follow: every registered database strategy but cdc
    schema["properties"]["incremental"]["properties"]["type"] = {"type": "string", "minLength": 1, "not": {"const": "cdc"}}
    return schema


class SQLiteAdapter(DatabaseAdapter):
    type_name = "sqlite"
    description = "tables of a SQLite database file (full copy, or incremental by a column)"
    config_schema = _schema()
    dialect = SQLiteDialect()
    new_options = template.OPTIONS

    @classmethod
    def new_file(cls, name: str, options: dict[str, str], description: str | None = None):
        """The file and the tables to copy (`fbox_sqlite.template`), not the server template."""
        return template.sqlite_template(name, options, description)

    @property
    def path(self) -> Path:
        path = Path(self.spec.config["path"])
        return path if path.is_absolute() else self.project.root / path

    @property
    def params(self) -> dict:
        return {"path": str(self.path), "host": None, "port": None, "user": None, "password": None, "dbname": None}

    def location(self) -> str:
        return f"adapter {self.name} ({self.spec.file}), SQLite file {self.path}"

    def source_name(self, table: dict) -> str:
        from featherbox.database_sources.connection import shown

        return f"query table {shown(table['name'])}" if "query" in table else f"table {shown(table['name'])}"

    def source_signature(self) -> str | None:
        # increments with work on a timer (reconcile) or left over (chunked snapshots) need the lake's state
        if self.incremental and any(key in self.incremental for key in OPERATIONAL_KEYS):
            return None
        if not self.path.exists():
            return None
        return file_signature(self.path)
