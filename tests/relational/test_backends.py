"""Projects whose `database:` is PostgreSQL or MySQL, run end to end through the CLI, and their run locks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from featherbox.testing import write_project

from dbtest import fbox, plan_actions, query


def _project(tmp_path: Path, source, database_yaml: str, adapter_type: str, tables: str) -> Path:
    return write_project(tmp_path / "p", {
        "project.yml": "database:\n" + database_yaml,
        "adapters/src.yml": f"type: {adapter_type}\nconfig:\n" + source.config_yaml() + tables,
        "models/summary.yml": "sql: SELECT kind, count(*) AS n, sum(v) AS total FROM raw_src.items GROUP BY kind",
    })


def _seed(source):
    source.sql("CREATE TABLE items (id INT PRIMARY KEY, kind VARCHAR(10), v INT)")
    source.sql("INSERT INTO items VALUES (1, 'a', 10), (2, 'a', 5), (3, 'b', 7)")


def _run_twice(project: Path, source):
    fbox(project, "run")
    assert query(project, "SELECT kind, n, total FROM main.summary ORDER BY kind") == [
        {"kind": "a", "n": 2, "total": 15}, {"kind": "b", "n": 1, "total": 7}]
    assert plan_actions(project) == []
    fbox(project, "run")  # second run: nothing to do
    assert plan_actions(project) == []
    source.sql("INSERT INTO items VALUES (4, 'b', 1)")
    nodes = sorted(a["node"] for a in plan_actions(project))
    assert nodes == ["main.summary", "src"], nodes
    fbox(project, "run")
    assert query(project, "SELECT total FROM main.summary WHERE kind = 'b'") == [{"total": 8}]


def test_postgresql_database_end_to_end(pg, tmp_path):
    _seed(pg)
    database = pg.config_yaml() + "\n  type: postgresql\n  schema: fbox_meta\n"
    project = _project(tmp_path, pg, database, "postgresql", "")  # all tables of public: none of ours
    _run_twice(project, pg)
    tables = {r[0] for r in pg.rows("SELECT table_name FROM information_schema.tables WHERE table_schema = 'fbox_meta'")}
    assert {"fbox_deployments", "ducklake_snapshot"} <= tables
    assert pg.rows("SELECT count(*) FROM fbox_meta.fbox_deployments WHERE status = 'completed'") == [(3,)]


def _pg_objects(source) -> list[tuple]:
    """Every table and schema of the database that is not PostgreSQL's own."""
    return source.rows(
        "SELECT 'table', table_schema || '.' || table_name FROM information_schema.tables "
        "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') UNION ALL "
        "SELECT 'schema', nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
        "AND nspname NOT IN ('information_schema', 'public')"
    )


@pytest.mark.parametrize("schema", [None, "fbox_meta"])
def test_read_only_commands_create_nothing_in_a_new_postgresql_database(pg, tmp_path, schema):
    """plan, status, graph, logs and query on a project that never ran leave the server's database as
    it was (no DuckLake catalog, no run history, no schema), as they leave a SQLite project's folder."""
    database = pg.config_yaml() + "\n  type: postgresql\n" + (f"  schema: {schema}\n" if schema else "")
    project = write_project(tmp_path / "p", {
        "project.yml": "database:\n" + database,
        "adapters/src.yml": "type: localfile\nconfig: {base_path: sample}\npath: '*.csv'\n",
        "sample/a.csv": "kind,v\na,1\nb,2\n",
        "models/summary.yml": "sql: SELECT kind, sum(v) AS total FROM raw.src GROUP BY kind",
    })
    assert sorted((a["node"], a["action"]) for a in plan_actions(project)) == [("main.summary", "create"), ("src", "create")]
    assert "new adapter" in fbox(project, "status").stdout
    fbox(project, "graph", "--status")
    assert "no runs yet" in fbox(project, "logs", check=False).stderr
    assert query(project, "SELECT 42 AS answer") == [{"answer": 42}]
    assert _pg_objects(pg) == []
    fbox(project, "run")
    assert query(project, "SELECT kind, total FROM main.summary ORDER BY kind") == [
        {"kind": "a", "total": 1}, {"kind": "b", "total": 2}]
    assert ("table", f"{schema or 'public'}.ducklake_metadata") in _pg_objects(pg)
    assert plan_actions(project) == []
    assert "src" in fbox(project, "status").stdout


