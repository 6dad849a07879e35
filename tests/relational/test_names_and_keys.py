"""Source tables whose names need quoting, keys taken from the source, and keys, columns and durations
checked when the project plans; each scenario on a SQLite file, PostgreSQL and MariaDB (what differs
between them is in dbkinds.py), through `fbox run` / `fbox plan`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from featherbox.testing import write_project

from dbkinds import KINDS, SERVERS, SQLiteSource
from dbtest import fbox, lake, plan_actions

T0 = "2024-05-01 12:00:00"
T1 = "2024-05-01 13:00:00"


@pytest.fixture(params=KINDS, ids=lambda kind: kind.kind)
def kind(request):
    return request.param


@pytest.fixture
def sq(tmp_path):
    source = SQLiteSource(tmp_path / "shop.sqlite")
    yield source
    source.con.close()


@pytest.fixture
def source(kind, request):
    """A fresh database (PostgreSQL, MariaDB) or file (SQLite) of the kind."""
    return request.getfixturevalue(kind.fixture)


def seed(kind, source) -> None:
    """`users` (plain names), `order items` and `bad.select` (names that need quoting, with columns
    that do too: `item name`, `updated at`, `key`, `from`), and `nokey` (no primary key)."""
    q, ts = kind.ident_quote, kind.ts_type

    def n(name: str) -> str:
        return f"{q}{name}{q}"

    source.sql(
        f"CREATE TABLE users (id int PRIMARY KEY, name varchar(20), updated_at {ts})",
        f"CREATE TABLE {n('order items')} (id int PRIMARY KEY, {n('item name')} varchar(20), {n('updated at')} {ts})",
        f"CREATE TABLE {n('bad.select')} ({n('key')} int PRIMARY KEY, {n('from')} varchar(20), {n('updated at')} {ts})",
        "CREATE TABLE nokey (id int, v varchar(20))",
        f"INSERT INTO users VALUES (1, 'ann', '{T0}'), (2, 'bob', '{T0}')",
        f"INSERT INTO {n('order items')} VALUES (1, 'pen', '{T0}'), (2, 'ink', '{T0}'), (3, 'pad', '{T0}')",
        f"INSERT INTO {n('bad.select')} VALUES (1, 'here', '{T0}'), (2, 'there', '{T0}')",
        "INSERT INTO nokey VALUES (1, 'a')",
    )


def adapter_yaml(kind, source, rest: str = "") -> str:
    return f"type: {kind.kind}\nconfig:\n" + source.config_yaml() + "\n" + rest


def lake_tables(q) -> list[str]:
    return [r["t"] for r in q("SELECT table_name AS t FROM duckdb_tables() WHERE schema_name = 'raw_src' ORDER BY 1")]


def order_items(q) -> list[tuple]:
    return sorted((r["id"], r["item name"]) for r in q('SELECT id, "item name" FROM raw_src."order items"'))


def source_order_items(kind, source) -> list[tuple]:
    q = kind.ident_quote
    return source.rows(f"SELECT id, {q}item name{q} FROM {q}order items{q}")


def test_tables_whose_names_need_quoting_are_loaded_and_readable(kind, source, tmp_path):
    seed(kind, source)
    q = kind.ident_quote
    project = write_project(tmp_path / "p", {
        "adapters/src.yml": adapter_yaml(kind, source),  # every table of the source
        "models/joined.yml": 'sql: SELECT o.id, o."item name", b."from" FROM raw_src."order items" AS o '
                             'JOIN raw_src."bad.select" AS b ON b."key" = o.id',
    })
    fbox(project, "run")
    with lake(project) as query:
        assert lake_tables(query) == ["bad.select", "nokey", "order items", "users"]
        assert order_items(query) == source_order_items(kind, source)
        assert query('SELECT id, "item name", "from" FROM main.joined ORDER BY id') == [
            {"id": 1, "item name": "pen", "from": "here"}, {"id": 2, "item name": "ink", "from": "there"}]
    assert plan_actions(project) == []
    source.sql(f"UPDATE {q}bad.select{q} SET {q}from{q} = 'moved' WHERE {q}key{q} = 2")
    assert [a["node"] for a in plan_actions(project)] == ["src", "main.joined"]
    fbox(project, "run")
    with lake(project) as query:
        assert query('SELECT "from" FROM main.joined WHERE id = 2') == [{"from": "moved"}]
    # listed by name; a table left out of the list is dropped from the lake, dotted name included
    (project / "models/joined.yml").unlink()
    (project / "adapters/src.yml").write_text(adapter_yaml(kind, source, "tables: [order items, bad.select]\n"))
    fbox(project, "run")
    with lake(project) as query:
        assert lake_tables(query) == ["bad.select", "order items"]
    (project / "adapters/src.yml").write_text(adapter_yaml(kind, source, "tables:\n  - order items\n"))
    fbox(project, "run")
    with lake(project) as query:
        assert lake_tables(query) == ["order items"]
        assert order_items(query) == source_order_items(kind, source)


def test_column_mode_merges_by_the_source_primary_key(kind, source, tmp_path):
    """No `primary_key` in the adapter file: each table is merged by the key the source declares
    (`id` for one table, `key` for the other), quoted names and watermark column included."""
    seed(kind, source)
    q = kind.ident_quote
    project = write_project(tmp_path / "p", {
        "adapters/src.yml": adapter_yaml(kind, source, """
