"""Column-mode incremental loads: soft deletes, key reconciliation (hard deletes) and the chunked,
resumable initial snapshot, on PostgreSQL and MariaDB, through the CLI."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from featherbox.testing import write_project

import dbtest
from dbtest import fbox, lake, plan_actions, query

T0 = datetime(2024, 5, 1, 12, 0, 0)


@pytest.fixture(params=["pg", "my"])
def db(request):
    return request.getfixturevalue(request.param)


def seed(db, n: int = 10) -> None:
    ts = "timestamp" if db.kind == "postgresql" else "datetime(6)"
    db.sql(
        f"CREATE TABLE items (id int PRIMARY KEY, name varchar(40), v int NOT NULL, updated_at {ts} NOT NULL, "
        f"deleted_at {ts} NULL, is_deleted boolean NOT NULL DEFAULT false)"
    )
    insert(db, *[(i, f"n{i}", T0 + timedelta(minutes=i)) for i in range(1, n + 1)])


def insert(db, *rows) -> None:
    cur = db.con.cursor()
    cur.executemany("INSERT INTO items (id, name, v, updated_at) VALUES (%s, %s, 0, %s)", list(rows))
    cur.close()


def execute(db, sql: str, *params) -> None:
    cur = db.con.cursor()
    cur.execute(sql, params)
    cur.close()


def project_for(db, tmp_path: Path, options: str, name: str = "p") -> Path:
    return write_project(tmp_path / name, {
        "adapters/src.yml": f"type: {db.kind}\nconfig:\n" + db.config_yaml() + """
tables: [items]
incremental:
  type: column
  column: updated_at
  primary_key: id
""" + options,
    })


def lake_rows(project: Path) -> list[tuple]:
    """The lake's (id, name, v), sorted; each read also checks that no key is there twice."""
    with lake(project) as q:
        assert q("SELECT count(*) - count(DISTINCT id) AS dup FROM raw_src.items") == [{"dup": 0}]
        return sorted((r["id"], r["name"], r["v"]) for r in q("SELECT id, name, v FROM raw_src.items"))


def source_rows(db, where: str = "") -> list[tuple]:
    return db.rows(f"SELECT id, name, v FROM items {where}")


@pytest.mark.parametrize("form", ["timestamp", "flag"])
def test_soft_delete_removes_rows(db, tmp_path, form):
    seed(db)
    if form == "timestamp":
        options, delete = "  lookback: 1m\n  soft_delete: {column: deleted_at}\n", "deleted_at = updated_at"
        live = "WHERE deleted_at IS NULL"
    else:
        options, delete = "  lookback: 1m\n  soft_delete: {column: is_deleted, value: true}\n", "is_deleted = true"
        live = "WHERE NOT is_deleted"
    execute(db, f"UPDATE items SET {delete} WHERE id = 10")  # deleted before the first load: never copied
    project = project_for(db, tmp_path, options)
    fbox(project, "run")
    rows = lake_rows(project)
    assert rows == source_rows(db, live) and len(rows) == 9
    assert plan_actions(project) == []
    # a soft delete (bumping the watermark column), an update and an insert
    t1 = T0 + timedelta(hours=1)
    if form == "timestamp":
        execute(db, "UPDATE items SET deleted_at = %s, updated_at = %s WHERE id = 2", t1, t1)
    else:
        execute(db, "UPDATE items SET is_deleted = true, updated_at = %s WHERE id = 2", t1)
    execute(db, "UPDATE items SET name = 'upd', v = 1, updated_at = %s WHERE id = 3", T0 + timedelta(hours=1))
    insert(db, (11, "n11", T0 + timedelta(hours=1, minutes=1)))
    actions = plan_actions(project)
    assert len(actions) == 1 and "past the watermark" in actions[0]["reason"], actions
    fbox(project, "run")
    rows = lake_rows(project)
    assert rows == source_rows(db, live)
    assert 2 not in [r[0] for r in rows] and 11 in [r[0] for r in rows]
    assert plan_actions(project) == []  # soft-deleted rows at the source do not count as changes
    # undeleted: comes back
    undelete = "deleted_at = NULL" if form == "timestamp" else "is_deleted = false"
    execute(db, f"UPDATE items SET {undelete}, updated_at = %s WHERE id = 2", T0 + timedelta(hours=2))
    fbox(project, "run")
    rows = lake_rows(project)  # and no duplicates
    assert rows == source_rows(db, live) and 2 in [r[0] for r in rows]


