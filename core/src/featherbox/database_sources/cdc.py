"""Change data capture (`incremental: {type: cdc}`): the engine-independent part.

A plugin's `CdcReader` decodes its server's change stream (PostgreSQL logical decoding, MySQL row
binlog) into row changes: `(table, op, values-as-text, unchanged columns, position, commit time)`.
`ChangeSink` buffers them per table in NDJSON files and applies them set-based to the lake table
inside the DuckLake transaction the engine opened (`ctx.con`):

* the values are read with `read_json` as VARCHAR and cast to the lake column types;
* the latest change per primary key wins: `DELETE` every changed key, `INSERT` the keys whose latest
  change is not a delete; TOAST-style "unchanged" columns take the previous image of the row;
* every applied change is appended to the lake table `raw_<adapter>.__delta_<table>`
  (`_fbox_op`, `_fbox_position`, `_fbox_seq`, `_fbox_changed_at`, `_fbox_run_id`, then the row's
  columns; a delete carries the key, or the whole old row with REPLICA IDENTITY FULL / MySQL).

`load_cdc` is the whole load: let the reader decide whether a snapshot is needed, take it (position
first, copy second: every change after the position is replayed, and replaying a full-row image on
top of a snapshot that already has it is idempotent), then read from the position to the current
end and apply. The new position goes into `LoadResult.state`, committed atomically with the data; a
reader only lets its source forget changes (advance a slot) up to a position that was committed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from featherbox.errors import FeatherBoxError
from featherbox.sql import quote_ident, sql_string
from featherbox.extension import Detection, LoadContext, LoadResult
from featherbox.database_sources import lake_table
from featherbox.database_sources.connection import scrub

if TYPE_CHECKING:
    from featherbox.database_sources.adapter import DatabaseAdapter

DELTA_PREFIX = "__delta_"
META = ["_fbox_op", "_fbox_position", "_fbox_seq", "_fbox_changed_at", "_fbox_run_id"]
FLUSH_EVERY = 50_000  # changes buffered per table before they are applied


def delta_name(table: str) -> str:
    return f"{DELTA_PREFIX}{table}"


class CdcReader(ABC):
    """One adapter's change stream. `position` is a JSON-able dict (`{"lsn": ...}`, `{"file", "pos"}`)."""

    #: statements run on each new connection (session settings)
    session: tuple[str, ...] = ()

    def __init__(self, adapter: DatabaseAdapter):
        self.adapter = adapter
        self._conn = None

    @property
    def conn(self):
        """A DB-API connection to the source, opened on first use."""
        if self._conn is None:
            self._conn = self.adapter.connect()
            for statement in self.session:
                self._conn.execute(statement)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _fail(self, what: str, exc: Exception | None = None) -> FeatherBoxError:
        detail = f": {scrub(exc, self.adapter.params)}" if exc is not None else ""
        return FeatherBoxError(f"{self.adapter.location()}: {what}{detail}")

    @abstractmethod
    def check(self) -> None:
        """Raise a FeatherBoxError saying what to change when the server cannot do CDC."""

    @abstractmethod
    def resume(self, previous: dict | None) -> dict | None:
        """The position to read from, or None when a new snapshot is needed. May release
        (acknowledge) everything up to `previous`'s position, which the lake has committed."""

    @abstractmethod
    def start_snapshot(self) -> dict:
        """Prepare the stream and return a position P such that a read of the source started after
        this call sees every change before P; changes after P will be read from the stream."""

    @abstractmethod
    def read(self, position: dict, sink: ChangeSink) -> tuple[dict, int]:
        """Send the changes after `position` up to the current end to `sink`; return the new position
        (after the last whole transaction read) and the number of changes."""

    @abstractmethod
    def pending(self, position: dict, limit: int) -> int:
        """How many changes (up to about `limit`) the stream holds after `position`."""

    def release(self) -> None:
        """Forget what the source holds for this adapter (on `fbox adapter delete`)."""


