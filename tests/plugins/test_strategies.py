"""Incremental strategies are plugins: a throw-away plugin on a fresh plugin manager registers a table
strategy and a file strategy, and a project selects them by name (`incremental.type`,
`update_strategy`). The process-wide registry is never touched."""

from __future__ import annotations

import sqlite3

import pytest

from featherbox.errors import FeatherBoxError
from featherbox.extension import Detection, LoadResult
from featherbox.file_sources.strategies import FileSelection, FileStrategy
from featherbox.database_sources import lake_table
from featherbox.database_sources.strategies import DatabaseStrategy
from featherbox.testing import write_project
from featherbox.workspace import Workspace

from fboxcli import fbox


class AppendAbove(DatabaseStrategy):
    """Append only the rows whose `options.column` is above the highest value in the lake."""

    name = "append_above"
    keyed = False

    def detect(self, previous):
        return Detection(True, "append_above checks at load time")

    def load(self, ctx, tables):
        adapter, con = self.adapter, ctx.con
        column = self.options["options"]["column"]
        alias = adapter.attach(con)
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {adapter.schema}")
        rows = {}
        for table in tables:
            target = lake_table(adapter.schema, table["name"])
            if not ctx.table_exists(f"{adapter.schema}.{table['name']}"):
                adapter.copy_table(con, alias, table)
            else:
                high = con.execute(f"SELECT max({column}) FROM {target}").fetchone()[0]
                source = adapter.attached_read(con, alias, table)
                con.execute(f"INSERT INTO {target} SELECT * FROM {source} WHERE {column} > {high}")
            rows[f"{adapter.schema}.{table['name']}"] = con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
        adapter.record_reads(alias, tables)
        return LoadResult(rows, {"mode": self.name}, "appended", incremental=True)


class NewestOnly(FileStrategy):
    """Of the files never loaded, only the one with the greatest path."""

    name = "newest_only"

    def select(self, listing, ledger):
        new = sorted((f for f in listing if f.path not in ledger), key=lambda f: f.path)
        return FileSelection(new=new[-1:])


def _registry():
    from featherbox.hookspecs import hookimpl
    from featherbox.plugins import build_manager
    from featherbox.registry import collect

    class ThrowAwayStrategies:
        @hookimpl
        def fbox_incremental_strategies(self):
            return [AppendAbove, NewestOnly]

    pm, report = build_manager()
    pm.register(ThrowAwayStrategies(), name="throwaway-strategies")
    return collect(pm, report)


def _rows(ws: Workspace, sql: str) -> list[tuple]:
    con = ws.open_lake(for_writing=False)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_third_party_table_and_file_strategies_load_end_to_end(tmp_path):
    root = write_project(tmp_path / "p", {
        "adapters/app.yml": """
            type: sqlite
            config: {path: app.sqlite}
            tables: [items]
            incremental:
              type: append_above
              options: {column: id}
        """,
        "adapters/drops.yml": "type: localfile\nconfig: {base_path: src}\npath: '*.csv'\nformat: csv\nupdate_strategy: newest_only\n",
    })
    (root / "src").mkdir()
    (root / "src" / "a.csv").write_text("id,v\n1,a\n")
    con = sqlite3.connect(root / "app.sqlite")
    con.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, v TEXT)")
    con.executemany("INSERT INTO items VALUES (?, ?)", [(1, "one"), (2, "two")])
    con.commit()
    registry = _registry()

    _, result = Workspace(root, registry).run()
    assert {n: o.status for n, o in result.outcomes.items()} == {"app": "completed", "drops": "completed"}

    # a full copy or the column strategy would take the update of row 1; append_above does not
    con.execute("UPDATE items SET v = 'changed' WHERE id = 1")
    con.executemany("INSERT INTO items VALUES (?, ?)", [(3, "three"), (4, "four")])
    con.commit()
    (root / "src" / "b.csv").write_text("id,v\n2,b\n")
    (root / "src" / "c.csv").write_text("id,v\n3,c\n")  # filename would load b.csv too

    ws = Workspace(root, registry)
    _, result = ws.run()
    assert {n: o.status for n, o in result.outcomes.items()} == {"app": "completed", "drops": "completed"}
    assert ws.backends.adapters["app"].strategy.name == "append_above"
    assert _rows(ws, "SELECT id, v FROM raw_app.items ORDER BY id") == [(1, "one"), (2, "two"), (3, "three"), (4, "four")]
    assert _rows(ws, "SELECT id, v FROM raw.drops ORDER BY id") == [(1, "a"), (3, "c")]


def test_unknown_strategies_are_config_errors_naming_file_field_and_installed_ones(tmp_path):
    root = write_project(tmp_path / "p", {
        "adapters/app.yml": "type: sqlite\nconfig: {path: app.sqlite}\nincremental:\n  type: append_above\n",
        "adapters/drops.yml": "type: localfile\nconfig: {base_path: src}\npath: '*.csv'\nupdate_strategy: newest_only\n",
    })
    with pytest.raises(FeatherBoxError) as caught:  # the default registry has neither
        Workspace(root, _registry_without_throwaway()).project
    text = str(caught.value)
    assert "adapters/app.yml" in text and "incremental.type" in text
    assert "unknown database strategy 'append_above'" in text and "installed database strategies: cdc, column" in text
    assert "adapters/drops.yml" in text and "update_strategy" in text
    assert "unknown file strategy 'newest_only'" in text and "installed file strategies: content, filename, full" in text
    # ... and the registry the project is loaded with has both
    assert Workspace(root, _registry()).project.adapters.keys() == {"app", "drops"}


def test_a_strategy_of_the_other_kind_is_not_offered(tmp_path):
    root = write_project(tmp_path / "p", {
        "adapters/drops.yml": "type: localfile\nconfig: {base_path: src}\npath: '*.csv'\nupdate_strategy: column\n",
    })
    with pytest.raises(FeatherBoxError, match="unknown file strategy 'column'"):
        Workspace(root, _registry()).project


def _registry_without_throwaway():
    from featherbox.plugins import build_manager
    from featherbox.registry import collect

    return collect(*build_manager())


def test_fbox_plugins_lists_the_core_strategies():
    import json

    result = fbox("plugins", "--json")
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)["plugins"]}
    strategies = plugins["featherbox"]["types"]["strategy"]
    assert {"filename", "content", "column", "cdc"} <= set(strategies)
