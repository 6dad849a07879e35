"""Drawings of the lineage graph: Mermaid, Graphviz dot and a self-contained HTML page with inline SVG.

`view(graph, selected)` turns the engine's graph into `NodeView`s and edges; the caller may fill in
each node's last status and freshness (`fbox graph` reads them from the lake and the run history).
The HTML page needs no network and no script: the SVG is laid out here, in layers given by the
topological generations of the graph (producers left of their consumers).
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field

import networkx as nx

from featherbox.graph.dag import ADAPTER, node_of

#: node status -> (fill, stroke); `None` is "status not read"
STATUS_COLOURS = {
    "completed": ("#e6f4ea", "#2e7d32"),
    "failed": ("#fdecea", "#c62828"),
    "pending": ("#fff6dc", "#d08c00"),
    "never run": ("#f1f1f1", "#8a8a8a"),
    None: ("#e8f0fe", "#1a56b0"),
}
STATUSES = ("completed", "pending", "failed", "never run")


@dataclass
class NodeView:
    id: str
    kind: str  # "adapter" | "model"
    tables: list[str] = field(default_factory=list)
    description: str | None = None
    status: str | None = None  # completed | failed | pending | never run; None when not read
    last_result: str | None = None  # the status of the node's last action (completed, failed, skipped, ...)
    rows: int | None = None
    built_at: str | None = None
    age: str | None = None
    max_age: str | None = None
    stale: bool = False  # age > max_age
    pending: str | None = None  # why the next run would work on it
    error: str | None = None

    def freshness(self) -> str:
        if self.status is None:
            return ""
        if not self.built_at:
            return "never built"
        text = f"age {self.age or '0s'}"
        if self.max_age:
            text += f" / max {self.max_age}" + (" (stale)" if self.stale else "")
        return text

    def as_dict(self) -> dict:
        return {k: v for k, v in vars(self).items()}


def view(graph: nx.DiGraph, selected: set[str] | None = None) -> tuple[list[NodeView], list[tuple[str, str]]]:
    """The nodes (sorted, adapters first) and edges of `graph`, limited to `selected` when given."""
    keep = set(graph.nodes) if selected is None else set(selected) & set(graph.nodes)
    nodes = []
    for node in sorted(keep, key=lambda n: (node_of(graph, n).kind != ADAPTER, n)):
        data = node_of(graph, node)
        if data.kind == ADAPTER:
            nodes.append(NodeView(node, "adapter", list(data.tables)))
        else:
            spec = data.spec
            nodes.append(NodeView(node, "model", [spec.qualified], description=spec.description))
    edges = sorted((u, v) for u, v in graph.edges if u in keep and v in keep)
    return nodes, edges


# --- mermaid ---------------------------------------------------------------------------------


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def to_mermaid(nodes: list[NodeView], edges: list[tuple[str, str]]) -> str:
    """A `flowchart LR`: adapters as cylinders, models as boxes; node ids n0, n1, ... with the names as labels."""
    ids = {n.id: f"n{i}" for i, n in enumerate(nodes)}
    lines = ["flowchart LR"]
    for n in nodes:
        label = _mermaid_text(n.id)
        if n.status is not None:
            label += f"<br/><small>{_mermaid_text(n.status)}</small>"
        shape = f'[("{label}")]' if n.kind == "adapter" else f'["{label}"]'
        lines.append(f"    {ids[n.id]}{shape}")
    for u, v in edges:
        lines.append(f"    {ids[u]} --> {ids[v]}")
    used = {n.status for n in nodes if n.status is not None}
    for status in STATUSES:
        if status in used:
            fill, stroke = STATUS_COLOURS[status]
            cls = status.replace(" ", "_")
            lines.append(f"    classDef {cls} fill:{fill},stroke:{stroke},color:#111")
            members = ",".join(ids[n.id] for n in nodes if n.status == status)
            lines.append(f"    class {members} {cls}")
    return "\n".join(lines) + "\n"


# --- dot -------------------------------------------------------------------------------------


def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(nodes: list[NodeView], edges: list[tuple[str, str]]) -> str:
    """A Graphviz `digraph`, left to right; adapters as cylinders, models as rounded boxes."""
    lines = [
        "digraph featherbox {",
        "    rankdir=LR;",
        '    node [fontname="Helvetica", fontsize=11];',
        '    edge [color="#666666"];',
    ]
    for n in nodes:
        fill, stroke = STATUS_COLOURS[n.status]
        label = n.id if n.status is None else f"{n.id}\n{n.status}"
        if n.status is not None and n.freshness():
            label += f"\n{n.freshness()}"
        shape = "cylinder" if n.kind == "adapter" else "box"
        style = "filled" if n.kind == "adapter" else "rounded,filled"
        attrs = {
            "label": label, "shape": shape, "style": style, "fillcolor": fill, "color": stroke,
            "tooltip": f"{n.kind}: {', '.join(n.tables)}",
        }
        listed = ", ".join(f"{k}={_dot_string(v)}" for k, v in attrs.items())
        lines.append(f"    {_dot_string(n.id)} [{listed}];")
    for u, v in edges:
        lines.append(f"    {_dot_string(u)} -> {_dot_string(v)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


# --- layout and HTML -------------------------------------------------------------------------

CHAR_W = 7.4  # px per character of the 12px monospace-ish label, generous
NODE_H = 64
MIN_W = 170
COL_GAP = 90
ROW_GAP = 26
MARGIN = 24


@dataclass
class Box:
    x: float
    y: float
    w: float
    h: float


DUMMY_H = 12  # the slot a long edge takes in a column it passes through


def layout(nodes: list[NodeView], edges: list[tuple[str, str]]) -> tuple[dict[str, Box], dict[tuple[str, str], list[tuple[float, float]]], float, float]:
    """Boxes per node and the points each edge passes through.

    One column per topological generation; an edge that skips columns gets a slot in each column it
    crosses (so it never runs through a box); rows follow the barycentre of their inputs so lines cross less.
    """
    g = nx.DiGraph()
    g.add_nodes_from(n.id for n in nodes)
    g.add_edges_from(edges)
    kinds = {n.id: n.kind for n in nodes}
    layer_of = {node: i for i, layer in enumerate(nx.topological_generations(g)) for node in layer}
    count = max(layer_of.values(), default=-1) + 1
    layers: list[list] = [[] for _ in range(count)]
    for node in g.nodes:
        layers[layer_of[node]].append(node)
    preds: dict = {node: list(g.predecessors(node)) for node in g.nodes}
    chains: dict[tuple[str, str], list] = {}
    for u, v in edges:
        chain = []
        prev = u
        for k in range(layer_of[u] + 1, layer_of[v]):
            dummy = ("edge", u, v, k)
            layers[k].append(dummy)
            preds[dummy] = [prev]
            chain.append(dummy)
            prev = dummy
        chains[(u, v)] = chain
        if chain:
            preds[v] = [p if p != u else chain[-1] for p in preds[v]]

    def name(item) -> str:
        return item if isinstance(item, str) else f"{item[1]}>{item[2]}"

    position: dict = {}
    for layer in layers:
        def key(item) -> tuple:
            ps = [position[p] for p in preds[item] if p in position]
            real = isinstance(item, str)
            return (sum(ps) / len(ps) if ps else -1, not real or kinds[item] != "adapter", name(item))

        layer.sort(key=key)
        for i, item in enumerate(layer):
            position[item] = i
    widths = {n.id: max(MIN_W, CHAR_W * max(len(n.id), len(_subtitle(n)), len(n.freshness())) + 28) for n in nodes}

    def height(item) -> float:
        return NODE_H if isinstance(item, str) else DUMMY_H

    col_heights = [sum(height(i) for i in layer) + ROW_GAP * (len(layer) - 1) for layer in layers]
    total_h = max(col_heights, default=0)
    boxes: dict[str, Box] = {}
    slots: dict = {}
    x = MARGIN
    for layer, col_h in zip(layers, col_heights):
        col_w = max((widths[i] for i in layer if isinstance(i, str)), default=MIN_W)
        y = MARGIN + (total_h - col_h) / 2
        for item in layer:
            if isinstance(item, str):
                boxes[item] = Box(x + (col_w - widths[item]) / 2, y, widths[item], NODE_H)
            else:
                slots[item] = (x, x + col_w, y + DUMMY_H / 2)
            y += height(item) + ROW_GAP
        x += col_w + COL_GAP
    routes: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for (u, v), chain in chains.items():
        a, b = boxes[u], boxes[v]
        points = [(a.x + a.w, a.y + a.h / 2)]
        for dummy in chain:
            left, right, y = slots[dummy]
            points += [(left, y), (right, y)]
        points.append((b.x, b.y + b.h / 2))
        routes[(u, v)] = points
    width = (x - COL_GAP + MARGIN) if layers else 2 * MARGIN
    return boxes, routes, width, total_h + 2 * MARGIN


def _route_path(points: list[tuple[float, float]]) -> str:
    """Curves between columns, straight lines across the columns a long edge passes."""
    (x0, y0), rest = points[0], points[1:]
    d = [f"M {x0:.1f} {y0:.1f}"]
    for i in range(0, len(rest), 2):
        x1, y1 = rest[i]
        dx = max((x1 - x0) / 2, 30)
        d.append(f"C {x0 + dx:.1f} {y0:.1f}, {x1 - dx:.1f} {y1:.1f}, {x1:.1f} {y1:.1f}")
        if i + 1 < len(rest):
            x0, y0 = rest[i + 1]
            d.append(f"L {x0:.1f} {y0:.1f}")
    return " ".join(d)


def _subtitle(n: NodeView) -> str:
    text = n.kind
    if n.status is not None:
        text += f" · {n.status}"
    if n.rows is not None:
        text += f" · {n.rows} rows"
    return text


def to_svg(nodes: list[NodeView], edges: list[tuple[str, str]]) -> str:
    boxes, routes, width, height = layout(nodes, edges)
    e = html.escape
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="lineage graph">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#666"/></marker></defs>',
    ]
    for u, v in edges:
        parts.append(
            f'<path class="edge" data-from="{e(u)}" data-to="{e(v)}" d="{_route_path(routes[(u, v)])}" '
            'fill="none" stroke="#888" stroke-width="1.4" marker-end="url(#arrow)"/>'
        )
    for n in nodes:
        b = boxes[n.id]
        fill, stroke = STATUS_COLOURS[n.status]
        rx = 14 if n.kind == "adapter" else 6
        dash = ' stroke-dasharray="5 3"' if n.stale else ""
        tooltip = "\n".join(filter(None, [
            f"{n.kind} {n.id}", f"tables: {', '.join(n.tables)}" if n.tables else "",
            f"last result: {n.last_result}" if n.last_result else "", f"built at: {n.built_at}" if n.built_at else "",
            f"pending: {n.pending}" if n.pending else "", f"error: {n.error}" if n.error else "",
            n.description or "",
        ]))
        status = n.status or "unknown"
        parts.append(f'<g class="node {n.kind} status-{status.replace(" ", "-")}" data-node="{e(n.id)}">')
        parts.append(f"<title>{e(tooltip)}</title>")
        parts.append(
            f'<rect x="{b.x:.1f}" y="{b.y:.1f}" width="{b.w:.1f}" height="{b.h:.1f}" rx="{rx}" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="{2.4 if n.stale else 1.6}"'
            f'{dash}/>'
        )
        cx = b.x + b.w / 2
        parts.append(f'<text class="label" x="{cx:.1f}" y="{b.y + 22:.1f}" text-anchor="middle">{e(n.id)}</text>')
        parts.append(f'<text class="sub" x="{cx:.1f}" y="{b.y + 39:.1f}" text-anchor="middle">{e(_subtitle(n))}</text>')
        if n.freshness():
            parts.append(f'<text class="fresh" x="{cx:.1f}" y="{b.y + 54:.1f}" text-anchor="middle">{e(n.freshness())}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts)


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
  body {{ font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px; color: #1d1d1d; }}
  h1 {{ font-size: 20px; margin: 0 0 4px; }}
  .meta {{ color: #666; font-size: 13px; margin-bottom: 12px; }}
  .legend span {{ display: inline-block; margin-right: 14px; font-size: 13px; }}
  .legend i {{ display: inline-block; width: 12px; height: 12px; border: 1.5px solid; border-radius: 3px; vertical-align: -2px; margin-right: 4px; }}
  .drawing {{ overflow: auto; border: 1px solid #ddd; border-radius: 6px; margin: 12px 0 20px; background: #fff; }}
  svg text {{ font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }}
  svg .label {{ font-size: 12.5px; font-weight: 600; fill: #111; }}
  svg .sub, svg .fresh {{ font-size: 11px; fill: #444; }}
  table {{ border-collapse: collapse; font-size: 13px; }}
  th, td {{ text-align: left; padding: 4px 10px; border-bottom: 1px solid #eee; vertical-align: top; }}
  th {{ background: #fafafa; }}
  td.status i {{ display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 5px; border: 1.5px solid; }}
</style>
</head>
<body>
<h1>{title}</h1>
<div class="meta">{meta}</div>
<div class="legend">{legend}</div>
<div class="drawing">
{svg}
</div>
{table}
<script type="application/json" id="fbox-graph">{data}</script>
</body>
</html>
"""


