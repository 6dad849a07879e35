"""A project opened for work: config, plugins, graph, lake and history, each made when first needed."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable

from featherbox.config.loader import find_project_root, load_project
from featherbox.config.project import Project
from featherbox.errors import FeatherBoxError
from featherbox.registry import Registry, default_registry
from featherbox.run_record import EmptyHistoryDatabase, new_run_id, record_event, record_plan


class RunLockedError(FeatherBoxError):
    pass


#: where `fbox run` keeps the parse results of the project's SQL (graph.sql_refs.SqlParser)
QUERY_CACHE = Path(".fbox") / "cache" / "queries.json"


@dataclass(frozen=True)
class RunOptions:
    """What `fbox run` was asked to do."""

    selectors: tuple[str, ...] = ()  # NAME, +NAME, NAME+ (featherbox.graph.select); none: every node
    full_refresh: bool | frozenset[str] = False  # True: every selected node; a set: those nodes
    threads: int = 4  # nodes running at once
    wait: float = 0  # seconds to wait for another run's lock
    command: str = "run"  # as recorded in the run history


class Workspace:
    def __init__(self, root: Path | None = None, registry: Registry | None = None):
        self.root = find_project_root(Path(root or Path.cwd()).resolve())
        self.registry = registry or default_registry()

    @cached_property
    def parser(self):
        from featherbox.graph.sql_refs import SqlParser

        parser = SqlParser()
        parser.load(self.root / QUERY_CACHE)
        return parser

    def save_parser_cache(self) -> None:
        """Keep the parse results of the project's SQL for the next command, when any is new."""
        if self.parser.added:
            try:
                self.parser.save(self.root / QUERY_CACHE, (spec.sql for spec in self.project.models.values()))
            except OSError:  # a cache: a read-only project folder only costs the next run a parse
                pass

    @cached_property
    def project(self) -> Project:
        return load_project(self.root, self.registry)

    @cached_property
    def backends(self):
        from featherbox.backends import Backends

        return Backends.of(self.project, self.registry)

    @cached_property
    def graph(self):
        from featherbox.errors import ConfigIssue, ConfigError
        from featherbox.extension import NotImplementedSource, SourceUnreachable
        from featherbox.graph.dag import build_graph

        tables, issues, unreachable = {}, [], {}
        for name, adapter in self.backends.adapters.items():
            try:
                tables[name] = adapter.output_tables()
            except SourceUnreachable as exc:
                unreachable[name] = exc
            except (FeatherBoxError, NotImplementedSource) as exc:
                issues.append(ConfigIssue(adapter.spec.file, "", str(exc)))
        if unreachable:
            # the tables the adapter's last load wrote stand in: the graph is built, and the adapter
            # fails on its own when it is checked or loaded (its downstream is skipped)
            recorded, why = self._recorded_tables()
            for name, exc in unreachable.items():
                if recorded.get(name):
                    tables[name] = recorded[name]
                    continue
                missing = why or "it never loaded, so no earlier load's tables can stand in"
                issues.append(ConfigIssue(
                    self.backends.adapters[name].spec.file, "",
                    f"{str(exc).strip()}\n    Its tables are not listed (`tables:`), so they are only known from the source, "
                    f"and {missing}; list them under `tables:`, or run when the source can be reached",
                ))
        if issues:
            raise ConfigError(issues)
        return build_graph(tables, self.project.models, self.parser)

    #: each node's current version, once `plan` has read them (the graph's fallback uses them)
    _known_versions = None

    def _recorded_tables(self) -> tuple[dict[str, list[str]], str]:
        """node -> the tables its current version (its last successful build) wrote, read from the
        lake (read-only, creating nothing); and why there are none when the lake could not be read."""
        from featherbox.execute.lake import open_lake
        from featherbox.state.objects import LakeObjects
        from featherbox.state.versions import current_versions

        versions = self._known_versions
        if versions is None:
            try:
                if self.backends.database.catalog_exists() is False:
                    return {}, ""
                con = open_lake(self.project, self.backends, read_only=True)
                try:
                    versions = current_versions(con, LakeObjects.read(con, self.backends.database))
                finally:
                    con.close()
            except FeatherBoxError as exc:
                return {}, f"the tables its last load wrote could not be read from the lake ({exc})"
        return {node: list(version.tables) for node, version in versions.items()}, ""

    def open_lake(self, for_writing: bool = True, read_only: bool | None = None):
        """The lake; `for_writing` also creates FeatherBox's state tables on a new project.

        Without `for_writing` nothing is created: a project that never ran gets an empty stand-in
        lake (`lake_missing` is then True), and the lake is attached READ_ONLY unless `read_only`
        is False (`fbox query`, whose SQL may write)."""
        from featherbox.execute.lake import open_lake
        from featherbox.state.objects import LakeObjects
        from featherbox.state.versions import ensure_state_tables

        self.lake_missing = not for_writing and self.backends.database.catalog_exists() is False
        read_only = not for_writing if read_only is None else read_only
        con = open_lake(self.project, self.backends, read_only=read_only, missing=self.lake_missing)
        if for_writing:
            ensure_state_tables(con, LakeObjects.read(con, self.backends.database))
        return con

    def history(self, lake=None):
        """The run history; for a project that never ran (no catalog yet) an empty one in memory,
        so reading it creates nothing (a run creates the catalog before it writes history)."""
        from featherbox.state.history import History

        backend = self.backends.database
        if lake is None and backend.catalog_exists() is False:
            backend = EmptyHistoryDatabase()
        try:
            history = History(backend, lake)
            history.migrate()
        except FeatherBoxError:
            raise
        except Exception as exc:  # a file that is not a database, a server that refuses, ...
            raise FeatherBoxError(
                f"cannot open the run history in {backend.describe()} (project.yml database): {type(exc).__name__}: {exc}"
            ) from None
        return history

    def node_report(self):
        """What `status` and `graph` show: the pending plan, each node's current version, and each
        node's last recorded action as (status, finished_at, error)."""
        con = self.open_lake(for_writing=False)
        try:
            plan, versions = self.plan(con)
        finally:
            con.close()
        history = self.history()
        try:
            rows = history.execute(
                "SELECT a.node, a.status, a.finished_at, a.error FROM fbox_actions a "
                "JOIN fbox_deployments d ON d.id = a.deployment_id ORDER BY d.started_at"
            )
        finally:
            history.close()
        return plan, versions, {node: (status, finished, error) for node, status, finished, error in rows}

    def selection(self, selectors: list[str]) -> set[str] | None:
        from featherbox.graph.select import select_nodes

        return select_nodes(self.graph, selectors) if selectors else None

    def plan(
        self, con, selectors: list[str] = (), full_refresh: bool | set[str] = False, objects=None, moved=None, versions=None,
    ):
        """(plan, current versions); `objects`: the lake's `LakeObjects`, read here when not given;
        `moved`: the layout moves this run made (None: list the moves a run would make); `versions`:
        the nodes' current versions, when the caller has just read them."""
        from featherbox.state.objects import LakeObjects
        from featherbox.plan.planner import make_plan
        from featherbox.state.versions import current_versions

        if versions is None:
            versions = current_versions(con, objects if objects is not None else LakeObjects.read(con, self.backends.database))
        self._known_versions = versions
        plan = make_plan(self.graph, self.backends.adapters, versions, con, self.selection(list(selectors)), full_refresh)
        if moved is None:
            moved = self._layout_moves(versions)
        plan.moves = [(m.old, m.new) for m in moved]
        return plan, versions

    def _layout_moves(self, versions):
        """Adapter tables the lake still keeps under their layout-1 names (featherbox.state.layout)."""
        from featherbox.graph.dag import ADAPTER, nodes_of
        from featherbox.state.layout import pending_moves

        if "graph" in self.__dict__:
            tables = {node.name: node.tables for node in nodes_of(self.graph) if node.kind == ADAPTER}
        else:  # `fbox migrate` needs no models: their SQL may still name the old tables
            tables = {name: adapter.output_tables() for name, adapter in self.backends.adapters.items() if name in versions}
        return pending_moves(tables, versions)

    def migrate(self, wait: float = 0):
        """`fbox migrate`, under the run lock: the run history's tables to the current version, the
        lake's state tables created, adapter tables moved to layout 2; (migrations applied, moves)."""
        from featherbox.state.objects import LakeObjects
        from featherbox.state.history import History

        lock = self._take_lock(wait)
        try:
            history = History(self.backends.database)
            try:
                applied = history.migrate()
            finally:
                history.close()
            con = self.open_lake()
            try:
                moves = self.move_legacy_tables(con, LakeObjects.read(con, self.backends.database), f"migrate-{new_run_id()}")
            finally:
                con.close()
        finally:
            lock.release()
        return applied, moves

    def move_legacy_tables(self, con, objects, run_id: str, versions=None):
        """Move adapter tables from layout 1 to layout 2 (one transaction); the moves made.
        `versions`: the nodes' current versions, read here when not given."""
        from featherbox.state.layout import apply_moves
        from featherbox.state.versions import current_versions

        if versions is None:
            versions = current_versions(con, objects)
        moves = self._layout_moves(versions)
        apply_moves(con, objects, versions, moves, run_id)
        return moves

    def run(self, options: RunOptions | None = None, on_plan: Callable = lambda plan: None, on_event: Callable = lambda *args: None):
        """`fbox run`: (plan, RunResult). `on_plan(plan)` once planned; `on_event(kind, action, outcome)`
        as nodes start and finish."""
        options = options or RunOptions()
        selectors, full_refresh, command = list(options.selectors), options.full_refresh, options.command
        from featherbox.state.summary import project_digest

        run_id = new_run_id()
        # taken before planning: a change that lands after it shows up in the next run's digest
        digest = project_digest(self.project, self.backends.adapters) if not selectors else None
        shortcut = digest is not None and not full_refresh
        if not shortcut:
            self.graph  # config and graph errors surface before taking the lock
        lock = self._take_lock(options.wait)
        try:
            con = None
            if shortcut:
                done = self._nothing_changed(digest, run_id, command)
                if done is not None:
                    on_plan(done[0])
                    return done
                if self.backends.database.catalog_exists() is False:
                    self.graph  # a project that never ran: nothing is created before its graph is known
                else:
                    con = self._open_lake_while_the_graph_is_built()
            return self._run(options, on_plan, on_event, run_id, digest, con)
        finally:
            lock.release()
            if "graph" in self.__dict__:
                self.save_parser_cache()

    def _take_lock(self, wait: float):
        """The project's run lock, held; RunLockedError when another run holds it after `wait` s."""
        lock = self.backends.database.run_lock()
        try:
            acquired = lock.acquire(wait)
        except OSError as exc:
            from featherbox.errors import os_error_message

            raise FeatherBoxError(os_error_message(exc, "cannot take the run lock (it sits next to the catalog, project.yml database)")) from None
        if not acquired:
            raise RunLockedError(
                f"another fbox run holds the project lock ({lock.holder()}); wait for it, or pass --wait SECONDS"
            )
        return lock

    def _nothing_changed(self, digest: str, run_id: str, command: str):
        """(empty plan, empty result) when the last complete run left the same digest; else None."""
        from featherbox.execute.runner import RunResult
        from featherbox.plan.planner import Plan
        from featherbox.state.summary import still_valid

        history = self.history()
        try:
            summary = history.read_summary()
            if summary is None or summary[0] != digest or not still_valid(summary[1]):
                return None
            history.start_run(run_id, command, socket.gethostname(), os.getpid())
            history.log(run_id, "info", f"nothing to do: config and sources unchanged since run {summary[2]}")
            history.finish_run(run_id, "completed", {})
        finally:
            history.close()
        return Plan([], {}), RunResult(run_id)

    def _open_lake_while_the_graph_is_built(self):
        """The run's lake, opened on a second thread while this one builds the graph: DuckDB loads
        extensions and attaches the catalog without holding the GIL, and the graph is Python work
        (parsing, networkx), so the two overlap. A graph error closes the lake and is raised."""
        from concurrent.futures import ThreadPoolExecutor

        from featherbox.execute.lake import open_lake

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fbox-lake") as pool:
            opening = pool.submit(open_lake, self.project, self.backends)
            try:
                self.graph
            except BaseException:
                if opening.exception() is None:
                    opening.result().close()
                raise
            return opening.result()

    def _run(self, options: RunOptions, on_plan, on_event, run_id: str, digest: str | None, con=None):
        selectors, full_refresh, command = list(options.selectors), options.full_refresh, options.command
        from featherbox.execute.lake import open_lake
        from featherbox.state.objects import LakeObjects
        from featherbox.execute.runner import Runner, RunLake
        from featherbox.state.summary import valid_until
        from featherbox.state.versions import current_versions, ensure_state_tables

        if con is None:
            con = open_lake(self.project, self.backends)
        objects = LakeObjects.read(con, self.backends.database)  # the one catalog read of the run; the runner keeps it current
        ensure_state_tables(con, objects)
        history = self.history(con)
        try:
            history.clear_summary()
            versions = current_versions(con, objects)
            moved = self.move_legacy_tables(con, objects, run_id, versions)
            # moves re-record the moved adapters' versions: read them again only then
            plan, versions = self.plan(con, selectors, full_refresh, objects, moved, None if moved else versions)
            on_plan(plan)
            history.start_run(run_id, command, socket.gethostname(), os.getpid())
            for move in moved:
                history.log(run_id, "info", f"moved {move.old} to {move.new} (adapter tables have their own namespace)", move.adapter)
            history.defer()  # the rest is written in one transaction, after the run
            try:
                record_plan(history, run_id, plan, self.graph, self.backends.adapters)
                timeout = self.project.timeout.total_seconds() if self.project.timeout else None

                def event(kind, action, outcome):
                    record_event(history, run_id, kind, action, outcome)
                    on_event(kind, action, outcome)

                lake = RunLake(con, objects, versions, serial=not self.backends.database.parallel_transactions)
                runner = Runner(self.graph, self.backends.adapters, lake, run_id, options.threads, timeout, event)
                result = runner.run(plan)
                for kind in sorted({a.pipeline for a in plan.actions}):
                    ok = all(result.outcomes[a.node].status == "completed" for a in plan.actions if a.pipeline == kind)
                    history.set_pipeline_status(f"{run_id}-{kind}", "completed" if ok else "failed")
                counts = result.counts()
                status = "completed" if result.ok else "timed_out" if counts.get("timed_out") else "failed"
                history.finish_run(run_id, status, counts)
                if digest is not None and result.ok and len(result.outcomes) == len(plan.actions):
                    due = valid_until(self.project, current_versions(con, objects)) if self._has_max_age() else None
                    history.write_summary(digest, due, run_id)
            finally:
                con.close()
                history.leave_lake()
                history.flush()
            return plan, result
        finally:
            history.close()
            con.close()

    def _has_max_age(self) -> bool:
        return any(spec.max_age for spec in self.project.models.values())

    def dropped(self):
        """The nodes whose newest version is a drop, with whether they can still be restored."""
        from featherbox.state.objects import LakeObjects
        from featherbox.state.restore import dropped_nodes

        con = self.open_lake(for_writing=False)
        try:
            return dropped_nodes(con, LakeObjects.read(con, self.backends.database), self.backends.database)
        finally:
            con.close()

    def restore(self, name: str, wait: float = 0):
        """`fbox restore NAME`: the dropped node's tables back from the lake's snapshot before the drop,
        and its last version recorded again (featherbox.state.restore), under the run lock; recorded in
        the run history as a run of its own. Returns `state.restore.Restored`."""
        from featherbox.execute.lake import open_lake
        from featherbox.state.objects import LakeObjects
        from featherbox.state.restore import find_dropped, restore

        run_id = new_run_id()
        lock = self._take_lock(wait)
        try:
            con = open_lake(self.project, self.backends)
            history = self.history(con)
            started = []

            def before_write():  # the no-op shortcut's digest goes before the lake changes, as in a run
                history.clear_summary()
                history.start_run(run_id, f"restore {found.node}", socket.gethostname(), os.getpid())
                started.append(run_id)

            try:
                objects = LakeObjects.read(con, self.backends.database)
                found = find_dropped(con, objects, name)
                done = restore(con, objects, self.backends.database, found, run_id, before_write)
                tables = ", ".join(f"{t} ({done.rows[t]} rows)" if t in done.rows else f"{t} (view)" for t in done.objects)
                history.log(
                    run_id, "info",
                    f"restored {done.node} from snapshot {done.snapshot} (before run {done.dropped_in} dropped it): {tables}",
                    done.node,
                )
                history.finish_run(run_id, "completed", {"restored": 1})
                return done
            except Exception as exc:
                if started:
                    history.log(run_id, "error", f"restore {found.node} failed: {exc}", found.node)
                    history.finish_run(run_id, "failed", {"failed": 1})
                raise
            finally:
                history.close()
                con.close()
        finally:
            lock.release()
