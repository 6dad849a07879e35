"""`fbox restore`: bring back a node a run dropped, from the DuckLake snapshot before the drop.

A run drops the tables of a node that is no longer in the project (a deleted model or adapter file, a
branch switch) in a transaction of its own, whose DuckLake commit carries the node and the run id in
its `extra_info`, and appends a `dropped` row to `_fbox.node_versions`. Until that commit's
predecessor snapshot expires (`ducklake_expire_snapshots`), the node's tables can be read as they
were (`AT (VERSION => n)`). A restore copies them back, re-creates its views from their recorded SQL,
and appends a copy of the node's last version before the drop, all in one DuckLake transaction: a
node whose file is back in the project is then current, and neither it nor its downstream reloads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

import duckdb

from featherbox.errors import FeatherBoxError
from featherbox.sql import LAKE, quote_ident, quote_table, sql_literal, sql_string
from featherbox.state.objects import LakeObjects
from featherbox.state.versions import NodeVersion, current_versions, node_history, record_version, recorded_nodes


class RestoreError(FeatherBoxError):
    pass


@dataclass
class Dropped:
    """A node whose newest version is a drop, and what a restore needs."""

    node: str
    last: NodeVersion  # its last version before the drop: what comes back
    dropped: NodeVersion  # the drop (run_id, and built_at: when)
    drop_snapshot: int | None  # the DuckLake snapshot the drop committed as; None when it expired
    snapshot: int | None  # the snapshot to read the tables from (just before the drop); None when expired

    @property
    def restorable(self) -> bool:
        return self.snapshot is not None


@dataclass
class Restored:
    node: str
    kind: str
    snapshot: int
    dropped_in: str  # the run that dropped it
    built_in: str  # the run that built what came back
    objects: dict[str, str] = field(default_factory=dict)  # table -> "table" | "view"
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows now (tables only)


def dropped_nodes(con: duckdb.DuckDBPyConnection, objects: LakeObjects, database) -> list[Dropped]:
    """Every node whose newest version is a drop, by name."""
    snapshots = _snapshots(con)
    out = []
    for node, dropped in sorted(recorded_nodes(con, objects).items()):
        if dropped:
            found = _dropped(con, objects, node, snapshots)
            if found is not None:
                out.append(found)
    return out


def find_dropped(con: duckdb.DuckDBPyConnection, objects: LakeObjects, name: str) -> Dropped:
    """The dropped node called `name` (exactly, or case-insensitively when only one matches); a
    RestoreError says why there is nothing to restore."""
    recorded = recorded_nodes(con, objects)
    node = name if name in recorded else None
    if node is None:
        matches = [n for n in recorded if n.lower() == name.lower()]
        node = matches[0] if len(matches) == 1 else None
    if node is None:
        restorable = sorted(n for n, dropped in recorded.items() if dropped)
        hint = f"dropped nodes: {', '.join(restorable)}" if restorable else "no node has been dropped"
        raise RestoreError(f"no node {name!r} was ever built in this lake, so there is nothing to restore ({hint})")
    if not recorded[node]:
        current = current_versions(con, objects).get(node)
        when = f" (built in run {current.run_id}, {_when(current.built_at)})" if current else ""
        raise RestoreError(f"{node} exists{when} and was not dropped since; `fbox restore` brings back only dropped nodes")
    found = _dropped(con, objects, node, _snapshots(con))
    if found is None:
        raise RestoreError(f"{node} was dropped, and no version of it from before the drop is recorded: nothing to restore")
    return found


def restore(
    con: duckdb.DuckDBPyConnection, objects: LakeObjects, database, found: Dropped, run_id: str,
    before_write: Callable[[], None] = lambda: None,
) -> Restored:
    """Copy `found`'s tables (and views) back from the snapshot before its drop and re-record its last
    version, in one DuckLake transaction. Refuses when the snapshot expired or a name is taken now;
    `before_write` is called once everything is checked, before the transaction starts."""
    node, last = found.node, found.last
    if not found.restorable:
        raise RestoreError(
            f"cannot restore {node}: the lake no longer has its snapshots from before run {found.dropped.run_id} "
            f"dropped it ({_when(found.dropped.built_at)}); they expired (ducklake_expire_snapshots), and the data "
            f"went with them. If {node} is in the project, `fbox run` builds it again from its sources"
        )
    taken = [t for t in last.tables if objects.exists(t)]
    if taken:
        owners = {t: v.node for v in current_versions(con, objects).values() for t in v.tables}
        said = ", ".join(f"{t} (written by {owners[t]})" if t in owners else t for t in taken)
        raise RestoreError(f"cannot restore {node}: {said} exists now; drop or rename it first")
    kinds = _kinds_at(con, database, last.tables, found.snapshot)
    missing = [t for t in last.tables if t not in kinds]
    if missing:
        raise RestoreError(
            f"cannot restore {node}: snapshot {found.snapshot} of the lake has no {', '.join(missing)}"
        )
    done = Restored(node, last.kind, found.snapshot, found.dropped.run_id, last.run_id)
    before_write()
    cursor = con.cursor()
    try:
        cursor.execute("BEGIN TRANSACTION")
        cursor.execute(f"USE {LAKE}")
        extra = json.dumps({"run_id": run_id, "node": node, "action": "restore", "snapshot": found.snapshot})
        message = f"restore {node} from snapshot {found.snapshot} (run {run_id})"
        cursor.execute(
            f"CALL {LAKE}.set_commit_message('featherbox', {sql_string(message)}, extra_info => {sql_string(extra)})"
        )
        for table in sorted(last.tables, key=lambda t: kinds[t][0] == "view"):  # views last: they may read the tables
            kind, view_sql, aliases = kinds[table]
            schema = table.partition(".")[0] if "." in table else "main"
            cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")
            if kind == "view":
                columns = f" ({aliases})" if aliases else ""
                cursor.execute(f"CREATE VIEW {quote_table(table)}{columns} AS {view_sql}")
            else:
                cursor.execute(
                    f"CREATE TABLE {quote_table(table)} AS SELECT * FROM {quote_table(table)} AT (VERSION => {found.snapshot})"
                )
                done.rows[table] = cursor.execute(f"SELECT count(*) FROM {quote_table(table)}").fetchone()[0]
            done.objects[table] = kind
        record_version(cursor, last)  # the same version, newest again: built_at, data version and state as they were
        cursor.execute("COMMIT")
    except Exception:
        try:
            cursor.execute("ROLLBACK")
        except Exception:
            pass
        raise
    finally:
        cursor.close()
    for table, kind in done.objects.items():
        objects.record(table, kind)
    return done


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "at an unknown time"


def _snapshots(con: duckdb.DuckDBPyConnection) -> dict[int, dict]:
    """The lake's snapshots that remain: id -> their `extra_info` (parsed; {} when none)."""
    out = {}
    for snapshot_id, extra in con.execute(
        f"SELECT snapshot_id, commit_extra_info FROM ducklake_snapshots({sql_string(LAKE)})"
    ).fetchall():
        try:
            info = json.loads(extra) if extra else {}
        except ValueError:
            info = {}
        out[int(snapshot_id)] = info if isinstance(info, dict) else {}
    return out


