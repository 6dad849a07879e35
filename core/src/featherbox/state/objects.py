"""What the lake holds (tables, views, DuckLake table ids), read once per run from DuckLake's own catalog tables."""

from __future__ import annotations

import threading

import duckdb

from featherbox.extension import MetadataBackend
from featherbox.sql import metadata_prefix


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
