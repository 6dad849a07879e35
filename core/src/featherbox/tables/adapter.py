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

Names: every source table is loaded under its own name, whatever it holds (`order items` lands as
`<adapter>."order items"`, see `featherbox.tables.lake_table`), and every name is quoted at the source
and in the lake.

Keys: `incremental` modes merge rows by a key. `keyed_tables` gives each table its configured
`primary_key` (the table's, else the adapter's) or else the primary key the source declares, after
checking that every configured column exists at the source; `output_tables` runs it, so a wrong key
or column is reported when the project plans, not when the first increment fails.

Errors name the adapter, its file, the host and the source table the failing step was reading; the
password and the DSN are scrubbed.
"""


import difflib
import hashlib
import json
from contextlib import contextmanager
from typing import Any, ClassVar

from featherbox.errors import FeatherBoxError
from featherbox.extension import AdapterType, Detection, LoadContext, LoadResult, SourceUnreachable
from featherbox.layout import adapter_schema
from featherbox.sql import quote_ident, sql_string
from featherbox.tables import lake_table
from featherbox.tables.connection import Dialect, connection_params, scrub, shown

#: how many of a table's columns an error lists
LISTED_COLUMNS = 30


class RelationalAdapter(AdapterType):
    dialect: ClassVar[Dialect]

    # configuration

    def _where(self) -> str:
        host = "?"
        if self._params_ok():
            p = self.params
            host = f"{p.get('host')}:{p['port']}" if p.get("port") else str(p.get("host"))
        return f"adapter {self.name} ({self.spec.file}), {self.dialect.title} at {host}"

    def _source_name(self, table: dict) -> str:
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
        return FeatherBoxError(f"{self._where()}: {what} failed{note}: {reason}")

    def describe_failure(self, what: str, exc: BaseException) -> str:
        note = ""
        if getattr(self, "_reads", None) is not None:  # the load read through the attached source
            note = " (it also ends the load's read transaction on the source: was the connection to the source lost?)"
        return str(self._failure(what, exc, note))

    @contextmanager
    def _step(self, what: str):
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
        """A DB-API connection to the source; `SourceUnreachable` when there is none (a wrong
        setting in the adapter file stays a plain FeatherBoxError)."""
        p = self.params
        try:
            return self.dialect.connect(p)
        except FeatherBoxError as exc:  # the dialect's own words
            raise SourceUnreachable(f"{self._where()}: {exc}") from None
        except Exception as exc:
            raise SourceUnreachable(
                f"{self._where()}: cannot connect (port {p['port']}, database {p['dbname']}, user {p['user']}): "
                f"{scrub(exc, p)}"
            ) from None

    def _source_tables(self, conn) -> list[str]:
        return self.dialect.list_tables(conn, self.dialect.source_schema(self))

    def tables(self, conn=None) -> list[dict]:
        declared = self._declared()
        if declared is None:
            own = conn is None
            conn = conn or self._connect()
            try:
                with self._step("listing the source's tables"):
                    declared = [{"name": t} for t in self._source_tables(conn)]
            finally:
                if own:
                    conn.close()
        self._check_lake_names(declared)
        return declared

    def _check_lake_names(self, tables: list[dict]) -> None:
        """Two tables must not land on one lake table: DuckDB compares names without case."""
        from featherbox.tables.cdc import delta_name

        seen: dict[str, str] = {}
        for table in tables:
            names = [table["name"], delta_name(table["name"])] if self.cdc else [table["name"]]
            for name in names:
                other = seen.setdefault(name.lower(), table["name"])
                if other != table["name"]:
                    raise FeatherBoxError(
                        f"{self._where()}: the source tables {other!r} and {table['name']!r} would both be the lake "
                        f"table {self.schema}.{name.lower()} (lake names ignore case); list the tables under `tables:` and "
                        f"load one of them under another name: {{name: other_name, query: SELECT * FROM ...}}"
                    )

    @property
    def schema(self) -> str:
        """The lake schema the copied tables land in (`raw_<adapter>`, featherbox.layout)."""
        return adapter_schema(self.name)

    def output_tables(self) -> list[str]:
        if self.incremental or self.cdc:
            tables = self._planned_tables()
        else:
            tables = self.tables()
        names = [t["name"] for t in tables]
        if self.cdc:  # the applied changes, for incremental models (featherbox.tables.cdc)
            from featherbox.tables.cdc import delta_name

            names += [delta_name(n) for n in names]
        return [f"{self.schema}.{n}" for n in names]

    def _planned_tables(self) -> list[dict]:
        """`keyed_tables` when planning: a configured key or column the source does not have is
        reported now. A source that cannot be reached is reported by `detect` or `load` instead
        (when the tables are not listed, `_connect`'s SourceUnreachable lets the graph use the
        tables of the last load)."""
        if self._declared() is None:
            return self.keyed_tables()
        try:
            conn = self._connect()
        except FeatherBoxError:
            return self.tables()
        try:
            return self.keyed_tables(conn)
        finally:
            conn.close()

    def _configured_key(self, table: dict) -> tuple[list[str], str] | None:
        """The primary key the adapter file sets for `table`, and the field that sets it."""
        for pk, field in ((table.get("primary_key"), f"tables[{self._index(table)}].primary_key"),
                          ((self.spec.raw.get("incremental") or {}).get("primary_key"), "incremental.primary_key")):
            if pk:
                return ([pk] if isinstance(pk, str) else list(pk)), field
        return None

    def _index(self, table: dict) -> int:
        declared = self._declared() or []
        return next((i for i, t in enumerate(declared) if t["name"] == table["name"]), 0)

    def _primary_key(self, table: dict) -> list[str]:
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
        if own and self._declared() is None:
            conn = self._connect()
        try:
            tables = self.tables(conn)
            cache_key = json.dumps(tables, sort_keys=True)
            cached = getattr(self, "_keyed_cache", None)
            if cached is not None and cached[0] == cache_key:
                return [dict(t) for t in cached[1]]
            if conn is None:
                conn = self._connect()
            schema = self.dialect.source_schema(self)
            with self._step(f"reading the definitions of the tables of {schema}"):
                shapes = self.dialect.describe(conn, schema)
            keyed = [self._keyed(conn, table, shapes) for table in tables]
        finally:
            if own and conn is not None:
                conn.close()
        self._keyed_cache = (cache_key, keyed)
        return [dict(t) for t in keyed]

    def _keyed(self, conn, table: dict, shapes: dict[str, tuple[list[str], list[str]]]) -> dict:
        what = self._source_name(table)
        if "query" in table:
            with self._step(f"reading the columns of {what}"):
                columns, source_key = self.dialect.query_columns(conn, table["query"]), []
        else:
            shape = shapes.get(table["name"])
            if shape is None and not self.dialect.case_sensitive:
                shape = next((v for k, v in shapes.items() if k.lower() == table["name"].lower()), None)
            if shape is None:
                raise FeatherBoxError(
                    f"{self._where()}: tables[{self._index(table)}]: {what} does not exist at the source"
                    f"{self._listing(sorted(shapes), 'it has')}"
                )
            columns, source_key = shape
        configured = self._configured_key(table)
        if configured:
            key = [self._column(c, columns, configured[1], what) for c in configured[0]]
        elif source_key:
            key = source_key
        else:
            mode = "cdc" if self.cdc else "column"
            if "query" in table:
                fix = f"set its own primary_key (tables[{self._index(table)}].primary_key)"
                why = f"{what} has no primary key of its own"
            else:
                where = f"tables[{self._index(table)}].primary_key" if self._declared() is not None else \
                    "list it under `tables:` with its own primary_key"
                fix = f"add a primary key to the table, or set incremental.primary_key (or {where})"
                why = f"{what} has no primary key at the source"
            raise FeatherBoxError(f"{self._where()}: {why}, and incremental {mode} merges rows by one; {fix}")
        inc = self.incremental
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
            f"{self._where()}: {field}: column {name!r} is not in {what}{self._listing(columns, 'its columns')}{hint}"
        )

    @staticmethod
    def _listing(names: list[str], label: str) -> str:
        if not names:
            return f" ({label}: none)"
        listed = ", ".join(shown(n) for n in names[:LISTED_COLUMNS])
        more = f", ... ({len(names)} in all)" if len(names) > LISTED_COLUMNS else ""
        return f" ({label}: {listed}{more})"

    def _check_exist(self, conn, tables: list[dict]) -> None:
        """Listed tables the source does not have fail the load with the tables it has."""
        if self._declared() is None:
            return
        present = self._source_tables(conn)
        lowered = {t.lower() for t in present}
        for table in tables:
            name = table["name"]
            if "query" in table or name in present or (not self.dialect.case_sensitive and name.lower() in lowered):
                continue
            raise FeatherBoxError(
                f"{self._where()}: tables[{self._index(table)}]: {self._source_name(table)} does not exist at the source"
                f"{self._listing(sorted(present), 'it has')}"
            )

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
            with self._step("checking the source"):
                if self._declared() is None:
                    now = sorted(self._source_tables(conn))
                    if now != sorted(previous.get("source_tables", [])):
                        return Detection(True, "the set of source tables changed")
                if self.incremental:
                    return self._detect_column(conn, previous)
                return self._detect_full(conn, previous)
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
            with self._step("checking the change stream"):
                return detect_cdc(reader, previous)
        finally:
            reader.close()

    def _table_signatures(self, conn, tables: list[dict]) -> dict[str, Any]:
        """Each table's change signature (None: no cheap one), in the order of `tables`."""
        schema = self.dialect.source_schema(self)
        signatures = {}
        for table in tables:
            with self._step(f"checking {self._source_name(table)} for changes"):
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
        self._reads: tuple[str, list[dict]] | None = None  # (alias, tables) read through the attached source
        with self._step("load"):
            result = self._load(ctx)
        if self._reads is not None:
            self._finish_reads(ctx.con, *self._reads)
        return result

    def _finish_reads(self, con, alias: str, tables: list[dict]) -> None:
        """Check, as the load's last step, that the source connection the reads used is still there:
        the lake's COMMIT also ends that connection's read transaction, and a server that went away
        during or after the copy would otherwise fail the COMMIT with no word of which source."""
        names = ", ".join(self._source_name(t) for t in tables) or "the source"
        with self._step(f"checking the connection after reading {names}"):
            self.dialect.probe(con, alias)

    def _load(self, ctx: LoadContext) -> LoadResult:
        if self.cdc:
            return self._load_cdc(ctx)
        con = ctx.con
        conn = self._connect()
        try:
            tables = self.keyed_tables(conn) if self.incremental else self.tables(conn)
            with self._step("reading the source's tables"):
                self._check_exist(conn, tables)
                source_tables = self._source_tables(conn) if self._declared() is None else None
            # taken before the copy: a change after it shows up next time
            signatures = {} if self.incremental else self._table_signatures(conn, tables)
        finally:
            conn.close()
        alias = self._attach(con)
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(self.schema)}")
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
                with self._step(f"loading {self._source_name(table)}"):
                    exists = ctx.table_exists(f"{self.schema}.{table['name']}")
                    count, table_state, note = self._load_column(con, alias, table, previous.get(table["name"]), exists)
                rows[f"{self.schema}.{table['name']}"] = count
                state["tables"][table["name"]] = table_state
                notes.append(note)
        else:
            state["signatures"] = signatures
            for table in tables:
                target = lake_table(self.schema, table["name"])
                with self._step(f"copying {self._source_name(table)}"):
                    con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM {self._read(con, alias, table)}")
                rows[f"{self.schema}.{table['name']}"] = con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
            notes.append(f"copied {len(rows)} tables")
        self._reads = (alias, tables)
        return LoadResult(rows, state, "; ".join(n for n in notes if n), incremental=bool(self.incremental))

    def _load_cdc(self, ctx: LoadContext) -> LoadResult:
        from featherbox.tables.cdc import load_cdc

        con = ctx.con
        tables = self.keyed_tables()
        alias = self._attach(con)
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(self.schema)}")
        copied: list[dict] = []

        def copy(table: dict) -> None:
            target = lake_table(self.schema, table["name"])
            with self._step(f"copying {self._source_name(table)}"):
                con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM {self._read(con, alias, table)}")
            copied.append(table)

        reader = self.cdc_reader()
        try:
            result = load_cdc(self, ctx, reader, tables, copy)
        finally:
            reader.close()
        if copied:  # only a snapshot reads through the attached source
            self._reads = (alias, copied)
        return result

    def _load_column(self, con, alias: str, table: dict, previous: dict | None, exists: bool) -> tuple[int, dict, str]:
        from featherbox.tables.column_mode import ColumnMode

        return ColumnMode(self).load_table(con, alias, table, previous, exists)
