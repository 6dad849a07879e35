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
from pathlib import Path
from typing import Callable

import duckdb

from featherbox.errors import FeatherBoxError
from featherbox.sql import LAKE, quote_table, sql_string
from featherbox.state.objects import LakeObjects
from featherbox.extension import AdapterType, DeadlineExceeded, Detection, LoadContext
from featherbox.execute.schedule import Schedule
from featherbox.execute.incremental_build import ChangeFeeds
from featherbox.graph.dag import ADAPTER, MODEL, node_of
from featherbox.plan.planner import DESTROY, Action, Plan
from featherbox.secrets import redact
from featherbox.state.versions import NodeVersion, record_versions

COMPLETED, FAILED, SKIPPED, TIMED_OUT = "completed", "failed", "skipped", "timed_out"
AGAIN = "again"  # not an end: the node's wave rolled back and it runs again (Runner._execute_group)
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


class CommitFailed(FeatherBoxError):
    """An adapter's COMMIT failed (`cause`: DuckDB's error); the message names the adapter."""

    def __init__(self, message: str, cause: Exception):
        super().__init__(message)
        self.cause = cause


@dataclass
class Attempt:
    """One transaction's outcomes (in the order of its actions); on failure the node that failed and
    whether it was a transaction conflict (DuckLake's commit lost to another writer, the catalog was
    busy), which running the same work again can cure."""

    outcomes: list[NodeOutcome]
    failed: NodeOutcome | None = None
    conflict: bool = False


@dataclass
class RunLake:
    """The lake a run works on: its connection, what it holds (read once, kept current), the nodes'
    current versions, and whether its catalog takes one writer at a time (SQLite)."""

    con: duckdb.DuckDBPyConnection
    objects: LakeObjects
    versions: dict[str, NodeVersion] = field(default_factory=dict)
    serial: bool = False


