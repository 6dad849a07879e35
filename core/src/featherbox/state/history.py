"""Run history in the project database (through the metadata backend's DB-API connection).

Nothing here decides what data is processed (that is `versions`, committed with the data);
this is the record of plans, runs and logs, and it is migrated forward automatically.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from typing import Any

from featherbox.extension import MetadataBackend

MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE IF NOT EXISTS fbox_deployments (
            id VARCHAR(64) PRIMARY KEY, started_at VARCHAR(40) NOT NULL, finished_at VARCHAR(40),
            status VARCHAR(20) NOT NULL, command TEXT, summary TEXT, host VARCHAR(255), pid INTEGER)""",
        """CREATE TABLE IF NOT EXISTS fbox_pipelines (
            id VARCHAR(64) PRIMARY KEY, deployment_id VARCHAR(64) NOT NULL, type VARCHAR(20) NOT NULL,
            status VARCHAR(20) NOT NULL, created_at VARCHAR(40) NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS fbox_actions (
            deployment_id VARCHAR(64) NOT NULL, pipeline_id VARCHAR(64) NOT NULL, node VARCHAR(255) NOT NULL,
            action VARCHAR(20) NOT NULL, reason TEXT, update_until VARCHAR(40) /* unused; existing histories have it */, status VARCHAR(20) NOT NULL,
            rows_written BIGINT, seconds DOUBLE PRECISION, error TEXT, sql_text TEXT,
            started_at VARCHAR(40), finished_at VARCHAR(40), PRIMARY KEY (deployment_id, node))""",
        """CREATE TABLE IF NOT EXISTS fbox_deployment_logs (
            deployment_id VARCHAR(64) NOT NULL, seq INTEGER NOT NULL, logged_at VARCHAR(40) NOT NULL,
            level VARCHAR(10) NOT NULL, node VARCHAR(255), message TEXT, PRIMARY KEY (deployment_id, seq))""",
        """CREATE TABLE IF NOT EXISTS fbox_nodes (
            name VARCHAR(255) PRIMARY KEY, type VARCHAR(20) NOT NULL, config TEXT, fingerprint VARCHAR(64),
            last_modified VARCHAR(40))""",
        """CREATE TABLE IF NOT EXISTS fbox_edges (
            source VARCHAR(255) NOT NULL, target VARCHAR(255) NOT NULL, PRIMARY KEY (source, target))""",
    ],
    [
        """CREATE TABLE IF NOT EXISTS fbox_run_summary (
            id INTEGER PRIMARY KEY, digest VARCHAR(64) NOT NULL, valid_until VARCHAR(40),
            run_id VARCHAR(64) NOT NULL, written_at VARCHAR(40) NOT NULL)""",
    ],
]
SCHEMA_VERSION = len(MIGRATIONS)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class History:
    """A thread-safe writer of the run history tables."""

    def __init__(self, backend: MetadataBackend, lake=None):
        self.backend = backend
        self.con = backend.connect(lake)
        # a backend may reach its database through the lake's DuckDB instance (SQLite) or not (PostgreSQL)
        self._through_lake = lake is not None and type(self.con).__module__ in ("duckdb", "_duckdb")
        self._lock = threading.Lock()
        self._log_seq: dict[str, int] = {}
        self._deferred: list[tuple[str, tuple | list]] | None = None

    def defer(self) -> None:
        """Queue writes until `flush`: a write to a SQLite catalog while a DuckLake transaction is
        open makes that transaction's commit fail with "database is locked"."""
        self._deferred = []

    def leave_lake(self) -> None:
        """Reconnect without the lake, once it is closed: a backend that went through the lake's
        DuckDB instance now uses its own client, which writes the deferred statements faster
        (DuckDB binds each parameter slowly)."""
        if self._through_lake:
            self.close()
            self.con = self.backend.connect(None)
            self._through_lake = False

    def flush(self) -> None:
        """Write what `defer` queued, in one transaction."""
        queued, self._deferred = self._deferred or [], None
        if not queued:
            return
        with self._lock:
            self._cursor("BEGIN")
            try:
                for statement, params in queued:
                    self._cursor(statement, params)
                self._cursor("COMMIT")
            except Exception:
                self._cursor("ROLLBACK")
                raise

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.backend.paramstyle == "format" else statement

    def execute(self, statement: str, params: tuple | list = ()) -> list[tuple]:
        with self._lock:
            if self._deferred is not None and not statement.lstrip().upper().startswith("SELECT"):
                self._deferred.append((statement, params))
                return []
            cur = self._cursor(statement, params)
            rows = cur.fetchall() if cur.description else []
            self.con.commit()
            return rows

    def _cursor(self, statement: str, params: tuple | list = ()):
        if hasattr(self.con, "execute"):  # DuckDB and psycopg connections execute directly
            return self.con.execute(self._sql(statement), params)
        cur = self.con.cursor()
        cur.execute(self._sql(statement), params)
        return cur

    def schema_version(self) -> int:
        with self._lock:
            try:
                rows = self._cursor("SELECT version FROM fbox_schema_version").fetchall()
                row = rows[0] if rows else None
                return int(row[0]) if row else 0
            except Exception:
                try:
                    self.con.rollback()
                except Exception:
                    pass
                return 0

    def migrate(self) -> list[int]:
        """Bring the history tables to the newest schema; returns the versions applied.

        Each migration and its version row commit together (and every CREATE is IF NOT EXISTS, for
        databases whose DDL commits on its own), so a process killed mid-migration leaves a state the
        next run completes.
        """
        current = self.schema_version()
        if current >= SCHEMA_VERSION:
            return []
        applied = []
        with self._lock:
            self._cursor("CREATE TABLE IF NOT EXISTS fbox_schema_version (version INTEGER NOT NULL)")
            for number, statements in enumerate(MIGRATIONS, start=1):
                if number <= current:
                    continue
                self._cursor("BEGIN")
                try:
                    for statement in statements:
                        self._cursor(statement)
                    self._cursor("DELETE FROM fbox_schema_version")
                    self._cursor("INSERT INTO fbox_schema_version (version) VALUES (?)", (number,))
                    self._cursor("COMMIT")
                except Exception:
                    self._cursor("ROLLBACK")
                    raise
                applied.append(number)
        return applied

    def start_run(self, run_id: str, command: str, host: str, pid: int) -> None:
        self.execute(
            "UPDATE fbox_deployments SET status = 'killed', finished_at = ? WHERE status = 'running'", (now_iso(),)
        )
        self.execute(
            "INSERT INTO fbox_deployments (id, started_at, status, command, host, pid) VALUES (?, ?, 'running', ?, ?, ?)",
            (run_id, now_iso(), command, host, pid),
        )

    def finish_run(self, run_id: str, status: str, summary: dict[str, Any]) -> None:
        self.execute(
            "UPDATE fbox_deployments SET status = ?, finished_at = ?, summary = ? WHERE id = ?",
            (status, now_iso(), json.dumps(summary, sort_keys=True), run_id),
        )

    def add_pipeline(self, pipeline_id: str, run_id: str, kind: str) -> None:
        self.execute(
            "INSERT INTO fbox_pipelines (id, deployment_id, type, status, created_at) VALUES (?, ?, ?, 'pending', ?)",
            (pipeline_id, run_id, kind, now_iso()),
        )

    def set_pipeline_status(self, pipeline_id: str, status: str) -> None:
        self.execute("UPDATE fbox_pipelines SET status = ? WHERE id = ?", (status, pipeline_id))

    def add_action(self, run_id: str, pipeline_id: str, node: str, action: str, reason: str) -> None:
        self.execute(
            "INSERT INTO fbox_actions (deployment_id, pipeline_id, node, action, reason, status) "
            "VALUES (?, ?, ?, ?, ?, 'pending')",
            (run_id, pipeline_id, node, action, reason),
        )

    def update_action(self, run_id: str, node: str, **fields: Any) -> None:
        if not fields:
            return
        names = sorted(fields)
        assignments = ", ".join(f"{name} = ?" for name in names)
        self.execute(
            f"UPDATE fbox_actions SET {assignments} WHERE deployment_id = ? AND node = ?",
            (*[fields[n] for n in names], run_id, node),
        )

    def log(self, run_id: str, level: str, message: str, node: str | None = None) -> None:
        with self._lock:
            seq = self._log_seq.get(run_id, 0) + 1
            self._log_seq[run_id] = seq
        self.execute(
            "INSERT INTO fbox_deployment_logs (deployment_id, seq, logged_at, level, node, message) VALUES (?, ?, ?, ?, ?, ?)",
            (run_id, seq, now_iso(), level, node, message),
        )

    def sync_nodes(self, nodes: dict[str, tuple[str, str, str]], edges: list[tuple[str, str]]) -> None:
        """Mirror the project's graph: nodes maps name -> (type, config json, fingerprint)."""
        existing = {row[0]: row[1] for row in self.execute("SELECT name, fingerprint FROM fbox_nodes")}
        for name in set(existing) - set(nodes):
            self.execute("DELETE FROM fbox_nodes WHERE name = ?", (name,))
        for name, (kind, config, fingerprint) in nodes.items():
            if name not in existing:
                self.execute(
                    "INSERT INTO fbox_nodes (name, type, config, fingerprint, last_modified) VALUES (?, ?, ?, ?, ?)",
                    (name, kind, config, fingerprint, now_iso()),
                )
            elif existing[name] != fingerprint:
                self.execute(
                    "UPDATE fbox_nodes SET type = ?, config = ?, fingerprint = ?, last_modified = ? WHERE name = ?",
                    (kind, config, fingerprint, now_iso(), name),
                )
        current = set(self.execute("SELECT source, target FROM fbox_edges"))
        for source, target in current - set(edges):
            self.execute("DELETE FROM fbox_edges WHERE source = ? AND target = ?", (source, target))
        for source, target in set(edges) - current:
            self.execute("INSERT INTO fbox_edges (source, target) VALUES (?, ?)", (source, target))

    # the no-op shortcut (featherbox.state.summary)

    def read_summary(self) -> tuple[str, str | None, str] | None:
        """(digest, valid_until, run_id) of the last run that left every node current."""
        rows = self.execute("SELECT digest, valid_until, run_id FROM fbox_run_summary WHERE id = 1")
        return tuple(rows[0]) if rows else None

    def clear_summary(self) -> None:
        """Forget the digest; committed at once, before the run touches the lake."""
        with self._lock:
            self._cursor("DELETE FROM fbox_run_summary")
            self.con.commit()

    def write_summary(self, digest: str, valid_until: str | None, run_id: str) -> None:
        self.execute("DELETE FROM fbox_run_summary")
        self.execute(
            "INSERT INTO fbox_run_summary (id, digest, valid_until, run_id, written_at) VALUES (1, ?, ?, ?, ?)",
            (digest, valid_until, run_id, now_iso()),
        )

    def close(self) -> None:
        try:
            self.con.close()
        except Exception:
            pass