class ChangeSink:
    """Buffers row changes per table and applies them to the lake in order, set-based."""

    def __init__(self, con, adapter: str, schema: str, tables: dict[str, list[str]], run_id: str):
        self.con, self.adapter, self.schema, self.run_id = con, adapter, schema, run_id
        self.primary_keys = tables
        self.dir = tempfile.mkdtemp(prefix="fbox_cdc_")
        self.files: dict[str, Any] = {}
        self.counts: dict[str, int] = {}
        self.applied: dict[str, int] = {}
        self.seq = 0
        self._columns: dict[str, list[tuple[str, str]]] = {}

    def columns(self, table: str) -> list[tuple[str, str]]:
        if table not in self._columns:
            self._columns[table] = lake_columns(self.con, self.schema, table)
        return self._columns[table]

    def add(self, table: str, op: str, row: dict[str, str | None], position: str, changed_at: str | None,
            unchanged: list[str] = ()) -> None:
        """One change: `op` is insert/update/delete, `row` maps column name -> text value (NULL: None);
        a delete needs at least the key columns; `unchanged` names columns whose value did not change."""
        if table not in self.primary_keys:
            return
        names = [c for c, _ in self.columns(table)]
        unknown = set(row) - set(names)
        missing = [c for c in names if c not in row and c not in unchanged] if op != "delete" else []
        if unknown or missing:
            what = f"new columns {sorted(unknown)}" if unknown else f"columns {missing} no longer sent"
            raise FeatherBoxError(
                f"adapter {self.adapter}: the source table {table} changed shape ({what}); "
                f"run `fbox run --full-refresh {self.adapter}` to take a new snapshot"
            )
        missing_key = [k for k in self.primary_keys[table] if k not in row]
        if missing_key:
            raise FeatherBoxError(
                f"adapter {self.adapter}: a {op} on {table} came without its key column(s) {missing_key}; "
                "the table needs a primary key (or REPLICA IDENTITY FULL)"
            )
        self.seq += 1
        record = {"__fbox_op": op, "__fbox_pos": position, "__fbox_seq": self.seq, "__fbox_at": changed_at,
                  "__fbox_u": list(unchanged)}
        record.update({f"c{i}": row.get(c) for i, c in enumerate(names)})
        f = self.files.get(table)
        if f is None:
            # numbered, not named after the table: a table name may hold any character
            f = self.files[table] = open(os.path.join(self.dir, f"changes_{self.seq}.ndjson"), "w", encoding="utf-8")
        f.write(json.dumps(record) + "\n")
        self.counts[table] = self.counts.get(table, 0) + 1
        if self.counts[table] >= FLUSH_EVERY:
            self.flush(table)

    def truncate(self, table: str, position: str, changed_at: str | None) -> None:
        if table not in self.primary_keys:
            return
        self.flush(table)
        self.con.execute(f"DELETE FROM {lake_table(self.schema, table)}")
        self.seq += 1
        self.con.execute(
            f"INSERT INTO {lake_table(self.schema, delta_name(table))} BY NAME "
            "SELECT 'truncate' AS _fbox_op, ? AS _fbox_position, ? AS _fbox_seq, ?::TIMESTAMPTZ AS _fbox_changed_at, "
            "? AS _fbox_run_id", [position, self.seq, changed_at, self.run_id],
        )
        self.applied[table] = self.applied.get(table, 0) + 1

    def flush(self, table: str | None = None) -> None:
        for name in [table] if table else list(self.files):
            f = self.files.pop(name, None)
            if f is None:
                continue
            f.close()
            count = self.counts.pop(name, 0)
            if count:
                apply_file(self.con, self.schema, name, self.columns(name), self.primary_keys[name], f.name, self.run_id)
                self.applied[name] = self.applied.get(name, 0) + count
            os.unlink(f.name)

    def close(self) -> None:
        for f in self.files.values():
            f.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def lake_columns(con, schema: str, table: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM {lake_table(schema, table)}").fetchall()]


def cast_expr(expr: str, duck_type: str) -> str:
    """`expr` (VARCHAR in the text form the source printed) as `duck_type`."""
    t = duck_type.upper()
    if t == "VARCHAR" or t == "JSON":
        return expr if t == "VARCHAR" else f"CAST({expr} AS JSON)"
    if t == "BLOB":  # hex text: PostgreSQL's \x0102, or the plain hex the MySQL reader sends
        return f"unhex(regexp_replace({expr}, '^\\\\x', ''))"
    if t.endswith("[]"):  # PostgreSQL array text {1,2} -> [1,2]
        return f"CAST(CASE WHEN {expr} LIKE '{{%' THEN '[' || {expr}[2:-2] || ']' ELSE {expr} END AS {duck_type})"
    return f"CAST({expr} AS {duck_type})"


def apply_file(con, schema: str, table: str, columns: list[tuple[str, str]], pk: list[str], path: str, run_id: str) -> None:
    """Apply the changes in the NDJSON file `path` to `<schema>.<table>` and append them to its delta table."""
    q = quote_ident
    target = lake_table(schema, table)
    delta = lake_table(schema, delta_name(table))
    stage = q(f"fbox_cdc_{os.getpid()}_{abs(hash((schema, table, path))) % 10**9}")
    spec = {"__fbox_op": "VARCHAR", "__fbox_pos": "VARCHAR", "__fbox_seq": "BIGINT", "__fbox_at": "VARCHAR", "__fbox_u": "VARCHAR[]"}
    spec.update({f"c{i}": "VARCHAR" for i in range(len(columns))})
    spec_sql = "{" + ", ".join(f"{sql_string(k)}: {sql_string(v)}" for k, v in spec.items()) + "}"
    typed = ", ".join(f"{cast_expr(f'c{i}', t)} AS {q(n)}" for i, (n, t) in enumerate(columns))
    keys = ", ".join(q(k) for k in pk)
    con.execute(
        f"CREATE TEMP TABLE {stage} AS SELECT __fbox_op, __fbox_pos, __fbox_seq, __fbox_at, __fbox_u, {typed} "
        f"FROM read_json({sql_string(path)}, format = 'newline_delimited', columns = {spec_sql})"
    )
    try:
        if con.execute(f"SELECT count(*) FROM {stage} WHERE len(__fbox_u) > 0").fetchone()[0]:
            _fill_unchanged(con, stage, target, columns, pk)
        latest = f"(SELECT * FROM {stage} QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY __fbox_seq DESC) = 1)"
        match = " AND ".join(f"s.{q(k)} IS NOT DISTINCT FROM t.{q(k)}" for k in pk)
        names = ", ".join(q(n) for n, _ in columns)
        con.execute(f"DELETE FROM {target} AS t WHERE EXISTS (SELECT 1 FROM {stage} AS s WHERE {match})")
        con.execute(f"INSERT INTO {target} ({names}) SELECT {names} FROM {latest} WHERE __fbox_op <> 'delete'")
        con.execute(
            f"INSERT INTO {delta} (_fbox_op, _fbox_position, _fbox_seq, _fbox_changed_at, _fbox_run_id, {names}) "
            f"SELECT __fbox_op, __fbox_pos, __fbox_seq, CAST(__fbox_at AS TIMESTAMPTZ), {sql_string(run_id)}, {names} "
            f"FROM {stage} ORDER BY __fbox_seq"
        )
    finally:
        con.execute(f"DROP TABLE IF EXISTS {stage}")


def _fill_unchanged(con, stage: str, target: str, columns, pk) -> None:
    """Columns a change marked unchanged (PostgreSQL TOAST) take the row's previous image: the latest
    earlier change of the same key in this batch that sent the column, else the lake's current row."""
    q = quote_ident
    keys = ", ".join(f"s.{q(k)}" for k in pk)
    match = " AND ".join(f"s.{q(k)} IS NOT DISTINCT FROM t.{q(k)}" for k in pk)
    sets = []
    for name, _ in columns:
        n = q(name)
        earlier = (
            f"last_value(CASE WHEN NOT list_contains(s.__fbox_u, {sql_string(name)}) AND s.__fbox_op <> 'delete' "
            f"THEN struct_pack(v := s.{n}) END IGNORE NULLS) OVER (PARTITION BY {keys} ORDER BY s.__fbox_seq "
            "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)"
        )
        sets.append(
            f"CASE WHEN list_contains(s.__fbox_u, {sql_string(name)}) THEN coalesce(({earlier}), struct_pack(v := t.{n})).v "
            f"ELSE s.{n} END AS {n}"
        )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {stage} AS SELECT s.__fbox_op, s.__fbox_pos, s.__fbox_seq, s.__fbox_at, "
        f"[] :: VARCHAR[] AS __fbox_u, {', '.join(sets)} "
        f"FROM {stage} AS s LEFT JOIN {target} AS t ON {match}"
    )


