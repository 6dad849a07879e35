"""The sqlite adapter: full copies, and increments by a watermark column merged by primary key."""

from __future__ import annotations

import json
import sqlite3

from featherbox.testing import write_project

from fboxcli import invoke, query, ran, run_json


def _source(root):
    con = sqlite3.connect(root / "app.sqlite")
    con.execute("CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, amount REAL, updated_at TEXT, deleted_at TEXT)")
    return con


def _lake(root):
    return [(r["id"], r["amount"], r["updated_at"]) for r in query(root, "SELECT id, amount, updated_at FROM app.orders ORDER BY id")]


def _live(con):
    return [tuple(r) for r in con.execute("SELECT id, amount, updated_at FROM orders WHERE deleted_at IS NULL ORDER BY id")]


def test_column_increments_merge_by_key_with_ties_and_soft_deletes(tmp_path):
    root = write_project(tmp_path / "p", {
        "adapters/app.yml": """
            type: sqlite
            config: {path: app.sqlite}
            tables: [orders]
            incremental:
              type: column
              column: updated_at
              primary_key: id
              soft_delete: {column: deleted_at}
        """,
        "models/total.yml": "sql: SELECT count(*) AS n, sum(amount) AS amount FROM app.orders\n",
    })
    con = _source(root)
    con.executemany("INSERT INTO orders VALUES (?, ?, ?, NULL)", [(i, i * 1.5, f"2024-01-01 00:00:{i:02d}") for i in range(1, 21)])
    con.commit()
    assert ran(run_json(root)) == {"app": "completed", "main.total": "completed"}
    assert _lake(root) == _live(con)

    con.execute("UPDATE orders SET amount = 99, updated_at = '2024-01-01 00:00:30' WHERE id = 3")
    con.execute("INSERT INTO orders VALUES (21, 5, '2024-01-01 00:00:30', NULL)")  # ties the new watermark
    con.execute("UPDATE orders SET deleted_at = '2024-01-02', updated_at = '2024-01-01 00:00:31' WHERE id = 7")
    con.commit()
    plan = json.loads(invoke("plan", "--json", project=root))["actions"]
    assert [a["node"] for a in plan] == ["app", "main.total"]
    run_json(root)
    assert _lake(root) == _live(con)

    con.execute("INSERT INTO orders VALUES (22, 1, '2024-01-01 00:00:31', NULL)")  # same value as the watermark
    con.commit()
    run_json(root)
    assert _lake(root) == _live(con)
    assert query(root, "SELECT n FROM main.total") == [{"n": len(_live(con))}]
    assert json.loads(invoke("plan", "--json", project=root))["actions"] == []


def test_full_copy_reloads_when_the_file_changes(tmp_path):
    root = write_project(tmp_path / "f", {"adapters/app.yml": "type: sqlite\nconfig: {path: app.sqlite}\n"})
    con = _source(root)
    con.execute("INSERT INTO orders VALUES (1, 2.0, '2024-01-01', NULL)")
    con.commit()
    run_json(root)
    assert json.loads(invoke("plan", "--json", project=root))["actions"] == []
    con.execute("INSERT INTO orders VALUES (2, 3.0, '2024-01-01', NULL)")
    con.commit()
    assert ran(run_json(root)) == {"app": "completed"}
    assert len(_lake(root)) == 2


def test_rows_read_again_unchanged_are_not_rewritten(tmp_path):
    """Rows at the watermark are read again every time; only rows that differ reach the change feed."""
    root = write_project(tmp_path / "w", {
        "adapters/app.yml": """
            type: sqlite
            config: {path: app.sqlite}
            tables: [orders]
            incremental: {type: column, column: updated_at, primary_key: id}
        """,
    })
    con = _source(root)
    con.executemany("INSERT INTO orders VALUES (?, ?, ?, NULL)", [(i, 1.0, "2024-01-01 10:00:00") for i in range(1, 6)])
    con.commit()
    run_json(root)

    def changes_since_last_run():
        snapshots = [r["id"] for r in query(root, "SELECT snapshot_id AS id FROM lake.snapshots() ORDER BY 1")]
        rows = query(root, f"SELECT change_type, id FROM ducklake_table_changes('lake', 'app', 'orders', {snapshots[-2] + 1}, {snapshots[-1]}) ORDER BY 1, 2")
        return [(r["change_type"], r["id"]) for r in rows]

    con.execute("INSERT INTO orders VALUES (6, 2.0, '2024-01-01 10:30:00', NULL)")  # rows at the watermark are read again
    con.commit()
    payload = run_json(root)
    assert ran(payload) == {"app": "completed"}
    assert "5 read again unchanged" in payload["actions"][0]["message"]
    assert changes_since_last_run() == [("insert", 6)]
    assert _lake(root) == _live(con)
