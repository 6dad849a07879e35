"""Run a plan: a ready queue over the DAG, one DuckLake transaction per node, a deadline for the run.

Each node's data change and the `_fbox.node_versions` row that records it commit in one DuckLake
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
from featherbox.execute.lake import LAKE, is_table, quote_table, table_exists
from featherbox.extension import AdapterType, Detection, LoadContext
from featherbox.plan.planner import DESTROY, Action, Plan
from featherbox.secrets import redact
from featherbox.state.versions import NodeVersion, record_version

COMPLETED, FAILED, SKIPPED, TIMED_OUT = "completed", "failed", "skipped", "timed_out"
RETRIES = 5
TRANSIENT = ("database is locked", "Transaction conflict", "maximum retry count")


def _transient(error: str) -> bool:
    return any(marker in error for marker in TRANSIENT)


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


class Runner:
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
    ):
        self.project, self.graph, self.adapters, self.con = project, graph, adapters, con
        self.run_id, self.threads, self.timeout, self.on_event = run_id, max(1, threads), timeout, on_event
        self.versions = dict(versions or {})
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
        futures: dict[Future, str] = {}
        watchdog = self._start_watchdog()
        try:
            with ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="fbox") as pool:
                while waiting or futures:
                    for node in sorted(n for n, deps in waiting.items() if not deps):
                        del waiting[node]
                        if self._timed_out.is_set():
                            result.outcomes[node] = NodeOutcome(node, SKIPPED, message="run timed out")
                            self.on_event("skipped", actions[node], result.outcomes[node])
                            self._finish(node, actions, waiting, result)
                            continue
                        self.on_event("started", actions[node], None)
                        futures[pool.submit(self._execute, actions[node], plan.fingerprints)] = node
                    if not futures:
                        if waiting:  # everything left waits on something that will never finish
                            for node in sorted(waiting):
                                result.outcomes[node] = NodeOutcome(node, SKIPPED, message="upstream did not run")
                            waiting.clear()
                        break
                    done, _ = wait(futures, return_when=FIRST_COMPLETED)
                    for future in done:
                        node = futures.pop(future)
                        outcome = future.result()
                        result.outcomes[node] = outcome
                        self.on_event("finished", actions[node], outcome)
                        self._finish(node, actions, waiting, result)
        finally:
            if watchdog:
                watchdog.cancel()
        return result

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

    def _execute(self, action: Action, fingerprints: dict[str, str]) -> NodeOutcome:
        started = time.monotonic()
        for attempt in range(1, RETRIES + 1):
            with self._transaction_lock:
                if self._timed_out.is_set():
                    error = f"interrupted: the run exceeded deployments.timeout ({self.timeout:g}s)"
                    return NodeOutcome(action.node, TIMED_OUT, 0, time.monotonic() - started, error=error)
                outcome = self._attempt(action, fingerprints, started)
            if outcome.status != FAILED or not _transient(outcome.error) or attempt == RETRIES:
                return outcome
            self.on_event("log", action, NodeOutcome(action.node, "log", message=f"retrying (attempt {attempt + 1}) after: {outcome.error}"))
            time.sleep(0.05 * attempt * attempt)  # the transaction rolled back: running it again is safe
        return outcome

    def _attempt(self, action: Action, fingerprints: dict[str, str], started: float) -> NodeOutcome:
        cursor = self.con.cursor()
        with self._lock:
            self._running[action.node] = cursor
        sql = ""
        try:
            cursor.execute("BEGIN TRANSACTION")  # before USE: the lake's catalog is then read once, by the transaction
            cursor.execute(f"USE {LAKE}")
            extra = json.dumps({"run_id": self.run_id, "node": action.node, "action": action.action})
            cursor.execute(
                f"CALL {LAKE}.set_commit_message('featherbox', ?, extra_info => ?)",
                [f"{action.action} {action.node} (run {self.run_id})", extra],
            )
            if action.action == DESTROY:
                version, rows, message = self._destroy(cursor, action), 0, "dropped"
            elif action.kind == "adapter":
                version, rows, message = self._load_adapter(cursor, action, fingerprints)
            else:
                sql = self.graph.nodes[action.node]["spec"].sql
                version, rows, message = self._build_model(cursor, action, fingerprints)
            record_version(cursor, version)
            with self._commit_lock:
                cursor.execute("COMMIT")
            with self._lock:
                self.versions[action.node] = version
            return NodeOutcome(action.node, COMPLETED, rows, time.monotonic() - started, message, sql=sql)
        except Exception as exc:
            _rollback(cursor)
            status = TIMED_OUT if self._timed_out.is_set() and _is_interrupt(exc) else FAILED
            error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, FeatherBoxError) else str(exc)
            if status == TIMED_OUT:
                error = f"interrupted: the run exceeded deployments.timeout ({self.timeout:g}s)"
            elif not isinstance(exc, (FeatherBoxError, duckdb.Error)):
                error += "\n" + traceback.format_exc()
            return NodeOutcome(action.node, status, 0, time.monotonic() - started, error=redact(error), sql=sql)
        finally:
            with self._lock:
                self._running.pop(action.node, None)
            cursor.close()

    def _new_version(self, action: Action, fingerprints, **kwargs) -> NodeVersion:
        return NodeVersion(
            node=action.node, kind=action.kind, fingerprint=fingerprints.get(action.node, action.fingerprint),
            data_version=uuid.uuid4().hex, run_id=self.run_id, **kwargs,
        )

    def _destroy(self, cursor, action: Action) -> NodeVersion:
        for table in action.tables:
            _drop(cursor, table)
        return NodeVersion(action.node, action.kind, "", "", run_id=self.run_id, tables=action.tables, dropped=True)

    def _load_adapter(self, cursor, action: Action, fingerprints):
        adapter = self.adapters[action.node]
        previous = self.versions.get(action.node)
        from featherbox.execute.extensions import load_extensions

        load_extensions(cursor, adapter.duckdb_extensions())
        ctx = LoadContext(
            con=cursor, previous=None if action.full_refresh or previous is None else previous.state,
            detection=action.detection or Detection(True), full_refresh=action.full_refresh,
            run_id=self.run_id, log=lambda message: self.on_event("log", action, NodeOutcome(action.node, "log", message=message)),
        )
        result = adapter.load(ctx)
        tables = sorted(result.rows)
        if previous:
            for stale in sorted(set(previous.tables) - set(tables)):
                _drop(cursor, stale)
        for table in tables if not result.incremental else ():
            self._guard_empty(action, table, result.rows[table], previous, allowed=False)
        version = self._new_version(action, fingerprints, state=result.state, tables=tables, row_counts=result.rows)
        return version, sum(result.rows.values()), result.message

    def _build_model(self, cursor, action: Action, fingerprints):
        from featherbox.execute.materialize import build_model

        attrs = self.graph.nodes[action.node]
        spec = attrs["spec"]
        built = build_model(
            cursor, spec, attrs.get("resolved", {}), self.versions.get(action.node), action.full_refresh,
            guard=lambda table, rows, previous, allowed: self._guard_empty(action, table, rows, previous, allowed),
        )
        with self._lock:
            inputs = {u: self.versions[u].data_version for u in self.graph.predecessors(action.node) if u in self.versions}
        version = self._new_version(
            action, fingerprints, inputs=inputs, state=built.state, tables=[spec.qualified],
            row_counts={spec.qualified: built.rows},
        )
        return version, built.rows, built.message

    def _guard_empty(self, action: Action, table: str, rows: int, previous: NodeVersion | None, allowed: bool) -> None:
        before = previous.row_counts.get(table, 0) if previous else 0
        if rows == 0 and before > 0 and not allowed:
            where = "set `allow_empty: true` in the model" if action.kind == "model" else "check the source"
            raise EmptyResultError(
                f"{action.node}: the new result of {table} has 0 rows and would replace {before} rows; "
                f"refusing (to accept empty results, {where})"
            )


def _drop(cursor, qualified: str) -> None:
    if not table_exists(cursor, qualified):
        return
    kind = "TABLE" if is_table(cursor, qualified) else "VIEW"
    cursor.execute(f"DROP {kind} {quote_table(qualified)}")


def _rollback(cursor) -> None:
    try:
        cursor.execute("ROLLBACK")
    except Exception:
        pass


def _is_interrupt(exc: Exception) -> bool:
    return isinstance(exc, duckdb.InterruptException) or "interrupt" in str(exc).lower()
