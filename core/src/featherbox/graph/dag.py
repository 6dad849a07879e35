"""The graph of adapters and models: who produces each table a model's SQL reads."""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Union

from featherbox.config.project import ModelSpec
from featherbox.errors import GraphError
from featherbox.layout import current_name, legacy_table
from featherbox.graph.sql_refs import ParsedQuery, SqlParser, TableRef, default_parser

if TYPE_CHECKING:  # networkx is imported where a graph is built or walked: `fbox run` with nothing to do needs none
    import networkx as nx

ADAPTER = "adapter"
MODEL = "model"


@dataclass
class AdapterNode:
    """An adapter in the graph: the lake tables it writes."""

    name: str
    tables: list[str]
    kind: ClassVar[str] = ADAPTER


@dataclass
class ModelNode:
    """A model in the graph: its spec, its parsed SQL, and the table each name in the SQL reads
    (as written, catalog dropped, lowercase -> qualified)."""

    spec: ModelSpec
    parsed: ParsedQuery
    resolved: dict[str, str] = field(default_factory=dict)
    kind: ClassVar[str] = MODEL

    @property
    def name(self) -> str:
        return self.spec.qualified

    @property
    def tables(self) -> list[str]:
        return [self.spec.qualified]


GraphNode = Union[AdapterNode, ModelNode]


def node_of(graph: nx.DiGraph, name: str) -> GraphNode:
    """The typed node `name` of a graph made by `build_graph`."""
    return graph.nodes[name]["node"]


def nodes_of(graph: nx.DiGraph) -> list[GraphNode]:
    return [data["node"] for _, data in graph.nodes(data=True)]


