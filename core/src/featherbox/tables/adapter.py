"""`RelationalAdapter`: tables of a client/server SQL database copied into the lake through a DuckDB
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
"""


import hashlib
import json
from typing import Any, ClassVar

from featherbox.errors import FeatherBoxError
from featherbox.execute.lake import quote_ident, quote_table, sql_string
from featherbox.extension import AdapterType, Detection, LoadContext, LoadResult
from featherbox.tables.connection import NAME_PATTERN, Dialect, connection_params, scrub


class RelationalAdapter(AdapterType):
    dialect: ClassVar[Dialect]

    # configuration

    def _where(self) -> str:
        host = self.params.get("host") if self._params_ok() else "?"
        return f"adapter {self.name} ({self.spec.file}), {self.dialect.title} at {host}"

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
        from featherbox.tables.column_mode import OPERATIONAL_KEYS

        config = super().data_config()
        inc = config.get("incremental")
        if isinstance(inc, dict) and any(k in inc for k in OPERATIONAL_KEYS):
            config["incremental"] = {k: v for k, v in inc.items() if k not in OPERATIONAL_KEYS}
        return config

    @property
    def incremental(self) -> dict | None:
        inc = self.spec.raw.get("incremental")
        return inc if inc and inc.get("type") in ("column", "columner") else None

    @property
    def cdc(self) -> bool:
        inc = self.spec.raw.get("incremental")
        return bool(inc) and inc.get("type") == "cdc"

    def cdc_reader(self):
        """The plugin's `featherbox.tables.cdc.CdcReader` for `incremental: {type: cdc}`."""
        raise FeatherBoxError(f"adapter {self.name} ({self.spec.file}): {self.dialect.title} does not support incremental cdc")

    def on_delete(self) -> None:
        if self.cdc:
            reader = self.cdc_reader()
            try:
                reader.release()
            finally:
                reader.close()

    def _declared(self) -> list[dict] | None:
        tables = self.spec.raw.get("tables")
        if tables is None:
            return None
        return [t if isinstance(t, dict) else {"name": t} for t in tables]

    def _connect(self):
        try:
            return self.dialect.connect(self.params)
        except FeatherBoxError:
            raise
        except Exception as exc:
            p = self.params
            raise FeatherBoxError(
                f"{self._where()}: cannot connect (port {p['port']}, database {p['dbname']}, user {p['user']}): "
                f"{scrub(exc, p)}"
            ) from None

    def _source_tables(self, conn) -> list[str]:
        return [t for t in self.dialect.list_tables(conn, self.dialect.source_schema(self)) if NAME_PATTERN.match(t)]

    def tables(self, conn=None) -> list[dict]:
        declared = self._declared()
        if declared is not None:
            return declared
        own = conn is None
        conn = conn or self._connect()
        try:
            return [{"name": t} for t in self._source_tables(conn)]
        finally:
            if own:
                conn.close()

    def output_tables(self) -> list[str]:
        names = [t["name"] for t in self.tables()]
        if self.cdc:  # the applied changes, for incremental models (featherbox.tables.cdc)
            from featherbox.tables.cdc import delta_name

            names += [delta_name(n) for n in names]
        return [f"{self.name}.{n}" for n in names]

    def _primary_key(self, table: dict) -> list[str]:
        pk = table.get("primary_key") or (self.spec.raw.get("incremental") or {}).get("primary_key")
        return [pk] if isinstance(pk, str) else list(pk or [])

    # source SQL

    def _from(self, table: dict) -> str:
        """The FROM item of `table` at the source."""
        if "query" in table:
            return f"({table['query']}) AS fbox_q"
        q = self.dialect.quote
        return f"{q(self.dialect.source_schema(self))}.{q(table['name'])}"

    # detect

    def detect(self, con, previous):
        if previous is None:
            return Detection(True, "never loaded")
        if self.cdc:
            return self._detect_cdc(previous)
        conn = self._connect()
        try:
            if self._declared() is None:
                now = sorted(self._source_tables(conn))
                if now != sorted(previous.get("source_tables", [])):
                    return Detection(True, "the set of source tables changed")
            if self.incremental:
                return self._detect_column(conn, previous)
            return self._detect_full(conn, previous)
        except FeatherBoxError:
            raise
        except Exception as exc:
            raise FeatherBoxError(f"{self._where()}: checking the source failed: {scrub(exc, self.params)}") from None
        finally:
            conn.close()

    def source_signature(self) -> str | None:
        # full copies: the same per-table signatures `detect` compares; increments and change streams
        # are judged against the lake's state, so they have no signature of their own
        if self.cdc or self.incremental:
            return None
        conn = self._connect()
        try:
            signatures = self._table_signatures(conn, self.tables(conn))
            if None in signatures.values():
                return None
            source_tables = sorted(self._source_tables(conn)) if self._declared() is None else None
        finally:
            conn.close()
        self._taken_signatures = signatures  # `detect` in the same run compares these instead of scanning again
        return json.dumps({"tables": signatures, "source_tables": source_tables}, sort_keys=True)

    def _detect_cdc(self, previous):
        from featherbox.tables.cdc import detect_cdc

        if sorted(t["name"] for t in self.tables()) != sorted(previous.get("tables") or []):
            return Detection(True, "the set of source tables changed")
        reader = self.cdc_reader()
        try:
            return detect_cdc(reader, previous)
        except FeatherBoxError:
            raise
        except Exception as exc:
            raise FeatherBoxError(f"{self._where()}: checking the change stream failed: {scrub(exc, self.params)}") from None
        finally:
            reader.close()

    def _table_signatures(self, conn, tables: list[dict]) -> dict[str, Any]:
        """Each table's change signature (None: no cheap one), in the order of `tables`."""
        schema = self.dialect.source_schema(self)
        return {t["name"]: self.dialect.signature(conn, schema, t) for t in tables}

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

    def _detect_column(self, conn, previous):
        from featherbox.tables.column_mode import ColumnMode

        return ColumnMode(self).detect(conn, previous)

    # load

    def _attach(self, con) -> str:
        dsn = self.dialect.attach_dsn(self.params)
        alias = f"fbox_src_{self.name}_{hashlib.sha256(dsn.encode()).hexdigest()[:10]}"
        try:
            con.execute(
                f"ATTACH IF NOT EXISTS {sql_string(dsn)} AS {quote_ident(alias)} (TYPE {self.dialect.attach_type}, READ_ONLY)"
            )
        except Exception as exc:
            raise FeatherBoxError(f"{self._where()}: cannot attach the source: {scrub(exc, self.params, dsn)}") from None
        return alias

    def _read(self, con, alias: str, table: dict, where: str = "") -> str:
        """A DuckDB FROM item reading `table` (with an optional source-side WHERE)."""
        if "query" not in table and not where:
            q = quote_ident
            return f"{q(alias)}.{q(self.dialect.source_schema(self))}.{q(table['name'])}"
        sql = f"SELECT * FROM {self._from(table)}" + (f" WHERE {where}" if where else "")
        return self.dialect.scan(con, alias, sql, table["name"])

    def load(self, ctx: LoadContext) -> LoadResult:
        try:
            return self._load(ctx)
        except FeatherBoxError:
            raise
        except Exception as exc:
            dsn = self.dialect.attach_dsn(self.params)
            raise FeatherBoxError(f"{self._where()}: load failed: {scrub(exc, self.params, dsn)}") from None

    def _load(self, ctx: LoadContext) -> LoadResult:
        if self.cdc:
            return self._load_cdc(ctx)
        con = ctx.con
        conn = self._connect()
        try:
            tables = self.tables(conn)
            source_tables = self._source_tables(conn) if self._declared() is None else None
            # taken before the copy: a change after it shows up next time
            signatures = {} if self.incremental else self._table_signatures(conn, tables)
        finally:
            conn.close()
        alias = self._attach(con)
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(self.name)}")
        rows: dict[str, int] = {}
        state: dict[str, Any] = {"mode": "column" if self.incremental else "full"}
        if source_tables is not None:
            state["source_tables"] = sorted(source_tables)
        notes: list[str] = []
        if self.incremental:
            state["column"] = self.incremental["column"]
            state["tables"] = {}
            previous = (ctx.previous or {}).get("tables", {}) if (ctx.previous or {}).get("column") == self.incremental["column"] else {}
            for table in tables:
                count, table_state, note = self._load_column(con, alias, table, previous.get(table["name"]))
                rows[f"{self.name}.{table['name']}"] = count
                state["tables"][table["name"]] = table_state
                notes.append(note)
        else:
            state["signatures"] = signatures
            for table in tables:
                target = quote_table(f"{self.name}.{table['name']}")
                con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM {self._read(con, alias, table)}")
                rows[f"{self.name}.{table['name']}"] = con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
            notes.append(f"copied {len(rows)} tables")
        return LoadResult(rows, state, "; ".join(n for n in notes if n), incremental=bool(self.incremental))

    def _load_cdc(self, ctx: LoadContext) -> LoadResult:
        from featherbox.tables.cdc import load_cdc

        con = ctx.con
        tables = self.tables()
        alias = self._attach(con)
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(self.name)}")

        def copy(table: dict) -> None:
            target = quote_table(f"{self.name}.{table['name']}")
            con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM {self._read(con, alias, table)}")

        reader = self.cdc_reader()
        try:
            return load_cdc(self, ctx, reader, tables, copy)
        finally:
            reader.close()

    def _load_column(self, con, alias: str, table: dict, previous: dict | None) -> tuple[int, dict, str]:
        from featherbox.tables.column_mode import ColumnMode

        return ColumnMode(self).load_table(con, alias, table, previous)
