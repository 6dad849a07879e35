"""`incremental: {type: cdc}` on PostgreSQL: a pgoutput replication slot on a throwaway wal_level=logical server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from featherbox.testing import write_project

from dbtest import FBOX, fbox, plan_actions, query

SEED = [
    "CREATE TABLE items (id int PRIMARY KEY, name text, price numeric(10,2), ts timestamptz, flag boolean, "
    "raw bytea, tags int[], doc jsonb, big text)",
    "ALTER TABLE items ALTER COLUMN big SET STORAGE EXTERNAL",  # big values go to TOAST uncompressed
    "CREATE TABLE pairs (a int, b text, v text, PRIMARY KEY (a, b))",
    "INSERT INTO items SELECT g, 'item ' || g || ' it''s', g * 1.25, '2024-05-01 12:00:00+00'::timestamptz + g * interval '1 minute', "
    "g % 2 = 0, '\\x0102'::bytea, ARRAY[g, g + 1], jsonb_build_object('g', g), CASE WHEN g = 3 THEN repeat('x', 5000) END "
    "FROM generate_series(1, 20) g",
    "INSERT INTO pairs SELECT g, 'k' || g, 'v' FROM generate_series(1, 5) g",
]
ITEMS_PG = ("SELECT id, name, price::text, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), flag, encode(raw, 'hex'), "
            "array_to_string(tags, ','), doc::text, md5(big) FROM items")
ITEMS_LAKE = ("SELECT id, name, price::VARCHAR AS price, strftime(ts AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S') AS ts, flag, "
              "lower(hex(raw)) AS raw, array_to_string(tags, ',') AS tags, doc::VARCHAR AS doc, md5(big) AS big FROM src.items")


def project_for(pgl, tmp_path, extra: str = "") -> Path:
    return write_project(tmp_path / "p", {
        "adapters/src.yml": "type: postgresql\nconfig:\n" + pgl.config_yaml() + f"""
tables:
  - items
  - name: pairs
    primary_key: [a, b]
incremental:
  type: cdc
  primary_key: id
{extra}""",
    })


def lake_items(project):
    cols = ["id", "name", "price", "ts", "flag", "raw", "tags", "doc", "big"]
    return sorted(tuple(r[c] for c in cols) for r in query(project, ITEMS_LAKE))


def source_items(pgl):
    import json

    out = []
    for r in pgl.rows(ITEMS_PG):
        r = list(r)
        r[7] = r[7] and json.dumps(json.loads(r[7]), separators=(",", ":"))
        out.append(tuple(r))
    return sorted(out)


def normalized_lake(project):
    import json

    out = []
    for r in lake_items(project):
        r = list(r)
        r[7] = r[7] and json.dumps(json.loads(r[7]), separators=(",", ":"))
        out.append(tuple(r))
    return sorted(out)


def assert_same(project, pgl):
    assert normalized_lake(project) == source_items(pgl)
    lake_pairs = sorted((r["a"], r["b"], r["v"]) for r in query(project, "SELECT a, b, v FROM src.pairs"))
    assert lake_pairs == pgl.rows("SELECT a, b, v FROM pairs")
    dupes = query(project, "SELECT count(*) - count(DISTINCT id) AS d FROM src.items")
    assert dupes == [{"d": 0}]


def slot_of(pgl) -> tuple[str, str]:
    return pgl.rows("SELECT slot_name, confirmed_flush_lsn::text FROM pg_replication_slots")[0]


def test_snapshot_then_inserts_updates_deletes(pgl, tmp_path):
    pgl.sql(*SEED)
    project = project_for(pgl, tmp_path)
    fbox(project, "run")
    assert_same(project, pgl)
    assert plan_actions(project) == []
    assert query(project, "SELECT count(*) AS n FROM src.__delta_items") == [{"n": 0}]
    pgl.sql(
        "INSERT INTO items (id, name, price, flag, doc) VALUES (21, 'new ''quoted'' \"x\"\nline', 9.99, NULL, '{\"a\": [1, null]}')",
        "UPDATE items SET name = 'renamed', tags = '{}' WHERE id = 2",
        "UPDATE items SET price = 100 WHERE id = 3",  # big (TOAST) is not sent: kept from the lake
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
    assert_same(project, pgl)
    assert query(project, "SELECT big IS NOT NULL AND length(big) = 5000 AS ok FROM src.items WHERE id = 3") == [{"ok": True}]
    ops = query(project, "SELECT _fbox_op AS op, count(*) AS n FROM src.__delta_items GROUP BY 1 ORDER BY 1")
    assert ops == [{"op": "delete", "n": 4}, {"op": "insert", "n": 2}, {"op": "update", "n": 4}]
    assert plan_actions(project) == []
    # the slot is only released up to what the lake committed: next detect/load moves it
    pgl.sql("UPDATE items SET flag = true WHERE id = 1")
    fbox(project, "run")
    assert_same(project, pgl)
    assert query(project, "SELECT count(DISTINCT _fbox_run_id) AS n FROM src.__delta_items") == [{"n": 2}]


def test_changes_during_the_initial_snapshot(pgl, tmp_path, monkeypatch):
    """DML committed after the slot was created but before the copy (seen twice: by the copy and the
    slot) and DML after the copy (seen by the slot only) is neither lost nor duplicated."""
    import psycopg
    from fbox_postgresql.cdc import PostgresCdc
    from featherbox.workspace import Workspace

    pgl.sql(*SEED)
    project = project_for(pgl, tmp_path)
    other = psycopg.connect(host=pgl.params["host"], port=pgl.params["port"], user="postgres", dbname=pgl.dbname, autocommit=True)
    original_start, original_read = PostgresCdc.start_snapshot, PostgresCdc.read

    def start_snapshot(self):
        position = original_start(self)
        other.execute("INSERT INTO items (id, name) VALUES (50, 'during')")
        other.execute("UPDATE items SET name = 'during-upd' WHERE id = 1")
        other.execute("DELETE FROM items WHERE id = 2")
        other.execute("UPDATE items SET id = 60 WHERE id = 8")
        return position

    def read(self, position, sink):
        other.execute("INSERT INTO items (id, name) VALUES (51, 'after-copy')")
        other.execute("UPDATE items SET name = 'after-copy-upd' WHERE id = 50")
        other.execute("DELETE FROM items WHERE id = 9")
        return original_read(self, position, sink)

    monkeypatch.setattr(PostgresCdc, "start_snapshot", start_snapshot)
    monkeypatch.setattr(PostgresCdc, "read", read)
    try:
        _plan, result = Workspace(project).run()
    finally:
        other.close()
    assert result.ok, {n: o.error for n, o in result.outcomes.items()}
    monkeypatch.undo()
    assert_same(project, pgl)
    assert query(project, "SELECT name FROM src.items WHERE id IN (1, 50, 51) ORDER BY id") == [
        {"name": "during-upd"}, {"name": "after-copy-upd"}, {"name": "after-copy"}]
    fbox(project, "run")  # nothing replayed twice later either
    assert_same(project, pgl)


KILL_HOOK = """
import os, time
if os.environ.get("FBOX_TEST_KILL_MARK"):
    import featherbox.tables.cdc as cdc
    original = cdc.apply_file
    def apply_file(*args, **kwargs):
        original(*args, **kwargs)
        open(os.environ["FBOX_TEST_KILL_MARK"], "w").close()
        time.sleep(120)
    cdc.apply_file = apply_file
