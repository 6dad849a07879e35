"""The DuckLake of a project: a DuckDB connection with the lake attached as `lake`."""

from __future__ import annotations

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
    schema, _, table = qualified.rpartition(".")
    return f"{quote_ident(schema or 'main')}.{quote_ident(table)}"


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
    catalog = backends.database.ducklake_catalog()
    data_path = backends.storage.data_path()
    options = {"DATA_PATH": sql_string(data_path), **backends.database.ducklake_options()}
    listed = ", ".join(f"{key} {value}" for key, value in options.items())
    con.execute(f"ATTACH {sql_string('ducklake:' + catalog)} AS {LAKE} ({listed})")
    con.execute(f"USE {LAKE}")
    return con


def lake_schemas(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT schema_name FROM duckdb_schemas() WHERE database_name = ? ORDER BY schema_name", [LAKE]
    ).fetchall()
    return [r[0] for r in rows]


def is_table(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    """True for a lake table (not a view) named `schema.table`."""
    schema, _, name = qualified.rpartition(".")
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? AND table_name = ?",
            [LAKE, schema or "main", name],
        ).fetchone()[0]
    )


def table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    if is_table(con, qualified):
        return True
    schema, _, table = qualified.rpartition(".")
    row = con.execute(
        "SELECT count(*) FROM duckdb_views() WHERE database_name = ? AND schema_name = ? AND view_name = ?",
        [LAKE, schema or "main", table],
    ).fetchone()
    return bool(row[0])
