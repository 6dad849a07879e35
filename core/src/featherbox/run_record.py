"""What a run writes to the run history besides its outcome: the plan, the nodes, each node's events;
and the run's id."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from featherbox.secrets import redact_values


def new_run_id() -> str:
    """A run's id: when it started (UTC, sortable) and a random suffix."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


def record_plan(history, run_id: str, plan, graph, adapters: dict) -> None:
    """The plan's actions and the project's nodes and edges, as the run history keeps them (secrets redacted)."""
    import json

    from featherbox.graph.dag import ADAPTER, nodes_of
    from featherbox.plan.fingerprints import adapter_fingerprint

    for kind in sorted({a.pipeline for a in plan.actions}):
        history.add_pipeline(f"{run_id}-{kind}", run_id, kind)
    for action in plan.actions:
        history.add_action(run_id, f"{run_id}-{action.pipeline}", action.node, action.action, action.reason)
    nodes = {}
    for data in nodes_of(graph):
        node = data.name
        if data.kind == ADAPTER:
            adapter = adapters[node]
            nodes[node] = ("adapter", json.dumps(redact_values(adapter.spec.raw), sort_keys=True), adapter_fingerprint(adapter))
        else:
            nodes[node] = ("model", json.dumps(redact_values(data.spec.raw), sort_keys=True), plan.fingerprints[node])
    history.sync_nodes(nodes, list(graph.edges))


def record_event(history, run_id: str, kind: str, action, outcome) -> None:
    """A node started, finished, was skipped or logged (`Runner` events), as the run history keeps it."""
    from featherbox.state.history import now_iso

    if kind == "started":
        history.update_action(run_id, action.node, status="running", started_at=now_iso())
        history.log(run_id, "info", f"{action.action} {action.node}: {action.reason}", action.node)
    elif kind in ("finished", "skipped"):
        history.update_action(
            run_id, action.node, status=outcome.status, rows_written=outcome.rows,
            seconds=round(outcome.seconds, 3), error=outcome.error or None,
            sql_text=outcome.sql or None, finished_at=now_iso(),
        )
        level = "info" if outcome.status == "completed" else "error"
        text = outcome.error or outcome.message
        if outcome.sql and outcome.status == "failed":
            text += f"\n-- SQL of {action.node}:\n{outcome.sql}"
        history.log(run_id, level, f"{action.node} {outcome.status}: {text}", action.node)
    elif kind == "log":
        history.log(run_id, "info", outcome.message, action.node)


class EmptyHistoryDatabase:
    """Stands in for the project database of a project that never ran: an empty SQLite in memory."""

    paramstyle = "qmark"

    def connect(self, lake=None):
        import sqlite3

        return sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)

    def describe(self) -> str:
        return "memory (no catalog yet)"
