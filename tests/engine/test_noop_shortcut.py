"""`fbox run` with nothing to do decides so from the stored digest of config and sources, without
opening the lake; every change of config, files, source rows or time still makes it plan and run."""

from __future__ import annotations

import json
import sqlite3

from featherbox.testing import write_project

from fboxcli import fbox, invoke, query, ran, run_json

SHORTCUT = "nothing to do: config and sources unchanged since run"


def shortcut_taken(root, env: dict | None = None) -> bool:
    log = json.loads(invoke("logs", "--json", project=root, env=env))["log"]
    return any(SHORTCUT in line["message"] for line in log)


def project(tmp_path, extra: dict | None = None):
    root = write_project(tmp_path / "p", {
        "adapters/events.yml": "type: localfile\nconfig: {base_path: sample}\npath: 'e_*.csv'\n",
        "adapters/app.yml": "type: sqlite\nconfig: {path: app.sqlite}\ntables: [users]\n",
        "models/report.yml": "sql: SELECT count(*) AS n FROM events JOIN raw_app.users u ON u.id = events.user_id\n",
        "sample/e_1.csv": "user_id\n1\n2\n",
        **(extra or {}),
    })
    con = sqlite3.connect(root / "app.sqlite")
    con.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
    con.execute("INSERT INTO users VALUES (1), (2), (3)")
    con.commit()
    con.close()
    return root


def test_nothing_changed_is_decided_without_planning_and_every_change_plans_again(tmp_path):
    root = project(tmp_path)
    assert set(ran(run_json(root))) == {"events", "app", "main.report"}
    payload = run_json(root)
    assert payload["ok"] and payload["actions"] == [] and shortcut_taken(root)

    (root / "sample/e_2.csv").write_text("user_id\n3\n")
    assert ran(run_json(root)) == {"events": "completed", "main.report": "completed"}
    assert query(root, "SELECT n FROM report") == [{"n": 3}]
    assert run_json(root)["actions"] == [] and shortcut_taken(root)

    # a commit in WAL mode touches only app.sqlite-wal while the writer keeps it open
    writer = sqlite3.connect(root / "app.sqlite")
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    run_json(root)  # the journal mode switch itself rewrote the file
    writer.execute("INSERT INTO users VALUES (4)")
    writer.commit()
    assert ran(run_json(root)) == {"app": "completed", "main.report": "completed"}
    assert query(root, "SELECT count(*) AS n FROM raw_app.users") == [{"n": 4}]
    writer.close()  # checkpoints the WAL into app.sqlite: a new signature, one more copy
    run_json(root)

    # an edit that changes nothing the planner compares: one run plans (nothing), the next skips planning
    model = root / "models/report.yml"
    model.write_text(model.read_text().replace("SELECT", "SELECT  "))
    assert run_json(root)["actions"] == [] and not shortcut_taken(root)
    assert run_json(root)["actions"] == [] and shortcut_taken(root)


def test_a_failed_or_partial_run_leaves_no_shortcut(tmp_path):
    root = project(tmp_path, {"models/broken.yml": "sql: SELECT error('boom') AS x FROM events\n"})
    assert ran(run_json(root, expect_ok=False))["main.broken"] == "failed"
    payload = run_json(root, expect_ok=False)  # still tries: the failure is not "up to date"
    assert not payload["ok"] and ran(payload) == {"main.broken": "failed"} and not shortcut_taken(root)

    (root / "models/broken.yml").write_text("sql: SELECT count(*) AS x FROM events\n")
    assert ran(run_json(root)) == {"main.broken": "completed"}
    run_json(root, "--select", "main.report", "--full-refresh")
    assert run_json(root)["actions"] == [] and not shortcut_taken(root)  # after a selective run: plans
    assert run_json(root)["actions"] == [] and shortcut_taken(root)


def test_max_age_and_environment_changes_end_the_shortcut(tmp_path):
    """The clock is FBOX_NOW, not the machine's: how long a run takes does not matter."""
    root = project(tmp_path, {
        "models/fresh.yml": "sql: SELECT count(*) AS n, '${FB_LABEL}' AS label FROM events\nmax_age: 3s\n",
    })
    env = {"FB_LABEL": "a", "FBOX_NOW": "2026-03-01T10:00:00"}
    run_json(root, env=env)
    assert run_json(root, env=env)["actions"] == []
    assert shortcut_taken(root, env)
    # the shortcut ends a second before the first max_age runs out; the model is not due yet
    env["FBOX_NOW"] = "2026-03-01T10:00:02.5"
    assert run_json(root, env=env)["actions"] == [] and not shortcut_taken(root, env)
    env["FBOX_NOW"] = "2026-03-01T10:00:04"
    payload = run_json(root, env=env)
    assert ran(payload) == {"main.fresh": "completed"}
    assert payload["actions"][0]["reason"] == "max_age 3s exceeded"
    assert ran(run_json(root, env={"FB_LABEL": "b"})) == {"main.fresh": "completed"}
    assert query(root, "SELECT label FROM fresh", env={"FB_LABEL": "b"}) == [{"label": "b"}]


def test_the_shortcut_on_a_postgresql_project_database(tmp_path, pg):
    root = project(tmp_path, {"project.yml": "database:\n  type: postgresql\n" + pg.config_yaml() + "\n"})
    run_json(root)
    assert run_json(root)["actions"] == [] and shortcut_taken(root)
    (root / "sample/e_2.csv").write_text("user_id\n1\n")
    assert ran(run_json(root)) == {"events": "completed", "main.report": "completed"}
    assert query(root, "SELECT n FROM report") == [{"n": 3}]


def test_a_clock_that_is_not_a_time_is_an_error(tmp_path):
    root = project(tmp_path)
    result = fbox("run", project=root, env={"FBOX_NOW": "tomorrow"})
    assert result.returncode == 1
    assert "FBOX_NOW='tomorrow' is not an ISO 8601 time" in result.stderr and "Traceback" not in result.stderr
