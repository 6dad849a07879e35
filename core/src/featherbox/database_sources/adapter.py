"""`DatabaseAdapter`: tables of a client/server SQL database copied into the lake through a DuckDB
scanner extension.

How data moves: the source is ATTACHed (READ_ONLY) on the cursor the engine hands to `load`, inside
the DuckLake transaction the engine already opened. DuckDB allows ATTACH inside a transaction, but
not DETACH of a database the transaction used ("outstanding work"), so the attachment stays for the
life of the process under a stable alias (`fbox_src_<adapter>_<hash of the DSN>`, `ATTACH IF NOT
EXISTS`), which also makes retries and parallel adapters safe. Whole tables are read from the
attached catalog; filtered (incremental) reads and `query:` tables go through `postgres_query` /
`mysql_query`, so the WHERE runs at the source.

`detect` and table listing use the plain DB-API driver (psycopg / mysql-connector): a no-op plan
does not load a DuckDB extension or ATTACH anything.

Names: every source table is loaded under its own name, whatever it holds (`order items` lands as
`<adapter>."order items"`, see `featherbox.database_sources.lake_table`), and every name is quoted at the source
and in the lake.

Keys: `featherbox.database_sources.keys.SourceKeys` (`keyed_tables`, `primary_key`, `check_exist`).

Errors name the adapter, its file, the host and the source table the failing step was reading; the
password and the DSN are scrubbed.
"""


from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar

from featherbox.errors import FeatherBoxError
from featherbox.extension import AdapterType, Detection, LoadContext, LoadResult, SourceUnreachable
from featherbox.layout import adapter_lake_schema
from featherbox.sql import quote_ident, sql_string
from featherbox.database_sources import lake_table
from featherbox.database_sources.connection import Dialect, connection_params, scrub, shown
from featherbox.database_sources.keys import SourceKeys

if TYPE_CHECKING:
    from featherbox.database_sources.strategies import DatabaseStrategy