def ensure_delta(con, schema: str, table: str, reset: bool) -> None:
    delta = lake_table(schema, delta_name(table))
    meta = "NULL::VARCHAR AS _fbox_op, NULL::VARCHAR AS _fbox_position, NULL::BIGINT AS _fbox_seq, " \
           "NULL::TIMESTAMPTZ AS _fbox_changed_at, NULL::VARCHAR AS _fbox_run_id"
    verb = "CREATE OR REPLACE TABLE" if reset else "CREATE TABLE IF NOT EXISTS"
    con.execute(f"{verb} {delta} AS SELECT {meta}, * FROM {lake_table(schema, table)} LIMIT 0")


def load_cdc(adapter: DatabaseAdapter, ctx: LoadContext, reader: CdcReader, tables: list[dict], copy) -> LoadResult:
    """The whole CDC load. `copy(table)` replaces the lake table with a full read of the source."""
    con = ctx.con
    keys = {}
    for table in tables:
        if "query" in table:
            raise FeatherBoxError(f"adapter {adapter.name} ({adapter.spec.file}): incremental cdc cannot follow `query:` table {table['name']}")
        pk = adapter.primary_key(table)
        if not pk:  # keyed_tables gives every table a key (configured or the source's) or refuses it
            raise FeatherBoxError(f"{adapter.location()}: table {table['name']} needs a primary_key for cdc")
        keys[table["name"]] = pk
    previous = ctx.previous if (ctx.previous or {}).get("mode") == "cdc" and not ctx.full_refresh else None
    if previous is not None and sorted(previous.get("tables", [])) != sorted(keys):
        previous = None
    reader.check()
    position = reader.resume(previous)
    notes = []
    if position is None:
        position = reader.start_snapshot()
        for table in tables:
            copy(table)
            ensure_delta(con, adapter.schema, table["name"], reset=True)
        notes.append(f"snapshot of {len(tables)} tables")
    else:
        for table in tables:  # the lake table must be there: a missing one means a new snapshot
            ensure_delta(con, adapter.schema, table["name"], reset=False)
    sink = ChangeSink(con, adapter.name, adapter.schema, keys, ctx.run_id)
    try:
        position, count = reader.read(position, sink)
        sink.flush()
    finally:
        sink.close()
    notes.append(f"applied {count} changes" if count else "no changes")
    rows = {}
    for name in keys:
        for t in (name, delta_name(name)):
            rows[f"{adapter.schema}.{t}"] = con.execute(f"SELECT count(*) FROM {lake_table(adapter.schema, t)}").fetchone()[0]
    state = {"mode": "cdc", "tables": sorted(keys), "position": position}
    return LoadResult(rows, state, "; ".join(notes), incremental=True)


def detect_cdc(reader: CdcReader, previous: dict) -> Detection:
    if previous.get("mode") != "cdc" or not previous.get("position"):
        return Detection(True, "no cdc position recorded")
    reader.check()
    position = reader.resume(previous)
    if position is None:
        return Detection(True, "the change stream lost its position: a new snapshot is needed")
    n = reader.pending(position, 10_000)
    if n:
        return Detection(True, f"{n}{'+' if n >= 10_000 else ''} changes")
    return Detection(False)
