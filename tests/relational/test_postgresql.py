from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from featherbox.testing import write_project

from dbtest import fbox, plan_actions, query

SEED = [
    "CREATE TABLE customers (id int PRIMARY KEY, name text, balance numeric(10,2), updated_at timestamptz NOT NULL)",
    "CREATE TABLE orders (id int PRIMARY KEY, customer_id int, amount double precision, note text)",
    "CREATE SCHEMA other",
    "CREATE TABLE other.hidden (x int)",
]
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)


def seed(pg):
    pg.sql(*SEED)
    cur = pg.con.cursor()
    cur.executemany(
        "INSERT INTO customers VALUES (%s, %s, %s, %s)",
        [(i, f"c{i}", Decimal(i) / 4, T0 + timedelta(minutes=i)) for i in range(1, 21)],
    )
    cur.executemany("INSERT INTO orders VALUES (%s, %s, %s, %s)", [(i, i % 20 + 1, i * 1.5, "it's") for i in range(1, 51)])


def lake_customers(project):
    return sorted(
        (r["id"], r["name"], Decimal(str(r["balance"])), r["updated_at"])
        for r in query(project, "SELECT id, name, balance, strftime(updated_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S.%f') AS updated_at FROM src.customers")
    )


def source_customers(pg):
    return pg.rows("SELECT id, name, balance, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') FROM customers")


def test_full_load_equals_source(pg, tmp_path):
    seed(pg)
    project = write_project(tmp_path / "p", {
        "adapters/src.yml": "type: postgresql\nconfig:\n" + pg.config_yaml(),
    })
    fbox(project, "run")
    assert lake_customers(project) == source_customers(pg)
    orders = query(project, "SELECT id, customer_id, amount, note FROM src.orders ORDER BY id")
    assert [(r["id"], r["customer_id"], r["amount"], r["note"]) for r in orders] == pg.rows("SELECT id, customer_id, amount, note FROM orders")
    tables = query(project, "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'src' ORDER BY 1")
    assert [r["table_name"] for r in tables] == ["customers", "orders"]  # schema public only
    assert plan_actions(project) == []  # unchanged source: nothing to do
    pg.sql("UPDATE orders SET note = 'changed' WHERE id = 7")  # same row count, different content
    actions = plan_actions(project)
    assert len(actions) == 1 and "orders" in actions[0]["reason"], actions
    fbox(project, "run")
    assert query(project, "SELECT note FROM src.orders WHERE id = 7") == [{"note": "changed"}]


def test_url_config_and_query_tables(pg, tmp_path):
    seed(pg)
    p = pg.params
    auth = p["user"] + (":" + p["password"] if p["password"] else "")
    project = write_project(tmp_path / "p", {
        "adapters/src.yml": f"""
            type: postgresql
            config:
              url: postgresql://{auth}@{p['host']}:{p['port']}/{pg.dbname}
            schema: other
            tables:
              - hidden
              - name: big_orders
                query: SELECT id, amount FROM public.orders WHERE amount > 60
        """,
    })
    pg.sql("INSERT INTO other.hidden VALUES (1), (2)")
    fbox(project, "run")
    assert query(project, "SELECT count(*) AS n FROM src.hidden") == [{"n": 2}]
    assert query(project, "SELECT count(*) AS n FROM src.big_orders") == [{"n": 10}]


def test_column_incremental_ties_and_late_commits(pg, tmp_path):
    seed(pg)
    project = write_project(tmp_path / "p", {
        "adapters/src.yml": "type: postgresql\nconfig:\n" + pg.config_yaml() + """
tables: [customers]
incremental:
  type: column
  column: updated_at
  primary_key: id
  lookback: 5m
""",
    })
    fbox(project, "run")
    assert lake_customers(project) == source_customers(pg)
    assert plan_actions(project) == []
    watermark = T0 + timedelta(minutes=20)
    cur = pg.con.cursor()
    # a tie on the watermark, a late commit inside the lookback, an update and a brand new row
    cur.execute("INSERT INTO customers VALUES (21, 'tie', 1, %s)", (watermark,))
    cur.execute("INSERT INTO customers VALUES (22, 'late', 2, %s)", (watermark - timedelta(minutes=3),))
    cur.execute("UPDATE customers SET name = 'upd', updated_at = %s WHERE id = 3", (watermark + timedelta(minutes=1),))
    cur.execute("INSERT INTO customers VALUES (23, 'new', 3, %s)", (watermark + timedelta(minutes=2),))
    actions = plan_actions(project)
    assert len(actions) == 1 and "past the watermark" in actions[0]["reason"], actions
    fbox(project, "run")
    assert lake_customers(project) == source_customers(pg)
    assert plan_actions(project) == []
    # only a tie on the (new) watermark: detected and merged, not duplicated
    cur.execute("INSERT INTO customers VALUES (24, 'tie2', 4, %s)", (watermark + timedelta(minutes=2),))
    actions = plan_actions(project)
    assert len(actions) == 1 and "lookback" in actions[0]["reason"], actions
    fbox(project, "run")
    assert lake_customers(project) == source_customers(pg)
    fbox(project, "run")  # a no-op run changes nothing
    assert lake_customers(project) == source_customers(pg)
    assert query(project, "SELECT count(*) AS n, count(DISTINCT id) AS d FROM src.customers") == [{"n": 24, "d": 24}]


def test_unreachable_source_names_adapter_and_host_not_password(pg, tmp_path):
    project = write_project(tmp_path / "p", {
        "adapters/src.yml": f"""
            type: postgresql
            config:
              host: 127.0.0.1
              port: 1
              user: {pg.params['user']}
              password: TopSecret-pw-123
              dbname: {pg.dbname}
        """,
    })
    result = fbox(project, "run", check=False)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "src" in out and "PostgreSQL at 127.0.0.1" in out, out
    assert "TopSecret-pw-123" not in out


def test_cdc_is_rejected_and_port_from_env_string_is_accepted(pg, tmp_path, monkeypatch):
    seed(pg)
    monkeypatch.setenv("FBOX_T_PORT", str(pg.params["port"]))
    base = "type: postgresql\nconfig:\n" + pg.config_yaml().replace(f'"{pg.params["port"]}"', "$FBOX_T_PORT")
    project = write_project(tmp_path / "p", {"adapters/src.yml": base + "\ntables: [orders]\n"})
    fbox(project, "run")
    assert query(project, "SELECT count(*) AS n FROM src.orders") == [{"n": 50}]
    cdc = write_project(tmp_path / "q", {"adapters/src.yml": base + "\nincremental: {type: cdc, column: id, primary_key: id}\n"})
    result = fbox(cdc, "plan", check=False)
    assert result.returncode != 0 and "incremental" in result.stdout + result.stderr
