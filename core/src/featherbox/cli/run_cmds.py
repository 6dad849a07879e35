"""`fbox run`, `plan`, `status`, `logs`, `migrate`."""

from __future__ import annotations

from typing import List, Optional

import typer

from featherbox.cli.output import echo, emit_json, is_tty, table


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("plan")(plan)
    app.command("status")(status)
    app.command("logs")(logs)
    app.command("migrate")(migrate)


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def drop_lines(plan) -> list[str]:
    """The plan's destroys, said before anything else: which nodes go, with which tables and rows."""
    destroys = [a for a in plan.actions if a.action == "destroy"]
    if not destroys:
        return []
    that = "that is" if len(destroys) == 1 else "that are"
    lines = [f"Will drop {_count(len(destroys), 'node')} {that} no longer in the project, with {'its' if len(destroys) == 1 else 'their'} data:"]
    for action in destroys:
        previous = plan.previous.get(action.node)
        rows = f" ({_count(previous.total_rows, 'row')})" if previous else ""
        lines.append(f"  {action.kind} {action.node}: {', '.join(action.tables) or 'no tables'}{rows}")
    which = f"`fbox restore {destroys[0].node}` brings it back" if len(destroys) == 1 else "`fbox restore NODE` brings one back"
    lines.append(f"  (after the drop, {which} as long as the lake keeps its snapshots from before the drop)")
    return lines


def move_lines(plan, done: bool) -> list[str]:
    """The adapter tables moved into their own namespace (featherbox.layout) by this run, or by the next."""
    if not plan.moves:
        return []
    verb = "Moved" if done else "The next run moves"
    lines = [f"{verb} {_count(len(plan.moves), 'adapter table')} into the adapters' own schemas (data copied, nothing reloaded):"]
    lines += [f"  {old} -> {new}" for old, new in plan.moves]
    return lines


def row_change(action, outcome, previous) -> dict:
    """`rows_before` (the node's rows when planned; None when it was new) and `rows_change` (rows after
    minus before; None unless the action completed and there was a before)."""
    before = previous.total_rows if previous is not None else None
    change = outcome.rows - before if before is not None and outcome.status == "completed" else None
    return {"rows_before": before, "rows_change": change}


def rows_text(action, outcome, previous, rebuilt: bool) -> str:
    """`2430 rows` (new), `2430 rows (was 2400)` (rebuilt), `+30 rows, 2430 in all` (changed in place)."""
    total = outcome.rows
    if action.action == "destroy":
        return f"dropped {', '.join(action.tables) or 'no tables'}" + (f" ({_count(previous.total_rows, 'row')})" if previous else "")
    if previous is None:
        return _count(total, "row")
    if rebuilt:
        return f"{_count(total, 'row')} (was {previous.total_rows})"
    change = total - previous.total_rows
    return f"{'+' if change >= 0 else '-'}{_count(abs(change), 'row')}, {total} in all"


