"""The DuckLake of a project: a DuckDB connection with the lake attached as `lake`."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import duckdb

from featherbox.config.project import Project
from featherbox.execute.extensions import load_extensions
from featherbox.extension import AdapterType, MetadataBackend, StorageBackend
from featherbox.registry import Registry

LAKE = "lake"
STATE_SCHEMA = "_fbox"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_table(qualified: str) -> str:
    # split at the first dot: a schema never holds one (adapter and folder names are identifiers),
    # a table copied from a database may (`app."bad.select"`)
    schema, dot, table = qualified.partition(".")
    return f"{quote_ident(schema)}.{quote_ident(table)}" if dot else f"{quote_ident('main')}.{quote_ident(qualified)}"


def sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def sql_literal(value) -> str:
    """`value` (None, bool, int, float, str, naive datetime) as a SQL literal.

    Rows FeatherBox writes itself go in as literals, not bound parameters: DuckDB's Python client
    tries `import pandas` for every bound value, and without pandas each failed import searches
    the whole sys.path again (0.3-0.5 ms a value; 0.6 s for the ledger rows of 168 files).
    """
    from datetime import datetime

    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):  # through text: a decimal literal could round differently
        return f"CAST('{value!r}' AS DOUBLE)"
    if isinstance(value, datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    return sql_string(str(value))


def values_sql(rows) -> str:
    """`VALUES (...), (...)` of literal rows."""
    return "VALUES " + ", ".join("(" + ", ".join(sql_literal(v) for v in row) + ")" for row in rows)


@dataclass
class Backends:
    database: MetadataBackend
    storage: StorageBackend
    adapters: dict[str, AdapterType] = field(default_factory=dict)

    @classmethod
    def of(cls, project: Project, registry: Registry) -> Backends:
        database = registry.get("database", project.database["type"], "project.yml database.type")
        storage = registry.get("storage", project.storage["type"], "project.yml storage.type")
        adapters = {
            name: registry.get("adapter", spec.type, str(spec.file))(spec, project)
            for name, spec in project.adapters.items()
        }
        return cls(database(project.database, project.root), storage(project.storage, project.root), adapters)


def open_lake(project: Project, backends: Backends, extra_extensions: list[str] = ()) -> duckdb.DuckDBPyConnection:
    """Connect, attach the project's DuckLake as `lake` and make it the default catalog."""
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    extensions = ["ducklake", *backends.database.duckdb_extensions(), *backends.storage.duckdb_extensions()]
    load_extensions(con, [*extensions, *extra_extensions])
    backends.storage.prepare(con)
    backends.database.prepare(con)  # e.g. the DuckDB secret holding the catalog's password
    catalog = backends.database.ducklake_catalog()
    data_path = backends.storage.data_path()
    options = {"DATA_PATH": sql_string(data_path), **backends.database.ducklake_options()}
    listed = ", ".join(f"{key} {value}" for key, value in options.items())
    con.execute(f"ATTACH {sql_string('ducklake:' + catalog)} AS {LAKE} ({listed})")
    con.execute(f"USE {LAKE}")
    return con


class LakeObjects:
    """The tables and views in the lake, by lowercase `schema.name`, read once per run.

    DuckDB's `duckdb_tables()` on a DuckLake loads every table's metadata (seconds at a few hundred
    tables, after each commit); DuckLake's own catalog tables answer in milliseconds. The runner
    keeps this up to date as its nodes commit, so no node asks the catalog again.
    """

    def __init__(self, kinds: dict[str, str] | None = None, ids: dict[str, int] | None = None):
        self._kinds: dict[str, str] = dict(kinds or {})  # "schema.name" -> "table" | "view"
        self._ids: dict[str, int] = dict(ids or {})  # "schema.name" -> DuckLake table_id, as read
        self._lock = threading.Lock()

    @classmethod
    def read(cls, con: duckdb.DuckDBPyConnection, database: MetadataBackend) -> LakeObjects:
        """What the lake's last committed snapshot holds; `database` is the project's catalog backend."""
        meta = quote_ident(f"__ducklake_metadata_{LAKE}")
        schema = database.ducklake_options().get("METADATA_SCHEMA")  # a SQL string literal, when set
        if schema:
            meta += "." + quote_ident(schema.strip("'").replace("''", "'"))
        rows = con.execute(
            f"""SELECT s.schema_name, o.name, o.kind, o.id FROM (
                    SELECT schema_id, table_name AS name, 'table' AS kind, table_id AS id FROM {meta}.ducklake_table WHERE end_snapshot IS NULL
                    UNION ALL
                    SELECT schema_id, view_name, 'view', NULL FROM {meta}.ducklake_view WHERE end_snapshot IS NULL
                ) AS o JOIN {meta}.ducklake_schema AS s ON s.schema_id = o.schema_id AND s.end_snapshot IS NULL"""
        ).fetchall()
        kinds = {f"{schema}.{name}".lower(): kind for schema, name, kind, _ in rows}
        ids = {f"{schema}.{name}".lower(): int(id) for schema, name, kind, id in rows if id is not None}
        return cls(kinds, ids)

    def kind(self, qualified: str) -> str | None:
        """"table", "view" or None for `schema.name` (a bare name is in `main`)."""
        return self._kinds.get(_qualified_key(qualified))

    def is_table(self, qualified: str) -> bool:
        return self.kind(qualified) == "table"

    def exists(self, qualified: str) -> bool:
        return self.kind(qualified) is not None

    def names(self) -> set[str]:
        return set(self._kinds)

    def table_id(self, qualified: str) -> int | None:
        """DuckLake's id of the table as read at the start of the run; None when it was made since."""
        return self._ids.get(_qualified_key(qualified))

    def record(self, qualified: str, kind: str | None) -> None:
        """A committed change: `qualified` is now a "table", a "view", or gone (None)."""
        with self._lock:
            self._ids.pop(_qualified_key(qualified), None)  # a new table, or gone: its id is not known
            if kind is None:
                self._kinds.pop(_qualified_key(qualified), None)
            else:
                self._kinds[_qualified_key(qualified)] = kind


def _qualified_key(qualified: str) -> str:
    schema, dot, name = qualified.partition(".")  # a schema has no dot; a table name may ("bad.select")
    return (f"{schema}.{name}" if dot else f"main.{schema}").lower()
