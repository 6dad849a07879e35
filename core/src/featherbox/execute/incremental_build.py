"""The incremental model builds: `append`, `merge` and `delete+insert`.

The model's SQL is always the *full* definition of its result; an incremental build never runs
different SQL, it narrows what is written, so it must equal a full rebuild:

- Every build records, in `NodeVersion.state["snapshots"]`, the DuckLake snapshot its transaction
  read (`current_snapshot()` inside the transaction is the pinned snapshot, not the newest one) for
  each table the model reads.
- The next incremental build reads each upstream table's change since then,
  `ducklake_table_changes(lake, schema, table, last + 1, current)` (insert, delete,
  update_preimage, update_postimage rows), into a temp table.
  An upstream table re-created since (a full reload: `CREATE OR REPLACE`, which DuckLake's change
  feed does not connect to the old table) yields the multiset difference of its old contents (time
  travel, `AT (VERSION => last)`) and its new ones, as deletes and inserts.
- `append`: only inserts in exactly one upstream table, read once by the SQL: the SQL runs with that
  table replaced by its inserted rows and the result is appended. Anything else rebuilds fully.
- `merge` (`unique_key`) and `delete+insert` (`time_column`, `time_grain`): the keys (time buckets)
  of every changed row, before and after images alike, are "touched"; the target's rows of touched
  keys are deleted and the full SQL's rows of touched keys are inserted.

A build falls back to a full rebuild (and says why in its message) whenever the change cannot be
known exactly: no recorded snapshot, an upstream view, an upstream table re-created or altered, an
expired snapshot, change counts that do not add up, a result whose columns changed.
"""

from __future__ import annotations

import uuid
from typing import Callable

from featherbox.config.project import APPEND, DELETE_INSERT, MERGE, ModelSpec
from featherbox.execute.sql_rewrite import replace_table, result_columns, unquote
from featherbox.sql import LAKE, quote_ident, quote_table, sql_string
from featherbox.state.objects import LakeObjects
from featherbox.state.versions import NodeVersion

GRAINS = ("hour", "day")
META = ("snapshot_id", "rowid", "change_type")


class FullRebuild(Exception):
    """An incremental build cannot be exact: rebuild the whole table (the message says why)."""


class ChangeFeeds:
    """The upstream changes read in one transaction, shared by the incremental builds in it (a wave):
    models that read the same table since the same snapshot read its change feed once.

    A feed is a temp table of the transaction's cursor, read only by the builds; `forget(table)`
    drops what is known of a table written since (a model built earlier in the same wave)."""

    def __init__(self, cursor):
        self.cursor = cursor
        self.known: dict[tuple[str, int, int], tuple[str, dict[str, int]] | None] = {}
        self.temps: list[str] = []

    def forget(self, table: str) -> None:
        for key in [k for k in self.known if k[0] == table]:
            del self.known[key]

    def cleanup(self) -> None:
        drop_temps(self.cursor, [("TABLE", name) for name in self.temps])
        self.temps.clear()


def drop_temps(cursor, temps: list[tuple[str, str]]) -> None:
    """Drop the temp objects `temps` ((kind, name), newest last) of `cursor`, newest first."""
    for kind, name in reversed(temps):
        try:
            cursor.execute(f"DROP {kind} IF EXISTS temp.main.{quote_ident(name)}")
        except Exception:  # the transaction failed: the temp objects go with the cursor
            return


def key_columns(spec: ModelSpec) -> list[str]:
    """The result's columns that partition it: `unique_key` (merge) or `[time_column]` (delete+insert)."""
    kind = spec.materialized
    if kind == MERGE:
        key = spec.raw.get("unique_key")
        return [key] if isinstance(key, str) else list(key or [])
    if kind == DELETE_INSERT:
        return [spec.raw["time_column"]]
    return []


def source_columns(spec: ModelSpec) -> list[str]:
    """The columns of a changed upstream row that give its key (or time)."""
    if spec.materialized == DELETE_INSERT:
        return [spec.raw.get("upstream_time_column") or spec.raw["time_column"]]
    return key_columns(spec)