"""


def test_sigkill_mid_apply_then_rerun(pgl, tmp_path):
    pgl.sql(*SEED)
    project = project_for(pgl, tmp_path)
    fbox(project, "run")
    _slot, committed = slot_of(pgl)
    pgl.sql(
        "INSERT INTO items (id, name) SELECT g, 'bulk' FROM generate_series(1000, 1999) g",
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
    assert slot_of(pgl)[1] == committed  # nothing was released at the source
    assert normalized_lake(project) != source_items(pgl)  # and nothing committed in the lake
    fbox(project, "run")
    assert_same(project, pgl)
    assert query(project, "SELECT count(*) AS n FROM src.items") == [{"n": 1015}]


def test_adapter_delete_drops_slot_and_publication(pgl, tmp_path):
    pgl.sql(*SEED)
    project = project_for(pgl, tmp_path, extra="  slot: fbox_custom_slot\n")
    fbox(project, "run")
    assert pgl.rows("SELECT slot_name, plugin FROM pg_replication_slots") == [("fbox_custom_slot", "pgoutput")]
    assert pgl.rows("SELECT pubname FROM pg_publication") == [("fbox_custom_slot",)]
    fbox(project, "adapter", "delete", "src", "--force")
    assert pgl.rows("SELECT slot_name FROM pg_replication_slots") == []
    assert pgl.rows("SELECT pubname FROM pg_publication") == []


def test_table_without_key_is_refused(pgl, tmp_path):
    pgl.sql("CREATE TABLE nokey (id int, v text)", "INSERT INTO nokey VALUES (1, 'a')")
    project = write_project(tmp_path / "p", {
        "adapters/src.yml": "type: postgresql\nconfig:\n" + pgl.config_yaml() + "\ntables: [nokey]\nincremental:\n  type: cdc\n  primary_key: id\n",
    })
    result = fbox(project, "run", check=False)
    assert result.returncode != 0
    assert "REPLICA IDENTITY FULL" in result.stdout + result.stderr
    assert pgl.rows("SELECT slot_name FROM pg_replication_slots") == []
    pgl.sql("ALTER TABLE nokey REPLICA IDENTITY FULL")
    fbox(project, "run")
    pgl.sql("UPDATE nokey SET v = 'b'", "INSERT INTO nokey VALUES (2, 'c')", "DELETE FROM nokey WHERE id = 2")
    fbox(project, "run")
    assert query(project, "SELECT id, v FROM src.nokey") == [{"id": 1, "v": "b"}]


def test_wal_level_replica_gives_clear_error(pg, tmp_path):
    level = pg.rows("SHOW wal_level")[0][0]
    if level == "logical":
        pytest.skip("the shared PostgreSQL already runs with wal_level = logical")
    pg.sql("CREATE TABLE t (id int PRIMARY KEY)")
    project = write_project(tmp_path / "p", {
        "adapters/src.yml": "type: postgresql\nconfig:\n" + pg.config_yaml() + "\ntables: [t]\nincremental:\n  type: cdc\n  primary_key: id\n",
    })
    result = fbox(project, "run", check=False)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "set wal_level = logical in postgresql.conf and restart" in out, out