def test_mysql_catalog_exists_creates_nothing(my, tmp_path):
    """The MySQL project database (refused by project.yml until DuckLake supports it, see below) tells
    a never-run project by DuckLake's tables, through its own client, creating nothing."""
    import duckdb
    from featherbox.duckdb_extensions import load_extensions
    from fbox_mysql.backend import MySQLBackend

    config = {"type": "mysql", **{k: v for k, v in my.params.items() if v != ""}, "dbname": my.dbname}
    backend = MySQLBackend(config, tmp_path)
    assert backend.catalog_exists() is False
    assert my.rows(f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{my.dbname}'") == []
    con = duckdb.connect()
    try:
        load_extensions(con, ["ducklake", *backend.duckdb_extensions()])
        backend.prepare(con)
        options = ", ".join(f"{k} {v}" for k, v in backend.ducklake_options().items())
        con.execute(f"ATTACH 'ducklake:{backend.ducklake_catalog()}' AS lake (DATA_PATH '{tmp_path}/data/', {options})")
    finally:
        con.close()
    assert MySQLBackend(config, tmp_path).catalog_exists() is True


def test_mysql_database_is_refused_until_ducklake_supports_it(my, tmp_path):
    # DuckLake on a MySQL catalog cannot commit a second write to a table (duckdb/ducklake#51), so the
    # backend is marked not implemented and the project is refused up front instead of failing mid-run.
    _seed(my)
    database = my.config_yaml() + "\n  type: mysql\n"
    project = _project(tmp_path, my, database, "mysql", "\ntables: [items]\n")
    result = fbox(project, "run", check=False)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "database.type" in out and "does not implement it yet" in out, out


def _lock_roundtrip(backend_cls, config: dict, tmp_path: Path):
    first, second = backend_cls(config, tmp_path).run_lock(), backend_cls(config, tmp_path).run_lock()
    assert first.acquire(0)
    try:
        assert not second.acquire(0.3)
        assert str(os.getpid()) in second.holder()
    finally:
        first.release()
    assert second.acquire(0)
    second.release()


def test_postgresql_run_lock(pg, tmp_path):
    from fbox_postgresql.backend import PostgresBackend

    config = {"type": "postgresql", **{k: v for k, v in pg.params.items() if v != ""}, "dbname": pg.dbname}
    _lock_roundtrip(PostgresBackend, config, tmp_path)


def test_mysql_run_lock(my, tmp_path):
    from fbox_mysql.backend import MySQLBackend

    config = {"type": "mysql", **{k: v for k, v in my.params.items() if v != ""}, "dbname": my.dbname}
    _lock_roundtrip(MySQLBackend, config, tmp_path)


def test_postgresql_catalog_runs_independent_branches_in_parallel(pg, tmp_path):
    """With a PostgreSQL catalog, independent nodes' transactions overlap (SQLite's take turns)."""
    from featherbox.testing import write_project

    database = pg.config_yaml() + "\n  type: postgresql\n"
    files = {
        "project.yml": "database:\n" + database,
        "adapters/src.yml": "type: localfile\nconfig: {base_path: sample}\npath: '*.csv'\n",
        "sample/a.csv": "x\n1\n",
    }
    for name in ("slow_a", "slow_b"):
        files[f"models/{name}.yml"] = "sql: SELECT count(*) AS n FROM src, range(60000000) t(i) WHERE i % 7 = 1\n"
    root = write_project(tmp_path / "par", files)
    fbox(root, "run", "--threads", "2")
    logs = json.loads(fbox(root, "logs", "--json").stdout)["log"]
    started = [i for i, l in enumerate(logs) if l["message"].startswith("create main.slow")]
    finished = [i for i, l in enumerate(logs) if l["message"].startswith("main.slow") and "completed" in l["message"]]
    assert len(started) == 2 and len(finished) == 2
    assert max(started) < min(finished), "both branches started before either finished"
    assert query(root, "SELECT n FROM main.slow_a") == query(root, "SELECT n FROM main.slow_b")