class IncrementalBuild:
    """One `append`, `merge` or `delete+insert` build from the upstream changes since its last build."""


    def __init__(
        self, cursor, spec: ModelSpec, resolved: dict[str, str], previous: NodeVersion | None, snapshot: int,
        objects: LakeObjects, feeds: ChangeFeeds | None = None,
    ):
        self.cursor, self.spec, self.resolved, self.previous, self.snapshot = cursor, spec, resolved, previous, snapshot
        self.objects = objects
        self.feeds = feeds if feeds is not None else ChangeFeeds(cursor)
        self.own_feeds = feeds is None
        self.kind = spec.materialized
        self.target = quote_table(spec.qualified)
        self.temps: list[tuple[str, str]] = []  # (kind, name)

    def _temp(self, kind: str, prefix: str) -> str:
        name = f"fbox_{prefix}_{uuid.uuid4().hex[:12]}"
        self.temps.append((kind, name))
        return name

    def cleanup(self) -> None:
        if self.own_feeds:
            self.feeds.cleanup()
        drop_temps(self.cursor, self.temps)

    def run(self) -> tuple[int, str]:
        spec = self.spec
        if self.previous is None or not self.objects.is_table(spec.qualified):
            raise FullRebuild(f"{spec.qualified} does not exist as a table")
        recorded = (self.previous.state or {}).get("snapshots") or {}
        if (self.previous.state or {}).get("materialized") != self.kind:
            raise FullRebuild("no snapshot recorded by an earlier incremental build")
        changes: dict[str, tuple[str, dict[str, int]]] = {}
        for table in sorted(set(self.resolved.values())):
            since = recorded.get(table)
            if since is None:
                raise FullRebuild(f"no snapshot recorded for {table}")
            found = self._changes(table, int(since))
            if found:
                changes[table] = found
        span = ", ".join(f"{t} since snapshot {recorded[t]}" for t in changes)
        if not changes:
            message = f"{self.kind}: no upstream rows changed since snapshot {min(recorded.values(), default=self.snapshot)}"
            return self._rows(0, 0), message
        if self.kind == APPEND:
            deleted, inserted = 0, self._append(changes)
            message = f"append: {inserted} rows appended from the inserts of {span}"
        else:
            deleted, inserted, touched = self._replace(changes)
            unit = "keys" if self.kind == MERGE else "time ranges"
            message = f"{self.kind}: {touched} {unit} recomputed ({deleted} rows deleted, {inserted} inserted) from the changes of {span}"
        return self._rows(deleted, inserted), message

    def _rows(self, deleted: int, inserted: int) -> int:
        """The target's rows now: the recorded count moved by what this build wrote (the statements
        report their counts), counted only when no count was recorded."""
        before = self.previous.row_counts.get(self.spec.qualified) if self.previous else None
        if before is None:
            return self.cursor.execute(f"SELECT count(*) FROM {self.target}").fetchone()[0]
        return before - deleted + inserted

    # --- reading one upstream table's change --------------------------------------------------
    def _changes(self, table: str, since: int) -> tuple[str, dict[str, int]] | None:
        """(temp table, count per change type) of `table`'s change since snapshot `since`; None
        when it did not change. Read once per transaction (`ChangeFeeds`)."""
        key = (table, since, self.snapshot)
        if key not in self.feeds.known:
            self.feeds.known[key] = self._read_changes(table, since)
        return self.feeds.known[key]

    def _read_changes(self, table: str, since: int) -> tuple[str, dict[str, int]] | None:
        cursor = self.cursor
        schema, _, name = table.partition(".")  # a schema holds no dot, a source table's name may
        if not self.objects.is_table(table):
            raise FullRebuild(f"upstream {table} is a view: its changes are not tracked")
        if since == self.snapshot:
            return None
        if since > self.snapshot:
            raise FullRebuild(f"the recorded snapshot {since} of {table} is newer than the lake's {self.snapshot}")
        snapshots = cursor.execute(
            f"SELECT snapshot_id, changes FROM {LAKE}.snapshots() WHERE snapshot_id >= {int(since)} AND snapshot_id <= {int(self.snapshot)}"
        ).fetchall()
        if not any(s == since for s, _ in snapshots):
            raise FullRebuild(f"snapshot {since} (last read of {table}) has expired")
        later = [changed or {} for snapshot_id, changed in snapshots if snapshot_id > since]
        recreated = any(table in {unquote(t) for t in changed.get("tables_created", [])} for changed in later)
        table_id = self.objects.table_id(table)
        if not recreated and table_id is not None:
            # each snapshot lists the ids of the tables it wrote: one that names none of this table's
            # did not change it, and reading an empty change feed still costs a scan of its files
            mentions = {key for changed in later for key, values in changed.items() if str(table_id) in values}
            if not mentions:
                return None
            inserts_only = mentions <= {"tables_inserted_into", "inlined_insert"}
        else:
            inserts_only = False
        at = f"{quote_table(table)} AT (VERSION => {since})"
        before_columns = result_columns(cursor, f"SELECT * FROM {at}", types=True)
        if before_columns != result_columns(cursor, f"SELECT * FROM {quote_table(table)}", types=True):
            raise FullRebuild(f"the columns of upstream {table} changed")
        temp = f"fbox_changes_{uuid.uuid4().hex[:12]}"
        self.feeds.temps.append(temp)
        if recreated:
            # CREATE OR REPLACE (a full reload) is a new table to DuckLake: its change feed starts
            # empty. The change is then the multiset difference of the old and the new contents.
            old, new = f"SELECT * FROM {at}", f"SELECT * FROM {quote_table(table)}"
            cursor.execute(
                f"CREATE TEMP TABLE {quote_ident(temp)} AS "
                f"SELECT NULL::BIGINT AS snapshot_id, NULL::BIGINT AS rowid, 'delete' AS change_type, * FROM ({old} EXCEPT ALL {new}) "
                f"UNION ALL BY NAME "
                f"SELECT NULL::BIGINT AS snapshot_id, NULL::BIGINT AS rowid, 'insert' AS change_type, * FROM ({new} EXCEPT ALL {old})"
            )
        elif inserts_only:  # DuckLake reads only the new rows, not the deletes of every file
            cursor.execute(
                f"CREATE TEMP TABLE {quote_ident(temp)} AS SELECT NULL::BIGINT AS snapshot_id, NULL::BIGINT AS rowid, "
                f"'insert' AS change_type, * FROM ducklake_table_insertions("
                f"{sql_string(LAKE)}, {sql_string(schema)}, {sql_string(name)}, {since + 1}, {self.snapshot})"
            )
        else:
            cursor.execute(
                f"CREATE TEMP TABLE {quote_ident(temp)} AS SELECT * FROM ducklake_table_changes("
                f"{sql_string(LAKE)}, {sql_string(schema)}, {sql_string(name)}, {since + 1}, {self.snapshot})"
            )
        counts = dict(
            cursor.execute(f"SELECT change_type, count(*) FROM temp.main.{quote_ident(temp)} GROUP BY ALL").fetchall()
        )
        if not counts:
            return None
        before = cursor.execute(f"SELECT count(*) FROM {at}").fetchone()[0]
        now = cursor.execute(f"SELECT count(*) FROM {quote_table(table)}").fetchone()[0]
        if before + counts.get("insert", 0) - counts.get("delete", 0) != now:
            raise FullRebuild(f"the changes of upstream {table} since snapshot {since} do not add up to its rows")
        return temp, counts

    def _check_result(self, sql: str) -> None:
        if result_columns(self.cursor, sql, types=True) != result_columns(self.cursor, f"SELECT * FROM {self.target}", types=True):
            raise FullRebuild("the result's columns differ from the table's")

    # --- append -------------------------------------------------------------------------------
    def _append(self, changes: dict[str, tuple[str, dict[str, int]]]) -> int:
        for table, (_, counts) in changes.items():
            other = {k: v for k, v in counts.items() if k != "insert"}
            if other:
                listed = ", ".join(f"{v} {k}" for k, v in sorted(other.items()))
                raise FullRebuild(f"upstream {table} has deleted or updated rows ({listed}); append takes inserts only")
        if len(changes) > 1:
            raise FullRebuild(f"more than one upstream changed ({', '.join(changes)}); append takes one")
        (table, (temp, _)), = changes.items()
        view = self._temp("VIEW", "inserts")
        self.cursor.execute(
            f"CREATE TEMP VIEW {quote_ident(view)} AS SELECT * EXCLUDE ({', '.join(META)}) "
            f"FROM temp.main.{quote_ident(temp)} WHERE change_type = 'insert'"
        )
        sql, replaced = replace_table(self.spec.sql, self.resolved, table, ("temp", "main", view))
        if replaced != 1:
            raise FullRebuild(f"the SQL reads {table} {replaced} times; append needs it read exactly once")
        self._check_result(sql)
        return self.cursor.execute(f"INSERT INTO {self.target} BY NAME {sql}").fetchone()[0]  # the rows inserted

    # --- merge and delete+insert --------------------------------------------------------------
    def _bucket(self, column_sql: str) -> str:
        grain = self.spec.raw.get("time_grain") if self.kind == DELETE_INSERT else None
        return f"date_trunc({sql_string(grain)}, {column_sql})" if grain else column_sql

    def _replace(self, changes: dict[str, tuple[str, dict[str, int]]]) -> tuple[int, int, int]:
        cursor, spec = self.cursor, self.spec
        keys, sources = key_columns(spec), source_columns(spec)
        selects = []
        for table, (temp, _) in changes.items():
            present = result_columns(cursor, f"SELECT * FROM temp.main.{quote_ident(temp)}")
            missing = [c for c in sources if c not in present]
            if missing:
                raise FullRebuild(f"upstream {table} changed and has no column {', '.join(missing)} to find the rows to recompute")
            exprs = ", ".join(f"{self._bucket('c.' + quote_ident(s))} AS k{i}" for i, s in enumerate(sources))
            selects.append(f"SELECT {exprs} FROM temp.main.{quote_ident(temp)} AS c")
        touched = self._temp("TABLE", "touched")
        count = cursor.execute(
            f"CREATE TEMP TABLE {quote_ident(touched)} AS SELECT DISTINCT * FROM ({' UNION ALL '.join(selects)})"
        ).fetchone()[0]
        sql = spec.sql.strip().rstrip(";")
        within = None
        if self.kind == DELETE_INSERT:
            sql, within = self._only_touched_ranges(sql, touched, sources)
        self._check_result(f"SELECT * FROM ({sql}) AS m")

        def match(alias: str) -> str:
            return " AND ".join(
                f"k.k{i} IS NOT DISTINCT FROM {self._bucket(f'{alias}.{quote_ident(c)}')}" for i, c in enumerate(keys)
            )

        exists = f"EXISTS (SELECT 1 FROM temp.main.{quote_ident(touched)} AS k WHERE {{}})"
        deletes, keep = [exists.format(match("t"))], exists.format(match("m"))
        if within is not None:
            # the target's (and the result's: same columns) time column, selected by ranges DuckLake
            # can skip files with; the rows of a NULL time are deleted by a statement of their own
            (column,) = keys
            column_type = dict(result_columns(cursor, f"SELECT * FROM {self.target}", types=True)).get(column)
            on_target = within(f"t.{quote_ident(column)}", column_type)
            on_result = within(f"m.{quote_ident(column)}", column_type)
            if on_target is not None and on_result is not None:
                deletes = [p for p in (on_target["ranges"], on_target["null"]) if p]
                keep = " OR ".join(p for p in (on_result["ranges"], on_result["null"]) if p) or "false"
        deleted = sum(cursor.execute(f"DELETE FROM {self.target} AS t WHERE {w}").fetchone()[0] for w in deletes)
        inserted = cursor.execute(
            f"INSERT INTO {self.target} BY NAME SELECT m.* FROM ({sql}) AS m WHERE {keep}"
        ).fetchone()[0]
        return deleted, inserted, count

    def _only_touched_ranges(
        self, sql: str, touched: str, sources: list[str],
    ) -> tuple[str, Callable[[str, str | None], dict | None]]:
        """`sql` reading, from every upstream table that has the time columns, only the rows of the
        touched time ranges: what delete+insert requires (a range's result depends only on the
        upstream rows of that range) lets it skip the rest, instead of computing everything and
        keeping the touched ranges. Also returns `within(column_sql, column_type)`, the predicates
        that select the touched ranges of a column (None: that column's type takes the slow path).

        The touched buckets (`date_trunc(grain, time)`; the exact values without a grain) become
        ranges, consecutive buckets merged: `col >= start AND col < end` with literal bounds, which
        DuckLake checks against each file's min/max and skips the files outside (an EXISTS or a
        join on the bucket, `date_trunc` of every row, reads every file). An upstream table is read
        as a UNION ALL of one scan per range (each skips on its own), plus `col IS NULL` when a
        NULL time was touched (a NULL time is a NULL bucket of its own). The ranges are exact for
        DATE and TIMESTAMP columns and keys; with a time zone (TIMESTAMPTZ, where a bucket follows
        the session's calendar, and DuckDB truncates 01:30 EDT to 01:00 EST) they are widened by a
        day on each side (overlapping ones merged) and the bucket is checked too. Past 16 ranges:
        one range from the first start to the last end, with the bucket checked against the
        touched table. Other key types (no grain, e.g. an integer) keep the EXISTS on the touched table.
        """
        cursor, grain = self.cursor, self.spec.raw.get("time_grain")
        naive = ("DATE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS")
        temporal = (*naive, "TIMESTAMP WITH TIME ZONE")
        keys = f"temp.main.{quote_ident(touched)}"
        in_touched = f"IN (SELECT k0 FROM {keys} WHERE k0 IS NOT NULL)"
        key_type = result_columns(cursor, f"SELECT k0 FROM {keys}", types=True)[0][1]
        has_null, bounds, padded = False, [], []
        if len(sources) == 1 and key_type in temporal:
            def islands(lo: str, hi: str, joined: str) -> str:
                """Ranges [lo, hi) over the touched buckets, a bucket joining the one before when `joined`."""
                return (
                    f"SELECT coalesce(list([CAST(lo AS VARCHAR), CAST(hi AS VARCHAR)] ORDER BY lo), []) FROM ("
                    f"SELECT {lo} AS lo, {hi} AS hi FROM (SELECT k0, sum(start) OVER (ORDER BY k0) AS island FROM ("
                    f"SELECT k0, CASE WHEN {joined} THEN 0 ELSE 1 END AS start FROM {keys} WHERE k0 IS NOT NULL)) "
                    f"GROUP BY island)"
                )

            step, before = f"INTERVAL 1 {grain.upper()}" if grain else None, "lag(k0) OVER (ORDER BY k0)"
            # exact: consecutive buckets form one range; without a grain every value is its own
            exact = islands("min(k0)", f"max(k0) + {step}", f"{before} + {step} = k0") if grain else (
                f"SELECT coalesce(list([CAST(k0 AS VARCHAR), CAST(k0 AS VARCHAR)] ORDER BY k0), []) "
                f"FROM {keys} WHERE k0 IS NOT NULL"
            )
            # widened by a day each side, for buckets in a time zone's calendar; ranges that would
            # overlap are one (the branches of a UNION ALL must not share rows)
            wide = islands("min(k0) - INTERVAL 1 DAY", f"max(k0) + {step} + INTERVAL 1 DAY",
                           f"{before} + {step} + INTERVAL 2 DAY >= k0") if grain else "SELECT []"
            has_null, found, widened = cursor.execute(
                f"SELECT (SELECT count(*) FROM {keys} WHERE k0 IS NULL) > 0, ({exact}), ({wide})"
            ).fetchone()
            bounds, padded = [tuple(f) for f in found], [tuple(f) for f in widened]

        def typed(pairs: list[tuple[str, str]], type_name: str) -> list[tuple[str, str]]:
            return [(f"CAST({sql_string(a)} AS {type_name})", f"CAST({sql_string(b)} AS {type_name})")
                    for a, b in pairs]

        converted: dict[str, list[tuple[str, str]] | None] = {}

        def as_column_type(column_type: str) -> list[tuple[str, str]] | None:
            """The bounds as literals of the column's own type, if that loses nothing: a DATE column
            compared with TIMESTAMP bounds is cast row by row, and DuckLake then skips no file."""
            if column_type not in converted:
                values = ", ".join(
                    f"({i}, CAST({sql_string(v)} AS {key_type}))" for i, v in enumerate(v for b in bounds for v in b)
                )
                lossless, texts = cursor.execute(
                    f"SELECT bool_and(CAST(TRY_CAST(v AS {column_type}) AS {key_type}) IS NOT DISTINCT FROM v), "
                    f"list(CAST(TRY_CAST(v AS {column_type}) AS VARCHAR) ORDER BY i) FROM (VALUES {values}) AS b(i, v)"
                ).fetchone()
                converted[column_type] = typed(list(zip(texts[::2], texts[1::2])), column_type) if lossless else None
            return converted[column_type]

        def within(column: str, column_type: str | None) -> dict | None:
            """{"branches": disjoint predicates, one scan each; "ranges": all of them in one; "null":
            `column IS NULL` if a NULL time was touched} -- or None: use the EXISTS on the touched table."""
            if key_type not in temporal or column_type not in temporal or not (bounds or has_null):
                return None
            exact = not grain or (key_type in naive and column_type in naive)
            if not exact:
                pairs = typed(padded, key_type)
            else:
                pairs = (column_type != key_type and bounds and as_column_type(column_type)) or typed(bounds, key_type)
            upper = "<" if grain else "<="
            check = "" if exact else f" AND {self._bucket(column)} {in_touched}"
            branches = [f"({column} >= {lo} AND {column} {upper} {hi}{check})" for lo, hi in pairs]
            outer = f"{column} >= {pairs[0][0]} AND {column} {upper} {pairs[-1][1]}" if pairs else ""
            if len(branches) > 16:
                branches = [f"({outer} AND {self._bucket(column)} {in_touched})"]
            ranges = None if not branches else branches[0] if len(branches) == 1 else (
                f"({outer} AND ({' OR '.join(branches)}))"
            )
            return {"branches": branches, "ranges": ranges, "null": f"{column} IS NULL" if has_null else None}

        for table in sorted(set(self.resolved.values())):
            described = dict(result_columns(cursor, f"SELECT * FROM {quote_table(table)}", types=True))
            if not set(sources) <= set(described):
                continue  # e.g. a dimension table without time: read whole
            found = within("u." + quote_ident(sources[0]), described[sources[0]]) if len(sources) == 1 else None
            if found is None:
                match = " AND ".join(
                    f"k.k{i} IS NOT DISTINCT FROM {self._bucket('u.' + quote_ident(c))}" for i, c in enumerate(sources)
                )
                parts = [f"EXISTS (SELECT 1 FROM {keys} AS k WHERE {match})"]
            else:
                parts = found["branches"] + ([found["null"]] if found["null"] else [])
            view = self._temp("VIEW", "ranges")
            cursor.execute(
                f"CREATE TEMP VIEW {quote_ident(view)} AS "
                + " UNION ALL ".join(f"SELECT * FROM {quote_table(table)} AS u WHERE {where}" for where in parts)
            )
            sql, _ = replace_table(sql, self.resolved, table, ("temp", "main", view))
        return sql, within
