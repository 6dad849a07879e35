"""What a model's SQL reads, found with DuckDB's own parser (`json_serialize_sql`)."""

from __future__ import annotations

import hashlib
import json
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

TableRef = tuple[str | None, str]  # (schema or None, table), lowercase

_connection: duckdb.DuckDBPyConnection | None = None
_connection_lock = threading.Lock()


def table_references(sql: str) -> set[TableRef]:
    """Every base table the SELECT reads, as (schema or None, table); CTE names are not tables.

    Raises ValueError if the SQL does not parse or is not a single SELECT statement.
    """
    references: set[TableRef] = set()
    _collect(_parse(sql), frozenset(), references)
    return references


def normalized_fingerprint(sql: str) -> str:
    """sha256 of the parsed query: blind to whitespace and comments, changed by any real edit."""
    tree = _strip_locations(_parse(sql))
    canonical = json.dumps(tree, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _serialize(sql: str) -> dict[str, Any]:
    global _connection
    with _connection_lock:
        if _connection is None:
            import duckdb

            _connection = duckdb.connect(":memory:")
        row = _connection.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()
    assert row is not None
    result: dict[str, Any] = json.loads(row[0])
    return result


def _parse(sql: str) -> dict[str, Any]:
    """The single SELECT statement's query node."""
    result = _serialize(sql)
    if result.get("error"):
        message = result.get("error_message") or "unknown parser error"
        if result.get("error_type") == "not implemented":
            # json_serialize_sql refuses every statement that is not a SELECT
            raise ValueError(
                f"the SQL must be a single SELECT statement (WITH ... SELECT is fine): {message}"
            )
        line = _line_of(sql, result.get("position"))
        where = f" (line {line})" if line is not None else ""
        raise ValueError(f"SQL does not parse{where}: {message}")
    statements = result.get("statements") or []
    if not statements:
        raise ValueError("the SQL is empty: expected a single SELECT statement")
    if len(statements) > 1:
        raise ValueError(
            f"the SQL has {len(statements)} statements: expected a single SELECT statement"
        )
    node: dict[str, Any] = statements[0]["node"]
    return node


def _line_of(sql: str, position: Any) -> int | None:
    try:
        offset = int(position)
    except (TypeError, ValueError):
        return None
    # DuckDB reports a byte offset into the UTF-8 text
    return sql.encode("utf-8")[:offset].count(b"\n") + 1


def _collect(tree: Any, ctes: frozenset[str], out: set[TableRef]) -> None:
    """Walk the whole serialized tree; `ctes` are the CTE names visible at this point."""
    if isinstance(tree, list):
        for item in tree:
            _collect(item, ctes, out)
        return
    if not isinstance(tree, dict):
        return

    if tree.get("type") == "BASE_TABLE" and "table_name" in tree:
        schema = (tree.get("schema_name") or "").lower() or None
        table = tree["table_name"].lower()
        if schema is not None or table not in ctes:
            out.add((schema, table))
        # at_clause (time travel) may hold expressions with subqueries
        _collect(tree.get("at_clause"), ctes, out)
        return

    if tree.get("type") == "RECURSIVE_CTE_NODE" and tree.get("cte_name"):
        ctes = ctes | {tree["cte_name"].lower()}

    cte_map = tree.get("cte_map")
    if isinstance(cte_map, dict):
        # A CTE sees only the CTEs defined before it (and itself only if recursive,
        # which shows up as a RECURSIVE_CTE_NODE); the query body sees them all.
        for entry in cte_map.get("map") or []:
            _collect(entry.get("value"), ctes, out)
            ctes = ctes | {entry["key"].lower()}

    for key, value in tree.items():
        if key != "cte_map":
            _collect(value, ctes, out)


def _strip_locations(tree: Any) -> Any:
    if isinstance(tree, dict):
        return {k: _strip_locations(v) for k, v in tree.items() if k != "query_location"}
    if isinstance(tree, list):
        return [_strip_locations(item) for item in tree]
    return tree
