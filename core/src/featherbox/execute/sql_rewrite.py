"""Rewriting a model's SQL through DuckDB's parser: tables pointed elsewhere, bare names qualified."""

from __future__ import annotations

from typing import Any


def result_columns(cursor, sql: str, types: bool = False) -> Any:
    """The columns of `sql`'s result (names; with `types`, sorted (name, type) pairs)."""
    described = cursor.execute(f"DESCRIBE {sql}").fetchall()
    return sorted((r[0], r[1]) for r in described) if types else [r[0] for r in described]


def unquote(name: str) -> str:
    """`"schema"."table"` -> `schema.table`."""
    return ".".join(part.strip('"') for part in name.split("."))


def qualified_sql(sql: str, resolved: dict[str, str]) -> str:
    """`sql` with each bare table name written as the table the graph resolved it to: a view is bound
    when it is read, with the reader's search path, which need not hold the view's schemas."""
    for written, table in sorted(resolved.items()):
        if "." not in written:
            schema, _, name = table.partition(".")
            sql, _ = replace_table(sql, {written: table}, table, ("", schema, name))
    return sql


def replace_table(sql: str, resolved: dict[str, str], table: str, replacement: tuple[str, str, str]) -> tuple[str, int]:
    """`sql` with every reference that resolves to `table` pointing at `replacement` (catalog, schema,
    name) instead, keeping the name it was written with as its alias; and how many were replaced.

    Uses DuckDB's parser (`json_serialize_sql` / `json_deserialize_sql`); CTE names are not tables.
    """
    from featherbox.graph.sql_refs import default_parser

    parser = default_parser()
    tree = parser.serialize(sql)
    count = 0

    def walk(node: Any, ctes: frozenset[str]) -> None:
        nonlocal count
        if isinstance(node, list):
            for item in node:
                walk(item, ctes)
            return
        if not isinstance(node, dict):
            return
        if node.get("type") == "BASE_TABLE" and "table_name" in node:
            schema = (node.get("schema_name") or "").lower()
            name = node["table_name"].lower()
            if schema or name not in ctes:
                written = f"{schema}.{name}" if schema else name
                if resolved.get(written) == table:
                    node["alias"] = node.get("alias") or node["table_name"]
                    node["catalog_name"], node["schema_name"], node["table_name"] = replacement
                    count += 1
            walk(node.get("at_clause"), ctes)
            return
        if node.get("type") == "RECURSIVE_CTE_NODE" and node.get("cte_name"):
            ctes = ctes | {node["cte_name"].lower()}
        cte_map = node.get("cte_map")
        if isinstance(cte_map, dict):
            for entry in cte_map.get("map") or []:
                walk(entry.get("value"), ctes)
                ctes = ctes | {entry["key"].lower()}
        for key, value in node.items():
            if key != "cte_map":
                walk(value, ctes)

    walk(tree.get("statements"), frozenset())
    return parser.deserialize(tree), count
