"""Which of a plan's actions may start now, and which of them share a DuckLake transaction.

DuckLake's cost is per transaction (a catalog load and a commit that grow with the number of tables in
the lake), not per table, so models are built in *waves*: one transaction for many models. A wave
starts with the models whose inputs are all committed and grows, in topological order, by models whose
pending inputs are all in the wave: the transaction sees its own writes, so a `table` or `view` model
can be built after its upstream in the same transaction. An incremental model (`append`, `merge`,
`delete+insert`) never joins a wave that changes one of its inputs: it reads the inputs' changes
between committed snapshots, and the snapshot its inputs are written in does not exist until the
commit. Adapters and destroys run alone, each in its own transaction; one wave runs at a time. With a
catalog that has one writer (SQLite), transactions take turns anyway, so a wave waits until nothing
else runs: it then takes every model that became ready meanwhile, in one commit instead of several.

When a wave fails, its transaction rolls back; the node that failed runs again alone and the others
go back to waiting, so a failing node publishes nothing and takes no other node down.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from featherbox.graph.dag import MODEL, node_of, topological_order
from featherbox.plan.planner import DESTROY, Action

if TYPE_CHECKING:
    import networkx as nx

#: the most models one wave commits: what a failing node makes the others build again
WAVE_LIMIT = 200


class Schedule:
    def __init__(self, actions: list[Action], graph: nx.DiGraph, serial: bool = False):
        self.actions = {a.node: a for a in actions}
        self.graph = graph
        self.waiting: dict[str, set[str]] = {a.node: set(a.upstream) for a in actions}  # node -> inputs not done
        self.completed: set[str] = set()
        self.alone: set[str] = set()  # models whose wave failed on them: they run in their own transaction
        self.wave_running = False
        planned = set(self.actions)
        self.serial = serial  # one transaction at a time (the catalog has one writer)
        self.running = 0  # transactions started and not finished
        self._order = [n for n in topological_order(graph) if n in planned] + sorted(planned - set(graph.nodes))

    def ready(self) -> list[Action]:
        """The actions whose inputs are all done, taken out of waiting."""
        nodes = sorted(n for n, inputs in self.waiting.items() if not inputs)
        for node in nodes:
            del self.waiting[node]
        return [self.actions[n] for n in nodes]

    def transactions(self, ready: list[Action]) -> list[list[Action]]:
        """`ready` (from `ready()`) grouped into transactions to start now; models that cannot join
        the wave that starts now go back to waiting."""
        groups = [[a] for a in ready if not self._in_waves(a)]
        models = [a for a in ready if self._in_waves(a)]
        if self.wave_running or (self.serial and self.running + len(groups) > 0):
            for action in models:
                self.waiting[action.node] = set()
            self.running += len(groups)
            return groups
        wave, members = models[:WAVE_LIMIT], {a.node for a in models[:WAVE_LIMIT]}
        for action in models[WAVE_LIMIT:]:
            self.waiting[action.node] = set()
        for node in self._order:
            if len(wave) >= WAVE_LIMIT:
                break
            inputs = self.waiting.get(node)
            if not inputs or not inputs <= members or not self._in_waves(self.actions[node]):
                continue
            if node_of(self.graph, node).spec.incremental:
                continue
            del self.waiting[node]
            wave.append(self.actions[node])
            members.add(node)
        if wave:
            self.wave_running = True
            groups.append(wave)
        self.running += len(groups)
        return groups

    def _in_waves(self, action: Action) -> bool:
        return action.kind == MODEL and action.action != DESTROY and action.node not in self.alone

    def finished(self, group: list[Action]) -> None:
        self.running -= 1
        if len(group) > 1 or (group and self._in_waves(group[0])):
            self.wave_running = False

    def complete(self, node: str) -> None:
        self.completed.add(node)
        for inputs in self.waiting.values():
            inputs.discard(node)

    def again(self, actions: list[Action], alone: str) -> None:
        """A wave rolled back because of `alone`: it runs in its own transaction, the others wait again."""
        self.alone.add(alone)
        for action in actions:
            self.waiting[action.node] = set(action.upstream) - self.completed

    def drop_downstream(self, node: str) -> list[str]:
        """Take every waiting node downstream of `node` (which did not complete) out; returns them."""
        from featherbox.graph.dag import downstream

        gone = sorted(n for n in (downstream(self.graph, node) if node in self.graph else ()) if n in self.waiting)
        for other in gone:
            del self.waiting[other]
        return gone