class RunProgress:
    """Per-node lines as nodes finish; on a terminal also a live bar of the whole run (rich)."""

    def __init__(self, live: bool, quiet: bool, ws=None):
        self.live, self.quiet, self.ws = live, quiet, ws
        self.done = self.total = 0
        self._progress = self._task = None
        self.previous: dict = {}
        self.incremental: set[str] = set()  # models that change their table in place unless rebuilt

    def on_plan(self, plan) -> None:
        self.total = len(plan.actions)
        self.previous = plan.previous
        if self.ws is not None and not plan.empty:
            from featherbox.graph.dag import MODEL, node_of

            graph = self.ws.graph
            self.incremental = {
                a.node for a in plan.actions
                if a.kind == MODEL and a.node in graph and node_of(graph, a.node).spec.incremental
            }
        if self.quiet:
            return
        for line in move_lines(plan, done=True):
            echo(line)
        if plan.empty:
            echo("Nothing to do: every node is up to date.")
            return
        for line in drop_lines(plan):
            echo(line)
        echo(f"Running {self.total} action{'s' if self.total != 1 else ''}:")
        if self.live:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True
            )
            self._task = self._progress.add_task("running", total=self.total)
            self._progress.start()

    def on_event(self, kind, action, outcome) -> None:
        if self.quiet or kind == "log":
            return
        if kind == "started":
            if self._progress:
                self._progress.update(self._task, description=f"running {action.node}")
            return
        self.done += 1
        counter = f"[{self.done}/{self.total}]"
        if kind == "skipped":
            line = f"{counter} - {action.node}: skipped ({outcome.message})"
        elif outcome.status == "completed":
            rows = rows_text(action, outcome, self.previous.get(action.node), self.rebuilt(action, outcome))
            line = f"{counter} ✓ {action.action} {action.node}: {rows}, {outcome.seconds:.2f}s ({action.reason})"
            if "skipped" in outcome.message:  # a load that left data out on purpose (bad_lines: skip) says so
                line += f"; {outcome.message}"
            if action.action == "destroy":
                line += f"; `fbox restore {action.node}` brings it back"
        else:
            line = f"{counter} ✗ {action.action} {action.node}: {outcome.status}: {outcome.error}"
        if self._progress:
            from featherbox.secrets import redact

            self._progress.console.print(redact(line), markup=False, highlight=False)
            self._progress.advance(self._task)
        else:
            echo(line)

    def rebuilt(self, action, outcome) -> bool:
        """Whether the node's tables were written anew (their old rows are not in the count), rather
        than changed in place: adapters are said to change in place unless fully refreshed (a
        file adapter adds files; a full copy is shown as its net change)."""
        if action.full_refresh:
            return True
        if action.kind == "adapter":
            return False
        return action.node not in self.incremental or "full rebuild" in outcome.message

    def stop(self) -> None:
        if self._progress:
            self._progress.stop()


NODES_HELP = "Nodes to include, as with --select: `fbox run --full-refresh NAME` rebuilds one node."


