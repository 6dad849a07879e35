"""Adapters' tables in their own schemas (featherbox.layout): the spec's example tree runs, and a project
built before (tests/fixtures/layout1-project.tar.gz, made by FeatherBox at 361ef35) is moved, not reloaded."""

from __future__ import annotations

import sqlite3
import tarfile
from pathlib import Path

from fboxcli import fbox, plan_json, query

FIXTURE = Path(__file__).parent.parent / "fixtures" / "layout1-project.tar.gz"


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_spec_example_tree_runs(tmp_path):
    """adapters/app_db.yml (tables users, orders) next to models/app_db/users.yml and orders.yml."""
    root = tmp_path / "p"
    root.mkdir()
    con = sqlite3.connect(root / "app.sqlite")
    con.executescript(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);"
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER, amount REAL);"
        "INSERT INTO users VALUES (1, 'A@X.ORG'), (2, 'b@y.org');"
        "INSERT INTO orders VALUES (1, 1, 10.0), (2, 1, -1.0), (3, 2, 5.5);"
    )
    con.commit()
    con.close()
    write(root, {
        "project.yml": "storage: {type: local, path: data}\n",
        "adapters/app_db.yml": "type: sqlite\nconfig: {path: app.sqlite}\ntables: [users, orders]\n",
        "models/app_db/users.yml": "sql: SELECT id, lower(email) AS email FROM users\n",
        "models/app_db/orders.yml": "sql: SELECT * FROM raw_app_db.orders WHERE amount > 0\n",
        "models/marts/spend.yml": (
            "sql: SELECT u.email, sum(o.amount) AS total FROM app_db.users u JOIN app_db.orders o ON o.user_id = u.id "
            "GROUP BY ALL ORDER BY u.email\n"
        ),
    })
    done = fbox("run", project=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 completed" in done.stdout
    assert query(root, "SELECT * FROM marts.spend") == [
        {"email": "a@x.org", "total": 10.0}, {"email": "b@y.org", "total": 5.5},
    ]
    assert query(root, "SELECT count(*) AS n FROM raw_app_db.users") == [{"n": 2}]
    assert query(root, "SELECT email FROM app_db.users ORDER BY id") == [{"email": "a@x.org"}, {"email": "b@y.org"}]

    write(root, {"models/app_db/users.yml": "sql: SELECT * FROM app_db.users\n"})
    done = fbox("plan", project=root)
    assert done.returncode == 1
    assert "model app_db.users reads itself ('app_db.users')" in done.stderr
    assert "write raw_app_db.users" in done.stderr and "cycle" not in done.stderr


def legacy_project(tmp_path: Path) -> Path:
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(tmp_path, filter="data")
    return tmp_path / "legacy"


def test_a_layout_1_project_is_moved_not_reloaded(tmp_path):
    root = legacy_project(tmp_path)
    # two models name adapter tables by their old names
    done = fbox("plan", project=root)
    assert done.returncode == 1
    assert "unknown table 'main.events' in model marts.event_kinds" in done.stderr and "write raw.events" in done.stderr
    assert "unknown table 'app_db.users' in model staging.users" in done.stderr and "write raw_app_db.users" in done.stderr

    write(root, {
        "models/marts/event_kinds.yml": "sql: SELECT kind, count(*) AS n FROM raw.events GROUP BY kind\n",
        "models/staging/users.yml": "sql: SELECT id, upper(country) AS country FROM users\n",  # a bare name
    })
    done = fbox("plan", project=root)
    assert done.returncode == 0, done.stderr
    assert "The next run moves 2 adapter tables" in done.stdout
    assert "app_db.users -> raw_app_db.users" in done.stdout and "main.events -> raw.events" in done.stdout
    planned = plan_json(root)
    assert {(m["from"], m["to"]) for m in planned["moves"]} == {("app_db.users", "raw_app_db.users"), ("main.events", "raw.events")}
    # their SQL changed; nothing else (marts.user_log, downstream of staging.users, is rebuilt by the run)
    assert [a["node"] for a in planned["actions"]] == ["marts.event_kinds", "staging.users", "marts.user_log"]

    done = fbox("run", project=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Moved 2 adapter tables into the adapters' own schemas" in done.stdout
    assert "app_db.users -> raw_app_db.users" in done.stdout
    assert "update marts.event_kinds" in done.stdout and "3 completed" in done.stdout
    assert "app_db:" not in done.stdout and "events:" not in done.stdout  # no adapter loaded
    assert query(root, "SELECT id, country FROM raw_app_db.users ORDER BY id") == [
        {"id": 1, "country": "jp"}, {"id": 2, "country": "fr"}, {"id": 3, "country": "us"},
    ]
    assert query(root, "SELECT count(*) AS n FROM raw.events") == [{"n": 2}]
    assert query(root, "SELECT * FROM marts.event_kinds ORDER BY kind") == [{"kind": "click", "n": 1}, {"kind": "view", "n": 1}]
    assert query(root, "SELECT count(*) AS n FROM marts.user_log") == [{"n": 3}]
    gone = fbox("query", "SELECT * FROM app_db.users", project=root)
    assert gone.returncode == 1 and "raw_app_db.users" in gone.stdout + gone.stderr

    again = fbox("run", project=root)
    assert again.returncode == 0 and "Moved" not in again.stdout


def test_fbox_migrate_moves_the_tables(tmp_path):
    root = legacy_project(tmp_path)
    done = fbox("migrate", project=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Moved 2 adapter tables" in done.stdout and "main.events -> raw.events" in done.stdout
    assert query(root, "SELECT count(*) AS n FROM raw_app_db.users") == [{"n": 3}]
    again = fbox("migrate", project=root)
    assert again.returncode == 0 and "Moved" not in again.stdout
