"""`incremental: {type: cdc}`, each scenario once for both servers: on PostgreSQL a pgoutput replication
slot on a throwaway wal_level=logical server, on MariaDB the row binlog of a throwaway server
(binlog_row_metadata=FULL). What differs between them is in dbkinds.py."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from featherbox.testing import write_project

from dbtest import fbox, killed_run, lake, plan_actions


@pytest.fixture
def source(server, request):
    """A fresh database on the server kind's throwaway CDC-capable instance."""
    return request.getfixturevalue(server.cdc_fixture)


def project_for(server, source, tmp_path, extra: str = "") -> Path:
    return write_project(tmp_path / "p", {
        "adapters/src.yml": f"type: {server.kind}\nconfig:\n" + source.config_yaml() + f"""
tables:
  - items
  - name: pairs
    primary_key: [a, b]
incremental:
  type: cdc
  primary_key: id
{extra}""",
    })


def assert_same(query, server, source):
    assert server.lake_items(query) == server.source_items(source)
    lake_pairs = sorted((r["a"], r["b"], r["v"]) for r in query("SELECT a, b, v FROM raw_src.pairs"))
    assert lake_pairs == source.rows("SELECT a, b, v FROM pairs")
    assert query("SELECT count(*) - count(DISTINCT id) AS d FROM raw_src.items") == [{"d": 0}]


def test_snapshot_then_inserts_updates_deletes_then_adapter_delete(server, source, tmp_path):
    source.sql(*server.cdc_seed)
    project = project_for(server, source, tmp_path, server.cdc_options)  # PostgreSQL: a slot named in the config
    fbox(project, "run")
    with lake(project) as query:
        assert_same(query, server, source)
        assert query("SELECT count(*) AS n FROM raw_src.__delta_items") == [{"n": 0}]
    assert plan_actions(project) == []
    assert server.held(source) == server.held_named  # PostgreSQL: that slot (pgoutput) and its publication
    source.sql(
        server.insert_row_21,
        server.update_row_2,
        "UPDATE items SET price = 100 WHERE id = 3",  # PostgreSQL: big (TOAST) is not sent: kept from the lake
        "UPDATE items SET name = NULL, ts = NULL WHERE id = 4",
        "DELETE FROM items WHERE id IN (5, 6)",
        "INSERT INTO items (id, name) VALUES (22, 'short-lived')",
        "DELETE FROM items WHERE id = 22",
        "UPDATE items SET id = 100 WHERE id = 7",  # a key change: delete 7, insert 100
        "UPDATE pairs SET v = 'w' WHERE a = 1",
        "DELETE FROM pairs WHERE a = 2",
    )
    actions = plan_actions(project)
    assert len(actions) == 1 and "changes" in actions[0]["reason"], actions
    fbox(project, "run")
    with lake(project) as query:
        assert_same(query, server, source)
        big = query("SELECT big IS NOT NULL AND length(big) = 5000 AS ok FROM raw_src.items WHERE id = 3")
        assert big == [{"ok": True}]
        ops = query("SELECT _fbox_op AS op, count(*) AS n FROM raw_src.__delta_items GROUP BY 1 ORDER BY 1")
        assert ops == [{"op": "delete", "n": 4}, {"op": "insert", "n": 2}, {"op": "update", "n": 4}]
    assert plan_actions(project) == []
    # PostgreSQL: the slot is only released up to what the lake committed: next detect/load moves it
    source.sql(server.later_change)
    fbox(project, "run")
    with lake(project) as query:
        assert_same(query, server, source)
        assert query("SELECT count(DISTINCT _fbox_run_id) AS n FROM raw_src.__delta_items") == [{"n": 2}]
    fbox(project, "adapter", "delete", "src", "--force")
    assert server.held(source) == []  # PostgreSQL: slot and publication dropped


def test_changes_during_the_initial_snapshot(server, source, tmp_path, monkeypatch):
    """DML committed after the snapshot position was taken but before the copy (seen twice: by the
    copy and the change log) and DML after the copy (seen by the change log only) is neither lost nor
    duplicated."""
    from featherbox.workspace import Workspace

    module, _, name = server.cdc_reader.partition(":")
    reader = getattr(importlib.import_module(module), name)
    source.sql(*server.cdc_seed)
    project = project_for(server, source, tmp_path)
    other = server.connect(source.params, source.dbname)
    cur = other.cursor()
    original_start, original_read = reader.start_snapshot, reader.read

    def start_snapshot(self):
        position = original_start(self)
        cur.execute("INSERT INTO items (id, name) VALUES (50, 'during')")
        cur.execute("UPDATE items SET name = 'during-upd' WHERE id = 1")
        cur.execute("DELETE FROM items WHERE id = 2")
        cur.execute("UPDATE items SET id = 60 WHERE id = 8")
        return position

    def read(self, position, sink):
        cur.execute("INSERT INTO items (id, name) VALUES (51, 'after-copy')")
        cur.execute("UPDATE items SET name = 'after-copy-upd' WHERE id = 50")
        cur.execute("DELETE FROM items WHERE id = 9")
        return original_read(self, position, sink)

    monkeypatch.setattr(reader, "start_snapshot", start_snapshot)
    monkeypatch.setattr(reader, "read", read)
    try:
        _plan, result = Workspace(project).run()
    finally:
        cur.close()
        other.close()
    assert result.ok, {n: o.error for n, o in result.outcomes.items()}
    monkeypatch.undo()
    with lake(project) as query:
        assert_same(query, server, source)
        assert query("SELECT name FROM raw_src.items WHERE id IN (1, 50, 51) ORDER BY id") == [
            {"name": "during-upd"}, {"name": "after-copy-upd"}, {"name": "after-copy"}]
    fbox(project, "run")  # nothing replayed twice later either
    with lake(project) as query:
        assert_same(query, server, source)


def test_sigkill_mid_apply_then_rerun(server, source, tmp_path):
    source.sql(*server.cdc_seed)
    project = project_for(server, source, tmp_path)
    fbox(project, "run")
    committed = server.position(source)
    source.sql(
        server.bulk_insert,
        "UPDATE items SET name = 'upd' WHERE id <= 10",
        "DELETE FROM items WHERE id BETWEEN 11 AND 15",
        "UPDATE pairs SET v = 'killed?'",
    )
    killed_run(project, tmp_path / "applied", "featherbox.database_sources.cdc:apply_file")
    assert server.position(source) == committed  # nothing was released at the source
    with lake(project) as query:
        assert server.lake_items(query) != server.source_items(source)  # and nothing committed in the lake
    fbox(project, "run")
    with lake(project) as query:
        assert_same(query, server, source)
        assert query("SELECT count(*) AS n FROM raw_src.items") == [{"n": 1015}]
    fbox(project, "adapter", "delete", "src", "--force")  # MariaDB: nothing held at the server: just works
    assert server.held(source) == []


def test_server_without_a_change_log_gives_clear_error(server, request, tmp_path):
    shared = request.getfixturevalue(server.fixture)
    if server.cdc_ready(shared):
        pytest.skip(f"the shared {server.name} already keeps a change log CDC can read")
    shared.sql("CREATE TABLE t (id int PRIMARY KEY)")
    project = write_project(tmp_path / "p", {
        "adapters/src.yml": f"type: {server.kind}\nconfig:\n" + shared.config_yaml()
        + "\ntables: [t]\nincremental:\n  type: cdc\n  primary_key: id\n",
    })
    result = fbox(project, "run", check=False)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert server.cdc_off_message in out, out
