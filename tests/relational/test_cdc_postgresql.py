"""`incremental: {type: cdc}` on PostgreSQL only: what the other server has no counterpart for. The
scenarios both servers share are in test_cdc.py."""

from __future__ import annotations

from featherbox.testing import write_project

from dbtest import fbox, query


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
    assert query(project, "SELECT id, v FROM raw_src.nokey") == [{"id": 1, "v": "b"}]
