"""What a model's SQL reads, found with DuckDB's own parser (`json_serialize_sql`).

Parsing goes through DuckDB, and each call into DuckDB costs more than the parse of a small query, so
`SqlParser` parses every model of a project in one call and remembers each result by the SQL's
content: a run parses each query once, and with the results kept from an earlier run
(`SqlParser.load` / `save`) an unchanged project is not parsed at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    import duckdb

TableRef = tuple[str | None, str]  # (schema or None, table), lowercase


@dataclass(frozen=True)
class ParsedQuery:
    """One model query: the tables it reads, a fingerprint blind to whitespace and comments, and
    `error` when it is not a single SELECT statement (then the other two are empty)."""

    references: frozenset[TableRef]
    fingerprint: str
    error: str | None = None

    def checked(self) -> ParsedQuery:
        """This query, or ValueError with the reason it cannot be a model."""
        if self.error:
            raise ValueError(self.error)
        return self


class SqlParser:
    """DuckDB's parser on a private in-memory connection, with results cached by SQL text."""

    def __init__(self) -> None:
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()
        self._parsed: dict[str, ParsedQuery] = {}  # sha256 of the SQL -> result
        self.added = 0  # results parsed here, not taken from a saved cache

    # --- parsing ---------------------------------------------------------------------------------
    def parse(self, sql: str) -> ParsedQuery:
        return self.parse_all([sql])[sql]

    def parse_all(self, sqls: Iterable[str]) -> dict[str, ParsedQuery]:
        """Each of `sqls` parsed; those not seen before in one call into DuckDB."""
        sqls = list(dict.fromkeys(sqls))
        keys = {sql: _key(sql) for sql in sqls}
        todo = [sql for sql in sqls if keys[sql] not in self._parsed]
        if todo:
            for sql, tree in zip(todo, self._serialize_many(todo)):
                self._parsed[keys[sql]] = _analyse(sql, tree)
            self.added += len(todo)
        return {sql: self._parsed[keys[sql]] for sql in sqls}

    def serialize(self, sql: str) -> dict[str, Any]:
        """The parse tree of `sql`, as `json_serialize_sql` gives it."""
        return self._serialize_many([sql])[0]

    def deserialize(self, tree: dict[str, Any]) -> str:
        """SQL text of a (possibly edited) parse tree."""
        return self._query("SELECT json_deserialize_sql(?::JSON)", [json.dumps(tree)])

    def _serialize_many(self, sqls: list[str]) -> list[dict[str, Any]]:
        texts = self._query("SELECT list_transform(?::VARCHAR[], s -> json_serialize_sql(s))", [sqls])
        return [json.loads(text) for text in texts]

    def _query(self, statement: str, params: list) -> Any:
        with self._lock:
            if self._connection is None:
                import duckdb

                self._connection = duckdb.connect(":memory:")
            row = self._connection.execute(statement, params).fetchone()
        assert row is not None
        return row[0]

    # --- a cache kept between runs ---------------------------------------------------------------
    def load(self, path: Path) -> None:
        """Take the results saved in `path` by `save`, when they came from this parser version."""
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if not isinstance(saved, dict) or saved.get("parser") != _parser_version():
            return
        for key, entry in (saved.get("queries") or {}).items():
            try:
                references, fingerprint, error = entry
                self._parsed.setdefault(
                    key, ParsedQuery(frozenset((s, t) for s, t in references), fingerprint, error)
                )
            except (TypeError, ValueError):
                continue

    def save(self, path: Path, keep: Iterable[str]) -> None:
        """Write the results of `keep` (the project's queries) to `path`, atomically."""
        queries = {}
        for sql in keep:
            key = _key(sql)
            if key in self._parsed:
                parsed = self._parsed[key]
                queries[key] = [sorted(parsed.references, key=lambda r: (r[0] or "", r[1])), parsed.fingerprint, parsed.error]
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps({"parser": _parser_version(), "queries": queries}), encoding="utf-8")
        os.replace(temporary, path)


_default = SqlParser()


def default_parser() -> SqlParser:
    """The parser of code that is handed none (the module functions below, SQL rewriting)."""
    return _default


def table_references(sql: str) -> set[TableRef]:
    """Every base table the SELECT reads, as (schema or None, table); CTE names are not tables.

    Raises ValueError if the SQL does not parse or is not a single SELECT statement.
    """
    return set(_default.parse(sql).checked().references)


def normalized_fingerprint(sql: str) -> str:
    """sha256 of the parsed query: blind to whitespace and comments, changed by any real edit."""
    return _default.parse(sql).checked().fingerprint


def _key(sql: str) -> str:
    return hashlib.sha256(sql.encode("utf-8")).hexdigest()


def _parser_version() -> str:
    import duckdb

    return f"duckdb-{duckdb.__version__}/1"


def _analyse(sql: str, result: dict[str, Any]) -> ParsedQuery:
    try:
        node = _single_select(sql, result)
    except ValueError as exc:
        return ParsedQuery(frozenset(), "", str(exc))
    references: set[TableRef] = set()
    _collect(node, frozenset(), references)
    canonical = json.dumps(_strip_locations(node), sort_keys=True, separators=(",", ":"))
    return ParsedQuery(frozenset(references), hashlib.sha256(canonical.encode("utf-8")).hexdigest())


def _single_select(sql: str, result: dict[str, Any]) -> dict[str, Any]:
    """The single SELECT statement's query node."""
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
