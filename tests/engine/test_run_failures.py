"""A source that cannot be checked fails its node and what reads it, not the plan; a load that keeps
working in Python past `deployments.timeout` ends `timed_out` and commits nothing."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from featherbox.extension import AdapterType, LoadResult
from featherbox.testing import write_project
from featherbox.workspace import Workspace

from fboxcli import invoke, plan_json, query, ran, registry_with, run_json


def _sqlite_source(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    con.executemany("INSERT INTO users VALUES (?, ?)", [(1, "a"), (2, "b")])
    con.commit()
    con.close()


def test_a_source_that_cannot_be_checked_fails_its_node_and_downstream_only(tmp_path):
    root = write_project(tmp_path / "p", {
        "adapters/app.yml": "type: sqlite\nconfig: {path: app.sqlite}\ntables: [users]\n",
        "adapters/events.yml": "type: localfile\nconfig: {base_path: sample}\npath: events/*.csv\n",
        "models/marts/users.yml": "sql: SELECT count(*) AS n FROM raw_app.users\n",
        "models/marts/events.yml": "sql: SELECT count(*) AS n FROM events\n",
        "sample/events/a.csv": "id\n1\n",
    })
    _sqlite_source(root / "app.sqlite")
    run_json(root)
    (root / "app.sqlite").write_bytes(b"this is not a SQLite database, it was overwritten" * 100)
    (root / "sample/events/b.csv").write_text("id\n2\n3\n")

    plan = {a["node"]: a for a in plan_json(root)["actions"]}
    assert plan["app"]["reason"].startswith("cannot check the source:")
    assert "app: cannot check the source" in plan["app"]["error"]
    assert plan["events"]["reason"] == "1 new file"
    assert "marts.users" in plan and "marts.events" in plan
    assert "cannot check the source" in invoke("status", project=root)

    payload = run_json(root, expect_ok=False)
    assert ran(payload) == {
        "app": "failed", "marts.users": "skipped", "events": "completed", "marts.events": "completed",
    }
    assert query(root, "SELECT n FROM marts.events") == [{"n": 3}]
    assert query(root, "SELECT n FROM marts.users") == [{"n": 2}]  # the last good build stays


class _SlowInPython(AdapterType):
    """Writes its table, then keeps working in Python until past the run's deadline."""

    type_name = "slowpy"
    config_schema = {"type": "object", "properties": {"checks": {"type": "boolean"}}}

    def output_tables(self):
        return ["slowpy.numbers"]

    def load(self, ctx):
        assert ctx.deadline is not None
        ctx.con.execute("CREATE SCHEMA IF NOT EXISTS slowpy")
        ctx.con.execute("CREATE OR REPLACE TABLE slowpy.numbers AS SELECT range AS n FROM range(5)")
        while time.monotonic() < ctx.deadline + 0.05:  # waits on the deadline itself, not on a guess
            if self.spec.config.get("checks"):
                ctx.check_deadline()
            time.sleep(0.01)
        return LoadResult({"slowpy.numbers": 5})


@pytest.mark.parametrize("checks", [False, True])
def test_a_load_busy_in_python_past_the_deadline_times_out_and_commits_nothing(tmp_path, checks):
    root = write_project(tmp_path / "p", {
        "project.yml": "deployments:\n  timeout: 1s\n",
        "adapters/numbers.yml": f"type: slowpy\nconfig: {{checks: {str(checks).lower()}}}\n",
    })
    registry = registry_with(_SlowInPython)
    _, result = Workspace(root, registry).run()
    outcome = result.outcomes["numbers"]
    assert outcome.status == "timed_out"
    assert "deployments.timeout (1s)" in outcome.error
    ws = Workspace(root, registry)  # the throw-away type is known to this registry only
    con = ws.open_lake(for_writing=False)
    try:
        assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'slowpy'").fetchone()[0] == 0
    finally:
        con.close()
    history = ws.history()
    try:
        assert history.execute("SELECT status FROM fbox_deployments") == [("timed_out",)]
    finally:
        history.close()
