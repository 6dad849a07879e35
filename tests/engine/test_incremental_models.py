"""Incremental models end to end through the CLI: after every increment the model's table equals its
SQL computed fresh, deletes and updates upstream reach it, and the plan says incremental or full."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from featherbox.testing import write_project

from fboxcli import fbox, plan_json, query, ran
from fboxcli import run_json as _run_json


def run_json(root: Path, *args: str, expect_ok: bool = True) -> dict:
    # one node at a time: these tests are about the data, and parallel commits to the SQLite
    # catalog can exhaust the runner's retries on a heavily loaded machine
    return _run_json(root, "--threads", "1", *args, expect_ok=expect_ok)

APPEND_SQL = "SELECT id, user_id, ts, amount, _source_file FROM events WHERE amount > 0"
MERGE_SQL = "SELECT user_id, count(*) AS n, sum(amount) AS total FROM events GROUP BY user_id"
DAILY_SQL = "SELECT CAST(date_trunc('day', ts) AS DATE) AS day, count(*) AS n, sum(amount) AS total FROM events GROUP BY 1"
CHAIN_SQL = "SELECT user_id, total FROM marts.user_totals WHERE total > 10"
USERS_SQL = "SELECT id, upper(name) AS name, country FROM raw_app.users"
CLICKS_SQL = "SELECT id, page FROM clicks WHERE page <> 'home'"

MODELS = {
    "staging.positive": APPEND_SQL,
    "marts.user_totals": MERGE_SQL,
    "marts.daily": DAILY_SQL,
    "marts.big_users": CHAIN_SQL,
    "marts.users": USERS_SQL,
    "staging.clicks": CLICKS_SQL,
}


def events_adapter(columns: dict[str, str]) -> str:
    """The `events` adapter (test_incremental_ranges.py uses it too): sample/events/*.csv read as CSV
    with these column types, a changed file's rows replaced and a removed file's rows deleted."""
    typed = "".join(f"\n            {name}: {kind}" for name, kind in columns.items())
    return f"""
        type: localfile
        config:
          base_path: sample
        path: events/*.csv
        update_strategy: content
        delete_missing: true
        format:
          type: csv
          columns:{typed}
    """


PROJECT = {
    "adapters/events.yml": events_adapter({"id": "INTEGER", "user_id": "INTEGER", "ts": "TIMESTAMP",
                                           "amount": "INTEGER"}),
    "adapters/clicks.yml": """
        type: localfile
        config:
          base_path: sample
        path: clicks/*.csv
    """,
    "adapters/app.yml": """
        type: sqlite
        config:
          path: app.sqlite
        tables: [users]
    """,
    "models/staging/positive.yml": f"materialized: append\nsql: {APPEND_SQL}\n",
    "models/staging/clicks.yml": f"materialized: append\nsql: {CLICKS_SQL}\n",
    "models/marts/user_totals.yml": f"materialized: merge\nunique_key: user_id\nsql: {MERGE_SQL}\n",
    "models/marts/daily.yml": (
        "materialized: delete+insert\ntime_column: day\nupstream_time_column: ts\ntime_grain: day\n"
        f"sql: \"{DAILY_SQL}\"\n"
    ),
    "models/marts/big_users.yml": f"materialized: merge\nunique_key: [user_id]\nsql: {CHAIN_SQL}\n",
    "models/marts/users.yml": f"materialized: merge\nunique_key: id\nsql: {USERS_SQL}\n",
    "sample/events/a.csv": "id,user_id,ts,amount\n1,1,2024-01-01 10:00:00,5\n2,2,2024-01-01 11:00:00,-3\n3,3,2024-01-02 09:00:00,20\n",
    "sample/clicks/1.csv": "id,page\n1,home\n2,cart\n",
}


def _sqlite(root: Path, *statements: str) -> None:
    with sqlite3.connect(root / "app.sqlite") as db:
        for statement in statements:
            db.execute(statement)


def differences(root: Path, models: dict[str, str]) -> dict[str, int]:
    """model -> rows in the symmetric multiset difference of its table and its SQL computed fresh."""
    parts = [
        f"SELECT '{model}' AS model, (SELECT count(*) FROM ((SELECT * FROM {model} EXCEPT ALL SELECT * FROM ({sql})) "
        f"UNION ALL (SELECT * FROM ({sql}) EXCEPT ALL SELECT * FROM {model}))) AS n"
        for model, sql in models.items()
    ]
    return {r["model"]: r["n"] for r in query(root, " UNION ALL ".join(parts))}


def assert_models_exact(root: Path, models: dict[str, str] = MODELS) -> None:
    """Every incremental model's table equals its SQL computed fresh from the current upstream."""
    assert differences(root, models) == {model: 0 for model in models}


def reasons_of(payload: dict) -> dict[str, str]:
    return {a["node"]: a["reason"] for a in payload["actions"]}


def plan_reasons(root: Path) -> dict[str, str]:
    return {a["node"]: a["reason"] for a in plan_json(root)["actions"]}


def messages(payload: dict) -> dict[str, str]:
    return {a["node"]: a["message"] for a in payload["actions"]}


@pytest.fixture
def project(tmp_path) -> Path:
    root = write_project(tmp_path / "p", PROJECT)
    _sqlite(
        root,
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, country TEXT)",
        "INSERT INTO users VALUES (1, 'ann', 'DE'), (2, 'bob', 'FR'), (3, 'cid', 'JP')",
    )
    first = run_json(root)
    assert set(ran(first).values()) == {"completed"}
    reasons = {a["node"]: a["reason"] for a in first["actions"]}
    assert reasons["staging.positive"] == "new model (full rebuild)"
    assert messages(first)["marts.user_totals"].startswith("merge: full build at snapshot ")
    assert_models_exact(root)
    return root


def test_new_files_are_applied_incrementally_and_exactly(project):
    increments = [
        ("4,1,2024-01-02 12:00:00,7\n5,4,2024-01-03 08:00:00,30\n", 2),
        ("6,4,2024-01-03 09:00:00,-1\n7,2,2024-01-01 23:00:00,9\n", 2),
        ("8,5,2024-01-04 00:00:00,2\n", 1),
    ]
    for step, (rows, keys) in enumerate(increments):
        (project / f"sample/events/new{step}.csv").write_text("id,user_id,ts,amount\n" + rows)
        (project / f"sample/clicks/{step + 2}.csv").write_text(f"id,page\n{10 + step},p{step}\n{20 + step},home\n")
        payload = run_json(project)
        assert set(ran(payload).values()) == {"completed"}
        reasons = reasons_of(payload)
        assert reasons["events"] == "1 new file"
        assert reasons["staging.positive"] == "upstream events changed (incremental append)"
        assert reasons["marts.user_totals"] == "upstream events changed (incremental merge)"
        assert reasons["marts.daily"] == "upstream events changed (incremental delete+insert)"
        assert reasons["marts.big_users"] == "upstream marts.user_totals changed (incremental merge)"
        assert "marts.users" not in reasons
        said = messages(payload)
        assert said["staging.positive"].startswith("append: ") and "rows appended from the inserts of raw.events" in said["staging.positive"]
        assert said["staging.clicks"].startswith("append: 1 rows appended from the inserts of raw.clicks")
        assert said["marts.user_totals"].startswith(f"merge: {keys} keys recomputed"), said["marts.user_totals"]
        assert said["marts.daily"].startswith("delete+insert: "), said["marts.daily"]
        assert "full" not in said["marts.daily"] and "full" not in said["marts.big_users"]
        assert_models_exact(project)
    # day 2024-01-01 got a late row in the second increment: its whole day was recomputed
    assert query(project, "SELECT n, total FROM marts.daily WHERE day = DATE '2024-01-01'") == [{"n": 3, "total": 11}]
    assert plan_reasons(project) == {}


def test_changed_and_removed_files_reach_incremental_models(project):
    # content strategy: a changed file's rows are deleted and re-read (deletes in the change feed)
    (project / "sample/events/a.csv").write_text(
        "id,user_id,ts,amount\n1,1,2024-01-01 10:00:00,50\n3,3,2024-01-02 09:00:00,-20\n"
    )
    (project / "sample/events/b.csv").write_text("id,user_id,ts,amount\n9,2,2024-01-05 10:00:00,4\n")
    payload = run_json(project)
    said = messages(payload)
    assert said["staging.positive"].startswith("append: full rebuild: upstream raw.events has deleted or updated rows")
    assert said["marts.user_totals"].startswith("merge: 3 keys recomputed"), said["marts.user_totals"]
    assert said["marts.daily"].startswith("delete+insert: 3 time ranges recomputed"), said["marts.daily"]
    assert said["marts.big_users"].startswith("merge: "), said["marts.big_users"]
    assert "full" not in said["marts.big_users"]
    assert_models_exact(project)
    assert query(project, "SELECT user_id FROM marts.big_users ORDER BY 1") == [{"user_id": 1}]

    # delete_missing: a vanished file's rows are deleted; keys and days only it had disappear
    (project / "sample/events/b.csv").unlink()
    payload = run_json(project)
    said = messages(payload)
    assert said["marts.user_totals"].startswith("merge: 1 keys recomputed (1 rows deleted, 0 inserted)"), said["marts.user_totals"]
    assert said["marts.daily"].startswith("delete+insert: 1 time ranges recomputed (1 rows deleted, 0 inserted)")
    assert_models_exact(project)
    assert query(project, "SELECT user_id FROM marts.user_totals ORDER BY 1") == [{"user_id": 1}, {"user_id": 3}]
    assert query(project, "SELECT CAST(day AS VARCHAR) AS day FROM marts.daily ORDER BY 1") == [
        {"day": "2024-01-01"}, {"day": "2024-01-02"},
    ]

    # the append model recovered with a full rebuild and is incremental again for new files
    (project / "sample/events/c.csv").write_text("id,user_id,ts,amount\n10,6,2024-01-06 10:00:00,1\n")
    said = messages(run_json(project))
    assert said["staging.positive"].startswith("append: 1 rows appended")
    assert_models_exact(project)


def test_sqlite_updates_and_deletes_reach_a_merge_model(project):
    _sqlite(project, "UPDATE users SET country = 'ES' WHERE id = 2", "DELETE FROM users WHERE id = 3",
            "INSERT INTO users VALUES (4, 'dee', 'IT')")
    payload = run_json(project)
    assert reasons_of(payload) == {"app": "source changed (file size or modification time) in users", "marts.users": "upstream app changed (incremental merge)"}
    said = messages(payload)
    # the sqlite adapter re-creates its table: the change is the difference of old and new contents
    assert said["marts.users"].startswith("merge: 3 keys recomputed (2 rows deleted, 2 inserted)"), said["marts.users"]
    assert_models_exact(project)
    assert query(project, "SELECT * FROM marts.users ORDER BY id") == [
        {"id": 1, "name": "ANN", "country": "DE"}, {"id": 2, "name": "BOB", "country": "ES"},
        {"id": 4, "name": "DEE", "country": "IT"},
    ]


def test_sql_change_and_full_refresh_rebuild_fully(project):
    path = project / "models/marts/user_totals.yml"
    path.write_text(path.read_text().replace("sum(amount) AS total", "sum(amount) * 2 AS total"))
    reasons = plan_reasons(project)
    assert reasons["marts.user_totals"] == "sql changed (full rebuild)"
    assert reasons["marts.big_users"] == "upstream marts.user_totals changed (incremental merge)"
    payload = run_json(project)
    assert reasons_of(payload)["marts.user_totals"] == "sql changed (full rebuild)"
    said = messages(payload)
    assert said["marts.user_totals"].startswith("merge: full build at snapshot ")
    assert query(project, "SELECT total FROM marts.user_totals WHERE user_id = 3") == [{"total": 40}]
    assert_models_exact(project, {**MODELS, "marts.user_totals": MERGE_SQL.replace("sum(amount)", "sum(amount) * 2")})

    before = query(project, "SELECT * FROM marts.daily ORDER BY ALL")
    payload = run_json(project, "--full-refresh", "--select", "marts.daily")
    assert [(a["node"], a["reason"]) for a in payload["actions"]] == [("marts.daily", "full refresh requested (full rebuild)")]
    assert messages(payload)["marts.daily"].startswith("delete+insert: full build")
    assert query(project, "SELECT * FROM marts.daily ORDER BY ALL") == before


def test_a_new_upstream_column_rebuilds_fully(project):
    (project / "sample/clicks/9.csv").write_text("id,page,referrer\n30,shop,x\n")
    said = messages(run_json(project))
    assert said["staging.clicks"] == "append: full rebuild: the columns of upstream raw.clicks changed"
    assert_models_exact(project)


def test_incremental_keys_are_checked(tmp_path):
    root = write_project(tmp_path / "bad", {
        "models/a.yml": "materialized: merge\nsql: SELECT 1 AS k\n",
        "models/b.yml": "materialized: table\ntime_column: t\nsql: SELECT 1 AS k\n",
        "models/c.yml": "materialized: delete+insert\ntime_column: t\ntime_grain: week\nsql: SELECT 1 AS k\n",
    })
    result = fbox("plan", project=root)
    assert result.returncode != 0
    text = result.stdout + result.stderr
    assert "missing required key 'unique_key'" in text
    assert "'materialized' must be delete+insert (got table)" in text
    assert "'time_grain' must be one of: hour, day (got week)" in text


def test_a_key_missing_from_the_result_fails_the_model(tmp_path):
    root = write_project(tmp_path / "p", {"models/m.yml": "materialized: merge\nunique_key: nope\nsql: SELECT 1 AS k\n"})
    payload = run_json(root, expect_ok=False)
    action = payload["actions"][0]
    assert action["status"] == "failed"
    assert "unique_key nope is not a column of the result (columns: k)" in action["error"]


def test_an_upstream_view_means_full_rebuilds(tmp_path):
    root = write_project(tmp_path / "v", {
        "adapters/xs.yml": "type: localfile\nconfig:\n  base_path: sample\npath: xs/*.csv\n",
        "models/v.yml": "materialized: view\nsql: SELECT k, n FROM xs WHERE n > 0\n",
        "models/m.yml": "materialized: merge\nunique_key: k\nsql: SELECT k, sum(n) AS n FROM main.v GROUP BY k\n",
        "sample/xs/1.csv": "k,n\na,1\nb,2\n",
    })
    run_json(root)
    (root / "sample/xs/2.csv").write_text("k,n\na,5\n")
    payload = run_json(root)
    assert messages(payload)["main.m"] == "merge: full rebuild: upstream main.v is a view: its changes are not tracked"
    assert query(root, "SELECT * FROM m ORDER BY k") == [{"k": "a", "n": 6}, {"k": "b", "n": 2}]
