"""What each node was built from, kept in the lake itself so it commits in the node's transaction.

`_fbox.node_versions` is append-only (concurrent appends never conflict in DuckLake); the newest row
of a node is its current version, and a `dropped` row records that the node was destroyed.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

import duckdb

from featherbox import clock
from featherbox.sql import STATE_SCHEMA, sql_string, values_sql
from featherbox.state.objects import LakeObjects

VERSIONS = f"{STATE_SCHEMA}.node_versions"
LEDGER = f"{STATE_SCHEMA}.file_ledger"

DDL = [
    f"CREATE SCHEMA IF NOT EXISTS {STATE_SCHEMA}",
    f"""CREATE TABLE IF NOT EXISTS {VERSIONS} (
        node VARCHAR, kind VARCHAR, fingerprint VARCHAR, data_version VARCHAR,
        inputs VARCHAR, state VARCHAR, tables VARCHAR, row_counts VARCHAR,
        run_id VARCHAR, built_at TIMESTAMP, seq BIGINT, dropped BOOLEAN)""",
    f"""CREATE TABLE IF NOT EXISTS {LEDGER} (
        adapter VARCHAR, path VARCHAR, size BIGINT, mtime DOUBLE, etag VARCHAR,
        file_time TIMESTAMP, run_id VARCHAR, seq BIGINT, removed BOOLEAN)""",
]


@dataclass
class NodeVersion:
    node: str
    kind: str
    fingerprint: str
    data_version: str
    inputs: dict[str, str] = field(default_factory=dict)
    state: dict = field(default_factory=dict)
    tables: list[str] = field(default_factory=list)
    row_counts: dict[str, int] = field(default_factory=dict)
    run_id: str = ""
    built_at: datetime | None = None
    dropped: bool = False

    @property
    def total_rows(self) -> int:
        return sum(self.row_counts.values())


def state_tables_exist(objects: LakeObjects) -> bool:
    return objects.is_table(VERSIONS) and objects.is_table(LEDGER)


def ensure_state_tables(con: duckdb.DuckDBPyConnection, objects: LakeObjects) -> None:
    if state_tables_exist(objects):
        return
    con.execute("BEGIN")
    for statement in DDL:
        con.execute(statement)
    con.execute("COMMIT")
    objects.record(VERSIONS, "table")
    objects.record(LEDGER, "table")


def current_versions(con: duckdb.DuckDBPyConnection, objects: LakeObjects) -> dict[str, NodeVersion]:
    """The newest version of each node that is not dropped; `objects` is what the lake holds."""
    if not state_tables_exist(objects):
        return {}
    rows = con.execute(
        f"SELECT {_COLUMNS} FROM {VERSIONS} QUALIFY row_number() OVER (PARTITION BY node ORDER BY seq DESC) = 1"
    ).fetchall()
    versions = (_version(row) for row in rows)
    return {version.node: version for version in versions if not version.dropped}


_COLUMNS = "node, kind, fingerprint, data_version, inputs, state, tables, row_counts, run_id, built_at, dropped"


def _version(row) -> NodeVersion:
    """A `_COLUMNS` row of node_versions as a NodeVersion."""
    node, kind, fp, dv, inputs, state, tables, counts, run_id, built_at, dropped = row
    return NodeVersion(
        node, kind, fp, dv, json.loads(inputs or "{}"), json.loads(state or "{}"), json.loads(tables or "[]"),
        json.loads(counts or "{}"), run_id, built_at.replace(tzinfo=timezone.utc) if built_at else None, bool(dropped),
    )


def record_version(con: duckdb.DuckDBPyConnection, version: NodeVersion) -> None:
    record_versions(con, [version])


def record_versions(con: duckdb.DuckDBPyConnection, versions: list[NodeVersion]) -> None:
    """Append `versions` in one statement (a wave's nodes: one insert, not one per node)."""
    rows = []
    for version in versions:
        built_at = version.built_at or clock.now()
        rows.append([
            version.node, version.kind, version.fingerprint, version.data_version,
            json.dumps(version.inputs, sort_keys=True), json.dumps(version.state, sort_keys=True, default=str),
            json.dumps(version.tables), json.dumps(version.row_counts, sort_keys=True), version.run_id,
            built_at.astimezone(timezone.utc).replace(tzinfo=None), time.time_ns(), version.dropped,
        ])
    if rows:
        con.execute(f"INSERT INTO {VERSIONS} {values_sql(rows)}")


def node_history(con: duckdb.DuckDBPyConnection, objects: LakeObjects, node: str) -> list[NodeVersion]:
    """Every recorded version of `node`, oldest first, dropped ones included (`fbox restore`)."""
    if not state_tables_exist(objects):
        return []
    rows = con.execute(f"SELECT {_COLUMNS} FROM {VERSIONS} WHERE node = {sql_string(node)} ORDER BY seq").fetchall()
    return [_version(row) for row in rows]


def recorded_nodes(con: duckdb.DuckDBPyConnection, objects: LakeObjects) -> dict[str, bool]:
    """Every node the lake has a version of -> whether its newest version is a drop."""
    if not state_tables_exist(objects):
        return {}
    rows = con.execute(
        f"SELECT node, dropped FROM {VERSIONS} QUALIFY row_number() OVER (PARTITION BY node ORDER BY seq DESC) = 1"
    ).fetchall()
    return {node: bool(dropped) for node, dropped in rows}