class Runner:
    """Runs a plan's actions as their inputs complete, in the transactions `Schedule` groups them into:
    adapters and destroys alone, models in waves (see `featherbox.execute.schedule`). With a catalog
    that allows one writer (SQLite) the transactions take turns; adapters load side by side with them.
    """

    def __init__(
        self,
        graph: nx.DiGraph,
        adapters: dict[str, AdapterType],
        lake: RunLake,
        run_id: str,
        threads: int = 4,
        timeout: float | None = None,
        on_event: Callable[[str, Action, NodeOutcome | None], None] = lambda *a: None,
    ):
        self.graph, self.adapters, self.con = graph, adapters, lake.con
        self.run_id, self.threads, self.timeout, self.on_event = run_id, max(1, threads), timeout, on_event
        self.versions = dict(lake.versions)
        self.objects = lake.objects
        serial_transactions = lake.serial
        self._running: dict[str, duckdb.DuckDBPyConnection] = {}
        self._lock = threading.Lock()
        self._timed_out = threading.Event()
        self._deadline = time.monotonic() + timeout if timeout else None
        self._commit_lock = threading.Lock()
        # With a catalog that allows one writer (SQLite), overlapping node transactions can only
        # conflict at commit and redo their work; they take turns instead (each query still uses
        # every core).
        self._transaction_lock = threading.Lock() if serial_transactions else contextlib.nullcontext()
        self.serial = serial_transactions

    def run(self, plan: Plan) -> RunResult:
        result = RunResult(self.run_id)
        schedule = Schedule(plan.actions, self.graph, self.serial)
        futures: dict[Future, list[Action]] = {}
        watchdog = self._start_watchdog()
        try:
            with ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="fbox") as pool:
                while schedule.waiting or futures:
                    ready = schedule.ready()
                    if self._timed_out.is_set():
                        for action in ready:
                            self._end(schedule, result, action, NodeOutcome(action.node, SKIPPED, message="run timed out"))
                        ready = []
                    for group in schedule.transactions(ready):
                        for action in group:
                            self.on_event("started", action, None)
                        futures[pool.submit(self._execute_group, group, plan.fingerprints)] = group
                    if not futures:
                        for node in sorted(schedule.waiting):  # waits on something that will never finish
                            result.outcomes[node] = NodeOutcome(node, SKIPPED, message="upstream did not run")
                        break
                    done, _ = wait(futures, return_when=FIRST_COMPLETED)
                    for future in done:
                        group = futures.pop(future)
                        schedule.finished(group)
                        outcomes = future.result()
                        if outcomes[0].status == AGAIN:
                            schedule.again(group, alone=outcomes[0].node)
                            continue
                        for action, outcome in zip(group, outcomes):
                            self._end(schedule, result, action, outcome)
        finally:
            if watchdog:
                watchdog.cancel()
        return result

    def _end(self, schedule: Schedule, result: RunResult, action: Action, outcome: NodeOutcome) -> None:
        result.outcomes[action.node] = outcome
        self.on_event("skipped" if outcome.status == SKIPPED else "finished", action, outcome)
        if outcome.status == COMPLETED:
            schedule.complete(action.node)
            return
        for other in schedule.drop_downstream(action.node):
            skipped = NodeOutcome(other, SKIPPED, message=f"upstream {action.node} {outcome.status}")
            result.outcomes[other] = skipped
            self.on_event("skipped", schedule.actions[other], skipped)

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

    def _execute_group(self, group: list[Action], fingerprints: dict[str, str]) -> list[NodeOutcome]:
        """The outcomes of `group`, in order; a wave that failed on a node: [that node's outcome with
        status AGAIN] (it is to run alone, the others to wait again)."""
        if len(group) == 1:
            return [self._execute(group[0], fingerprints)]
        with self._transaction_lock:
            if self._timed_out.is_set():
                return [self._timed_out_outcome(a.node, 0.0) for a in group]
            attempt = self._attempt(group, fingerprints)
        failed = attempt.failed
        if failed is None:  # committed, or timed out (then every outcome says so)
            return attempt.outcomes
        reason = (failed.error.splitlines() or [failed.status])[0]
        message = (
            f"the wave of {len(group)} models rolled back at {failed.node} ({reason}); "
            f"{failed.node} runs again on its own, the others in a new wave"
        )
        self.on_event("log", group[0], NodeOutcome(group[0].node, "log", message=message))
        return [NodeOutcome(failed.node, AGAIN)]

    def _execute(self, action: Action, fingerprints: dict[str, str]) -> NodeOutcome:
        started = time.monotonic()
        if action.error:  # the planner could not tell what it has to do (detect failed)
            return NodeOutcome(action.node, FAILED, error=action.error)
        for attempt in range(1, RETRIES + 1):
            with self._transaction_lock:
                if self._timed_out.is_set():
                    return self._timed_out_outcome(action.node, time.monotonic() - started)
                tried = self._attempt([action], fingerprints, started)
            (outcome,) = tried.outcomes
            if outcome.status != FAILED or not tried.conflict or attempt == RETRIES:
                return outcome
            self.on_event("log", action, NodeOutcome(action.node, "log", message=f"retrying (attempt {attempt + 1}) after: {outcome.error}"))
            time.sleep(0.05 * attempt * attempt)  # the transaction rolled back: running it again is safe
        return outcome

    def _attempt(self, actions: list[Action], fingerprints: dict[str, str], started: float | None = None) -> Attempt:
        """`actions`, in order, in one transaction."""
        cursor = self.con.cursor()
        key = actions[0].node
        with self._lock:
            self._running[key] = cursor
        built: dict[str, NodeVersion] = {}  # versions written in this transaction, for the inputs of later nodes
        outcomes: list[NodeOutcome] = []
        changes: dict[str, str | None] = {}
        action, sql, node_started = actions[0], "", started or time.monotonic()
        feeds = ChangeFeeds(cursor)  # upstream changes the wave's incremental models read once
        try:
            cursor.execute("BEGIN TRANSACTION")  # before USE: the lake's catalog is then read once, by the transaction
            cursor.execute(f"USE {LAKE}")
            if len(actions) == 1:
                what, extra = f"{action.action} {action.node}", {"node": action.node, "action": action.action}
            else:
                what, extra = f"build {len(actions)} models", {"nodes": [a.node for a in actions]}
            extra = json.dumps({"run_id": self.run_id, **extra})
            cursor.execute(
                f"CALL {LAKE}.set_commit_message('featherbox', {sql_string(f'{what} (run {self.run_id})')}, extra_info => {sql_string(extra)})"
            )
            for action in actions:
                node_started = started if len(actions) == 1 and started else time.monotonic()
                sql = node_of(self.graph, action.node).spec.sql if action.kind == MODEL and action.action != DESTROY else ""
                version, rows, message, made = self._apply(cursor, action, fingerprints, built, feeds)
                built[action.node] = version
                changes.update(made)
                outcomes.append(NodeOutcome(action.node, COMPLETED, rows, time.monotonic() - node_started, message, sql=sql))
            feeds.cleanup()
            record_versions(cursor, list(built.values()))  # with the data, in the same transaction
            if self._past_deadline():  # a load busy in Python, which DuckDB's interrupt does not reach
                self._timed_out.set()
                raise DeadlineExceeded("the run's deadline passed before the commit")
            committing = time.monotonic()
            try:
                with self._commit_lock:
                    cursor.execute("COMMIT")
            except duckdb.Error as exc:
                named = self._commit_failed(action, exc)
                if named is None:
                    raise
                raise named from exc
            share = (time.monotonic() - committing) / len(outcomes)  # the commit's cost, shared out
            with self._lock:
                self.versions.update(built)
                for qualified, kind in changes.items():
                    self.objects.record(qualified, kind)
            for outcome in outcomes:
                outcome.seconds += share
            return Attempt(outcomes)
        except Exception as exc:
            _rollback(cursor)
            cause = exc.cause if isinstance(exc, CommitFailed) else exc
            if isinstance(exc, DeadlineExceeded) or (self._timed_out.is_set() and _is_interrupt(cause)):
                self._timed_out.set()
                return Attempt([self._timed_out_outcome(a.node, time.monotonic() - node_started) for a in actions])
            error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, FeatherBoxError) else str(exc)
            if not isinstance(exc, (FeatherBoxError, duckdb.Error)):
                error += "\n" + traceback.format_exc()
            failed = NodeOutcome(action.node, FAILED, 0, time.monotonic() - node_started, error=redact(error), sql=sql)
            outcomes = [
                failed if a is action else NodeOutcome(a.node, FAILED, error=f"rolled back with {action.node}") for a in actions
            ]
            return Attempt(outcomes, failed, isinstance(cause, duckdb.TransactionException))
        finally:
            with self._lock:
                self._running.pop(key, None)
            cursor.close()

    def _commit_failed(self, action: Action, exc: duckdb.Error) -> CommitFailed | None:
        """A failed COMMIT of an adapter's load, as an error the adapter words (naming itself and, for a
        database, its host: the commit also ends the read transaction of the source the load
        attached, so a source that went away after the load fails it). None for other commits."""
        if action.kind != ADAPTER or action.action == DESTROY or action.node not in self.adapters:
            return None
        adapter = self.adapters[action.node]
        try:
            message = adapter.describe_failure("the commit of its load", exc)
        except Exception:  # a plugin's wording must not hide the failure itself
            message = f"adapter {action.node} ({adapter.spec.file}): the commit of its load failed: {type(exc).__name__}: {exc}"
        return CommitFailed(message, exc)

    def _past_deadline(self) -> bool:
        return self._timed_out.is_set() or (self._deadline is not None and time.monotonic() >= self._deadline)

    def _timed_out_outcome(self, node: str, seconds: float) -> NodeOutcome:
        error = f"interrupted: the run exceeded deployments.timeout ({self.timeout:g}s)"
        return NodeOutcome(node, TIMED_OUT, 0, seconds, error=error)

    def _apply(
        self, cursor, action: Action, fingerprints, built: dict[str, NodeVersion], feeds: ChangeFeeds,
    ) -> tuple[NodeVersion, int, str, dict[str, str | None]]:
        """Do one action inside the open transaction: its version, rows, message, and the lake
        objects it created ("table" / "view") or dropped (None). `built`: the versions written
        earlier in the same transaction; `feeds`: the upstream changes read in it."""
        if action.action == DESTROY:
            for table in action.tables:
                _drop(cursor, table, self.objects)
            version = NodeVersion(action.node, action.kind, "", "", run_id=self.run_id, tables=action.tables, dropped=True)
            return version, 0, "dropped", dict.fromkeys(action.tables)
        if action.kind == ADAPTER:
            return self._load_adapter(cursor, action, fingerprints)
        return self._build_model(cursor, action, fingerprints, built, feeds)

    def _new_version(self, action: Action, fingerprints, **kwargs) -> NodeVersion:
        return NodeVersion(
            node=action.node, kind=action.kind, fingerprint=fingerprints.get(action.node, action.fingerprint),
            data_version=uuid.uuid4().hex, run_id=self.run_id, **kwargs,
        )

    def _load_adapter(self, cursor, action: Action, fingerprints):
        adapter = self.adapters[action.node]
        previous = self.versions.get(action.node)
        from featherbox.duckdb_extensions import load_extensions

        load_extensions(cursor, adapter.duckdb_extensions())
        ctx = LoadContext(
            con=cursor, previous=None if action.full_refresh or previous is None else previous.state,
            detection=action.detection or Detection(True), full_refresh=action.full_refresh,
            run_id=self.run_id, log=lambda message: self.on_event("log", action, NodeOutcome(action.node, "log", message=message)),
            lake_objects=self.objects, deadline=self._deadline,
            scratch=adapter.project.root / SCRATCH_DIR / self.run_id / action.node,
        )
        try:
            result = adapter.load(ctx)
        finally:
            _remove_scratch(ctx.scratch)
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

    def _build_model(self, cursor, action: Action, fingerprints, fresh: dict[str, NodeVersion], feeds: ChangeFeeds):
        from featherbox.config.project import VIEW
        from featherbox.execute.materialize import build_model

        data = node_of(self.graph, action.node)
        spec = data.spec
        built = build_model(
            cursor, spec, data.resolved, self.versions.get(action.node), action.full_refresh,
            guard=lambda table, rows, previous, allowed: self._guard_empty(action, table, rows, previous, allowed),
            objects=self.objects, feeds=feeds,
        )
        feeds.forget(spec.qualified)  # a later model of the wave reads what this one wrote
        with self._lock:
            current = {**self.versions, **fresh}
        inputs = {u: current[u].data_version for u in self.graph.predecessors(action.node) if u in current}
        version = self._new_version(
            action, fingerprints, inputs=inputs, state=built.state, tables=[spec.qualified],
            row_counts={spec.qualified: built.rows},
        )
        kind = "view" if spec.materialized == VIEW else "table"
        return version, built.rows, built.message, {spec.qualified: kind}

    def _guard_empty(self, action: Action, table: str, rows: int, previous: NodeVersion | None, allowed: bool) -> None:
        before = previous.row_counts.get(table, 0) if previous else 0
        if rows == 0 and before > 0 and not allowed:
            where = "set `allow_empty: true` in the model" if action.kind == "model" else "check the source"
            raise EmptyResultError(
                f"{action.node}: the new result of {table} has 0 rows and would replace {before} rows; "
                f"refusing (to accept empty results, {where})"
            )


#: the project-relative folder of loads' scratch folders (`LoadContext.scratch_dir()`)
SCRATCH_DIR = Path(".fbox") / "tmp"


def _remove_scratch(folder: Path) -> None:
    """Remove a load's scratch folder, and the run's and `.fbox/tmp` when nothing else is in them."""
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
    for parent in (folder.parent, folder.parent.parent):
        try:
            parent.rmdir()
        except OSError:  # not empty (another load of the run), or not there
            break


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
