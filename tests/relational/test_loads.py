"""Full and column-incremental loads, each scenario once for PostgreSQL and MariaDB (what differs
between them is in dbkinds.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from featherbox.testing import write_project

from dbtest import fbox, lake, plan_actions, query


@pytest.fixture
def source(server, request):
    """A fresh database on the shared server of the kind."""
    return request.getfixturevalue(server.fixture)


def test_full_load_equals_source(server, source, tmp_path):
    server.seed_customers(source)
    adapter = f"type: {server.kind}\nconfig:\n" + source.config_yaml()
    project = write_project(tmp_path / "p", {"adapters/src.yml": adapter})
    fbox(project, "run")
    with lake(project) as q:
        assert server.lake_customers(q) == server.source_customers(source)
        orders = q("SELECT id, customer_id, amount, note FROM raw_src.orders ORDER BY id")
        assert [(r["id"], r["customer_id"], r["amount"], r["note"]) for r in orders] == source.rows(
            "SELECT id, customer_id, amount, note FROM orders")
        tables = q("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw_src' ORDER BY 1")
        assert [r["table_name"] for r in tables] == ["customers", "orders"]  # PostgreSQL: schema public only
    assert plan_actions(project) == []  # unchanged source: nothing to do
    source.sql("UPDATE orders SET note = 'changed' WHERE id = 7")  # same row count, different content
    actions = plan_actions(project)
    assert len(actions) == 1 and "orders" in actions[0]["reason"], actions
    fbox(project, "run")
    assert query(project, "SELECT note FROM raw_src.orders WHERE id = 7") == [{"note": "changed"}]


def test_column_incremental_ties_and_late_commits(server, source, tmp_path):
    server.seed_customers(source)
    project = write_project(tmp_path / "p", {
        "adapters/src.yml": f"type: {server.kind}\nconfig:\n" + source.config_yaml() + f"""
tables:
  - customers
  - name: rich
    query: SELECT id, name, updated_at FROM customers WHERE balance >= 2
incremental:
  type: {server.column_type}
  column: updated_at
  primary_key: id
  lookback: 5m
""",
    })
    fbox(project, "run")
    with lake(project) as q:
        assert server.lake_customers(q) == server.source_customers(source)
    assert plan_actions(project) == []
    watermark = server.t0 + timedelta(minutes=20)
    cur = source.con.cursor()
    # a tie on the watermark, a late commit inside the lookback, an update and a brand new row
    cur.execute("INSERT INTO customers VALUES (21, 'tie', 1, %s)", (watermark,))
    cur.execute("INSERT INTO customers VALUES (22, 'late', 2, %s)", (watermark - timedelta(minutes=3),))
    cur.execute("UPDATE customers SET name = 'upd', updated_at = %s WHERE id = 3", (watermark + timedelta(minutes=1),))
    cur.execute("INSERT INTO customers VALUES (23, 'new', 3, %s)", (watermark + timedelta(minutes=2),))
    actions = plan_actions(project)
    assert len(actions) == 1 and "past the watermark" in actions[0]["reason"], actions
    fbox(project, "run")
    with lake(project) as q:
        assert server.lake_customers(q) == server.source_customers(source)
        rich = q("SELECT id, name FROM raw_src.rich ORDER BY id")
        assert [(r["id"], r["name"]) for r in rich] == source.rows("SELECT id, name FROM customers WHERE balance >= 2")
    assert plan_actions(project) == []
    # only a tie on the (new) watermark: detected and merged, not duplicated
    cur.execute("INSERT INTO customers VALUES (24, 'tie2', 4, %s)", (watermark + timedelta(minutes=2),))
    cur.close()
    actions = plan_actions(project)
    assert len(actions) == 1 and "lookback" in actions[0]["reason"], actions
    fbox(project, "run")
    with lake(project) as q:
        assert server.lake_customers(q) == server.source_customers(source)
    fbox(project, "run")  # a no-op run changes nothing
    with lake(project) as q:
        assert server.lake_customers(q) == server.source_customers(source)
        assert q("SELECT count(*) AS n, count(DISTINCT id) AS d FROM raw_src.customers") == [{"n": 24, "d": 24}]


def test_connection_error_names_adapter_and_host_not_password(server, source, tmp_path):
    config, needles = server.bad_connection(source)
    project = write_project(tmp_path / "p", {"adapters/src.yml": config})
    result = fbox(project, "run", check=False)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert all(needle in out for needle in needles), (needles, out)
    assert "TopSecret-pw-123" not in out