def _dropped(con, objects, node: str, snapshots: dict[int, dict]) -> Dropped | None:
    history = node_history(con, objects, node)
    if not history or not history[-1].dropped:
        return None
    drop = history[-1]
    last = next((v for v in reversed(history) if not v.dropped), None)
    if last is None:
        return None
    # the drop's own commit: a destroy is a transaction of its own, its extra_info names node and run
    commits = [
        sid for sid, info in snapshots.items()
        if info.get("node") == node and info.get("action") == "destroy" and info.get("run_id") == drop.run_id
    ]
    drop_snapshot = max(commits) if commits else None
    before = drop_snapshot - 1 if drop_snapshot is not None and drop_snapshot - 1 in snapshots else None
    return Dropped(node, last, drop, drop_snapshot, before)


def _kinds_at(con, database, tables: list[str], snapshot: int) -> dict[str, tuple[str, str | None, str | None]]:
    """What each of `tables` was at `snapshot`: ("table", None, None) or ("view", its SQL, its column aliases)."""
    meta = quote_ident(f"__ducklake_metadata_{LAKE}")
    schema = database.ducklake_options().get("METADATA_SCHEMA")  # a SQL string literal, when set
    if schema:
        meta += "." + quote_ident(schema.strip("'").replace("''", "'"))
    at = sql_literal(snapshot)

    def live(alias: str) -> str:
        return f"{alias}.begin_snapshot <= {at} AND ({alias}.end_snapshot IS NULL OR {alias}.end_snapshot > {at})"

    rows = con.execute(
        f"""SELECT s.schema_name, o.name, o.kind, o.sql, o.aliases FROM (
                SELECT schema_id, table_name AS name, 'table' AS kind, NULL AS sql, NULL AS aliases
                FROM {meta}.ducklake_table t WHERE {live('t')}
                UNION ALL
                SELECT schema_id, view_name, 'view', sql, column_aliases FROM {meta}.ducklake_view v WHERE {live('v')}
            ) AS o JOIN {meta}.ducklake_schema AS s ON s.schema_id = o.schema_id AND {live('s')}"""
    ).fetchall()
    found = {f"{schema}.{name}".lower(): (kind, sql, aliases) for schema, name, kind, sql, aliases in rows}
    out = {}
    for table in tables:
        schema, dot, name = table.partition(".")
        key = f"{schema}.{name}".lower() if dot else f"main.{table}".lower()
        if key in found:
            out[table] = found[key]
    return out