def to_html(nodes: list[NodeView], edges: list[tuple[str, str]], title: str, meta: str = "") -> str:
    """A self-contained page: the SVG drawing, a legend and a table of every node; no script, no network."""
    e = html.escape
    shown = [s for s in STATUSES if any(n.status == s for n in nodes)] or ([None] if nodes else [])
    legend = "".join(
        f'<span><i style="background:{STATUS_COLOURS[s][0]};border-color:{STATUS_COLOURS[s][1]}"></i>{e(s or "status not read")}</span>'
        for s in shown
    )
    rows = []
    for n in nodes:
        fill, stroke = STATUS_COLOURS[n.status]
        rows.append(
            "<tr>"
            f"<td>{e(n.id)}</td><td>{e(n.kind)}</td>"
            f'<td class="status"><i style="background:{fill};border-color:{stroke}"></i>{e(n.status or "-")}</td>'
            f"<td>{e(n.last_result or '-')}</td><td>{'' if n.rows is None else n.rows}</td>"
            f"<td>{e(n.age or '-')}</td><td>{e(n.max_age or '-')}{' (stale)' if n.stale else ''}</td>"
            f"<td>{e(n.pending or '-')}</td><td>{e(', '.join(n.tables))}</td>"
            "</tr>"
        )
    table = (
        "<table><thead><tr><th>node</th><th>kind</th><th>status</th><th>last result</th><th>rows</th><th>age</th>"
        "<th>max_age</th><th>pending</th><th>tables</th></tr></thead><tbody>\n" + "\n".join(rows) + "\n</tbody></table>"
    ) if nodes else "<p>No nodes.</p>"
    data = json.dumps({"nodes": [n.as_dict() for n in nodes], "edges": edges}, sort_keys=True, default=str)
    return PAGE.format(
        title=e(title), meta=e(meta), legend=legend, svg=to_svg(nodes, edges), table=table,
        data=data.replace("</", "<\\/"),
    )
