"""A database source that is down while the project plans, with `tables:` omitted (so its tables
are only known by listing the source): the graph is built with the tables the adapter's last load
wrote, and only that adapter fails — naming itself and its host — and what reads it is skipped;
every other node runs. Without an earlier load its tables cannot be known: a clear error, no
traceback, no password. On throwaway PostgreSQL and MariaDB servers (killable.py) and a SQLite file."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from featherbox.testing import write_project

from dbservers import free_port
from dbtest import fbox, lake
from killable import PASSWORD, my_killable, pg_killable  # noqa: F401  (fixtures)


class SQLiteSource:
    """A SQLite file as a source; `kill()` moves it away."""

    kind = "sqlite"

    def __init__(self, path: Path):
        self.path = path
        self.params = {}

    def connect(self):
        return sqlite3.connect(self.path, isolation_level=None)

    def kill(self) -> None:
        self.path.rename(self.path.with_suffix(".gone"))

    def config_yaml(self) -> str:
        return f"  path: {self.path}"


@pytest.fixture(params=["postgresql", "mysql", "sqlite"])
def server(request, tmp_path):
    if request.param == "sqlite":
        return SQLiteSource(tmp_path / "shop.sqlite")
    return request.getfixturevalue("pg_killable" if request.param == "postgresql" else "my_killable")


def where(server, project: Path, port: int | None = None) -> str:
    """How errors name the adapter `src` and its source."""
    adapter = f"adapter src ({project / 'adapters' / 'src.yml'})"
    if server.kind == "sqlite":
        return f"{adapter}, SQLite file {server.path}"
    title = "PostgreSQL" if server.kind == "postgresql" else "MySQL"
    return f"{adapter}, {title} at 127.0.0.1:{port or server.params['port']}"


def make_project(server, tmp_path: Path, config: str | None = None) -> Path:
    return write_project(tmp_path / "p", {
        # no `tables:`: every table of the source, found by listing it
        "adapters/src.yml": f"type: {server.kind}\nconfig:\n{config or server.config_yaml()}\n",
        "adapters/other.yml": "type: localfile\nconfig: {base_path: files}\npath: '*.csv'\n",
        "files/a.csv": "id\n1\n",
        "models/from_src.yml": "sql: SELECT count(*) AS n FROM raw_src.customers JOIN raw_src.orders USING (id)\n",
        "models/from_other.yml": "sql: SELECT count(*) AS n FROM raw.other\n",
    })


def seed(server) -> None:
    con = server.connect()
    cur = con.cursor()
    for statement in ("CREATE TABLE customers (id int PRIMARY KEY, name varchar(20))",
                      "INSERT INTO customers VALUES (1, 'ann')",
                      "CREATE TABLE orders (id int PRIMARY KEY, note varchar(40))",
                      "INSERT INTO orders VALUES (1, 'first')"):
        cur.execute(statement)
    cur.close()
    con.close()


def test_a_source_down_fails_only_its_adapter(server, tmp_path):
    seed(server)
    project = make_project(server, tmp_path)
    fbox(project, "run")
    server.kill()
    (project / "files" / "b.csv").write_text("id\n2\n")  # news for the other adapter

    named = where(server, project)
    plan = json.loads(fbox(project, "plan", "--json").stdout)
    actions = {a["node"]: a for a in plan["actions"]}
    assert sorted(actions["src"]["tables"]) == ["raw_src.customers", "raw_src.orders"]  # from its last load
    assert named in actions["src"]["error"], actions["src"]
    assert actions["other"]["action"] == "update"

    result = fbox(project, "run", "--json", check=False)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    outcomes = {a["node"]: a for a in json.loads(result.stdout)["actions"]}
    assert outcomes["src"]["status"] == "failed" and named in outcomes["src"]["error"], outcomes["src"]
    assert outcomes["main.from_src"]["status"] == "skipped", outcomes
    assert outcomes["other"]["status"] == "completed" and outcomes["main.from_other"]["status"] == "completed", outcomes
    assert "Traceback" not in out and PASSWORD not in out
    with lake(project) as query:
        assert query("SELECT n FROM main.from_other") == [{"n": 2}]
        assert query("SELECT n FROM main.from_src") == [{"n": 1}]  # as the last load left it


def test_a_source_down_that_never_loaded_is_a_clear_error(server, tmp_path):
    if server.kind == "sqlite":
        config, port = server.config_yaml(), None  # the file is not there
    else:
        port = free_port()  # nothing listens there
        config = server.config_yaml().replace(f"port: {server.params['port']}", f"port: {port}")
    project = make_project(server, tmp_path, config)
    for command in ("plan", "run"):
        result = fbox(project, command, check=False)
        out = result.stdout + result.stderr
        assert result.returncode != 0, out
        assert where(server, project, port) in out or (server.kind == "sqlite" and str(server.path) in out), out
        assert "it never loaded" in out and "`tables:`" in out and "Traceback" not in out and PASSWORD not in out, out