def run(
    ctx: typer.Context,
    nodes: Optional[List[str]] = typer.Argument(None, help=NODES_HELP, show_default=False, metavar="NODE"),
    select: Optional[List[str]] = typer.Option(None, "--select", "-s", help="NAME, +NAME (with upstream), NAME+ (with downstream); repeatable."),
    full_refresh: bool = typer.Option(False, "--full-refresh", help="Rebuild every selected node from scratch."),
    threads: int = typer.Option(4, "--threads", "-t", min=1, help="Nodes run in parallel."),
    wait: float = typer.Option(0, "--wait", help="Seconds to wait for another run's lock before refusing."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Plan what changed and do only that work."""
    from featherbox.workspace import RunOptions, Workspace

    ws: Workspace = ctx.obj.workspace()
    options = RunOptions(selectors=(*(nodes or []), *(select or [])), full_refresh=full_refresh, threads=threads, wait=wait)
    progress = RunProgress(live=is_tty() and not as_json, quiet=as_json, ws=ws)
    try:
        plan_, result = ws.run(options, progress.on_plan, progress.on_event)
    finally:
        progress.stop()
    if as_json:
        emit_json({
            "run_id": result.run_id,
            "ok": result.ok,
            "actions": [
                {**a.as_dict(), **vars(result.outcomes[a.node]), **row_change(a, result.outcomes[a.node], plan_.previous.get(a.node))}
                for a in plan_.actions if a.node in result.outcomes
            ],
        })
    elif not plan_.empty:
        counts = result.counts()
        summary = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(counts.items()))
        echo(f"Run {result.run_id}: {summary}.")
    if not result.ok:
        raise typer.Exit(1)


def plan(
    ctx: typer.Context,
    nodes: Optional[List[str]] = typer.Argument(None, help=NODES_HELP.replace("fbox run", "fbox plan").replace("rebuilds", "plans rebuilding"), show_default=False, metavar="NODE"),
    select: Optional[List[str]] = typer.Option(None, "--select", "-s", help="Limit to these nodes (same syntax as run)."),
    full_refresh: bool = typer.Option(False, "--full-refresh", help="Plan a full rebuild of every selected node."),
    as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON."),
) -> None:
    """Show what `fbox run` would do and why; changes nothing."""

    ws = ctx.obj.workspace()
    con = ws.open_lake(for_writing=False)
    try:
        p, _ = ws.plan(con, [*(nodes or []), *(select or [])], full_refresh)
    finally:
        con.close()
    if as_json:
        emit_json({"actions": [a.as_dict() for a in p.actions], "moves": [{"from": old, "to": new} for old, new in p.moves]})
        return
    for line in move_lines(p, done=False):
        echo(line)
    if p.empty:
        echo("Nothing to do: every node is up to date.")
        return
    for line in drop_lines(p):
        echo(line)
    rest = [a for a in p.actions if a.action != "destroy"]  # the drops are listed above, once
    if rest:
        table(["action", "node", "pipeline", "reason"], [[a.action, a.node, a.pipeline, a.reason] for a in rest])


def status(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """Every node: last build, rows, age against max_age, and what is pending."""
    from featherbox import clock
    from featherbox.config.durations import format_duration
    from featherbox.graph.dag import MODEL, node_of

    ws = ctx.obj.workspace()
    p, versions, last = ws.node_report()
    pending = p.by_node()
    now = clock.now()
    rows = []
    for node in sorted(set(ws.graph.nodes) | set(versions)):
        version = versions.get(node)
        data = node_of(ws.graph, node) if node in ws.graph else None
        max_age = data.spec.max_age if data is not None and data.kind == MODEL else None
        age = now - version.built_at if version and version.built_at else None
        rows.append({
            "node": node,
            "kind": data.kind if data is not None else (version.kind if version else ""),
            "built_at": version.built_at.isoformat(timespec="seconds") if version and version.built_at else None,
            "rows": version.total_rows if version else None,
            "age": format_duration(age) if age else None,
            "max_age": format_duration(max_age) if max_age else None,
            "last_result": last.get(node, (None,))[0],
            "pending": pending[node].reason if node in pending else None,
        })
    if as_json:
        emit_json({"nodes": rows})
        return
    table(
        ["node", "kind", "last result", "rows", "age", "max_age", "pending"],
        [[r["node"], r["kind"], r["last_result"] or "-", r["rows"], r["age"] or "-", r["max_age"] or "-", r["pending"] or "-"] for r in rows],
    )


def logs(ctx: typer.Context, run_id: Optional[str] = typer.Argument(None, help="A run id (default: the latest run)."),
         as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """Show the log of a run."""
    from featherbox.errors import FeatherBoxError

    history = ctx.obj.workspace().history()
    try:
        if run_id is None:
            latest = history.execute("SELECT id FROM fbox_deployments ORDER BY started_at DESC LIMIT 1")
            if not latest:
                raise FeatherBoxError("no runs yet: `fbox run` records its log here")
            run_id = latest[0][0]
        runs = history.execute("SELECT id, started_at, finished_at, status, summary FROM fbox_deployments WHERE id = ?", (run_id,))
        if not runs:
            known = [r[0] for r in history.execute("SELECT id FROM fbox_deployments ORDER BY started_at DESC LIMIT 5")]
            raise FeatherBoxError(f"no run {run_id!r}; recent runs: {', '.join(known) or 'none'}")
        lines = history.execute(
            "SELECT logged_at, level, node, message FROM fbox_deployment_logs WHERE deployment_id = ? ORDER BY seq", (run_id,)
        )
    finally:
        history.close()
    rid, started, finished, status_, summary = runs[0]
    if as_json:
        emit_json({"run_id": rid, "started_at": started, "finished_at": finished, "status": status_,
                   "log": [dict(zip(["at", "level", "node", "message"], line)) for line in lines]})
        return
    echo(f"Run {rid}: {status_} (started {started}, finished {finished or '-'})")
    for at, level, node, message in lines:
        echo(f"{at} {level.upper():5} {message}")


def migrate(ctx: typer.Context) -> None:
    """Bring FeatherBox's state tables to the current schema version, and adapter tables to their own schemas."""
    from featherbox.state.history import SCHEMA_VERSION

    applied, moves = ctx.obj.workspace().migrate()
    if applied:
        echo(f"Migrated the state schema to version {SCHEMA_VERSION} (applied {', '.join(map(str, applied))}).")
    else:
        echo(f"The state schema is up to date (version {SCHEMA_VERSION}).")
    if moves:
        echo(f"Moved {_count(len(moves), 'adapter table')} into the adapters' own schemas (data copied, nothing reloaded):")
        for move in moves:
            echo(f"  {move.old} -> {move.new}")
