"""PostgreSQL-only loads: schemas, URL config, settings from the environment. The scenarios both
servers share are in test_loads.py."""

from __future__ import annotations

from featherbox.testing import write_project

from dbkinds import POSTGRES
from dbtest import fbox, query


def test_url_config_and_query_tables(pg, tmp_path):
    POSTGRES.seed_customers(pg)
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
    assert query(project, "SELECT count(*) AS n FROM raw_src.hidden") == [{"n": 2}]
    assert query(project, "SELECT count(*) AS n FROM raw_src.big_orders") == [{"n": 10}]


def test_cdc_is_rejected_and_port_from_env_string_is_accepted(pg, tmp_path, monkeypatch):
    POSTGRES.seed_customers(pg)
    monkeypatch.setenv("FBOX_T_PORT", str(pg.params["port"]))
    base = "type: postgresql\nconfig:\n" + pg.config_yaml().replace(f'"{pg.params["port"]}"', "$FBOX_T_PORT")
    project = write_project(tmp_path / "p", {"adapters/src.yml": base + "\ntables: [orders]\n"})
    fbox(project, "run")
    assert query(project, "SELECT count(*) AS n FROM raw_src.orders") == [{"n": 50}]
    cdc = write_project(tmp_path / "q", {"adapters/src.yml": base + "\nincremental: {type: cdc, column: id, primary_key: id}\n"})
    result = fbox(cdc, "plan", check=False)
    assert result.returncode != 0 and "incremental" in result.stdout + result.stderr
