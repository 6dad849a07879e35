"""`fbox restore`: a node a run dropped (its file was deleted) comes back from the lake's snapshot
before the drop, with its recorded version, so that with its file back nothing is rebuilt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from featherbox.testing import write_project

from fboxcli import fbox, invoke, plan_json, query, ran, run_json

FILES = {
    "adapters/events.yml": "type: localfile\nconfig: {base_path: sample}\npath: 'events/*.csv'\n",
    "adapters/extra.yml": "type: localfile\nconfig: {base_path: sample}\npath: 'extra/*.csv'\n",
    "models/staging/x.yml": "sql: SELECT id, amount * 2 AS doubled FROM events WHERE amount > 0\n",
    "models/staging/v.yml": "sql: SELECT id FROM events WHERE amount < 0\nmaterialized: view\n",
    "models/marts/total.yml": "sql: SELECT sum(amount) AS total FROM events\n",
    "sample/events/a.csv": "id,amount\n1,10\n2,-5\n3,7\n",
    "sample/extra/a.csv": "k,label\n1,one\n2,two\n",
}
GONE = ["models/staging/x.yml", "models/staging/v.yml", "adapters/extra.yml"]


@pytest.fixture(params=["sqlite", "postgresql"])
def project(request, tmp_path) -> Path:
    files = dict(FILES)
    if request.param == "postgresql":
        database = request.getfixturevalue("pg")
        files["project.yml"] = "database:\n  type: postgresql\n" + database.config_yaml() + "\n"
    root = write_project(tmp_path / "p", files)
    assert set(ran(run_json(root)).values()) == {"completed"}
    return root


def restore(root: Path, *args: str, ok: bool = True):
    result = fbox("restore", *args, project=root)
    assert (result.returncode == 0) == ok, result.stdout + result.stderr
    return result


def contents(root: Path) -> dict:
    return {
        "x": query(root, "SELECT * FROM staging.x ORDER BY id"),
        "v": query(root, "SELECT * FROM staging.v ORDER BY id"),
        "extra": query(root, "SELECT k, label, _source_file FROM raw.extra ORDER BY k"),
    }


def test_a_dropped_table_view_and_adapter_come_back_as_they_were(project):
    before = contents(project)
    saved = {path: (project / path).read_text() for path in GONE}
    for path in GONE:
        (project / path).unlink()
    dropped = run_json(project)
    assert ran(dropped) == {"staging.x": "completed", "staging.v": "completed", "extra": "completed"}
    assert {a["action"] for a in dropped["actions"]} == {"destroy"}
    assert query(project, "SELECT count(*) AS n FROM duckdb_tables() WHERE table_name IN ('x', 'extra')") == [{"n": 0}]

    listed = {d["node"]: d for d in json.loads(invoke("restore", "--json", project=project))["dropped"]}
    assert set(listed) == {"staging.x", "staging.v", "extra"} and all(d["restorable"] for d in listed.values())
    assert listed["staging.x"]["rows"] == 2 and listed["extra"]["tables"] == ["raw.extra"]

    for path, text in saved.items():  # e.g. back on the branch that has them
        (project / path).write_text(text)
    assert {a["node"]: a["action"] for a in plan_json(project)["actions"]} == {
        "staging.x": "create", "staging.v": "create", "extra": "create",
    }
    out = restore(project, "staging.x").stdout
    assert "Restored model staging.x from snapshot" in out and "staging.x: table, 2 rows" in out
    restore(project, "STAGING.V")  # a name matches case-insensitively
    restore(project, "extra")
    assert plan_json(project)["actions"] == []  # current again: nothing reloads, nothing rebuilds
    assert contents(project) == before
    assert query(project, "SELECT count(*) AS n FROM duckdb_views() WHERE view_name = 'v' AND NOT internal") == [{"n": 1}]
    assert run_json(project)["actions"] == []

    (project / "sample/extra/b.csv").write_text("k,label\n3,three\n")  # the restored adapter goes on from its state
    assert ran(run_json(project)) == {"extra": "completed"}
    assert query(project, "SELECT count(*) AS n FROM raw.extra") == [{"n": 3}]
    log = json.loads(invoke("logs", "--json", project=project))
    assert log["status"] == "completed"


def test_what_cannot_be_restored_is_refused_and_says_why(project):
    assert "no node 'nothing' was ever built" in restore(project, "nothing", ok=False).stderr
    exists = restore(project, "staging.x", ok=False).stderr
    assert "staging.x exists" in exists and "brings back only dropped nodes" in exists

    saved = (project / "models/staging/x.yml").read_text()
    (project / "models/staging/x.yml").unlink()
    run_json(project)
    # a table of that name made since: restoring would overwrite it
    invoke("query", "CREATE TABLE staging.x AS SELECT 42 AS answer", project=project)
    taken = restore(project, "staging.x", ok=False).stderr
    assert "staging.x exists now" in taken
    invoke("query", "DROP TABLE staging.x", project=project)

    # built again from the project before the restore: it exists, nothing to restore
    (project / "models/staging/x.yml").write_text(saved)
    run_json(project)
    assert "staging.x exists" in restore(project, "staging.x", ok=False).stderr


def test_a_node_not_in_the_project_is_restored_with_a_warning(project):
    (project / "models/staging/x.yml").unlink()
    run_json(project)
    out = restore(project, "staging.x").stdout
    assert "is not in the project, so the next `fbox run` drops it again" in out
    assert query(project, "SELECT count(*) AS n FROM staging.x") == [{"n": 2}]
    assert [a["action"] for a in plan_json(project)["actions"]] == ["destroy"]


def test_expired_snapshots_cannot_be_restored(project):
    from featherbox.workspace import Workspace

    (project / "models/staging/x.yml").unlink()
    run_json(project)
    ws = Workspace(project)
    con = ws.open_lake()
    try:
        con.execute("CALL ducklake_expire_snapshots('lake', older_than => now())")
    finally:
        con.close()
    listed = json.loads(invoke("restore", "--json", project=project))["dropped"]
    assert [(d["node"], d["restorable"]) for d in listed] == [("staging.x", False)]
    expired = restore(project, "staging.x", ok=False).stderr
    assert "cannot restore staging.x: the lake no longer has its snapshots from before run" in expired
    assert "expired" in expired
