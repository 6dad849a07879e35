"""`fbox graph`: the lineage of adapters and models as Mermaid, Graphviz dot or a self-contained HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from featherbox.cli.output import echo

FORMATS = ("mermaid", "dot", "html")
SUFFIXES = {".mmd": "mermaid", ".mermaid": "mermaid", ".md": "mermaid", ".dot": "dot", ".gv": "dot", ".html": "html", ".htm": "html"}


def register(app: typer.Typer) -> None:
    app.command("graph")(graph)


def graph(
    ctx: typer.Context,
    fmt: Optional[str] = typer.Option(
        None, "--format", "-f",
        help="mermaid, dot or html (default: from the --output suffix, else mermaid).",
    ),
    select: Optional[List[str]] = typer.Option(
        None, "--select", "-s", help="Only these nodes: NAME, +NAME (with upstream), NAME+ (with downstream); repeatable.",
    ),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write to this file instead of standard output."),
    with_status: Optional[bool] = typer.Option(
        None, "--status/--no-status",
        help="Colour nodes by their last status and show freshness (reads the lake; default: on for html only).",
    ),
) -> None:
    """Draw the lineage of adapters and models (Mermaid for READMEs, Graphviz dot, or an HTML page)."""
    from featherbox.errors import FeatherBoxError
    from featherbox.graph.render import to_dot, to_html, to_mermaid, view

    if fmt is None:
        fmt = SUFFIXES.get(output.suffix.lower(), "mermaid") if output else "mermaid"
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise FeatherBoxError(f"--format must be mermaid, dot or html, not {fmt!r}")
    if output is not None and output.is_dir():
        raise FeatherBoxError(f"--output {output} is a directory; name a file")
    ws = ctx.obj.workspace()
    nodes, edges = view(ws.graph, ws.selection(list(select or [])))
    if with_status if with_status is not None else fmt == "html":
        read_status(ws, nodes)
    if fmt == "mermaid":
        text = to_mermaid(nodes, edges)
    elif fmt == "dot":
        text = to_dot(nodes, edges)
    else:
        from datetime import datetime, timezone

        when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        selected = f"; selected: {' '.join(select)}" if select else ""
        meta = f"{ws.root} · {len(nodes)} nodes, {len(edges)} edges{selected} · drawn {when}"
        text = to_html(nodes, edges, f"FeatherBox lineage: {ws.root.name}", meta)
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise FeatherBoxError(f"cannot write {output}: {exc.strerror or exc}") from exc
    echo(f"Wrote {output} ({fmt}, {len(nodes)} nodes, {len(edges)} edges)")


def read_status(ws, nodes) -> None:
    """Fill in each node's last status, rows, age against max_age and pending reason, as `fbox status` reads them."""
    from featherbox import clock
    from featherbox.config.durations import format_duration
    from featherbox.graph.dag import node_of

    plan, versions, last = ws.node_report()
    pending = plan.by_node()
    now = clock.now()
    for n in nodes:
        version = versions.get(n.id)
        built = version is not None and not version.dropped and version.built_at is not None
        n.last_result, _, n.error = last.get(n.id, (None, None, None))
        if built:
            n.built_at = version.built_at.isoformat(timespec="seconds")
            n.rows = version.total_rows
            age = now - version.built_at
            n.age = format_duration(age)
        spec = getattr(node_of(ws.graph, n.id), "spec", None)
        if spec is not None and spec.max_age:
            n.max_age = format_duration(spec.max_age)
            n.stale = built and now - version.built_at > spec.max_age
        if n.id in pending:
            n.pending = pending[n.id].reason
        if n.last_result in ("failed", "timed_out"):
            n.status = "failed"
        elif not built:
            n.status = "never run"
        elif n.pending:
            n.status = "pending"
        else:
            n.status = "completed"
