"""Keys and columns of a database adapter's tables, checked against the source.

`incremental` modes merge rows by a key. `keyed_tables` gives each table its configured
`primary_key` (the table's, else the adapter's) or else the primary key the source declares, after
checking that every configured column exists at the source; `output_tables` runs it, so a wrong key
or column is reported when the project plans, not when the first increment fails.
"""

from __future__ import annotations

import difflib
import json

from featherbox.errors import FeatherBoxError
from featherbox.database_sources.connection import shown

#: how many of a table's columns an error lists
LISTED_COLUMNS = 30


class SourceKeys:
    """The key and column checks of `DatabaseAdapter` (a mixin: it uses the adapter's `dialect`,
    `connect`, `tables`, `source_tables`, `declared_tables`, `strategy`, `step` and `location`)."""

    def _configured_key(self, table: dict) -> tuple[list[str], str] | None:
        """The primary key the adapter file sets for `table`, and the field that sets it."""
        for pk, field in ((table.get("primary_key"), f"tables[{self._index(table)}].primary_key"),
                          ((self.spec.raw.get("incremental") or {}).get("primary_key"), "incremental.primary_key")):
            if pk:
                return ([pk] if isinstance(pk, str) else list(pk)), field
        return None

    def _index(self, table: dict) -> int:
        declared = self.declared_tables() or []
        return next((i for i, t in enumerate(declared) if t["name"] == table["name"]), 0)

    def primary_key(self, table: dict) -> list[str]:
        if "key" in table:  # from keyed_tables: configured or the source's own
            return list(table["key"])
        configured = self._configured_key(table)
        return configured[0] if configured else []

    # keys and columns, checked against the source

    def keyed_tables(self, conn=None) -> list[dict]:
        """`tables()`, each with its `key`: the configured primary_key, else the source table's own
        primary key. Checks that every column the adapter file names (key, `incremental.column`,
        `soft_delete.column`) exists at the source, and raises naming the field, the source table
        and the host when one does not, or when a table has no key at all."""
        own = conn is None
        if own and self.declared_tables() is None:
            conn = self.connect()
        try:
            tables = self.tables(conn)
            cache_key = json.dumps(tables, sort_keys=True)
            cached = getattr(self, "_keyed_cache", None)
            if cached is not None and cached[0] == cache_key:
                return [dict(t) for t in cached[1]]
            if conn is None:
                conn = self.connect()
            schema = self.dialect.source_schema(self)
            with self.step(f"reading the definitions of the tables of {schema}"):
                shapes = self.dialect.describe(conn, schema)
            keyed = [self._keyed(conn, table, shapes) for table in tables]
        finally:
            if own and conn is not None:
                conn.close()
        self._keyed_cache = (cache_key, keyed)
        return [dict(t) for t in keyed]

    def _keyed(self, conn, table: dict, shapes: dict[str, tuple[list[str], list[str]]]) -> dict:
        what = self.source_name(table)
        if "query" in table:
            with self.step(f"reading the columns of {what}"):
                columns, source_key = self.dialect.query_columns(conn, table["query"]), []
        else:
            shape = shapes.get(table["name"])
            if shape is None and not self.dialect.case_sensitive:
                shape = next((v for k, v in shapes.items() if k.lower() == table["name"].lower()), None)
            if shape is None:
                raise FeatherBoxError(
                    f"{self.location()}: tables[{self._index(table)}]: {what} does not exist at the source"
                    f"{self._listing(sorted(shapes), 'it has')}"
                )
            columns, source_key = shape
        configured = self._configured_key(table)
        if configured:
            key = [self._column(c, columns, configured[1], what) for c in configured[0]]
        elif source_key:
            key = source_key
        else:
            mode = self.strategy.name if self.strategy else "column"
            if "query" in table:
                fix = f"set its own primary_key (tables[{self._index(table)}].primary_key)"
                why = f"{what} has no primary key of its own"
            else:
                where = f"tables[{self._index(table)}].primary_key" if self.declared_tables() is not None else \
                    "list it under `tables:` with its own primary_key"
                fix = f"add a primary key to the table, or set incremental.primary_key (or {where})"
                why = f"{what} has no primary key at the source"
            raise FeatherBoxError(f"{self.location()}: {why}, and incremental {mode} merges rows by one; {fix}")
        inc = self.strategy.column_options() if self.strategy else None
        if inc:
            self._column(inc["column"], columns, "incremental.column", what)
            if inc.get("soft_delete"):
                self._column(inc["soft_delete"]["column"], columns, "incremental.soft_delete.column", what)
        return {**table, "key": key}

    def _column(self, name: str, columns: list[str], field: str, what: str) -> str:
        """`name` as the source spells it; raises when `what` has no such column."""
        if name in columns:
            return name
        same = [c for c in columns if c.lower() == name.lower()]
        if same and not self.dialect.case_sensitive:
            return same[0]
        close = same or difflib.get_close_matches(name, columns, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise FeatherBoxError(
            f"{self.location()}: {field}: column {name!r} is not in {what}{self._listing(columns, 'its columns')}{hint}"
        )

    @staticmethod
    def _listing(names: list[str], label: str) -> str:
        if not names:
            return f" ({label}: none)"
        listed = ", ".join(shown(n) for n in names[:LISTED_COLUMNS])
        more = f", ... ({len(names)} in all)" if len(names) > LISTED_COLUMNS else ""
        return f" ({label}: {listed}{more})"

    def check_exist(self, conn, tables: list[dict]) -> None:
        """Listed tables the source does not have fail the load with the tables it has."""
        if self.declared_tables() is None:
            return
        present = self.source_tables(conn)
        lowered = {t.lower() for t in present}
        for table in tables:
            name = table["name"]
            if "query" in table or name in present or (not self.dialect.case_sensitive and name.lower() in lowered):
                continue
            raise FeatherBoxError(
                f"{self.location()}: tables[{self._index(table)}]: {self.source_name(table)} does not exist at the source"
                f"{self._listing(sorted(present), 'it has')}"
            )
