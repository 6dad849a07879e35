"""`fbox restore`: bring back a node a run dropped, from the lake's snapshot before the drop."""

from __future__ import annotations

from typing import Optional

import typer

from featherbox.cli.output import echo, emit_json, table


def register(app: typer.Typer) -> None:
    app.command("restore")(restore)


def restore(
    ctx: typer.Context,
    name: Optional[str] = typer.Argument(
        None, help="The dropped node: an adapter name or a model's schema.name. Without it, list the dropped nodes.",
        show_default=False, metavar="NODE",
    ),
    wait: float = typer.Option(0, "--wait", help="Seconds to wait for a run's lock before refusing."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Bring back a node a run dropped (its file was deleted), from the lake's snapshot before the drop."""

    ws = ctx.obj.workspace()
    if name is None:
        _list(ws, as_json)
        return
    done = ws.restore(name, wait)
    in_project = done.node in ws.project.models or done.node in ws.project.adapters
    if as_json:
        emit_json({
            "node": done.node, "kind": done.kind, "snapshot": done.snapshot, "dropped_in": done.dropped_in,
            "built_in": done.built_in, "objects": done.objects, "rows": done.rows, "in_project": in_project,
        })
        return
    echo(f"Restored {done.kind} {done.node} from snapshot {done.snapshot} of the lake, as it was before run {done.dropped_in} dropped it:")
    for qualified, kind in done.objects.items():
        echo(f"  {qualified}: {kind}" + (f", {done.rows[qualified]} rows" if qualified in done.rows else ""))
    echo(f"Its recorded version is again the one run {done.built_in} built.")
    if in_project:
        echo("`fbox plan` shows whether the project's file still matches it (unchanged: nothing to rebuild).")
    else:
        echo(
            f"warning: {done.node} is not in the project, so the next `fbox run` drops it again; "
            f"put its {'model' if done.kind == 'model' else 'adapter'} file back first"
        )


def _list(ws, as_json: bool) -> None:
    dropped = ws.dropped()
    rows = [
        {
            "node": d.node, "kind": d.last.kind, "dropped_in": d.dropped.run_id,
            "dropped_at": d.dropped.built_at.isoformat(timespec="seconds") if d.dropped.built_at else None,
            "tables": d.last.tables, "rows": d.last.total_rows, "restorable": d.restorable, "snapshot": d.snapshot,
        }
        for d in dropped
    ]
    if as_json:
        emit_json({"dropped": rows})
        return
    if not rows:
        echo("No node has been dropped (or every dropped one was restored or built again).")
        return
    table(
        ["node", "kind", "dropped in run", "tables", "rows", "restorable"],
        [[r["node"], r["kind"], r["dropped_in"], ", ".join(r["tables"]), r["rows"],
          f"yes (snapshot {r['snapshot']})" if r["restorable"] else "no: the snapshots expired"] for r in rows],
    )
