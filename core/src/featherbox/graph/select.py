"""dbt-style node selection: `name`, `+name` (with upstream), `name+` (with downstream)."""

from __future__ import annotations

import difflib

import networkx as nx

from featherbox.errors import FeatherBoxError
from featherbox.graph.dag import MODEL, downstream, node_of, upstream


def select_nodes(graph: nx.DiGraph, selectors: list[str]) -> set[str]:
    """The union of what each selector picks; no selectors picks every node.

    A name is a node id (an adapter name or a model's `schema.name`) or a model's bare
    name when only one model has it; an exact node id wins over a bare model name.
    """
    if not selectors:
        return set(graph.nodes)
    selected: set[str] = set()
    for selector in selectors:
        text = selector.strip()
        with_upstream = text.startswith("+")
        with_downstream = text.endswith("+")
        name = text.strip("+").strip()
        if not name:
            raise FeatherBoxError(
                f"empty selector {selector!r}: use NAME, +NAME, NAME+ or +NAME+"
            )
        node = _resolve(graph, name)
        selected.add(node)
        if with_upstream:
            selected |= upstream(graph, node)
        if with_downstream:
            selected |= downstream(graph, node)
    return selected


def _resolve(graph: nx.DiGraph, name: str) -> str:
    if name in graph:
        return name
    wanted = name.lower()
    exact = [node for node in graph if node.lower() == wanted]
    if len(exact) == 1:
        return exact[0]
    bare = sorted(
        node
        for node in graph.nodes
        if node_of(graph, node).kind == MODEL and node_of(graph, node).spec.name.lower() == wanted
    )
    if len(bare) == 1:
        return bare[0]
    if len(bare) > 1:
        raise FeatherBoxError(
            f"selector '{name}' is ambiguous: could be {', '.join(bare)}; "
            "use the schema-qualified name"
        )

    names = sorted(set(graph.nodes) | {node_of(graph, n).spec.name for n in _models(graph)})
    message = f"no adapter or model named '{name}'"
    suggestions = difflib.get_close_matches(name, names, n=3)
    if suggestions:
        message += f"; did you mean {', '.join(suggestions)}?"
    raise FeatherBoxError(message)


def _models(graph: nx.DiGraph) -> list[str]:
    return [node for node, kind in graph.nodes(data="kind") if kind == MODEL]