def test_hard_delete_found_by_reconciliation(db, tmp_path, monkeypatch):
    seed(db)
    execute(db, "UPDATE items SET deleted_at = updated_at WHERE id = 9")
    project = project_for(db, tmp_path, "  reconcile: 1d\n  soft_delete: {column: deleted_at}\n")
    monkeypatch.setenv("FBOX_NOW", "2030-01-01T12:00:00")  # FeatherBox's clock (featherbox.clock), not the machine's
    fbox(project, "run")
    assert lake_rows(project) == source_rows(db, "WHERE deleted_at IS NULL")
    # hard deletes are invisible to the watermark; a soft delete that did not bump updated_at too
    execute(db, "DELETE FROM items WHERE id IN (4, 5)")
    execute(db, "UPDATE items SET deleted_at = updated_at WHERE id = 6")
    monkeypatch.setenv("FBOX_NOW", "2030-01-02T11:59:00")
    assert plan_actions(project) == []  # a day has not passed since the first load's reconciliation
    monkeypatch.setenv("FBOX_NOW", "2030-01-02T12:00:00")
    actions = plan_actions(project)
    assert len(actions) == 1 and "reconciliation due" in actions[0]["reason"], actions
    fbox(project, "run")
    rows = lake_rows(project)
    assert rows == source_rows(db, "WHERE deleted_at IS NULL")
    assert [r[0] for r in rows] == [1, 2, 3, 7, 8, 10]
    assert plan_actions(project) == []  # reconciled at the clock's 2030-01-02T12:00: not due again


def test_reconcile_not_due_keeps_rows_and_does_not_reload(db, tmp_path):
    seed(db)
    project = project_for(db, tmp_path, "  reconcile: 1d\n")
    fbox(project, "run")
    execute(db, "DELETE FROM items WHERE id = 4")
    assert plan_actions(project) == []  # not due for a day: nothing to do, the row stays
    assert 4 in [r[0] for r in lake_rows(project)]
    # reconcile is operational: changing it is not a config change that reloads the table
    (project / "adapters/src.yml").write_text((project / "adapters/src.yml").read_text().replace("reconcile: 1d", "reconcile: 2d"))
    assert plan_actions(project) == []


def test_chunked_snapshot_takes_several_runs_and_loses_nothing(db, tmp_path):
    seed(db, 25)
    project = project_for(db, tmp_path, "  lookback: 1m\n  chunk_rows: 4\n  max_chunks_per_run: 2\n")
    fbox(project, "run")
    rows = lake_rows(project)
    assert len(rows) == 8  # 2 chunks of 4, ordered by key
    assert [r[0] for r in rows] == list(range(1, 9))
    actions = plan_actions(project)
    assert len(actions) == 1 and "initial snapshot in progress" in actions[0]["reason"], actions
    assert "8 rows copied, 17 left" in actions[0]["reason"], actions
    # changes between runs: behind the cursor, ahead of it, and a new key behind it
    execute(db, "UPDATE items SET name = 'behind', v = 1, updated_at = %s WHERE id = 2", T0 + timedelta(hours=1))
    execute(db, "UPDATE items SET name = 'ahead', v = 1, updated_at = %s WHERE id = 20", T0 + timedelta(hours=1))
    insert(db, (0, "new-behind", T0 + timedelta(hours=1)))
    fbox(project, "run")
    assert len(lake_rows(project)) == 16
    # a late row inside the lookback of the snapshot-start watermark (T0 + 25m)
    insert(db, (-1, "late", T0 + timedelta(minutes=24, seconds=30)))
    runs = 2
    while "initial snapshot in progress" in " ".join(a["reason"] for a in plan_actions(project)):
        execute(db, "UPDATE items SET v = v + 1, updated_at = %s WHERE id = 7", T0 + timedelta(hours=1 + runs))
        fbox(project, "run")
        runs += 1
        assert runs < 10
    assert runs == 4  # 8 + 8 + 8 + 1 rows (plus the one inserted behind the cursor, picked up by the merge)
    assert plan_actions(project) == []
    assert lake_rows(project) == source_rows(db)  # and no duplicates
    execute(db, "UPDATE items SET name = 'later', updated_at = %s WHERE id = 1", T0 + timedelta(days=1))
    fbox(project, "run")  # normal increments after the snapshot
    assert lake_rows(project) == source_rows(db)
    assert plan_actions(project) == []


def killed_run(project: Path, tmp_path: Path) -> None:
    """`fbox run` in a new process, SIGKILLed after it copied its chunks and before it committed them."""
    dbtest.killed_run(project, tmp_path / "copied", "featherbox.database_sources.column_mode:ColumnMode._copy_chunks")


def test_sigkill_during_chunked_snapshot_then_reruns(db, tmp_path):
    seed(db, 30)
    project = project_for(db, tmp_path, "  chunk_rows: 5\n  max_chunks_per_run: 2\n")
    killed_run(project, tmp_path)  # the very first run: nothing committed
    assert query(project, "SELECT count(*) AS n FROM duckdb_tables() WHERE schema_name = 'raw_src'") == [{"n": 0}]
    fbox(project, "run")
    assert len(lake_rows(project)) == 10
    killed_run(project, tmp_path)  # copies rows 11-20, killed before the commit
    assert len(lake_rows(project)) == 10
    execute(db, "UPDATE items SET name = 'moved', v = 5, updated_at = %s WHERE id = 3", T0 + timedelta(hours=1))
    insert(db, (31, "n31", T0 + timedelta(hours=1)))
    fbox(project, "run")
    assert [r[0] for r in lake_rows(project)] == list(range(1, 21))  # continued from key 10, not from scratch
    killed_run(project, tmp_path)
    runs = 0
    while plan_actions(project):
        fbox(project, "run")
        runs += 1
        assert runs < 10
    assert lake_rows(project) == source_rows(db)  # and no duplicates
