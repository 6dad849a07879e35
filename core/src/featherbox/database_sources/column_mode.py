"""`incremental: {type: column}` of `DatabaseAdapter`: watermark merges, soft deletes, key
reconciliation and a chunked, resumable initial snapshot.

State per table (JSON, committed with the data in the node's DuckLake transaction):
- `watermark`, `window_start`, `window_count`: the highest `column` value loaded, the lowest value re-read
  next time (watermark - lookback) and the number of lake rows in between (a change in that number at the
  source means a late commit inside the lookback).
- `reconciled_at`: when the lake last held exactly the source's key set (a full copy, the start of a
  finished chunked snapshot, or a key reconciliation).
- `snapshot` (only while a chunked initial snapshot is in progress): `after` (the last key copied, source
  order), `high` (max(column) at the source when the snapshot started), `copied`, `started_at`.
- `rows`: the lake table's row count after the load. A merge adds the rows it inserted and takes away
  those it deleted (the statements' own counts) instead of counting the whole table again; a state
  without it (older, or the first merge after a snapshot) is counted once.

A merge reads the lake table where the window is (`column >= watermark - lookback`, which DuckLake
answers from the files whose column statistics reach it) and, to delete the keys it replaces, its key
column; the new watermark and the window's row count come from the window's rows and the rows merged
in (`_merge`), not from scans of the whole table.

Chunked snapshot: chunks are read by keyset pagination on the primary key (`WHERE key > last ORDER BY
key LIMIT chunk_rows`, through `postgres_query`/`mysql_query`). A run copies at most `max_chunks_per_run`
chunks and commits them with the cursor, so a killed run loses only its own chunks and the next run
continues from the last committed cursor. Once the last chunk is copied, the same run merges every row
with `column >= high - lookback`: rows changed or inserted while the snapshot ran (behind or ahead of the
cursor) have a `column` value past `high`, so nothing is lost, and the merge is by key, so nothing is
doubled. While the snapshot runs, the lake table holds the rows copied so far.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from featherbox import clock
from featherbox.errors import FeatherBoxError
from featherbox.sql import quote_ident
from featherbox.extension import Detection
from featherbox.database_sources import lake_table
from featherbox.database_sources.connection import decode_value, encode_value, run_query

if TYPE_CHECKING:
    from featherbox.database_sources.adapter import DatabaseAdapter

#: how many chunks a run copies when `chunk_rows` is set and `max_chunks_per_run` is not
DEFAULT_MAX_CHUNKS = 10
#: options that change how (not what) is loaded: left out of the adapter's fingerprint
OPERATIONAL_KEYS = ("reconcile", "chunk_rows", "max_chunks_per_run")
RN = "fbox_chunk_rn"  # the source-order row number of a chunk row
DELETED = "fbox_deleted"  # 1 when a row read past the watermark is soft-deleted


def _now() -> dt.datetime:
    """When reconciliations and snapshots are judged and recorded: FeatherBox's clock (`FBOX_NOW`)."""
    return clock.now()


