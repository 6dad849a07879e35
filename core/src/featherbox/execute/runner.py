"""Run a plan: a ready queue over the DAG, DuckLake transactions of one node or of a wave of
independent models, a deadline for the run.

Each node's data change and the `_fbox.node_versions` row that records it commit in the same DuckLake
transaction, so a failed or killed run marks nothing as processed and leaves no partial table.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import traceback
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Callable

import duckdb

from featherbox.config.project import Project
from featherbox.errors import FeatherBoxError
from featherbox.execute.lake import LAKE, LakeObjects, quote_table, sql_string
from featherbox.extension import AdapterType, Detection, LoadContext
from featherbox.graph.dag import ADAPTER, MODEL
from featherbox.plan.planner import DESTROY, Action, Plan
from featherbox.secrets import redact
from featherbox.state.versions import NodeVersion, record_version

COMPLETED, FAILED, SKIPPED, TIMED_OUT = "completed", "failed", "skipped", "timed_out"
RETRIES = 5


@dataclass
class NodeOutcome:
    node: str
    status: str
    rows: int = 0
    seconds: float = 0.0
    message: str = ""
    error: str = ""
    sql: str = ""


@dataclass
class RunResult:
    run_id: str
    outcomes: dict[str, NodeOutcome] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(o.status == COMPLETED for o in self.outcomes.values())

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for outcome in self.outcomes.values():
            out[outcome.status] = out.get(outcome.status, 0) + 1
        return out


class EmptyResultError(FeatherBoxError):
    pass


#: the most nodes one wave transaction commits together
WAVE_LIMIT = 100
#: with a catalog that takes parallel writers, the ready models are shared out among the worker
#: threads only in waves of at least this many: every transaction pays a catalog load and a commit
WAVE_SHARE = 10


class Runner:
    """Runs a plan's actions as their inputs complete.

    Models that are ready at the same time cannot read one another, so they are built in one DuckLake
    transaction, a *wave*: DuckLake's cost is per commit, not per table. When any node of a wave
    fails, the wave rolls back and each of its nodes runs again in a transaction of its own, so a
    failing node still publishes nothing and takes no other node down. Adapters and destroys always
    run alone. With a catalog that allows one writer (SQLite) one wave runs at a time; otherwise many
    ready models are shared out among up to `threads` waves that commit side by side.
    """

    def __init__(
        self,
        project: Project,
        graph: nx.DiGraph,
        adapters: dict[str, AdapterType],
        con: duckdb.DuckDBPyConnection,
        run_id: str,
        threads: int = 4,
        timeout: float | None = None,
        on_event: Callable[[str, Action, NodeOutcome | None], None] = lambda *a: None,
        versions: dict[str, NodeVersion] | None = None,
        serial_transactions: bool = False,
        objects: LakeObjects = None,
    ):
        self.project, self.graph, self.adapters, self.con = project, graph, adapters, con
        self.run_id, self.threads, self.timeout, self.on_event = run_id, max(1, threads), timeout, on_event
        self.versions = dict(versions or {})
        self.objects = objects
        self.serial = serial_transactions
        self._running: dict[str, duckdb.DuckDBPyConnection] = {}
        self._lock = threading.Lock()
        self._timed_out = threading.Event()
        self._commit_lock = threading.Lock()
        # With a catalog that allows one writer (SQLite), overlapping node transactions can only
        # conflict at commit and redo their work; they take turns instead (each query still uses
        # every core).
        self._transaction_lock = threading.Lock() if serial_transactions else contextlib.nullcontext()

    def run(self, plan: Plan) -> RunResult:
        result = RunResult(self.run_id)
        actions = {a.node: a for a in plan.actions}
        waiting = {n: set(a.upstream) for n, a in actions.items()}
        futures: dict[Future, list[str]] = {}
        watchdog = self._start_watchdog()
        try:
            with ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="fbox") as pool:
                while waiting or futures:
                    ready = []
                    for node in sorted(n for n, deps in waiting.items() if not deps):
                        del waiting[node]
                        if self._timed_out.is_set():
                            result.outcomes[node] = NodeOutcome(node, SKIPPED, message="run timed out")
                            self.on_event("skipped", actions[node], result.outcomes[node])
                            self._finish(node, actions, waiting, result)
                            continue
                        self.on_event("started", actions[node], None)
                        ready.append(actions[node])
                    for batch in self._waves(ready):
                        futures[pool.submit(self._execute_wave, batch, plan.fingerprints)] = [a.node for a in batch]
                    if not futures:
                        if waiting:  # everything left waits on something that will never finish
                            for node in sorted(waiting):
                                result.outcomes[node] = NodeOutcome(node, SKIPPED, message="upstream did not run")
                            waiting.clear()
                        break
                    done, _ = wait(futures, return_when=FIRST_COMPLETED)
                    for future in done:
                        futures.pop(future)
                        for outcome in future.result():
                            result.outcomes[outcome.node] = outcome
                            self.on_event("finished", actions[outcome.node], outcome)
                            self._finish(outcome.node, actions, waiting, result)
        finally:
            if watchdog:
                watchdog.cancel()
        return result

    def _waves(self, ready: list[Action]) -> list[list[Action]]:
        """The ready actions grouped into transactions: adapters and destroys alone, models in waves."""
        alone = [[a] for a in ready if a.kind != MODEL or a.action == DESTROY]
        models = [a for a in ready if a.kind == MODEL and a.action != DESTROY]
        if not models:
            return alone
        count = 1 if self.serial else max(1, min(self.threads, len(models) // WAVE_SHARE))
        count = max(count, -(-len(models) // WAVE_LIMIT))
        return alone + [models[i::count] for i in range(count)]

    def _finish(self, node: str, actions: dict[str, Action], waiting: dict[str, set[str]], result: RunResult) -> None:
        outcome = result.outcomes[node]
        if outcome.status == COMPLETED:
            for other, deps in waiting.items():
                deps.discard(node)
            return
        from featherbox.graph.dag import downstream

        for other in sorted(downstream(self.graph, node) if node in self.graph else ()):
            if other in waiting:
                del waiting[other]
                skipped = NodeOutcome(other, SKIPPED, message=f"upstream {node} {outcome.status}")
                result.outcomes[other] = skipped
                self.on_event("skipped", actions[other], skipped)

    def _start_watchdog(self) -> threading.Timer | None:
        if not self.timeout:
            return None

        def expire():
            self._timed_out.set()
            with self._lock:
                for cursor in self._running.values():
                    cursor.interrupt()

        timer = threading.Timer(self.timeout, expire)
        timer.daemon = True
        timer.start()
        return timer

    def _execute_wave(self, wave: list[Action], fingerprints: dict[str, str]) -> list[NodeOutcome]:
        if len(wave) > 1:
            with self._transaction_lock:
                outcomes = None if self._timed_out.is_set() else self._attempt(wave, fingerprints)[0]
            if outcomes and outcomes[0].status == COMPLETED:
                return outcomes
            if outcomes:
                failed = outcomes[0]
                reason = (failed.error.splitlines() or [failed.status])[0]
                message = f"the wave of {len(wave)} models rolled back ({failed.node}: {reason}); each runs on its own"
                self.on_event("log", wave[0], NodeOutcome(wave[0].node, "log", message=message))
        return [self._execute(action, fingerprints) for action in wave]

    def _execute(self, action: Action, fingerprints: dict[str, str]) -> NodeOutcome:
        started = time.monotonic()
        for attempt in range(1, RETRIES + 1):
            with self._transaction_lock:
                if self._timed_out.is_set():
                    error = f"interrupted: the run exceeded deployments.timeout ({self.timeout:g}s)"
                    return NodeOutcome(action.node, TIMED_OUT, 0, time.monotonic() - started, error=error)
                (outcome,), conflict = self._attempt([action], fingerprints, started)
            if outcome.status != FAILED or not conflict or attempt == RETRIES:
                return outcome
            self.on_event("log", action, NodeOutcome(action.node, "log", message=f"retrying (attempt {attempt + 1}) after: {outcome.error}"))
            time.sleep(0.05 * attempt * attempt)  # the transaction rolled back: running it again is safe
        return outcome

    def _attempt(
        self, actions: list[Action], fingerprints: dict[str, str], started: float | None = None
    ) -> tuple[list[NodeOutcome], bool]:
        """`actions` in one transaction: every outcome completed, or (after a rollback) the failure
        of the node that failed first, then the others as rolled back; and whether the failure was a
        transaction conflict (DuckLake's commit lost to another writer, the catalog was busy), which
        running the same work again can cure."""
        cursor = self.con.cursor()
        key = actions[0].node
        with self._lock:
            self._running[key] = cursor
        done: list[tuple[Action, NodeVersion, int, str, str, float, dict[str, str | None]]] = []
        action, sql, node_started = actions[0], "", started or time.monotonic()
        try:
            cursor.execute("BEGIN TRANSACTION")  # before USE: the lake's catalog is then read once, by the transaction
            cursor.execute(f"USE {LAKE}")
            nodes = [a.node for a in actions]
            what = f"{action.action} {action.node}" if len(actions) == 1 else f"build {len(actions)} models"
            extra = json.dumps({"run_id": self.run_id, "nodes": nodes} if len(actions) > 1 else {"run_id": self.run_id, "node": action.node, "action": action.action})
            cursor.execute(
                f"CALL {LAKE}.set_commit_message('featherbox', {sql_string(f'{what} (run {self.run_id})')}, extra_info => {sql_string(extra)})"
            )
            for action in actions:
                node_started = started if len(actions) == 1 and started else time.monotonic()
                sql = self.graph.nodes[action.node]["spec"].sql if action.kind == MODEL and action.action != DESTROY else ""
                version, rows, message, changes = self._apply(cursor, action, fingerprints)
                record_version(cursor, version)
                done.append((action, version, rows, message, sql, time.monotonic() - node_started, changes))
            committing = time.monotonic()
            with self._commit_lock:
                cursor.execute("COMMIT")
            share = (time.monotonic() - committing) / len(done)  # the commit's cost, shared out
            with self._lock:
                for action, version, *_, changes in done:
                    self.versions[action.node] = version
                    for qualified, kind in changes.items():
                        self.objects.record(qualified, kind)
            return [
                NodeOutcome(a.node, COMPLETED, rows, seconds + share, message, sql=sql_text)
                for a, _, rows, message, sql_text, seconds, _ in done
            ], False
        except Exception as exc:
            _rollback(cursor)
            status = TIMED_OUT if self._timed_out.is_set() and _is_interrupt(exc) else FAILED
            error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, FeatherBoxError) else str(exc)
            if status == TIMED_OUT:
                error = f"interrupted: the run exceeded deployments.timeout ({self.timeout:g}s)"
            elif not isinstance(exc, (FeatherBoxError, duckdb.Error)):
                error += "\n" + traceback.format_exc()
            failed = NodeOutcome(action.node, status, 0, time.monotonic() - node_started, error=redact(error), sql=sql)
            others = [
                NodeOutcome(a.node, status, error=f"rolled back with {action.node}") for a in actions if a is not action
            ]
            return [failed, *others], isinstance(exc, duckdb.TransactionException)
        finally:
            with self._lock:
                self._running.pop(key, None)
            cursor.close()

    def _apply(self, cursor, action: Action, fingerprints) -> tuple[NodeVersion, int, str, dict[str, str | None]]:
        """Do one action inside the open transaction: its version, rows, message, and the lake
        objects it created ("table" / "view") or dropped (None)."""
        if action.action == DESTROY:
            for table in action.tables:
                _drop(cursor, table, self.objects)
            version = NodeVersion(action.node, action.kind, "", "", run_id=self.run_id, tables=action.tables, dropped=True)
            return version, 0, "dropped", dict.fromkeys(action.tables)
        if action.kind == ADAPTER:
            return self._load_adapter(cursor, action, fingerprints)
        return self._build_model(cursor, action, fingerprints)

    def _new_version(self, action: Action, fingerprints, **kwargs) -> NodeVersion:
        return NodeVersion(
            node=action.node, kind=action.kind, fingerprint=fingerprints.get(action.node, action.fingerprint),
            data_version=uuid.uuid4().hex, run_id=self.run_id, **kwargs,
        )

    def _load_adapter(self, cursor, action: Action, fingerprints):
        adapter = self.adapters[action.node]
        previous = self.versions.get(action.node)
        from featherbox.execute.extensions import load_extensions

        load_extensions(cursor, adapter.duckdb_extensions())
        ctx = LoadContext(
            con=cursor, previous=None if action.full_refresh or previous is None else previous.state,
            detection=action.detection or Detection(True), full_refresh=action.full_refresh,
            run_id=self.run_id, log=lambda message: self.on_event("log", action, NodeOutcome(action.node, "log", message=message)),
            lake_objects=self.objects,
        )
        result = adapter.load(ctx)
        tables = sorted(result.rows)
        changes: dict[str, str | None] = dict.fromkeys(tables, "table")
        if previous:
            for stale in sorted(set(previous.tables) - set(tables)):
                _drop(cursor, stale, self.objects)
                changes[stale] = None
        for table in tables if not result.incremental else ():
            self._guard_empty(action, table, result.rows[table], previous, allowed=False)
        version = self._new_version(action, fingerprints, state=result.state, tables=tables, row_counts=result.rows)
        return version, sum(result.rows.values()), result.message, changes

    def _build_model(self, cursor, action: Action, fingerprints):
        from featherbox.execute.materialize import VIEW, build_model, materialization

        attrs = self.graph.nodes[action.node]
        spec = attrs["spec"]
        built = build_model(
            cursor, spec, attrs.get("resolved", {}), self.versions.get(action.node), action.full_refresh,
            guard=lambda table, rows, previous, allowed: self._guard_empty(action, table, rows, previous, allowed),
            objects=self.objects,
        )
        with self._lock:
            inputs = {u: self.versions[u].data_version for u in self.graph.predecessors(action.node) if u in self.versions}
        version = self._new_version(
            action, fingerprints, inputs=inputs, state=built.state, tables=[spec.qualified],
            row_counts={spec.qualified: built.rows},
        )
        kind = "view" if materialization(spec) == VIEW else "table"
        return version, built.rows, built.message, {spec.qualified: kind}

    def _guard_empty(self, action: Action, table: str, rows: int, previous: NodeVersion | None, allowed: bool) -> None:
        before = previous.row_counts.get(table, 0) if previous else 0
        if rows == 0 and before > 0 and not allowed:
            where = "set `allow_empty: true` in the model" if action.kind == "model" else "check the source"
            raise EmptyResultError(
                f"{action.node}: the new result of {table} has 0 rows and would replace {before} rows; "
                f"refusing (to accept empty results, {where})"
            )


def _drop(cursor, qualified: str, objects: LakeObjects) -> None:
    kind = objects.kind(qualified)
    if kind is not None:
        cursor.execute(f"DROP {kind.upper()} {quote_table(qualified)}")


def _rollback(cursor) -> None:
    try:
        cursor.execute("ROLLBACK")
    except Exception:
        pass


def _is_interrupt(exc: Exception) -> bool:
    return isinstance(exc, duckdb.InterruptException) or "interrupt" in str(exc).lower()
