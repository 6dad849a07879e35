"""`incremental: {type: cdc}` on MariaDB: the row binlog of a throwaway server (binlog_row_metadata=FULL)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from featherbox.testing import write_project

from dbtest import FBOX, fbox, plan_actions, query
from test_cdc_postgresql import KILL_HOOK

SEED = [
    "CREATE TABLE items (id int PRIMARY KEY, name varchar(100), price decimal(10,2), ts datetime, raw varbinary(10), "
    "doc text, big longtext)",
    "CREATE TABLE pairs (a int, b varchar(10), v varchar(20), PRIMARY KEY (a, b))",
    "INSERT INTO items SELECT seq, concat('item ', seq, ' it''s \\\\ back'), seq * 1.25, "
    "'2024-05-01 12:00:00' + INTERVAL seq MINUTE, x'0102', concat('{\"g\": ', seq, '}'), "
    "IF(seq = 3, repeat('x', 5000), NULL) FROM seq_1_to_20",
    "INSERT INTO pairs SELECT seq, concat('k', seq), 'v' FROM seq_1_to_5",
]
COLS = ["id", "name", "price", "ts", "raw", "doc", "big"]
ITEMS_MY = "SELECT id, name, CAST(price AS char), DATE_FORMAT(ts, '%Y-%m-%d %H:%i:%s'), lower(hex(raw)), doc, md5(big) FROM items"
ITEMS_LAKE = ("SELECT id, name, price::VARCHAR AS price, strftime(ts, '%Y-%m-%d %H:%M:%S') AS ts, lower(hex(raw)) AS raw, "
              "doc, md5(big) AS big FROM src.items")


def project_for(myb, tmp_path) -> Path:
    return write_project(tmp_path / "p", {
        "adapters/src.yml": "type: mysql\nconfig:\n" + myb.config_yaml() + """
tables:
  - items
  - name: pairs
    primary_key: [a, b]
incremental:
  type: cdc
  primary_key: id
""",
    })


def lake_items(project):
    return sorted(tuple(r[c] for c in COLS) for r in query(project, ITEMS_LAKE))


def assert_same(project, myb):
    assert lake_items(project) == myb.rows(ITEMS_MY)
    lake_pairs = sorted((r["a"], r["b"], r["v"]) for r in query(project, "SELECT a, b, v FROM src.pairs"))
    assert lake_pairs == myb.rows("SELECT a, b, v FROM pairs")
    assert query(project, "SELECT count(*) - count(DISTINCT id) AS d FROM src.items") == [{"d": 0}]


def test_snapshot_then_inserts_updates_deletes(myb, tmp_path):
    myb.sql(*SEED)
    project = project_for(myb, tmp_path)
    fbox(project, "run")
    assert_same(project, myb)
    assert plan_actions(project) == []
    myb.sql(
        "INSERT INTO items (id, name, price, doc) VALUES (21, 'new ''quoted'' \"x\"\\nline', 9.99, NULL)",
        "UPDATE items SET name = 'renamed', raw = NULL WHERE id = 2",
        "UPDATE items SET price = 100 WHERE id = 3",
        "UPDATE items SET name = NULL, ts = NULL WHERE id = 4",
        "DELETE FROM items WHERE id IN (5, 6)",
        "INSERT INTO items (id, name) VALUES (22, 'short-lived')",
        "DELETE FROM items WHERE id = 22",
        "UPDATE items SET id = 100 WHERE id = 7",
        "UPDATE pairs SET v = 'w' WHERE a = 1",
        "DELETE FROM pairs WHERE a = 2",
    )
    actions = plan_actions(project)
    assert len(actions) == 1 and "changes" in actions[0]["reason"], actions
    fbox(project, "run")
    assert_same(project, myb)
    ops = query(project, "SELECT _fbox_op AS op, count(*) AS n FROM src.__delta_items GROUP BY 1 ORDER BY 1")
    assert ops == [{"op": "delete", "n": 4}, {"op": "insert", "n": 2}, {"op": "update", "n": 4}]
    assert plan_actions(project) == []
    myb.sql("UPDATE items SET doc = 'again' WHERE id = 1")
    fbox(project, "run")
    assert_same(project, myb)


def test_changes_during_the_initial_snapshot(myb, tmp_path, monkeypatch):
    import mysql.connector
    from fbox_mysql.cdc import MySQLCdc
    from featherbox.workspace import Workspace

    myb.sql(*SEED)
    project = project_for(myb, tmp_path)
    other = mysql.connector.connect(**myb.params, database=myb.dbname, autocommit=True)
    cur = other.cursor()
    original_start, original_read = MySQLCdc.start_snapshot, MySQLCdc.read

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

    monkeypatch.setattr(MySQLCdc, "start_snapshot", start_snapshot)
    monkeypatch.setattr(MySQLCdc, "read", read)
    try:
        _plan, result = Workspace(project).run()
    finally:
        other.close()
    assert result.ok, {n: o.error for n, o in result.outcomes.items()}
    monkeypatch.undo()
    assert_same(project, myb)
    assert query(project, "SELECT name FROM src.items WHERE id IN (1, 50, 51) ORDER BY id") == [
        {"name": "during-upd"}, {"name": "after-copy-upd"}, {"name": "after-copy"}]
    fbox(project, "run")
    assert_same(project, myb)


def test_sigkill_mid_apply_then_rerun(myb, tmp_path):
    myb.sql(*SEED)
    project = project_for(myb, tmp_path)
    fbox(project, "run")
    myb.sql(
        "INSERT INTO items (id, name) SELECT seq, 'bulk' FROM seq_1000_to_1999",
        "UPDATE items SET name = 'upd' WHERE id <= 10",
        "DELETE FROM items WHERE id BETWEEN 11 AND 15",
        "UPDATE pairs SET v = 'killed?'",
    )
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(KILL_HOOK)
    mark = tmp_path / "applied"
    env = {**os.environ, "PYTHONPATH": str(hook), "FBOX_TEST_KILL_MARK": str(mark)}
    proc = subprocess.Popen([FBOX, "-C", str(project), "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not mark.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert mark.exists(), proc.communicate(timeout=5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert lake_items(project) != myb.rows(ITEMS_MY)  # nothing committed
    fbox(project, "run")
    assert_same(project, myb)
    assert query(project, "SELECT count(*) AS n FROM src.items") == [{"n": 1015}]
    fbox(project, "adapter", "delete", "src", "--force")  # nothing held at the server: just works


def test_binlog_off_gives_clear_error(my, tmp_path):
    rows = my.rows("SELECT @@log_bin, @@binlog_format")
    if rows[0][0] == 1 and str(rows[0][1]).upper() == "ROW":
        import pytest

        pytest.skip("the shared MariaDB already has a ROW binlog")
    my.sql("CREATE TABLE t (id int PRIMARY KEY)")
    project = write_project(tmp_path / "p", {
        "adapters/src.yml": "type: mysql\nconfig:\n" + my.config_yaml() + "\ntables: [t]\nincremental:\n  type: cdc\n  primary_key: id\n",
    })
    result = fbox(project, "run", check=False)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "set binlog_format=ROW and binlog_row_metadata=FULL" in out, out
