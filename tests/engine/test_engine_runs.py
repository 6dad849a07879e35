"""The engine end to end through the CLI: only what changed runs, and the data is right."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from featherbox.testing import write_project

from fboxcli import fbox, invoke, plan_json, query, ran, run_json

PROJECT = {
    "project.yml": "deployments:\n  timeout: 5m\n",
    "adapters/events.yml": """
        type: localfile
        config:
          base_path: sample
        path: events/*.csv
    """,
    "adapters/other.yml": """
        type: localfile
        config:
          base_path: sample
        path: other/*.csv
    """,
    "models/staging/clean.yml": """
        description: events with a positive amount
        sql: |
          SELECT id, amount FROM events WHERE amount > 0
    """,
    "models/marts/total.yml": """
        sql: SELECT sum(amount) AS total, count(*) AS n FROM staging.clean
    """,
    "models/marts/other_count.yml": """
        sql: SELECT count(*) AS n FROM other
    """,
    "sample/events/a.csv": "id,amount\n1,10\n2,-5\n3,7\n",
    "sample/other/x.csv": "k\n1\n2\n",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def project(request, tmp_path) -> Path:
    """The project on each metadata backend: the engine's rules must hold on all of them."""
    files = dict(PROJECT)
    if request.param == "postgresql":
        database = request.getfixturevalue("pg")
        files["project.yml"] += "database:\n  type: postgresql\n" + database.config_yaml() + "\n"
    root = write_project(tmp_path / "p", files)
    first = run_json(root)
    assert ran(first) == {
        "events": "completed", "other": "completed", "staging.clean": "completed",
        "marts.total": "completed", "marts.other_count": "completed",
    }
    return root


def plan_actions(root: Path, env: dict | None = None) -> dict[str, str]:
    return {a["node"]: a["reason"] for a in plan_json(root, env=env)["actions"]}


def test_first_run_values_and_noop_second_run(project):
    assert query(project, "SELECT * FROM marts.total") == [{"total": 17, "n": 2}]
    assert query(project, "SELECT n FROM marts.other_count") == [{"n": 2}]
    assert plan_actions(project) == {}
    second = run_json(project)
    assert second["actions"] == []


def test_sql_edit_rebuilds_the_model_and_only_its_downstream(project):
    path = project / "models/staging/clean.yml"
    path.write_text(path.read_text().replace("amount > 0", "amount > 7"))
    assert plan_actions(project) == {"staging.clean": "sql changed", "marts.total": "upstream staging.clean changed"}
    assert ran(run_json(project)) == {"staging.clean": "completed", "marts.total": "completed"}
    assert query(project, "SELECT * FROM marts.total") == [{"total": 10, "n": 1}]


def test_whitespace_comment_and_description_edits_rebuild_nothing(project):
    path = project / "models/staging/clean.yml"
    path.write_text(
        "description: changed words\nsql: |\n  -- a comment\n  SELECT   id,\n         amount\n  FROM events   WHERE amount > 0  -- trailing\n"
    )
    assert plan_actions(project) == {}


def test_deleting_a_model_drops_its_table_and_nothing_else(project):
    (project / "models/marts/other_count.yml").unlink()
    assert plan_actions(project) == {"marts.other_count": "model removed from the project"}
    assert ran(run_json(project)) == {"marts.other_count": "completed"}
    tables = {r["name"] for r in query(project, "SELECT table_name AS name FROM duckdb_tables() WHERE database_name = 'lake' AND schema_name NOT LIKE '\\_fbox%' ESCAPE '\\'")}
    assert tables == {"events", "other", "clean", "total"}
    assert plan_actions(project) == {}


def test_new_file_refreshes_only_downstream_of_its_adapter(project):
    (project / "sample/events/b.csv").write_text("id,amount\n4,100\n")
    assert plan_actions(project) == {
        "events": "1 new file", "staging.clean": "upstream events changed", "marts.total": "upstream staging.clean changed",
    }
    assert ran(run_json(project)) == {"events": "completed", "staging.clean": "completed", "marts.total": "completed"}
    assert query(project, "SELECT * FROM marts.total") == [{"total": 117, "n": 3}]
    assert query(project, "SELECT _source_file, count(*) AS n FROM events GROUP BY 1 ORDER BY 1") == [
        {"_source_file": "events/a.csv", "n": 3}, {"_source_file": "events/b.csv", "n": 1},
    ]


def test_max_age_refreshes_an_expired_model(project):
    """Ages are measured against FBOX_NOW (the tests' clock), not against how long the machine took."""
    path = project / "models/marts/other_count.yml"
    path.write_text(path.read_text() + "max_age: 1h\n")
    (built,) = query(project, "SELECT max(built_at) AS t FROM _fbox.node_versions WHERE node = 'marts.other_count'")
    built = datetime.fromisoformat(str(built["t"]))
    before, after = ({"FBOX_NOW": (built + timedelta(minutes=m)).isoformat()} for m in (59, 61))
    assert plan_actions(project, before) == {}
    assert plan_actions(project, after) == {"marts.other_count": "max_age 1h exceeded"}
    assert ran(run_json(project, env=after)) == {"marts.other_count": "completed"}
    assert plan_actions(project, after) == {}  # built "now": FBOX_NOW is also the built_at recorded


def test_select_and_full_refresh(project):
    payload = run_json(project, "--select", "+marts.total", "--full-refresh")
    assert set(ran(payload)) == {"events", "staging.clean", "marts.total"}
    assert all(a["reason"] == "full refresh requested" for a in payload["actions"])
    payload = run_json(project, "--select", "events+", "--full-refresh")
    assert set(ran(payload)) == {"events", "staging.clean", "marts.total"}
    payload = run_json(project, "--full-refresh", "marts.total")  # nodes as arguments, as in `fbox run --full-refresh NAME`
    assert ran(payload) == {"marts.total": "completed"} and payload["actions"][0]["reason"] == "full refresh requested"


def test_failing_model_keeps_its_previous_table_and_independent_branches_finish(project):
    (project / "sample/events/b.csv").write_text("id,amount\n4,100\n")
    (project / "sample/other/y.csv").write_text("k\n3\n")
    path = project / "models/staging/clean.yml"
    path.write_text("sql: SELECT id, amount / 0 AS amount, error('boom') AS e FROM events\n")
    payload = run_json(project, expect_ok=False)
    statuses = ran(payload)
    assert statuses["staging.clean"] == "failed" and statuses["marts.total"] == "skipped"
    assert statuses["events"] == statuses["other"] == statuses["marts.other_count"] == "completed"
    failed = next(a for a in payload["actions"] if a["node"] == "staging.clean")
    assert "boom" in failed["error"]
    assert query(project, "SELECT * FROM marts.total") == [{"total": 17, "n": 2}]
    assert query(project, "SELECT count(*) AS n FROM staging.clean") == [{"n": 2}]
    assert query(project, "SELECT n FROM marts.other_count") == [{"n": 3}]
    log = fbox("logs", project=project, check=True).stdout
    assert "boom" in log and "SQL of staging.clean" in log
    path.write_text("sql: SELECT id, amount FROM events WHERE amount > 0\n")
    assert ran(run_json(project)) == {"staging.clean": "completed", "marts.total": "completed"}
    assert query(project, "SELECT * FROM marts.total") == [{"total": 117, "n": 3}]


def test_empty_result_guard(project):
    path = project / "models/staging/clean.yml"
    path.write_text("sql: SELECT id, amount FROM events WHERE amount > 1000\n")
    payload = run_json(project, expect_ok=False)
    failed = next(a for a in payload["actions"] if a["node"] == "staging.clean")
    assert failed["status"] == "failed" and "0 rows" in failed["error"] and "allow_empty" in failed["error"]
    assert query(project, "SELECT count(*) AS n FROM staging.clean") == [{"n": 2}]
    path.write_text("sql: SELECT id, amount FROM events WHERE amount > 1000\nallow_empty: true\n")
    assert ran(run_json(project))["staging.clean"] == "completed"


def test_status_and_logs(project):
    status = json.loads(invoke("status", "--json", project=project))
    nodes = {n["node"]: n for n in status["nodes"]}
    assert nodes["marts.total"]["last_result"] == "completed" and nodes["marts.total"]["rows"] == 1
    assert nodes["events"]["pending"] is None
    logs = json.loads(invoke("logs", "--json", project=project))
    assert logs["status"] == "completed" and any("marts.total" in line["message"] for line in logs["log"])


def test_sqlite_catalog_node_transactions_take_turns_without_conflicts(tmp_path):
    """Parallel writers on a SQLite catalog would only conflict at commit; they take turns instead."""
    files = {
        "adapters/src.yml": "type: localfile\nconfig: {base_path: sample}\npath: '*.csv'\n",
        "sample/a.csv": "x\n1\n",
    }
    for i in range(6):
        files[f"models/m{i}.yml"] = f"sql: SELECT i, i % {i + 2} AS m FROM src, range(2000000) t(i)\n"
    root = write_project(tmp_path / "serial", files)
    payload = run_json(root, "--threads", "4")
    assert set(ran(payload).values()) == {"completed"} and len(payload["actions"]) == 7
    logs = json.loads(invoke("logs", "--json", project=root))["log"]
    assert not [line for line in logs if "retrying" in line["message"]], "no node had to be redone after a conflict"
    assert query(root, "SELECT count(*) AS n FROM main.m3") == [{"n": 2000000}]


def test_timeout_interrupts_and_records_timed_out(tmp_path):
    files = {
        "adapters/src.yml": "type: localfile\nconfig: {base_path: sample}\npath: '*.csv'\n",
        "sample/a.csv": "x\n1\n",
        "models/.gitkeep": "",
    }
    root = write_project(tmp_path / "t", files)
    # src loads first, without a deadline: on a busy machine even a tiny load can take longer than
    # the 1 s the endless model gets, and which of them the deadline caught would be luck
    assert ran(run_json(root)) == {"src": "completed"}
    (root / "project.yml").write_text("deployments:\n  timeout: 1s\n")
    (root / "models/forever.yml").write_text("sql: SELECT count(*) AS n FROM src, range(100000000000) t(i) WHERE i % 7 = 1\n")
    started = time.monotonic()
    payload = run_json(root, expect_ok=False)
    assert time.monotonic() - started < 60
    assert ran(payload) == {"main.forever": "timed_out"}
    assert json.loads(invoke("logs", "--json", project=root))["status"] == "timed_out"
    assert query(root, "SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = 'forever'") == [{"n": 0}]
    assert query(root, "SELECT x FROM src") == [{"x": 1}]


def test_second_run_refuses_while_the_lock_is_held_and_a_dead_holder_releases_it(project):
    import subprocess
    import sys

    holder = subprocess.Popen(
        [sys.executable, "-c", (
            "import sys, time; from featherbox.workspace import Workspace; ws = Workspace(sys.argv[1]);"
            "lock = ws.backends.database.run_lock(); assert lock.acquire(0); print('held', flush=True); time.sleep(60)"
        ), str(project)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        refused = fbox("run", project=project)
        assert refused.returncode == 1
        assert "holds the project lock" in refused.stderr and f"pid {holder.pid}" in refused.stderr
        waited = fbox("run", "--wait", "0.5", project=project)
        assert waited.returncode == 1
    finally:
        holder.kill()
        holder.wait()
    assert fbox("run", project=project).returncode == 0


def test_a_history_migration_cut_short_is_completed_by_the_next_run(tmp_path):
    """A run killed while it creates the history tables must not leave the project unable to run."""
    from featherbox.state.history import MIGRATIONS, History
    from featherbox.workspace import Workspace

    root = write_project(tmp_path / "m", {
        "adapters/src.yml": "type: localfile\nconfig: {base_path: sample}\npath: '*.csv'\n",
        "sample/a.csv": "x\n1\n",
    })
    ws = Workspace(root)
    lake = ws.open_lake()
    history = History(ws.backends.database, lake)  # as far as a killed first run may get:
    history.execute("CREATE TABLE IF NOT EXISTS fbox_schema_version (version INTEGER NOT NULL)")
    history.execute(MIGRATIONS[0][0].replace("IF NOT EXISTS ", ""))  # one table, no version row
    history.close()
    lake.close()
    assert ran(run_json(root)) == {"src": "completed"}
    assert json.loads(invoke("logs", "--json", project=root))["status"] == "completed"
