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
    return [(r["id"], r["amount"], r["updated_at"]) for r in query(root, "SELECT id, amount, updated_at FROM raw_app.orders ORDER BY id")]


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
        "models/total.yml": "sql: SELECT count(*) AS n, sum(amount) AS amount FROM raw_app.orders\n",
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
        rows = query(root, f"SELECT change_type, id FROM ducklake_table_changes('lake', 'raw_app', 'orders', {snapshots[-2] + 1}, {snapshots[-1]}) ORDER BY 1, 2")
        return [(r["change_type"], r["id"]) for r in rows]

    con.execute("INSERT INTO orders VALUES (6, 2.0, '2024-01-01 10:30:00', NULL)")  # rows at the watermark are read again
    con.commit()
    payload = run_json(root)
    assert ran(payload) == {"app": "completed"}
    assert "5 read again unchanged" in payload["actions"][0]["message"]
    assert changes_since_last_run() == [("insert", 6)]
    assert _lake(root) == _live(con)



def test_merge_state_matches_the_whole_table(tmp_path):
    """A merge works out the new watermark, the window's row count and the table's row count from
    the rows it read, the lake's rows in the window and its own statements' counts; after every run
    they equal what the whole lake table says. Covers a lookback, ties, a late row inside the
    lookback, updates, inserts, soft deletes, a row deleted at the source inside the window (it stays
    in the lake), rows read again unchanged, a composite key, and a query table (its columns land as
    text) that yields a key twice."""
    root = write_project(tmp_path / "m", {
        "adapters/app.yml": """
            type: sqlite
            config: {path: app.sqlite}
            tables: [items, {name: lines, primary_key: [order_id, line]}]
            incremental: {type: column, column: v, primary_key: id, lookback: 3, soft_delete: {column: gone}}
        """,
        "adapters/q.yml": """
            type: sqlite
            config: {path: app.sqlite}
            tables:
              - name: doubled
                query: >-
                  SELECT id, printf('%03d', v) AS v, name FROM items WHERE gone IS NULL
                  UNION ALL SELECT id, printf('%03d', v - 1), 'older' FROM items WHERE id % 4 = 0
            incremental: {type: column, column: v, primary_key: id}
        """,
    })
    con = sqlite3.connect(root / "app.sqlite")
    con.executescript("""
        CREATE TABLE items (id INTEGER PRIMARY KEY, v INTEGER, name TEXT, gone INTEGER);
        CREATE TABLE lines (order_id INTEGER, line INTEGER, v INTEGER, qty INTEGER, gone INTEGER, PRIMARY KEY (order_id, line));
    """)
    con.executemany("INSERT INTO items VALUES (?, ?, ?, NULL)", [(i, i, f"n{i}") for i in range(1, 21)])
    con.executemany("INSERT INTO lines VALUES (?, ?, ?, ?, NULL)", [(i // 3, i % 3, i, i) for i in range(1, 31)])
    con.commit()
    doubled = (root / "adapters/q.yml").read_text().split("query: >-", 1)[1].split("incremental:")[0]

    def check() -> list[tuple]:
        versions = "SELECT node, state FROM _fbox.node_versions QUALIFY row_number() OVER (PARTITION BY node ORDER BY seq DESC) = 1"
        states = {r["node"]: json.loads(r["state"]) for r in query(root, versions)}
        for node, name, source in (("app", "items", "items"), ("app", "lines", "lines"), ("q", "doubled", f"({doubled})")):
            s = states[node]["tables"][name]
            mark, start = (json.dumps(s[k]["value"]).replace('"', "'") for k in ("watermark", "window_start"))
            whole = query(root, f"SELECT count(*) AS n, max(v) AS high, count(*) FILTER (v >= {start} AND v <= {mark}) AS w FROM raw_{node}.{name}")[0]
            assert (s["rows"], s["window_count"]) == (whole["n"], whole["w"]), (name, s, whole)
            read = con.execute(f"SELECT max(v) FROM {source}").fetchone()[0]  # soft-deleted rows count too
            assert s["watermark"]["value"] == max(whole["high"], read), (name, s, whole, read)
        return [(r["id"], r["v"], r["name"]) for r in query(root, "SELECT id, v, name FROM raw_app.items ORDER BY id")]

    def live() -> list[tuple]:
        return [tuple(r) for r in con.execute("SELECT id, v, name FROM items WHERE gone IS NULL ORDER BY id")]

    run_json(root)
    assert check() == live()
    # ties (v 20), a late row inside the lookback (v 18), updates, an insert, a soft delete, and a row
    # deleted at the source inside the window (the lake keeps it: only `reconcile` sees hard deletes)
    con.execute("INSERT INTO items VALUES (21, 20, 'tie', NULL), (22, 18, 'late', NULL), (23, 25, 'new', NULL)")
    con.execute("UPDATE items SET v = 24, name = 'upd' WHERE id IN (3, 8)")
    con.execute("UPDATE items SET v = 23, gone = 1 WHERE id = 5")
    con.execute("DELETE FROM items WHERE id = 19")
    con.execute("INSERT INTO lines VALUES (10, 1, 31, 1, NULL)")
    con.execute("UPDATE lines SET v = 26, qty = 0 WHERE order_id = 2")
    con.commit()
    payload = run_json(root)
    assert "read again unchanged" in " ".join(a["message"] for a in payload["actions"])
    lake = check()
    assert 19 in [r[0] for r in lake] and 5 not in [r[0] for r in lake]
    # read twice by the query ('024' and '023'): merged once, its latest row (a full copy keeps both)
    assert query(root, "SELECT v, name FROM raw_q.doubled WHERE id = 8") == [{"v": "024", "name": "upd"}]
    assert [r for r in lake if r[0] != 19] == live()
    run_json(root)  # only rows read again unchanged (and the row gone at the source)
    check()
    con.execute("UPDATE items SET v = 40, name = 'far' WHERE id = 1")  # the window moves past every other row
    con.execute("UPDATE lines SET v = 40 WHERE order_id = 10")
    con.commit()
    run_json(root)
    assert [r for r in check() if r[0] != 19] == live()
    con.execute("UPDATE items SET gone = NULL, v = 41 WHERE id = 5")  # undeleted: comes back
    con.commit()
    run_json(root)
    assert [r for r in check() if r[0] != 19] == live()