def build_graph(
    adapter_tables: Mapping[str, list[str]], models: Mapping[str, ModelSpec], parser: SqlParser | None = None
) -> nx.DiGraph:
    """Nodes: adapter names and model qualified names; edges: producer -> consuming model.

    Each node has one attribute, `node`: an `AdapterNode` or a `ModelNode` (`node_of(graph, name)`).
    Every model's SQL is parsed by `parser` in one call.
    Raises one GraphError listing every problem found (parse errors, unknown or
    ambiguous tables, tables produced twice, cycles).
    """
    import networkx as nx

    graph = nx.DiGraph()
    producers: dict[str, list[str]] = defaultdict(list)  # qualified table -> node ids

    for name in sorted(adapter_tables):
        tables = list(adapter_tables[name])
        graph.add_node(name, node=AdapterNode(name, tables))
        for table in dict.fromkeys(t.lower() for t in tables):
            producers[table].append(name)
    parsed = (parser or default_parser()).parse_all(spec.sql for spec in models.values())
    for spec in sorted(models.values(), key=lambda s: s.qualified):
        graph.add_node(spec.qualified, node=ModelNode(spec, parsed[spec.sql]))
        producers[spec.qualified.lower()].append(spec.qualified)

    problems = [
        f"table {table} is produced by more than one of: {', '.join(nodes)}"
        for table, nodes in sorted(producers.items())
        if len(nodes) > 1
    ]
    resolver = _Resolver(producers)
    for spec in sorted(models.values(), key=lambda s: s.qualified):
        problems.extend(_add_model_edges(graph, spec, resolver))
    problems.extend(_cycle_problems(graph))

    if problems:
        count = len(problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the model graph:"
        raise GraphError("\n".join([head] + [f"  {p}" for p in problems]))
    return graph


def downstream(graph: nx.DiGraph, node: str) -> set[str]:
    """Every node that (transitively) reads from `node`, not including it."""
    import networkx as nx

    return set(nx.descendants(graph, node))


def upstream(graph: nx.DiGraph, node: str) -> set[str]:
    """Every node `node` (transitively) reads from, not including it."""
    import networkx as nx

    return set(nx.ancestors(graph, node))


def topological_order(graph: nx.DiGraph) -> list[str]:
    """Producers before consumers; ties broken alphabetically so the order is stable."""
    import networkx as nx

    return list(nx.lexicographical_topological_sort(graph))


class _Resolver:
    def __init__(self, producers: Mapping[str, list[str]]):
        self.producers = producers
        self.by_table: dict[str, list[str]] = defaultdict(list)  # bare table -> qualified
        for qualified in sorted(producers):
            self.by_table[qualified.rsplit(".", 1)[-1]].append(qualified)

    def candidates(self, ref: TableRef, own_table: str) -> list[str]:
        schema, table = ref
        if schema is not None:
            qualified = f"{schema}.{table}"
            return [qualified] if qualified in self.producers else []
        found = self.by_table.get(table, [])
        # `staging.users` reading a bare `users` means some other `users` (the usual
        # staging pattern); it means itself only when nothing else has that name.
        others = [q for q in found if q != own_table]
        return others or list(found)

    def close_matches(self, ref: TableRef) -> list[str]:
        schema, table = ref
        if schema is not None:
            return difflib.get_close_matches(f"{schema}.{table}", list(self.producers), n=3)
        names = difflib.get_close_matches(table, list(self.by_table), n=3)
        return [q for name in names for q in self.by_table[name]][:3]


def _add_model_edges(graph: nx.DiGraph, spec: ModelSpec, resolver: _Resolver) -> list[str]:
    where = f"model {spec.qualified} ({spec.file})"
    node: ModelNode = node_of(graph, spec.qualified)
    parsed = node.parsed
    if parsed.error:
        return [f"{where}: {parsed.error}"]
    references = parsed.references

    problems = []
    resolved = node.resolved
    own_table = spec.qualified.lower()
    for ref in sorted(references, key=lambda r: (r[0] or "", r[1])):
        written = ref[1] if ref[0] is None else f"{ref[0]}.{ref[1]}"
        found = resolver.candidates(ref, own_table)
        if found == [own_table] and ref[0] is not None:
            others = [q for q in resolver.by_table.get(ref[1], []) if q != own_table]
            hint = f"; to read the adapter's table, write {' or '.join(others)}" if others else ""
            problems.append(f"model {spec.qualified} reads itself ('{written}') in {where}{hint}")
            continue
        if not found:
            message = f"unknown table '{written}' in {where}: no adapter or model produces it"
            moved = legacy_name(ref, resolver.producers)
            suggestions = [moved] if moved else resolver.close_matches(ref)
            if moved:
                message += f"; adapters' tables are in their own schemas: write {moved}"
            elif suggestions:
                message += f"; did you mean {', '.join(suggestions)}?"
            problems.append(message)
        elif len(found) > 1:
            problems.append(
                f"ambiguous table '{written}' in {where}: could be {', '.join(found)}; qualify it"
            )
        else:
            resolved[written] = found[0]
            for producer in resolver.producers[found[0]]:
                graph.add_edge(producer, spec.qualified)
    return problems


def legacy_name(ref: TableRef, producers: Mapping[str, list[str]]) -> str | None:
    """The layout-2 name of an adapter table written by its layout-1 name (`app_db.users`,
    `main.app_logs`), when an adapter produces it (featherbox.layout)."""
    schema, table = ref
    if schema is None:
        return None
    candidate = current_name(schema, table)
    return candidate if candidate in producers and any(
        legacy_table(producer, candidate) for producer in producers[candidate]
    ) else None


def _cycle_problems(graph: nx.DiGraph) -> list[str]:
    problems = []
    import networkx as nx

    for component in sorted(nx.strongly_connected_components(graph), key=min):
        start = min(component)
        if len(component) == 1 and not graph.has_edge(start, start):
            continue
        edges = nx.find_cycle(graph.subgraph(component), source=start)
        path = [u for u, _ in edges]
        first = path.index(min(path))  # rotate so the same cycle always reads the same way
        path = path[first:] + path[:first]
        problems.append(f"models form a cycle: {' -> '.join(path + [path[0]])}")
    return problems
