"""The generated project's builds by hand: plain DuckDB + DuckLake (SQLite catalog), no FeatherBox.

    python bench/projsize/plain.py cold DIR [--commit level|all|node]
    python bench/projsize/plain.py edit DIR [NODE] [--commit level|all|node]

DIR is a copy of a generated FeatherBox project (bench/projsize/generate.py): the graph comes from
DIR/projsize.json, each model's SQL from its own YAML file (so an edited model file is what is built),
the sources from DIR/data. The lake's catalog is DIR/.plain/catalog.sqlite and its Parquet files go to
DIR/.plain/lake/, attached with the options FeatherBox uses for a SQLite catalog (WAL, 30 s busy
timeout); the DuckDB extensions are loaded with FeatherBox's own `load_extensions`.

cold: CREATE TABLE raw.events / raw.users (read_csv of the same files with the same declared columns)
      and raw_app.accounts (sqlite_scan), then CREATE OR REPLACE TABLE / VIEW of every model in topological
      order (a delete+insert model is a table built in full, which is what its first build is).
edit: CREATE OR REPLACE the given model (default: the one the edit step changes) and every model
      downstream of it, in topological order. That is the least any tool must do after that edit.

--commit sets the transaction granularity:
  level  (default, the reference) one transaction per dependency level: all nodes whose longest path
         from a source has the same length commit together, the atomicity a wave commit gives
  all    everything in one transaction (the floor)
  node   one transaction per node (autocommit), what a node-at-a-time engine does
The last line printed is JSON: mode, commit, transactions, statements, seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import time
from pathlib import Path

import duckdb

from featherbox.duckdb_extensions import load_extensions

EVENT_COLUMNS = {"ts": "TIMESTAMP", "user_id": "INTEGER", "kind": "VARCHAR", "amount": "INTEGER"}
USER_COLUMNS = {"user_id": "INTEGER", "country": "VARCHAR", "tier": "INTEGER"}


def q(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def struct(columns: dict) -> str:
    return "{" + ", ".join(f"{q(n)}: {q(t)}" for n, t in columns.items()) + "}"


def open_lake(work: Path) -> duckdb.DuckDBPyConnection:
    (work / ".plain").mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    load_extensions(con, ["ducklake", "sqlite"])
    catalog = work / ".plain" / "catalog.sqlite"
    con.execute(
        f"ATTACH {q('ducklake:sqlite:' + str(catalog))} AS lake "
        f"(DATA_PATH {q(str(work / '.plain' / 'lake'))}, META_JOURNAL_MODE 'WAL', META_BUSY_TIMEOUT 30000)"
    )
    con.execute("USE lake")
    return con


def model_sql(work: Path, m: dict) -> str:
    """The SQL block of the model's YAML file (generate.py writes `sql: |` last)."""
    text = (work / "models" / m["schema"] / f"{m['name']}.yml").read_text()
    return textwrap.dedent(text.split("sql: |\n", 1)[1])


def source_statements(work: Path) -> list[tuple[str, str]]:
    data = work / "data"
    files = "[" + ", ".join(q(str(p)) for p in sorted((data / "events").glob("events_*.csv"))) + "]"
    return [
        ("raw.events", f"CREATE TABLE raw.events AS SELECT * FROM read_csv({files}, header = true, "
                        f"columns = {struct(EVENT_COLUMNS)})"),
        ("raw.users", f"CREATE TABLE raw.users AS SELECT * FROM read_csv({q(str(data / 'dims' / 'users.csv'))}, "
                       f"header = true, columns = {struct(USER_COLUMNS)})"),
        ("raw_app.accounts", f"CREATE TABLE raw_app.accounts AS SELECT * FROM sqlite_scan({q(str(data / 'app.sqlite'))}, 'accounts')"),
    ]


def model_statement(work: Path, m: dict) -> str:
    kind = "VIEW" if m["materialized"] == "view" else "TABLE"
    return f"CREATE OR REPLACE {kind} {m['node']} AS {model_sql(work, m)}"


def descendants(graph: dict, node: str) -> set[str]:
    children: dict[str, list[str]] = {}
    for m in graph["models"]:
        for p in m["parents"]:
            children.setdefault(p, []).append(m["node"])
    seen = {node}
    todo = [node]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in seen:
                seen.add(c)
                todo.append(c)
    return seen


def execute(con, levels: list[list[str]], commit: str) -> int:
    """Run the statements of each level in order; returns the number of transactions committed."""
    transactions = 0
    if commit == "all":
        con.execute("BEGIN")
    for statements in levels:
        if commit == "level":
            con.execute("BEGIN")
        for sql in statements:
            con.execute(sql)
            transactions += commit == "node"
        if commit == "level":
            con.execute("COMMIT")
            transactions += 1
    if commit == "all":
        con.execute("COMMIT")
        transactions += 1
    return transactions


def grouped(work: Path, models: list[dict]) -> list[list[str]]:
    by_level: dict[int, list[str]] = {}
    for m in models:  # models are in topological order in projsize.json
        by_level.setdefault(m["level"], []).append(model_statement(work, m))
    return [by_level[level] for level in sorted(by_level)]


def cold(work: Path, graph: dict, commit: str) -> tuple[int, int]:
    con = open_lake(work)
    schemas = sorted({m["schema"] for m in graph["models"]} | {"raw", "raw_app"})
    level0 = [f"CREATE SCHEMA IF NOT EXISTS {s}" for s in schemas] + [sql for _, sql in source_statements(work)]
    levels = [level0] + grouped(work, graph["models"])
    transactions = execute(con, levels, commit)
    con.close()
    return transactions, sum(len(x) for x in levels)


def edit(work: Path, graph: dict, node: str, commit: str) -> tuple[int, int]:
    con = open_lake(work)
    wanted = descendants(graph, node)
    levels = grouped(work, [m for m in graph["models"] if m["node"] in wanted])
    transactions = execute(con, levels, commit)
    con.close()
    return transactions, sum(len(x) for x in levels)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("cold", "edit"))
    parser.add_argument("work", type=Path)
    parser.add_argument("node", nargs="?", help="edit: the changed model (default: the generated project's edit model)")
    parser.add_argument("--commit", choices=("level", "all", "node"), default="level")
    args = parser.parse_args(argv)
    work = args.work.resolve()
    started = time.perf_counter()
    graph = json.loads((work / "projsize.json").read_text())
    if args.mode == "cold":
        transactions, statements = cold(work, graph, args.commit)
    else:
        transactions, statements = edit(work, graph, args.node or graph["edit"], args.commit)
    seconds = time.perf_counter() - started
    print(f"plain {args.mode}: {statements} statements in {transactions} transactions (commit {args.commit}), {seconds:.2f}s")
    print(json.dumps({"mode": args.mode, "commit": args.commit, "transactions": transactions,
                      "statements": statements, "seconds": round(seconds, 3)}))


if __name__ == "__main__":
    sys.exit(main())
