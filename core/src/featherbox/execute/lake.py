"""The DuckLake of a project: a DuckDB connection with the lake attached as `lake`."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

import duckdb

from featherbox.config.project import Project
from featherbox.errors import FeatherBoxError, file_in_the_way, os_error_message
from featherbox.execute.extensions import duckdb_config, load_extensions
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


def open_lake(
    project: Project, backends: Backends, extra_extensions: list[str] = (), read_only: bool = False, missing: bool = False,
) -> duckdb.DuckDBPyConnection:
    """Connect, attach the project's DuckLake as `lake` and make it the default catalog.

    `read_only`: attach the lake READ_ONLY (plan, status, graph). `missing`: the project has no
    catalog yet and the caller only reads: attach an empty in-memory lake instead of creating
    the catalog, so nothing is written (every node plans as new). A lake whose data folder moved
    with the project is re-pointed there (`_check_data_path`)."""
    con = duckdb.connect(config=duckdb_config())
    try:
        extensions = ["ducklake", *backends.database.duckdb_extensions(), *backends.storage.duckdb_extensions()]
        load_extensions(con, [*extensions, *extra_extensions])
        backends.storage.prepare(con)
        backends.database.prepare(con)  # e.g. the DuckDB secret holding the catalog's password
        if missing:
            # the catalog's own schema too, where the backend sets one: `metadata_prefix` names it
            schema = backends.database.ducklake_options().get("METADATA_SCHEMA")
            options = f"DATA_PATH {sql_string(NO_LAKE_DATA_PATH)}" + (f", METADATA_SCHEMA {schema}" if schema else "")
            con.execute(f"ATTACH 'ducklake::memory:' AS {LAKE} ({options})")
        else:
            _attach(con, backends, read_only)
        con.execute(f"USE {LAKE}")
    except BaseException:
        con.close()
        raise
    return con


#: the data path of the stand-in lake of a project that has none yet: nothing can be written under a file
NO_LAKE_DATA_PATH = "/dev/null/fbox-no-lake/"


def _attach(con: duckdb.DuckDBPyConnection, backends: Backends, read_only: bool) -> None:
    database, storage = backends.database, backends.storage
    try:
        catalog = database.ducklake_catalog()
    except OSError as exc:
        raise FeatherBoxError(os_error_message(exc, f"project.yml database ({database.describe()}): cannot create the catalog")) from None
    try:
        data_path = storage.data_path()
    except OSError as exc:
        raise FeatherBoxError(os_error_message(exc, "project.yml storage: cannot use the lake's data folder")) from None
    blocker = file_in_the_way(data_path) if "://" not in data_path else None
    if blocker:
        raise FeatherBoxError(
            f"project.yml storage: {blocker} is a file, so the lake's data folder {data_path} cannot be there; "
            "move or rename that file, or set storage.path to a folder"
        )
    # The catalog keeps the absolute data path it was created with; the project's own setting wins
    # (a copied or moved project), after `_check_data_path` made sure the data is there.
    options = {"DATA_PATH": sql_string(data_path), "OVERRIDE_DATA_PATH": "true", **database.ducklake_options()}
    if read_only:
        options["READ_ONLY"] = "true"
    listed = ", ".join(f"{key} {value}" for key, value in options.items())
    try:
        con.execute(f"ATTACH {sql_string('ducklake:' + catalog)} AS {LAKE} ({listed})")
    except duckdb.Error as exc:
        raise FeatherBoxError(
            f"cannot open the lake's catalog ({database.describe()}, from project.yml database): {exc}"
        ) from None
    _check_data_path(con, backends, data_path, read_only)


def metadata_prefix(database: MetadataBackend) -> str:
    """The quoted schema of DuckLake's own catalog tables (`__ducklake_metadata_lake`, plus the
    backend's METADATA_SCHEMA when it sets one)."""
    meta = quote_ident(f"__ducklake_metadata_{LAKE}")
    schema = database.ducklake_options().get("METADATA_SCHEMA")  # a SQL string literal, when set
    if schema:
        meta += "." + quote_ident(schema.strip("'").replace("''", "'"))
    return meta


def _check_data_path(con: duckdb.DuckDBPyConnection, backends: Backends, data_path: str, read_only: bool) -> None:
    """The catalog stores the absolute data path it was created with. When the project's differs:
    if the data files are at the project's path (the project folder was copied or moved, or its
    data folder moved there), use it and, unless `read_only`, record it in the catalog; if they
    are still at the recorded path (storage.path changed), refuse, saying how to move them."""
    meta = metadata_prefix(backends.database)
    row = con.execute(
        f"SELECT value FROM {meta}.ducklake_metadata WHERE key = 'data_path' AND scope IS NULL"
    ).fetchone()
    recorded = row[0] if row else None
    if not recorded or recorded.rstrip("/") == data_path.rstrip("/"):
        return
    sample = con.execute(
        f"""SELECT s.path || t.path || f.path FROM {meta}.ducklake_data_file AS f
            JOIN {meta}.ducklake_table AS t ON t.table_id = f.table_id AND t.end_snapshot IS NULL
            JOIN {meta}.ducklake_schema AS s ON s.schema_id = t.schema_id AND s.end_snapshot IS NULL
            WHERE f.end_snapshot IS NULL AND f.path_is_relative AND t.path_is_relative AND s.path_is_relative
            LIMIT 1"""
    ).fetchone()
    if sample is None or _exists(con, _joined(data_path, sample[0])):
        if not read_only:
            con.execute(
                f"UPDATE {meta}.ducklake_metadata SET value = {sql_string(data_path)} WHERE key = 'data_path' AND scope IS NULL"
            )
        return
    where = f"the catalog ({backends.database.describe()})"
    local = "://" not in recorded and "://" not in data_path
    if _exists(con, _joined(recorded, sample[0])):
        move = f"move it there (`mv {recorded.rstrip('/')} {data_path.rstrip('/')}`)" if local else f"copy its files to {data_path}"
        raise FeatherBoxError(
            f"project.yml storage: the lake's data files are in {recorded}, where {where} recorded them, "
            f"not in {data_path}, where storage says they are (was storage changed?). To use {data_path}, "
            f"{move} and run again; or set storage back to {recorded}"
        )
    raise FeatherBoxError(
        f"project.yml storage: the lake's data files are missing: {where} lists files such as {sample[0]}, "
        f"but neither {data_path} (storage) nor {recorded} (where the catalog recorded them) holds them. "
        f"Put the data folder back at {data_path}; or, to start over and load everything again, "
        f"delete the catalog ({backends.database.describe()})"
    )


def _joined(base: str, relative: str) -> str:
    return base.rstrip("/") + "/" + relative


def _exists(con: duckdb.DuckDBPyConnection, path: str) -> bool:
    """Whether the file `path` exists: locally through the file system, elsewhere through DuckDB's."""
    if "://" not in path:
        return os.path.exists(path)
    try:
        return bool(con.execute("SELECT count(*) FROM glob(?)", [path]).fetchone()[0])
    except duckdb.Error:
        return False


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
        meta = metadata_prefix(database)
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