class DatabaseAdapter(SourceKeys, AdapterType):
    dialect: ClassVar[Dialect]

    @classmethod
    def new_file(cls, name: str, options: dict[str, str], description: str | None = None):
        """`fbox adapter new`: the server template (`featherbox.database_sources.template`)."""
        from featherbox.database_sources.template import server_template

        return server_template(cls, name, description)

    # configuration

    def location(self) -> str:
        host = "?"
        if self._params_ok():
            p = self.params
            host = f"{p.get('host')}:{p['port']}" if p.get("port") else str(p.get("host"))
        return f"adapter {self.name} ({self.spec.file}), {self.dialect.title} at {host}"

    def source_name(self, table: dict) -> str:
        """How errors name `table` at the source: `table public.orders`, `query table rich`."""
        if "query" in table:
            return f"query table {shown(table['name'])}"
        return f"table {shown(self.dialect.source_schema(self))}.{shown(table['name'])}"

    def _failure(self, what: str, exc: BaseException, note: str = "") -> FeatherBoxError:
        """`exc` (from a driver or DuckDB) as an error naming the adapter, the host and `what` failed
        (`note`: said after "failed")."""
        try:
            dsn = self.dialect.attach_dsn(self.params)
        except Exception:
            dsn = ""
        reason = scrub(exc, self.params, dsn).strip()
        if not reason or reason.endswith(":"):  # e.g. MySQL's client when the server vanished mid-read
            reason = f"{reason or type(exc).__name__} (no reason given: the connection to the server was probably lost)"
        return FeatherBoxError(f"{self.location()}: {what} failed{note}: {reason}")

    def describe_failure(self, what: str, exc: BaseException) -> str:
        note = ""
        if getattr(self, "_reads", None) is not None:  # the load read through the attached source
            note = " (it also ends the load's read transaction on the source: was the connection to the source lost?)"
        return str(self._failure(what, exc, note))

    @contextmanager
    def step(self, what: str):
        """Errors inside (other than FeatherBoxErrors, which already say where) name `what`."""
        try:
            yield
        except FeatherBoxError:
            raise
        except Exception as exc:
            raise self._failure(what, exc) from None

    def _params_ok(self) -> bool:
        try:
            self.params
            return True
        except FeatherBoxError:
            return False

    @property
    def params(self) -> dict:
        if not hasattr(self, "_params"):
            try:
                self._params = connection_params(self.spec.config, self.dialect.schemes, self.dialect.default_port)
            except FeatherBoxError as exc:
                raise FeatherBoxError(f"adapter {self.name} ({self.spec.file}): {exc}") from None
        return self._params

    def duckdb_extensions(self) -> list[str]:
        return [self.dialect.extension]

    def data_config(self) -> dict:
        """As the base class, without the column-mode options that change how but not what is loaded
        (`reconcile`, `chunk_rows`, `max_chunks_per_run`): editing them does not reload the tables."""
        from featherbox.database_sources.column_mode import OPERATIONAL_KEYS

        config = super().data_config()
        inc = config.get("incremental")
        if isinstance(inc, dict) and any(k in inc for k in OPERATIONAL_KEYS):
            config["incremental"] = {k: v for k, v in inc.items() if k not in OPERATIONAL_KEYS}
        return config

    @property
    def incremental(self) -> dict | None:
        """The `incremental:` mapping when it selects the `column` strategy (ColumnMode reads it)."""
        inc = self.spec.raw.get("incremental")
        return inc if inc and inc.get("type") in ("column", "columner") else None

    @property
    def cdc(self) -> bool:
        inc = self.spec.raw.get("incremental")
        return bool(inc) and inc.get("type") == "cdc"

    @classmethod
    def chosen_strategies(cls, document: dict) -> list[tuple[str, str, str]]:
        inc = document.get("incremental")
        if isinstance(inc, dict) and isinstance(inc.get("type"), str):
            return [("incremental.type", "database", strategy_name(inc["type"]))]
        return []

    @property
    def strategy(self) -> DatabaseStrategy | None:
        """The registered table strategy `incremental.type` names (None: full copies)."""
        if "_strategy" not in self.__dict__:
            inc = self.spec.raw.get("incremental")
            chosen = None
            if inc:
                from featherbox.registry import strategy_for

                cls = strategy_for(self, "database", strategy_name(inc["type"]), "incremental.type")
                chosen = cls(self, inc)
            self._strategy = chosen
        return self._strategy

    def cdc_reader(self):
        """The plugin's `featherbox.database_sources.cdc.CdcReader` for `incremental: {type: cdc}`."""
        raise FeatherBoxError(f"adapter {self.name} ({self.spec.file}): {self.dialect.title} does not support incremental cdc")

    def on_delete(self) -> None:
        if self.strategy is not None:
            self.strategy.release()

    def declared_tables(self) -> list[dict] | None:
        """The adapter file's `tables:` as mappings; None when every table of the source is copied."""
        tables = self.spec.raw.get("tables")
        if tables is None:
            return None
        return [t if isinstance(t, dict) else {"name": t} for t in tables]

    def connect(self):
        """A DB-API connection to the source; `SourceUnreachable` when there is none (a wrong
        setting in the adapter file stays a plain FeatherBoxError)."""
        p = self.params
        try:
            return self.dialect.connect(p)
        except FeatherBoxError as exc:  # the dialect's own words
            raise SourceUnreachable(f"{self.location()}: {exc}") from None
        except Exception as exc:
            raise SourceUnreachable(
                f"{self.location()}: cannot connect (port {p['port']}, database {p['dbname']}, user {p['user']}): "
                f"{scrub(exc, p)}"
            ) from None

    def source_tables(self, conn) -> list[str]:
        return self.dialect.list_tables(conn, self.dialect.source_schema(self))

    def tables(self, conn=None) -> list[dict]:
        declared = self.declared_tables()
        if declared is None:
            own = conn is None
            conn = conn or self.connect()
            try:
                with self.step("listing the source's tables"):
                    declared = [{"name": t} for t in self.source_tables(conn)]
            finally:
                if own:
                    conn.close()
        self._check_lake_names(declared)
        return declared

    def _check_lake_names(self, tables: list[dict]) -> None:
        """Two tables must not land on one lake table: DuckDB compares names without case."""
        seen: dict[str, str] = {}
        for table in tables:
            names = self.strategy.output_names([table["name"]]) if self.strategy else [table["name"]]
            for name in names:
                other = seen.setdefault(name.lower(), table["name"])
                if other != table["name"]:
                    raise FeatherBoxError(
                        f"{self.location()}: the source tables {other!r} and {table['name']!r} would both be the lake "
                        f"table {self.schema}.{name.lower()} (lake names ignore case); list the tables under `tables:` and "
                        f"load one of them under another name: {{name: other_name, query: SELECT * FROM ...}}"
                    )

    @property
    def schema(self) -> str:
        """The lake schema the copied tables land in (`raw_<adapter>`, featherbox.layout)."""
        return adapter_lake_schema(self.name)

    def output_tables(self) -> list[str]:
        strategy = self.strategy
        if strategy is not None:
            planned = self._planned_tables() if strategy.keyed else self.tables()
            names = strategy.output_names([t["name"] for t in planned])
        else:
            names = [t["name"] for t in self.tables()]
        return [f"{self.schema}.{n}" for n in names]

    def _planned_tables(self) -> list[dict]:
        """`keyed_tables` when planning: a configured key or column the source does not have is
        reported now. A source that cannot be reached is reported by `detect` or `load` instead
        (when the tables are not listed, `connect`'s SourceUnreachable lets the graph use the
        tables of the last load)."""
        if self.declared_tables() is None:
            return self.keyed_tables()
        try:
            conn = self.connect()
        except FeatherBoxError:
            return self.tables()
        try:
            return self.keyed_tables(conn)
        finally:
            conn.close()

    # source SQL

    def source_from(self, table: dict) -> str:
        """The FROM item of `table` at the source."""
        if "query" in table:
            return f"({table['query']}) AS fbox_q"
        q = self.dialect.quote
        return f"{q(self.dialect.source_schema(self))}.{q(table['name'])}"

    # detect

    def source_tables_changed(self, conn, previous: dict) -> bool:
        """With `tables` omitted: whether the source's set of tables differs from the last load's."""
        if self.declared_tables() is not None:
            return False
        return sorted(self.source_tables(conn)) != sorted(previous.get("source_tables", []))

    def detect(self, con, previous):
        if previous is None:
            return Detection(True, "never loaded")
        if self.strategy is not None:
            return self.strategy.detect(previous)
        conn = self.connect()
        try:
            with self.step("checking the source"):
                if self.source_tables_changed(conn, previous):
                    return Detection(True, "the set of source tables changed")
                return self._detect_full(conn, previous)
        finally:
            conn.close()

    def source_signature(self) -> str | None:
        # full copies: the same per-table signatures `detect` compares; increments and change streams
        # are judged against the lake's state, so they have no signature of their own
        if self.spec.raw.get("incremental"):
            return None
        conn = self.connect()
        try:
            signatures = self._table_signatures(conn, self.tables(conn))
            if None in signatures.values():
                return None
            source_tables = sorted(self.source_tables(conn)) if self.declared_tables() is None else None
        finally:
            conn.close()
        self._taken_signatures = signatures  # `detect` in the same run compares these instead of scanning again
        return json.dumps({"tables": signatures, "source_tables": source_tables}, sort_keys=True)

    def _table_signatures(self, conn, tables: list[dict]) -> dict[str, Any]:
        """Each table's change signature (None: no cheap one), in the order of `tables`."""
        schema = self.dialect.source_schema(self)
        signatures = {}
        for table in tables:
            with self.step(f"checking {self.source_name(table)} for changes"):
                signatures[table["name"]] = self.dialect.signature(conn, schema, table)
        return signatures

    def _detect_full(self, conn, previous):
        before = previous.get("signatures") or {}
        now = self.__dict__.pop("_taken_signatures", None) or self._table_signatures(conn, self.tables(conn))
        changed = [name for name, sig in now.items() if sig is not None and before.get(name) != sig]
        unknown = [name for name, sig in now.items() if sig is None]
        if changed:
            return Detection(True, f"source changed ({self.dialect.signature_meaning}) in {', '.join(changed)}")
        if unknown:
            return Detection(True, f"reloading every run: no cheap change signal for {', '.join(unknown)}")
        return Detection(False)

    # load

    def attach(self, con) -> str:
        dsn = self.dialect.attach_dsn(self.params)
        alias = f"fbox_src_{self.name}_{hashlib.sha256(dsn.encode()).hexdigest()[:10]}"
        try:
            con.execute(
                f"ATTACH IF NOT EXISTS {sql_string(dsn)} AS {quote_ident(alias)} (TYPE {self.dialect.attach_type}, READ_ONLY)"
            )
        except Exception as exc:
            raise FeatherBoxError(f"{self.location()}: cannot attach the source: {scrub(exc, self.params, dsn)}") from None
        return alias

    def attached_read(self, con, alias: str, table: dict, where: str = "") -> str:
        """A DuckDB FROM item reading `table` (with an optional source-side WHERE)."""
        if "query" not in table and not where:
            q = quote_ident
            return f"{q(alias)}.{q(self.dialect.source_schema(self))}.{q(table['name'])}"
        sql = f"SELECT * FROM {self.source_from(table)}" + (f" WHERE {where}" if where else "")
        return self.dialect.scan(con, alias, sql, table["name"])

    def load(self, ctx: LoadContext) -> LoadResult:
        self._reads: tuple[str, list[dict]] | None = None  # (alias, tables) read through the attached source
        with self.step("load"):
            result = self._load(ctx)
        if self._reads is not None:
            self._finish_reads(ctx.con, *self._reads)
        return result

    def _finish_reads(self, con, alias: str, tables: list[dict]) -> None:
        """Check, as the load's last step, that the source connection the reads used is still there:
        the lake's COMMIT also ends that connection's read transaction, and a server that went away
        during or after the copy would otherwise fail the COMMIT with no word of which source."""
        names = ", ".join(self.source_name(t) for t in tables) or "the source"
        with self.step(f"checking the connection after reading {names}"):
            self.dialect.probe(con, alias)

    def record_reads(self, alias: str, tables: list[dict]) -> None:
        """Say that the load read `tables` through the attached source `alias`: its last step then
        checks that the source connection is still there (see `_finish_reads`)."""
        self._reads = (alias, tables)

    def copy_table(self, con, alias: str, table: dict) -> None:
        """Replace the lake table of `table` with a full read of the source."""
        target = lake_table(self.schema, table["name"])
        with self.step(f"copying {self.source_name(table)}"):
            con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM {self.attached_read(con, alias, table)}")

    def _load(self, ctx: LoadContext) -> LoadResult:
        strategy = self.strategy
        if strategy is not None:
            tables = self.keyed_tables() if strategy.keyed else self.tables()
            return strategy.load(ctx, tables)
        return self.full_copy(ctx)

    def full_copy(self, ctx: LoadContext) -> LoadResult:
        """Without `incremental:`: copy every table whole."""
        con = ctx.con
        conn = self.connect()
        try:
            tables = self.tables(conn)
            with self.step("reading the source's tables"):
                self.check_exist(conn, tables)
                source_tables = self.source_tables(conn) if self.declared_tables() is None else None
            # taken before the copy: a change after it shows up next time
            signatures = self._table_signatures(conn, tables)
        finally:
            conn.close()
        alias = self.attach(con)
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(self.schema)}")
        rows: dict[str, int] = {}
        state: dict[str, Any] = {"mode": "full", "signatures": signatures}
        if source_tables is not None:
            state["source_tables"] = sorted(source_tables)
        for table in tables:
            self.copy_table(con, alias, table)
            rows[f"{self.schema}.{table['name']}"] = con.execute(f"SELECT count(*) FROM {lake_table(self.schema, table['name'])}").fetchone()[0]
        self.record_reads(alias, tables)
        return LoadResult(rows, state, f"copied {len(rows)} tables")


def strategy_name(type_name: str) -> str:
    """The registered strategy `incremental.type` names (`columner` is an old spelling of `column`)."""
    return "column" if type_name == "columner" else type_name