class ColumnMode:
    def __init__(self, adapter: DatabaseAdapter):
        self.adapter = adapter
        self.inc = adapter.incremental or {}
        self.dialect = adapter.dialect
        self.column = self.inc["column"]

    def _error(self, message: str) -> FeatherBoxError:
        return FeatherBoxError(f"adapter {self.adapter.name} ({self.adapter.spec.file}): {message}")

    # options

    @property
    def chunk_rows(self) -> int | None:
        return self.inc.get("chunk_rows")

    @property
    def max_chunks(self) -> int:
        return int(self.inc.get("max_chunks_per_run") or DEFAULT_MAX_CHUNKS)

    @property
    def reconcile_every(self) -> dt.timedelta | None:
        raw = self.inc.get("reconcile")
        if not raw:
            return None
        from featherbox.config.durations import parse_duration

        try:
            return parse_duration(raw)
        except ValueError as exc:
            raise self._error(f"incremental.reconcile: {exc}") from None

    def _deleted_sql(self) -> str | None:
        """Source-side predicate: the row is soft-deleted (None without `soft_delete`)."""
        soft = self.inc.get("soft_delete")
        if not soft:
            return None
        col = self.dialect.quote(soft["column"])
        if "value" not in soft or soft["value"] is None:
            return f"{col} IS NOT NULL"
        return f"{col} = {self.dialect.literal(soft['value'])}"

    def _live_sql(self) -> str | None:
        """Source-side predicate: the row is not soft-deleted (NULL flags count as live)."""
        soft = self.inc.get("soft_delete")
        if not soft:
            return None
        col = self.dialect.quote(soft["column"])
        if "value" not in soft or soft["value"] is None:
            return f"{col} IS NULL"
        return f"({col} IS NULL OR {col} <> {self.dialect.literal(soft['value'])})"

    def lookback(self, watermark: Any):
        raw = self.inc.get("lookback")
        if raw in (None, "", 0):
            return None
        if isinstance(watermark, (dt.date, dt.datetime)):
            from featherbox.config.durations import parse_duration

            try:
                return parse_duration(raw) if isinstance(raw, str) else dt.timedelta(seconds=raw)
            except ValueError as exc:
                raise self._error(f"incremental.lookback: {exc}") from None
        if isinstance(watermark, (int, Decimal, float)):
            try:
                return Decimal(str(raw)) if not isinstance(watermark, int) or "." in str(raw) else int(raw)
            except Exception:
                raise self._error(f"incremental.lookback {raw!r} must be a number for the numeric column {self.column}") from None
        raise self._error(
            f"incremental.lookback needs a time or numeric column, {self.column} holds {type(watermark).__name__} values"
        )

    def window_start(self, watermark: Any) -> Any:
        """The lowest value re-read next time: the watermark minus the lookback (ties are always re-read)."""
        lookback = self.lookback(watermark)
        if lookback is None or watermark is None:
            return watermark
        return watermark - lookback

    def _reconcile_due(self, state: dict, now: dt.datetime) -> bool:
        every = self.reconcile_every
        if every is None:
            return False
        last = state.get("reconciled_at")
        return last is None or now - dt.datetime.fromisoformat(last) >= every

    # source SQL

    def _after_sql(self, pk: list[str], after: list | None) -> str | None:
        if after is None:
            return None
        q, lit = self.dialect.quote, self.dialect.literal
        values = [decode_value(v) for v in after]
        if len(pk) == 1:
            return f"{q(pk[0])} > {lit(values[0])}"
        return f"({', '.join(q(k) for k in pk)}) > ({', '.join(lit(v) for v in values)})"

    def _scan(self, con, alias: str, sql: str, table: dict) -> str:
        return self.dialect.scan(con, alias, sql, table["name"])

    @staticmethod
    def _where(*conditions: str | None) -> str:
        conds = [c for c in conditions if c]
        return f" WHERE {' AND '.join(conds)}" if conds else ""

    # detect

    def detect(self, conn, previous: dict) -> Detection:
        states = previous.get("tables") or {}
        now = _now()
        past, window, snapshots, due = 0, [], [], []
        for table in self.adapter.keyed_tables(conn):
            name = table["name"]
            state = states.get(name)
            if state is None:
                return Detection(True, f"table {name} never loaded")
            with self.adapter.step(f"checking {self.adapter.source_name(table)} for new rows"):
                found = self._detect_table(conn, table, state)
            kind, value = found
            if kind == "snapshot":
                snapshots.append(value)
            elif kind == "past":
                past += value
            else:
                past += value[0]
                if value[1]:
                    window.append(name)
            if kind != "snapshot" and self._reconcile_due(state, now):
                due.append(name)
        reasons = []
        if snapshots:
            reasons.append(f"initial snapshot in progress ({'; '.join(snapshots)})")
        if past:
            reasons.append(f"{past} rows past the watermark")
        if window:
            reasons.append(f"rows at or below the watermark changed (inside the lookback) in {', '.join(window)}")
        if due:
            reasons.append(f"reconciliation due (every {self.inc['reconcile']}) for {', '.join(due)}")
        return Detection(bool(reasons), "; ".join(reasons))

    def _detect_table(self, conn, table: dict, state: dict) -> tuple[str, Any]:
        """("snapshot", note), ("past", rows past an empty watermark) or ("window", (rows past the
        watermark, whether the lookback window's row count changed))."""
        q = self.dialect.quote(self.column)
        live = self._live_sql()
        name = table["name"]
        source = self.adapter.source_from(table)
        snapshot = state.get("snapshot")
        if snapshot:
            pk = self.adapter.primary_key(table)
            left = run_query(conn, f"SELECT count(*) FROM {source}{self._where(self._after_sql(pk, snapshot.get('after')), live)}")[0][0]
            return "snapshot", f"{name}: {snapshot.get('copied', 0)} rows copied, {int(left)} left"
        watermark = decode_value(state.get("watermark"))
        if watermark is None:
            return "past", int(run_query(conn, f"SELECT count(*) FROM {source}{self._where(live)}")[0][0] or 0)
        lit_w, lit_s = self.dialect.literal(watermark), self.dialect.literal(decode_value(state.get("window_start")))
        live_case = f" AND {live}" if live else ""
        row = run_query(
            conn,
            f"SELECT coalesce(sum(CASE WHEN {q} <= {lit_w}{live_case} THEN 1 ELSE 0 END), 0), "
            f"coalesce(sum(CASE WHEN {q} > {lit_w} THEN 1 ELSE 0 END), 0) FROM {source} WHERE {q} >= {lit_s}",
        )[0]
        return "window", (int(row[1]), int(row[0]) != state.get("window_count", 0))

    # load

    def load_table(self, con, alias: str, table: dict, previous: dict | None, exists: bool) -> tuple[int, dict, str]:
        """Load `table` into the lake; `exists`: whether the lake has its table now."""
        column, adapter = self.column, self.adapter
        pk = adapter.primary_key(table)
        if not pk:  # keyed_tables gives every table a key or refuses it
            raise self._error(f"table {table['name']} needs a primary_key for incremental loads")
        target = lake_table(adapter.schema, table["name"])
        previous = previous or {}
        watermark = decode_value(previous.get("watermark"))
        reconciled_at = previous.get("reconciled_at")
        notes: list[str] = []
        fresh = False  # the table was copied whole in this run: it holds the source's key set
        from_state = False  # merged into the table as the last load left it (whose row count the state has)
        self._seen: Any = None  # max(column) over soft-deleted rows read in this run (not in the lake)
        self._after: tuple | None = None  # (watermark, window count, rows added - rows removed) of a merge
        snapshot = previous.get("snapshot") if exists else None
        if snapshot:
            snapshot, note = self._copy_chunks(con, alias, table, target, pk, snapshot, create=False)
            notes.append(note)
            fresh = snapshot is None  # restarted as a whole copy (source columns changed)
        elif not previous or watermark is None or not exists:
            snapshot, note = self._initial(con, alias, table, target, pk)
            notes.append(note)
            fresh = snapshot is None
        else:
            from_state = True
        if snapshot is not None and not snapshot.get("done"):
            count = con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
            return count, {"snapshot": snapshot, "reconciled_at": reconciled_at}, "; ".join(notes)
        if snapshot is not None:  # finished in this run: continue from the watermark the snapshot started at
            watermark = decode_value(snapshot["high"])
            reconciled_at = snapshot["started_at"]
        if fresh:
            reconciled_at = _now().isoformat()
        elif watermark is not None:
            notes.append(self._merge(con, alias, table, target, pk, watermark))
        if self._seen is not None:  # soft-deleted rows read count for the watermark: not read again
            watermark = self._seen if watermark is None else _max(watermark, self._seen)
        if not fresh and self._reconcile_due({"reconciled_at": reconciled_at}, _now()):
            started = _now()
            removed = self._reconcile(con, alias, table, target, pk)
            reconciled_at = started.isoformat()
            notes.append(f"{table['name']}: reconciled keys, {removed} rows deleted at the source removed")
            self._after = None  # rows of the window may be gone: counted again below
        if self._after is not None:
            # a merge: the watermark and the window come from the rows it read and the lake's rows in
            # the window (`_merge`), the row count from the last load's and the merge's own counts
            new_mark, window_count, added = self._after
            before = previous.get("rows") if from_state else None
            if isinstance(before, int):
                count = before + added
            else:  # the first merge after a snapshot, or a state from before row counts were kept
                count = con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
        else:
            new_mark, count = con.execute(f"SELECT max({quote_ident(column)}), count(*) FROM {target}").fetchone()
            new_mark = _max(new_mark, watermark)
            window_count = 0
            if new_mark is not None:
                window_count = con.execute(
                    f"SELECT count(*) FROM {target} WHERE {quote_ident(column)} >= ? AND {quote_ident(column)} <= ?",
                    [self.window_start(new_mark), new_mark],
                ).fetchone()[0]
        state = {
            "watermark": encode_value(new_mark), "window_start": encode_value(self.window_start(new_mark)),
            "window_count": window_count, "reconciled_at": reconciled_at, "rows": count,
        }
        return count, state, "; ".join(n for n in notes if n)

    def _full_copy(self, con, alias: str, table: dict, target: str) -> None:
        live = self._live_sql()
        if live:  # taken before the copy: a row soft-deleted after it has a later column value
            sql = f"SELECT max({self.dialect.quote(self.column)}) AS fbox_m FROM {self.adapter.source_from(table)} WHERE {self._deleted_sql()}"
            self._seen = _max(self._seen, con.execute(f"SELECT fbox_m FROM {self._scan(con, alias, sql, table)}").fetchone()[0])
        source = self.adapter.attached_read(con, alias, table, live or "")
        con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM {source}")

    def _initial(self, con, alias: str, table: dict, target: str, pk: list[str]) -> tuple[dict | None, str]:
        """Start a chunked snapshot (`chunk_rows` set and the source not empty) or copy the table whole."""
        if self.chunk_rows:
            sql = f"SELECT max({self.dialect.quote(self.column)}) AS fbox_high FROM {self.adapter.source_from(table)}"
            high = con.execute(f"SELECT fbox_high FROM {self._scan(con, alias, sql, table)}").fetchone()[0]
            if high is not None:
                snapshot = {"after": None, "high": encode_value(high), "copied": 0, "started_at": _now().isoformat()}
                return self._copy_chunks(con, alias, table, target, pk, snapshot, create=True)
        self._full_copy(con, alias, table, target)
        return None, f"{table['name']}: full copy"

    def _copy_chunks(self, con, alias, table, target, pk, snapshot: dict, create: bool) -> tuple[dict, str]:
        q = self.dialect.quote
        keys = ", ".join(f"fbox_c.{q(k)}" for k in pk)
        snapshot = dict(snapshot)
        copied_now = 0
        for _ in range(self.max_chunks):
            where = self._where(self._after_sql(pk, snapshot.get("after")), self._live_sql())
            sql = (
                f"SELECT fbox_c.*, row_number() OVER (ORDER BY {keys}) AS {RN} FROM "
                f"(SELECT * FROM {self.adapter.source_from(table)}{where} ORDER BY {', '.join(q(k) for k in pk)} "
                f"LIMIT {int(self.chunk_rows)}) fbox_c"
            )
            stage = quote_ident(f"fbox_chunk_{uuid.uuid4().hex[:12]}")
            con.execute(f"CREATE TEMP TABLE {stage} AS SELECT * FROM {self._scan(con, alias, sql, table)}")
            try:
                rows = con.execute(f"SELECT count(*) FROM {stage}").fetchone()[0]
                chunk = f"(SELECT * EXCLUDE ({RN}) FROM {stage})"
                if create:
                    con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM {chunk}")
                    create = False
                elif _columns(con, chunk) != _columns(con, target):
                    con.execute(f"DROP TABLE IF EXISTS {stage}")
                    snapshot, note = self._initial(con, alias, table, target, pk)
                    return snapshot, f"{table['name']}: source columns changed, snapshot restarted; {note}"
                elif rows:
                    con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM {chunk}")
                if rows:
                    last = con.execute(f"SELECT {', '.join(quote_ident(k) for k in pk)} FROM {stage} ORDER BY {RN} DESC LIMIT 1").fetchone()
                    snapshot["after"] = [encode_value(v) for v in last]
                    snapshot["copied"] += rows
                    copied_now += rows
            finally:
                con.execute(f"DROP TABLE IF EXISTS {stage}")
            if rows < self.chunk_rows:
                snapshot["done"] = True
                return snapshot, f"{table['name']}: snapshot finished ({snapshot['copied']} rows, {copied_now} in this run)"
        return snapshot, f"{table['name']}: snapshot in progress ({copied_now} rows copied in this run, {snapshot['copied']} so far)"

    def _merge(self, con, alias: str, table: dict, target: str, pk: list[str], watermark: Any) -> str:
        """Read rows with column >= watermark - lookback and merge them by key (soft-deleted ones removed).

        Reads of the lake table are kept to its rows in the window (column >= watermark - lookback):
        the only ones a re-read row can be the same as, and, with the rows merged in, all that the new
        watermark and the window's row count depend on (every other row is below the window). So
        `self._after` (the new watermark, the window count, rows added - rows removed) comes from
        that filtered read (which DuckLake answers from the files whose column statistics reach the
        window) and the staged rows, not from scans of the whole table."""
        column = self.column
        col = quote_ident(column)
        start = self.window_start(watermark)
        deleted = self._deleted_sql()
        flag = f", CASE WHEN {deleted} THEN 1 ELSE 0 END AS {DELETED}" if deleted else ""
        sql = f"SELECT *{flag} FROM {self.adapter.source_from(table)} WHERE {self.dialect.quote(column)} >= {self.dialect.literal(start)}"
        stage = quote_ident(f"fbox_stage_{uuid.uuid4().hex[:12]}")
        window = quote_ident(f"fbox_window_{uuid.uuid4().hex[:12]}")
        keys = ", ".join(quote_ident(k) for k in pk)
        staged = con.execute(f"CREATE TEMP TABLE {stage} AS SELECT * FROM {self._scan(con, alias, sql, table)}").fetchone()[0]
        try:
            # a key read twice (a query table, a key the source does not enforce): its latest row only.
            # Checked first: the window function costs more than the count when every key is unique
            key = quote_ident(pk[0]) if len(pk) == 1 else f"({keys})"
            distinct, lowest = con.execute(f"SELECT count(DISTINCT {key}), min({col}) FROM {stage}").fetchone()
            if distinct != staged:
                staged = con.execute(
                    f"CREATE OR REPLACE TEMP TABLE {stage} AS SELECT * FROM {stage} "
                    f"QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY {col} DESC) = 1"
                ).fetchone()[0]
            rows = f"(SELECT * EXCLUDE ({DELETED}) FROM {stage})" if deleted else stage
            live = f"(SELECT * EXCLUDE ({DELETED}) FROM {stage} WHERE {DELETED} = 0)" if deleted else stage
            columns = _columns(con, target)
            if _columns(con, rows) != columns:
                self._full_copy(con, alias, table, target)
                return f"{table['name']}: source columns changed, copied in full"
            # the lake's rows in the window, before the merge: from the lowest of the window's start and
            # the lowest value read (the source compared with its own rules: a collation may order text
            # otherwise than DuckDB), so that every row the source sent again is among them (the lowest
            # is taken before the duplicates go: lower or the same)
            low = start
            if lowest is not None:
                try:
                    low = min(start, lowest)
                except TypeError:
                    low = None
            where, params = (f" WHERE {col} >= ?", [low]) if low is not None else ("", [])
            con.execute(f"CREATE TEMP TABLE {window} AS SELECT * FROM {target}{where}", params)
            match = " AND ".join(f"s.{quote_ident(k)} IS NOT DISTINCT FROM t.{quote_ident(k)}" for k in pk)
            note = f"{table['name']}: nothing new"
            added = 0
            if staged:
                # rows the window read again unchanged are neither deleted nor inserted: the table's
                # change feed then holds only real changes, which incremental models downstream apply exactly
                same = " AND ".join(f"s.{quote_ident(c)} IS NOT DISTINCT FROM t.{quote_ident(c)}" for c, _ in columns)
                kept = f" AND s.{DELETED} = 0" if deleted else ""
                unchanged = con.execute(
                    f"DELETE FROM {stage} AS s WHERE EXISTS (SELECT 1 FROM {window} AS t WHERE {same}){kept}"
                ).fetchone()[0]
                staged -= unchanged
                if staged:
                    added -= con.execute(f"DELETE FROM {target} AS t WHERE EXISTS (SELECT 1 FROM {stage} AS s WHERE {match})").fetchone()[0]
                    added += con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM {live}").fetchone()[0]
                note = f"{table['name']}: merged {staged} rows from {column} >= {start}" + (
                    f" ({unchanged} read again unchanged)" if unchanged else ""
                )
                if deleted:
                    gone, mark = con.execute(f"SELECT count(*), max({col}) FROM {stage} WHERE {DELETED} = 1").fetchone()
                    self._seen = _max(self._seen, mark)
                    note += f" ({gone} soft-deleted, removed)" if gone else ""
            # the lake's rows in the window after the merge: those merged in, and those of the window
            # whose key the merge did not replace or remove
            after = (
                f"SELECT {col} FROM {live} UNION ALL "
                f"SELECT t.{col} FROM {window} AS t WHERE NOT EXISTS (SELECT 1 FROM {stage} AS s WHERE {match})"
            )
            high = con.execute(f"SELECT max({col}) FROM ({after})").fetchone()[0]
            new_mark = _max(high, _max(watermark, self._seen))
            count = 0
            if new_mark is not None:
                count = con.execute(
                    f"SELECT count(*) FROM ({after}) WHERE {col} >= ? AND {col} <= ?", [self.window_start(new_mark), new_mark]
                ).fetchone()[0]
            self._after = (new_mark, count, added)
            return note
        finally:
            con.execute(f"DROP TABLE IF EXISTS {stage}")
            con.execute(f"DROP TABLE IF EXISTS {window}")

    def _reconcile(self, con, alias: str, table: dict, target: str, pk: list[str]) -> int:
        """Delete lake rows whose key no longer exists (live) at the source: keys only, through the scanner."""
        q = self.dialect.quote
        sql = f"SELECT {', '.join(q(k) for k in pk)} FROM {self.adapter.source_from(table)}{self._where(self._live_sql())}"
        keys = quote_ident(f"fbox_keys_{uuid.uuid4().hex[:12]}")
        con.execute(f"CREATE TEMP TABLE {keys} AS SELECT * FROM {self._scan(con, alias, sql, table)}")
        try:
            match = " AND ".join(f"s.{quote_ident(k)} IS NOT DISTINCT FROM t.{quote_ident(k)}" for k in pk)
            return con.execute(f"DELETE FROM {target} AS t WHERE NOT EXISTS (SELECT 1 FROM {keys} AS s WHERE {match})").fetchone()[0]
        finally:
            con.execute(f"DROP TABLE IF EXISTS {keys}")


def _max(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return b if a is None else a
    try:
        return max(a, b)
    except TypeError:
        return a


def _columns(con, relation: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]
