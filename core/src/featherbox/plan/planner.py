"""Decide which nodes run and why.

A node runs iff it is new, its fingerprint changed, its source reports new data (adapters), an
input's data version differs from the one it was built from, it is past `max_age`, or it is forced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from featherbox import clock
from featherbox.config.durations import format_duration
from featherbox.extension import Detection
from featherbox.graph.dag import ADAPTER, GraphNode, node_of, topological_order
from featherbox.plan.fingerprints import adapter_fingerprint, model_fingerprint
from featherbox.state.versions import NodeVersion

CREATE, UPDATE, DESTROY = "create", "update", "destroy"
MIGRATE, SYNC = "migrate", "sync"


@dataclass
class Action:
    node: str
    kind: str  # adapter | model
    action: str  # create | update | destroy
    reason: str
    pipeline: str  # migrate | sync
    fingerprint: str = ""
    full_refresh: bool = False
    detection: Detection | None = None
    tables: list[str] = field(default_factory=list)
    upstream: list[str] = field(default_factory=list)  # planned actions this one waits for
    error: str = ""  # why the node cannot run (its source could not be checked): it fails at once

    def as_dict(self) -> dict:
        return {
            "node": self.node, "kind": self.kind, "action": self.action, "reason": self.reason,
            "pipeline": self.pipeline, "full_refresh": self.full_refresh, "tables": self.tables,
            **({"error": self.error} if self.error else {}),
        }


@dataclass
class Plan:
    actions: list[Action]
    fingerprints: dict[str, str]
    #: each node's current version when planned: what a run's output compares the new row counts with
    previous: dict[str, NodeVersion] = field(default_factory=dict)
    #: adapter tables moved to their layout-2 names (old, new) before planning, or to be moved by the
    #: next run (`fbox plan`): featherbox.state.layout
    moves: list[tuple[str, str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.actions

    def by_node(self) -> dict[str, Action]:
        return {a.node: a for a in self.actions}


def make_plan(
    graph: nx.DiGraph,
    adapters: dict,
    versions: dict[str, NodeVersion],
    con,
    selected: set[str] | None = None,
    full_refresh: bool | set[str] | frozenset[str] = False,
    now: datetime | None = None,
) -> Plan:
    now = now or clock.now()
    planned: dict[str, Action] = {}
    fingerprints: dict[str, str] = {}
    planner = _NodePlanner(adapters, versions, planned, con, now)
    for node in topological_order(graph):
        data = node_of(graph, node)
        if data.kind == ADAPTER:
            fingerprints[node] = adapter_fingerprint(adapters[node])
        else:
            fingerprints[node] = model_fingerprint(data.spec, data.parsed.fingerprint)
        if selected is not None and node not in selected:
            continue
        forced = full_refresh is True or (isinstance(full_refresh, (set, frozenset)) and node in full_refresh)
        inputs = sorted(graph.predecessors(node))
        action = planner.plan(data, inputs, fingerprints[node], forced)
        if action:
            action.upstream = [u for u in graph.predecessors(node) if u in planned]
            if action.kind != ADAPTER and data.spec.incremental:
                kind = data.spec.materialized
                action.reason += " (full rebuild)" if action.full_refresh else f" (incremental {kind})"
            planned[node] = action
    actions = list(planned.values())
    if selected is None:
        for node in sorted(set(versions) - set(graph.nodes)):
            old = versions[node]
            actions.append(Action(node, old.kind, DESTROY, f"{old.kind} removed from the project", MIGRATE, tables=old.tables))
    return Plan(actions, fingerprints, dict(versions))


@dataclass
class _NodePlanner:
    """What planning one node needs of the rest: the adapters, current versions, the actions
    planned so far (upstream first), the lake connection and the time."""

    adapters: dict
    versions: dict[str, NodeVersion]
    planned: dict[str, Action]
    con: object
    now: datetime

    def plan(self, data: GraphNode, inputs: list[str], fingerprint: str, forced: bool) -> Action | None:
        """The action for `data` (None: it is current); `inputs`: its upstream nodes."""
        adapters, versions, planned, con, now = self.adapters, self.versions, self.planned, self.con, self.now
        node = data.name
        kind = data.kind
        previous = versions.get(node)
        tables = data.tables

        def act(action, reason, pipeline, full=False, detection=None):
            return Action(node, kind, action, reason, pipeline, fingerprint, full, detection, tables)

        if previous is None:
            return act(CREATE, f"new {kind}", MIGRATE, full=True)
        if previous.fingerprint != fingerprint:
            return act(UPDATE, "config changed" if kind == ADAPTER else "sql changed", MIGRATE, full=True)
        if forced:
            return act(UPDATE, "full refresh requested", SYNC, full=True)
        if kind == ADAPTER:
            try:
                detection = adapters[node].detect(con, previous.state)
            except Exception as exc:  # a source that is down fails this node and its downstream, not the plan
                from featherbox.errors import FeatherBoxError
                from featherbox.secrets import redact

                error = redact(str(exc) if isinstance(exc, FeatherBoxError) else f"{type(exc).__name__}: {exc}")
                action = act(UPDATE, f"cannot check the source: {error.splitlines()[0] if error else type(exc).__name__}", SYNC)
                action.error = f"{node}: cannot check the source: {error}"
                return action
            if detection.changed:
                return act(UPDATE, detection.reason or "new data", SYNC, detection=detection)
            return None
        changed = sorted(u for u in inputs if u in planned)
        if changed:
            return act(UPDATE, f"upstream {', '.join(changed)} changed", SYNC)
        stale = sorted(
            u for u in inputs if versions.get(u) and previous.inputs.get(u) != versions[u].data_version
        )
        if stale:
            return act(UPDATE, f"upstream {', '.join(stale)} changed", SYNC)
        max_age = data.spec.max_age
        if max_age and previous.built_at and now - previous.built_at > max_age:
            return act(UPDATE, f"max_age {format_duration(max_age)} exceeded", SYNC)
        return None