tables: [order items, bad.select]
incremental:
  type: column
  column: updated at
"""),
        # an incremental model reads the change feed of the dotted table
        "models/places.yml": """
            materialized: merge
            unique_key: key
            sql: SELECT "key", upper("from") AS place FROM raw_src."bad.select"
        """,
    })
    fbox(project, "run")
    assert plan_actions(project) == []
    source.sql(
        f"UPDATE {q}order items{q} SET {q}item name{q} = 'pencil', {q}updated at{q} = '{T1}' WHERE id = 1",
        f"INSERT INTO {q}order items{q} VALUES (4, 'pin', '{T1}')",
        f"UPDATE {q}bad.select{q} SET {q}from{q} = 'moved', {q}updated at{q} = '{T1}' WHERE {q}key{q} = 2",
    )
    actions = plan_actions(project)
    assert [a["node"] for a in actions] == ["src", "main.places"], actions
    assert "3 rows past the watermark" in actions[0]["reason"], actions
    messages = {a["node"]: a["message"] for a in json.loads(fbox(project, "run", "--json").stdout)["actions"]}
    assert "1 keys recomputed" in messages["main.places"], messages  # from the change feed, not rebuilt
    with lake(project) as query:
        assert query("SELECT key, place FROM main.places ORDER BY key") == [
            {"key": 1, "place": "HERE"}, {"key": 2, "place": "MOVED"}]
        assert order_items(query) == source_order_items(kind, source)
        assert sorted((r["key"], r["from"]) for r in query('SELECT "key", "from" FROM raw_src."bad.select"')) == [
            (1, "here"), (2, "moved")]
        assert query('SELECT count(*) - count(DISTINCT id) AS dup FROM raw_src."order items"') == [{"dup": 0}]
    assert plan_actions(project) == []


def refused(project: Path, *needles: str) -> str:
    """`fbox plan` fails before anything runs, and its error holds every needle."""
    result = fbox(project, "plan", check=False)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert all(needle in out for needle in needles), (needles, out)
    return out


def test_keys_columns_and_durations_are_checked_when_the_project_plans(kind, source, tmp_path):
    seed(kind, source)
    where = kind.where(source)  # the host (and port), or the SQLite file
    cases = [
        # a key the source table does not have: field, column, table and host
        ("tables: [users]\nincremental: {type: column, column: updated_at, primary_key: nosuchpk}\n",
         ("adapters/src.yml", "incremental.primary_key", "'nosuchpk'", "users", where, "its columns: id, name, updated_at")),
        ("tables: [order items]\nincremental: {type: column, column: updated at, primary_key: nosuchpk}\n",
         ("adapters/src.yml", "incremental.primary_key", "'nosuchpk'", '"order items"', where, '"item name"')),
        # a per-table key with one wrong column
        ("tables:\n  - name: bad.select\n    primary_key: [key, nope]\nincremental: {type: column, column: updated at}\n",
         ("adapters/src.yml", "tables[0].primary_key", "'nope'", '"bad.select"', where)),
        # a watermark column one table lacks
        ("tables: [users, order items]\nincremental: {type: column, column: updated_at}\n",
         ("adapters/src.yml", "incremental.column", "'updated_at'", '"order items"', where, "did you mean 'updated at'")),
        # no key configured and none at the source
        ("tables: [nokey]\nincremental: {type: column, column: id}\n",
         ("adapters/src.yml", "nokey", "has no primary key", "incremental.primary_key", where)),
        # a listed table the source does not have
        ("tables: [order items, nosuchtable]\nincremental: {type: column, column: updated at}\n",
         ("adapters/src.yml", "tables[1]", "nosuchtable", "does not exist", "order items", where)),
        # zero durations, as the docs say
        ("tables: [users]\nincremental: {type: column, column: updated_at, primary_key: id, lookback: 0d}\n",
         ("adapters/src.yml:{line}:", "incremental.lookback", "'0d'", "longer than zero")),
        ("tables: [users]\nincremental: {type: column, column: updated_at, primary_key: id, reconcile: 0s}\n",
         ("adapters/src.yml:{line}:", "incremental.reconcile", "'0s'", "longer than zero")),
    ]
    if kind.has_cdc:  # checked before anything touches the change stream: the shared server will do
        cases += [
            ("tables: [users]\nincremental: {type: cdc, primary_key: nosuchpk}\n",
             ("adapters/src.yml", "incremental.primary_key", "'nosuchpk'", "users", where)),
            ("tables: [nokey]\nincremental: {type: cdc}\n",
             ("adapters/src.yml", "nokey", "has no primary key", where)),
        ]
    for i, (rest, needles) in enumerate(cases):
        text = adapter_yaml(kind, source, rest)
        line = text.splitlines().index(next(n for n in text.splitlines() if n.startswith("incremental:"))) + 1
        project = write_project(tmp_path / f"p{i}", {"adapters/src.yml": text})
        refused(project, *(needle.replace("{line}", str(line)) for needle in needles))
    # the same adapter with a right key plans and runs
    project = write_project(tmp_path / "ok", {"adapters/src.yml": adapter_yaml(
        kind, source, "tables: [order items]\nincremental: {type: column, column: updated at, primary_key: id}\n")})
    fbox(project, "run")
    with lake(project) as query:
        assert order_items(query) == source_order_items(kind, source)


@pytest.fixture(params=SERVERS, ids=lambda server: server.kind)
def cdc_source(request):
    """A fresh database on the kind's throwaway CDC-capable server."""
    return request.param, request.getfixturevalue(request.param.cdc_fixture)


