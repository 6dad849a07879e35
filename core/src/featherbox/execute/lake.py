"""The DuckLake of a project: a DuckDB connection with the lake attached as `lake`."""

from __future__ import annotations

import os

import duckdb

from featherbox.backends import Backends
from featherbox.config.project import Project
from featherbox.errors import FeatherBoxError, file_in_the_way, os_error_message
from featherbox.duckdb_extensions import duckdb_config, load_extensions
from featherbox.sql import LAKE, metadata_prefix, sql_string


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
