"""Moving adapter tables from layout 1 (`main.<adapter>`, `<adapter>.<table>`) to layout 2 (`raw.<adapter>`,
`raw_<adapter>.<table>`, featherbox.layout), in one DuckLake transaction.

The data is copied, not reloaded: a source may no longer hold what the lake does (expired files, a
pruned table). Each moved adapter gets a new version with the new table names and the same
fingerprint and data version, so nothing downstream is rebuilt for the move itself; an incremental
model reading a moved table has no snapshot recorded for the new name and rebuilds once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import duckdb

from featherbox.sql import quote_ident, quote_table

from featherbox.state.objects import LakeObjects
from featherbox.layout import legacy_table
from featherbox.state.versions import NodeVersion, record_versions


@dataclass(frozen=True)
class Move:
    adapter: str
    old: str
    new: str


def pending_moves(adapter_tables: dict[str, list[str]], versions: dict[str, NodeVersion]) -> list[Move]:
    """The tables each adapter of the project recorded under its layout-1 name, where it now writes
    the layout-2 one. `adapter_tables`: adapter -> the tables it writes now."""
    moves = []
    for adapter, tables in sorted(adapter_tables.items()):
        version = versions.get(adapter)
        if version is None:
            continue
        now = {t.lower() for t in tables}
        legacy = {old.lower(): new for new in tables if (old := legacy_table(adapter, new))}
        for recorded in version.tables:
            new = legacy.get(recorded.lower())
            if new is not None and recorded.lower() not in now:
                moves.append(Move(adapter, recorded, new))
    return moves


def apply_moves(con: duckdb.DuckDBPyConnection, objects: LakeObjects, versions: dict[str, NodeVersion],
                moves: list[Move], run_id: str) -> dict[str, NodeVersion]:
    """Copy each moved table to its new name, drop the old one and record the adapters' new
    versions, all in one transaction; the moved adapters' new versions."""
    if not moves:
        return {}
    renamed: dict[str, dict[str, str]] = {}
    for move in moves:
        renamed.setdefault(move.adapter, {})[move.old.lower()] = move.new
    emptied = {m.old.partition(".")[0] for m in moves} - {"main"}
    con.execute("BEGIN")
    try:
        for schema in sorted({m.new.partition(".")[0] for m in moves}):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")
        for move in moves:
            if objects.is_table(move.old):
                con.execute(f"CREATE TABLE {quote_table(move.new)} AS FROM {quote_table(move.old)}")
                con.execute(f"DROP TABLE {quote_table(move.old)}")
        for schema in sorted(emptied):
            if not any(name.partition(".")[0] == schema.lower() for name in objects.names() - _old_names(moves)):
                con.execute(f"DROP SCHEMA IF EXISTS {quote_ident(schema)}")
        moved = {}
        for adapter, names in renamed.items():
            version = versions[adapter]
            moved[adapter] = replace(
                version,
                tables=[names.get(t.lower(), t) for t in version.tables],
                row_counts={names.get(t.lower(), t): n for t, n in version.row_counts.items()},
                run_id=run_id,
            )
        record_versions(con, list(moved.values()))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    for move in moves:
        if objects.is_table(move.old):
            objects.record(move.old, None)
            objects.record(move.new, "table")
    return moved


def _old_names(moves: list[Move]) -> set[str]:
    return {m.old.lower() for m in moves}