def test_cdc_follows_quoted_tables_by_their_source_keys(cdc_source, tmp_path):
    server, source = cdc_source
    seed(server, source)
    q = server.ident_quote
    project = write_project(tmp_path / "p", {"adapters/src.yml": adapter_yaml(server, source, """
tables: [order items, bad.select]
incremental:
  type: cdc
""")})
    fbox(project, "run")
    source.sql(
        f"UPDATE {q}order items{q} SET {q}item name{q} = 'pencil' WHERE id = 1",
        f"INSERT INTO {q}order items{q} VALUES (4, 'pin', '{T1}')",
        f"DELETE FROM {q}order items{q} WHERE id = 2",
        f"UPDATE {q}bad.select{q} SET {q}key{q} = 20 WHERE {q}key{q} = 2",  # a key change
    )
    actions = plan_actions(project)
    assert len(actions) == 1 and "changes" in actions[0]["reason"], actions
    fbox(project, "run")
    with lake(project) as query:
        assert order_items(query) == source_order_items(server, source)
        assert sorted(r["key"] for r in query('SELECT "key" FROM raw_src."bad.select"')) == [1, 20]
        ops = query('SELECT _fbox_op AS op, count(*) AS n FROM raw_src."__delta_order items" GROUP BY 1 ORDER BY 1')
        assert ops == [{"op": "delete", "n": 1}, {"op": "insert", "n": 1}, {"op": "update", "n": 1}]
    fbox(project, "adapter", "delete", "src", "--force")
