"""Database strategies: how a database adapter with `incremental: {type: <name>}` detects and loads.

`DatabaseStrategy` is the interface (one instance per adapter, made with the adapter and its
`incremental:` mapping); `column` and `cdc` are the two the core registers through
`fbox_incremental_strategies` (`featherbox.builtin.strategies`). Without `incremental:` the adapter
copies every table whole (`DatabaseAdapter.full_copy`), which is no strategy.

A strategy works through the adapter's public interface: `connect()` (a DB-API connection to the
source), `tables()` / `keyed_tables()` (the tables to load, with their keys), `primary_key(table)`,
`source_name(table)`, `source_from(table)` (the table's FROM item at the source), `attach(con)` and
`attached_read(con, alias, table, where)` (a DuckDB FROM item reading the source), `record_reads`,
`copy_table`, `step(what)` (errors inside name the adapter, host and `what`), `location()`, `schema`
and `dialect`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from featherbox.extension import Detection, IncrementalStrategy, LoadContext, LoadResult
from featherbox.sql import quote_ident

if TYPE_CHECKING:
    from featherbox.database_sources.adapter import DatabaseAdapter


class DatabaseStrategy(IncrementalStrategy):
    """Detects and loads the new part of a database adapter's tables.

    `options` is the adapter file's `incremental:` mapping (its `type` names the strategy; a
    third-party strategy reads its own settings from `incremental.options`)."""

    kind = "database"
    #: True when the strategy merges rows by a key: `keyed_tables` then requires one per table
    keyed: ClassVar[bool] = True

    def __init__(self, adapter: DatabaseAdapter, options: dict):
        self.adapter = adapter
        self.options = options

    def detect(self, previous: dict) -> Detection:
        """Whether the source has rows the last load (`previous`: its state) did not take.
        Called only when a load succeeded before. The default reloads every run."""
        return Detection(True, f"incremental {self.name} has no change check: loading every run")

    def load(self, ctx: LoadContext, tables: list[dict]) -> LoadResult:
        """Write `tables` (from `keyed_tables()`, or `tables()` when not `keyed`) into the adapter's
        schema through `ctx.con`; the returned state is `previous` next time."""
        raise NotImplementedError

    def release(self) -> None:
        """Free what the strategy holds at the source (replication slots) when the adapter is deleted."""

    def output_names(self, names: list[str]) -> list[str]:
        """The lake tables (in the adapter's schema) written for the source tables `names`."""
        return names

    def column_options(self) -> dict | None:
        """The `incremental.column` settings `keyed_tables` checks against the source, if any."""
        return None


class ColumnStrategy(DatabaseStrategy):
    """Watermark merges by a column (`featherbox.database_sources.column_mode`)."""

    name = "column"
    description = "merge rows whose incremental.column passed the last watermark (soft deletes, reconciliation, chunked snapshots)"

    def column_options(self) -> dict | None:
        return self.options

    def detect(self, previous: dict) -> Detection:
        from featherbox.database_sources.column_mode import ColumnMode

        adapter = self.adapter
        conn = adapter.connect()
        try:
            with adapter.step("checking the source"):
                if adapter.source_tables_changed(conn, previous):
                    return Detection(True, "the set of source tables changed")
                return ColumnMode(adapter).detect(conn, previous)
        finally:
            conn.close()

    def load(self, ctx: LoadContext, tables: list[dict]) -> LoadResult:
        from featherbox.database_sources.column_mode import ColumnMode

        adapter, con = self.adapter, ctx.con
        conn = adapter.connect()
        try:
            with adapter.step("reading the source's tables"):
                adapter.check_exist(conn, tables)
                source_tables = adapter.source_tables(conn) if adapter.declared_tables() is None else None
        finally:
            conn.close()
        alias = adapter.attach(con)
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(adapter.schema)}")
        column = self.options["column"]
        state: dict[str, Any] = {"mode": "column", "column": column, "tables": {}}
        if source_tables is not None:
            state["source_tables"] = sorted(source_tables)
        before = ctx.previous or {}
        previous = before.get("tables", {}) if before.get("column") == column else {}
        rows: dict[str, int] = {}
        notes: list[str] = []
        mode = ColumnMode(adapter)
        for table in tables:
            with adapter.step(f"loading {adapter.source_name(table)}"):
                exists = ctx.table_exists(f"{adapter.schema}.{table['name']}")
                count, table_state, note = mode.load_table(con, alias, table, previous.get(table["name"]), exists)
            rows[f"{adapter.schema}.{table['name']}"] = count
            state["tables"][table["name"]] = table_state
            notes.append(note)
        adapter.record_reads(alias, tables)
        return LoadResult(rows, state, "; ".join(n for n in notes if n), incremental=True)


class CdcStrategy(DatabaseStrategy):
    """The server's change log, read by the plugin's `CdcReader` (`featherbox.database_sources.cdc`)."""

    name = "cdc"
    description = "follow the server's change log (PostgreSQL logical replication, MySQL/MariaDB row binlog)"

    def output_names(self, names: list[str]) -> list[str]:
        from featherbox.database_sources.cdc import delta_name

        return [*names, *(delta_name(n) for n in names)]  # the applied changes, for incremental models

    def detect(self, previous: dict) -> Detection:
        from featherbox.database_sources.cdc import detect_cdc

        adapter = self.adapter
        if sorted(t["name"] for t in adapter.tables()) != sorted(previous.get("tables") or []):
            return Detection(True, "the set of source tables changed")
        reader = adapter.cdc_reader()
        try:
            with adapter.step("checking the change stream"):
                return detect_cdc(reader, previous)
        finally:
            reader.close()

    def load(self, ctx: LoadContext, tables: list[dict]) -> LoadResult:
        from featherbox.database_sources.cdc import load_cdc

        adapter, con = self.adapter, ctx.con
        alias = adapter.attach(con)
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(adapter.schema)}")
        copied: list[dict] = []

        def copy(table: dict) -> None:
            adapter.copy_table(con, alias, table)
            copied.append(table)

        reader = adapter.cdc_reader()
        try:
            result = load_cdc(adapter, ctx, reader, tables, copy)
        finally:
            reader.close()
        if copied:  # only a snapshot reads through the attached source
            adapter.record_reads(alias, copied)
        return result

    def release(self) -> None:
        reader = self.adapter.cdc_reader()
        try:
            reader.release()
        finally:
            reader.close()

