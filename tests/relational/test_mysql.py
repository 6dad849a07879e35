from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from featherbox.testing import write_project

from dbtest import fbox, plan_actions, query

T0 = datetime(2024, 5, 1, 12, 0, 0)


def seed(my):
    my.sql(
        "CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(50), balance DECIMAL(10,2), updated_at DATETIME(6) NOT NULL)",
        "CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT, amount DOUBLE, note TEXT)",
    )
    cur = my.con.cursor()
    cur.executemany(
        "INSERT INTO customers VALUES (%s, %s, %s, %s)",
        [(i, f"c{i}", Decimal(i) / 4, T0 + timedelta(minutes=i)) for i in range(1, 21)],
    )
    cur.executemany("INSERT INTO orders VALUES (%s, %s, %s, %s)", [(i, i % 20 + 1, i * 1.5, "it's \\ ok") for i in range(1, 51)])
    cur.close()


def lake_customers(project):
    return sorted(
        (r["id"], r["name"], Decimal(str(r["balance"])), r["updated_at"])
        for r in query(project, "SELECT id, name, balance, strftime(updated_at, '%Y-%m-%d %H:%M:%S.%f') AS updated_at FROM src.customers")
    )


def source_customers(my):
    return [(r[0], r[1], Decimal(r[2]), r[3]) for r in my.rows(
        "SELECT id, name, balance, DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s.%f') FROM customers")]


def test_full_load_equals_source(my, tmp_path):
    seed(my)
    project = write_project(tmp_path / "p", {"adapters/src.yml": "type: mysql\nconfig:\n" + my.config_yaml()})
    fbox(project, "run")
    assert lake_customers(project) == source_customers(my)
    orders = query(project, "SELECT id, customer_id, amount, note FROM src.orders ORDER BY id")
    assert [(r["id"], r["customer_id"], r["amount"], r["note"]) for r in orders] == my.rows(
        "SELECT id, customer_id, amount, note FROM orders")
    assert plan_actions(project) == []
    my.sql("UPDATE orders SET note = 'changed' WHERE id = 7")
    actions = plan_actions(project)
    assert len(actions) == 1 and "orders" in actions[0]["reason"], actions
    fbox(project, "run")
    assert query(project, "SELECT note FROM src.orders WHERE id = 7") == [{"note": "changed"}]


def test_column_incremental_ties_and_late_commits(my, tmp_path):
    seed(my)
    project = write_project(tmp_path / "p", {
        "adapters/src.yml": "type: mysql\nconfig:\n" + my.config_yaml() + """
tables:
  - customers
  - name: rich
    query: SELECT id, name, updated_at FROM customers WHERE balance >= 2
incremental:
  type: columner
  column: updated_at
  primary_key: id
  lookback: 5m
""",
    })
    fbox(project, "run")
    assert lake_customers(project) == source_customers(my)
    assert plan_actions(project) == []
    watermark = T0 + timedelta(minutes=20)
    cur = my.con.cursor()
    cur.execute("INSERT INTO customers VALUES (21, 'tie', 9, %s)", (watermark,))
    cur.execute("INSERT INTO customers VALUES (22, 'late', 9, %s)", (watermark - timedelta(minutes=3),))
    cur.execute("UPDATE customers SET name = 'upd', updated_at = %s WHERE id = 3", (watermark + timedelta(minutes=1),))
    cur.execute("INSERT INTO customers VALUES (23, 'new', 9, %s)", (watermark + timedelta(minutes=2),))
    actions = plan_actions(project)
    assert len(actions) == 1 and "past the watermark" in actions[0]["reason"], actions
    fbox(project, "run")
    assert lake_customers(project) == source_customers(my)
    rich = query(project, "SELECT id, name FROM src.rich ORDER BY id")
    assert [(r["id"], r["name"]) for r in rich] == my.rows("SELECT id, name FROM customers WHERE balance >= 2")
    assert plan_actions(project) == []
    cur.execute("INSERT INTO customers VALUES (24, 'tie2', 9, %s)", (watermark + timedelta(minutes=2),))
    actions = plan_actions(project)
    assert len(actions) == 1 and "lookback" in actions[0]["reason"], actions
    fbox(project, "run")
    fbox(project, "run")
    assert lake_customers(project) == source_customers(my)
    assert query(project, "SELECT count(*) AS n, count(DISTINCT id) AS d FROM src.customers") == [{"n": 24, "d": 24}]


def test_wrong_password_names_adapter_and_host_not_password(my, tmp_path):
    project = write_project(tmp_path / "p", {
        "adapters/src.yml": f"""
            type: mysql
            config:
              host: {my.params['host']}
              port: {my.params['port']}
              user: {my.params['user']}
              password: TopSecret-pw-123
              dbname: {my.dbname}
        """,
    })
    result = fbox(project, "run", check=False)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "src" in out and f"MySQL at {my.params['host']}" in out and "Access denied" in out, out
    assert "TopSecret-pw-123" not in out
