"""Build one model inside the node's DuckLake transaction: `table` and `view` here, and the
incremental kinds `append`, `merge` and `delete+insert` through
`featherbox.execute.incremental_build`, falling back to a full build when the change cannot be known
exactly. The model's SQL is always the full definition of its result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from featherbox.config.project import MERGE, TABLE, VIEW, ModelSpec
from featherbox.errors import FeatherBoxError
from featherbox.sql import LAKE, quote_ident, quote_table, sql_string
from featherbox.state.objects import LakeObjects
from featherbox.state.versions import NodeVersion
from featherbox.execute.incremental_build import ChangeFeeds, FullRebuild, IncrementalBuild, key_columns
from featherbox.execute.sql_rewrite import qualified_sql, result_columns

Guard = Callable[[str, int, "NodeVersion | None", bool], None]


@dataclass
class Built:
    rows: int
    message: str
    state: dict = field(default_factory=dict)


def build_model(
    cursor, spec: ModelSpec, resolved: dict[str, str], previous: NodeVersion | None, full_refresh: bool, guard: Guard,
    objects: LakeObjects, feeds: ChangeFeeds | None = None,
) -> Built:
    """Build `spec`; `objects` is what the lake held when the transaction began; `feeds`: the
    upstream changes already read in this transaction (shared by the models of a wave)."""
    schema = spec.schema
    cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")
    search = [t.rpartition(".")[0] for name, t in sorted(resolved.items()) if "." not in name]
    search = list(dict.fromkeys([s for s in search if s != schema] + [schema, "main"]))
    cursor.execute(f"SET search_path = {sql_string(','.join(f'{LAKE}.{s}' for s in search))}")
    kind = spec.materialized
    target = quote_table(spec.qualified)
    if kind == VIEW:
        if objects.is_table(spec.qualified):
            cursor.execute(f"DROP TABLE {target}")
        cursor.execute(f"CREATE OR REPLACE VIEW {target} AS {qualified_sql(spec.sql, resolved)}")
        return Built(0, VIEW)
    if kind == TABLE:
        return Built(_full(cursor, spec, previous, guard, objects), TABLE)

    snapshot = cursor.execute(f"SELECT id FROM {LAKE}.current_snapshot()").fetchone()[0]
    state = {"materialized": kind, "snapshots": {table: snapshot for table in sorted(set(resolved.values()))}}
    if full_refresh:
        rows = _full(cursor, spec, previous, guard, objects)
        _check_keys(cursor, spec)
        return Built(rows, f"{kind}: full build at snapshot {snapshot}", state)
    incremental = IncrementalBuild(cursor, spec, resolved, previous, snapshot, objects, feeds)
    try:
        rows, message = incremental.run()
    except FullRebuild as why:
        rows = _full(cursor, spec, previous, guard, objects)
        _check_keys(cursor, spec)
        message = f"{kind}: full rebuild: {why}"
    finally:
        incremental.cleanup()
    return Built(rows, message, state)


def _full(cursor, spec: ModelSpec, previous: NodeVersion | None, guard: Guard, objects: LakeObjects) -> int:
    target = quote_table(spec.qualified)
    if objects.kind(spec.qualified) == "view":
        cursor.execute(f"DROP VIEW {target}")
    rows = cursor.execute(f"CREATE OR REPLACE TABLE {target} AS {spec.sql}").fetchone()[0]  # the rows written
    guard(spec.qualified, rows, previous, bool(spec.raw.get("allow_empty")))
    return rows


def _check_keys(cursor, spec: ModelSpec) -> None:
    columns = result_columns(cursor, f"SELECT * FROM {quote_table(spec.qualified)}")
    missing = [c for c in key_columns(spec) if c not in columns]
    if missing:
        what = "unique_key" if spec.materialized == MERGE else "time_column"
        raise FeatherBoxError(
            f"{spec.qualified} ({spec.file}): {what} {', '.join(missing)} is not a column of the result "
            f"(columns: {', '.join(columns)})"
        )
