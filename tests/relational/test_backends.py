"""Projects whose `database:` is PostgreSQL or MySQL, run end to end through the CLI, and their run locks."""

from __future__ import annotations

import os
from pathlib import Path

from featherbox.testing import write_project

from conftest import fbox, plan_actions, query


def _project(tmp_path: Path, source, database_yaml: str, adapter_type: str, tables: str) -> Path:
    return write_project(tmp_path / "p", {
        "project.yml": "database:\n" + database_yaml,
        "adapters/src.yml": f"type: {adapter_type}\nconfig:\n" + source.config_yaml() + tables,
        "models/summary.yml": "sql: SELECT kind, count(*) AS n, sum(v) AS total FROM src.items GROUP BY kind",
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
