"""A source server killed while `fbox run` copies from it: the error names the adapter (and its
file), the source table and the host, gives a reason, never the password, and nothing is committed.
On a throwaway PostgreSQL and MariaDB each test kills (killable.py)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from featherbox.testing import write_project

from dbtest import fbox, lake
from killable import PASSWORD, my_killable, pg_killable  # noqa: F401  (fixtures)


@pytest.fixture(params=["postgresql", "mysql"])
def server(request):
    return request.getfixturevalue("pg_killable" if request.param == "postgresql" else "my_killable")


def project_for(server, tmp_path: Path) -> Path:
    return write_project(tmp_path / "p", {
        "adapters/src.yml": f"type: {server.kind}\nconfig:\n{server.config_yaml()}\ntables: [customers, orders]\n",
    })


def seed(server, orders: int) -> None:
    rows = (f"SELECT g, md5(CAST(g AS text)) FROM generate_series(1, {orders}) AS g" if server.kind == "postgresql"
            else f"SELECT seq, md5(seq) FROM seq_1_to_{orders}")
    con = server.connect()
    cur = con.cursor()
    for statement in ("CREATE TABLE customers (id int PRIMARY KEY, name varchar(20))",
                      "INSERT INTO customers VALUES (1, 'ann')",
                      "CREATE TABLE orders (id int PRIMARY KEY, note varchar(40))",
                      f"INSERT INTO orders {rows}"):
        cur.execute(statement)
    cur.close()
    con.close()


def assert_named_and_nothing_committed(result, server, project: Path) -> None:
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    title = "PostgreSQL" if server.kind == "postgresql" else "MySQL"
    schema = "public" if server.kind == "postgresql" else "shop"
    needles = [f"adapter src ({project / 'adapters' / 'src.yml'})", f"{title} at 127.0.0.1:{server.params['port']}",
               f"table {schema}.orders"]
    assert all(needle in out for needle in needles), out
    reason = out.split(f"table {schema}.orders", 1)[1].split("failed:", 1)[1].strip()
    assert reason and not reason.startswith("Run "), out  # a reason, not an empty one
    assert "Failed to commit" not in out, out
    assert PASSWORD not in out
    with lake(project) as query:
        assert query("SELECT count(*) AS n FROM duckdb_tables() WHERE schema_name = 'raw_src'") == [{"n": 0}]


def test_source_killed_after_the_copy_is_named(server, tmp_path, monkeypatch):
    """The copy is done, the source dies before the load ends: the lake's COMMIT would also have to
    end the source's read transaction, and used to fail as `Failed to commit: ... server closed the
    connection` with no word of which source."""
    import featherbox.database_sources.adapter as adapter_module

    seed(server, 10)
    project = project_for(server, tmp_path)
    real = adapter_module.LoadResult

    def killed_first(*args, **kwargs):  # the end of the load, after the last table is copied
        server.kill()
        return real(*args, **kwargs)

    monkeypatch.setattr(adapter_module, "LoadResult", killed_first)
    assert_named_and_nothing_committed(fbox(project, "run", check=False), server, project)


def test_source_killed_during_the_copy_is_named(server, tmp_path):
    seed(server, 300_000)
    project = project_for(server, tmp_path)
    watch = server.connect()
    if server.kind == "postgresql":
        copying = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY%orders%'"
    else:
        copying = "SELECT count(*) FROM information_schema.processlist WHERE info LIKE 'SELECT%orders%' AND info NOT LIKE '%processlist%'"

    def kill_when_copying():
        deadline = time.monotonic() + 60
        cur = watch.cursor()
        while time.monotonic() < deadline:
            cur.execute(copying)
            if cur.fetchone()[0]:
                server.kill()
                return
            time.sleep(0.005)

    killer = threading.Thread(target=kill_when_copying, daemon=True)
    killer.start()
    try:
        result = fbox(project, "run", check=False)
        killer.join(timeout=60)
    finally:
        try:
            watch.close()
        except Exception:
            pass  # its server is gone
    assert server.killed, result.stdout + result.stderr
    assert_named_and_nothing_committed(result, server, project)


def test_source_killed_just_before_the_commit_is_named(server, tmp_path, monkeypatch):
    """The source dies after the load's last check of its connection, before the lake's COMMIT (which
    also ends the source's read transaction): the failed commit names the adapter and the host, in the
    run's log (it is tried again, as a commit that failed) and in the error the run ends with."""
    import featherbox.execute.runner as runner_module

    seed(server, 10)
    project = project_for(server, tmp_path)
    real = runner_module.record_versions

    def killed_first(*args, **kwargs):  # after the load returned, just before the COMMIT
        server.kill()
        return real(*args, **kwargs)

    monkeypatch.setattr(runner_module, "record_versions", killed_first)
    result = fbox(project, "run", check=False)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    title = "PostgreSQL" if server.kind == "postgresql" else "MySQL"
    where = f"adapter src ({project / 'adapters' / 'src.yml'}), {title} at 127.0.0.1:{server.params['port']}"
    assert where in out, out
    log = fbox(project, "logs").stdout
    commits = [line for line in log.splitlines() if "COMMIT" in line or "Failed to commit" in line]
    assert commits and all(f"{where}: the commit of its load failed" in line for line in commits), log
    assert PASSWORD not in out + log
    with lake(project) as query:
        assert query("SELECT count(*) AS n FROM duckdb_tables() WHERE schema_name = 'src'") == [{"n": 0}]
