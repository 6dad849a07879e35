"""A deterministic N-model project, written for FeatherBox and for dbt-duckdb: the same graph and SQL.

    .venv/bin/python bench/projsize/generate.py OUT --models 100     # writes OUT/fbox and OUT/dbt

Sources (tiny, written from a seeded random generator; the same bytes for every N):
  data/events/events_YYYYMMDD.csv   4 daily files, 60 rows each: ts, user_id, kind, amount
  data/dims/users.csv                16 users: user_id, country, tier
  data/app.sqlite                    table accounts (16 rows): user_id, plan, credit

FeatherBox project (OUT/fbox): project.yml (local storage `lake`, sqlite database
`.fbox/catalog.sqlite`), adapters `events` and `users` (localfile CSV with declared columns, tables
raw.events and raw.users) and `app` (sqlite, table raw_app.accounts), and N models m0001..mNNNN in the
schemas staging, core, marts and reports (by position). Every model yields (day DATE, user_id INTEGER,
v BIGINT), at most 4 days x 16 users = 64 rows. Shapes:
  root   the first ~6%: an aggregate of raw.events by day and user, maybe joined to a dimension
  chain  one parent, v recomputed row by row
  fanin  2-3 parents, UNION ALL, summed by day and user
  dim    one parent joined to raw.users or raw_app.accounts
Parents are picked among earlier models with a bias to recent ones (chains of some depth) and some
to early ones (wide fan-out). Materializations: exactly round(20% N) `delete+insert` (time_column day,
time_grain day; roots read ts upstream, so `upstream_time_column: ts`), round(10% N) `view`, the rest
`table`, shuffled. Every model's SQL fits its kind: a day's rows depend only on that day's upstream rows.

dbt project (OUT/dbt, for dbt-duckdb on a plain DuckDB file): dbt_project.yml, a generate_schema_name
macro so the schemas are the same names, sources (external_location: read_csv / sqlite_scan of the
same files, relative to the dbt project directory, which is the working directory of `dbt run`), three
loader models raw.events, raw.users, raw_app.accounts (the adapters' tables) and the N models with
{{ ref() }} and config(materialized=...); delete+insert is an incremental model with
incremental_strategy='delete+insert' and unique_key='day'. profiles.yml (absolute DuckDB path, threads 2)
is written by write_dbt_profile() once the project is where it runs.

OUT/fbox/projsize.json describes the graph (nodes, parents, levels, materializations, the model the
edit step changes); bench/projsize/plain.py reads it and the models' SQL from the YAML files.

The edit step (apply_edit) changes one `table` model in the middle of the graph that has downstream
models: its constant k moves by 500, so its rows change and so do its descendants'.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

SEED = 11
START = datetime(2024, 3, 4)
DAYS = 4
EVENTS_PER_DAY = 60
USERS = 16
KINDS = ["view", "click", "buy", "refund"]
COUNTRIES = ["US", "DE", "JP", "BR", "IN", "FR"]
PLANS = ["free", "pro", "team"]
SCHEMAS = ["staging", "core", "marts", "reports"]
MOD = 1000003
EDIT_DELTA = 500
MIX = {"delete+insert": 0.2, "view": 0.1}  # the rest is table

EVENT_COLUMNS = {"ts": "TIMESTAMP", "user_id": "INTEGER", "kind": "VARCHAR", "amount": "INTEGER"}
USER_COLUMNS = {"user_id": "INTEGER", "country": "VARCHAR", "tier": "INTEGER"}
SOURCES = {  # adapter table -> (adapter, dbt loader model name)
    "raw.events": ("events", "events"),
    "raw.users": ("users", "users"),
    "raw_app.accounts": ("app", "accounts"),
}
DIM_VALUE = {"raw.users": "tier", "raw_app.accounts": "credit"}


# ---------------------------------------------------------------------------------------------- graph

def build_graph(n: int, seed: int = SEED) -> dict:
    """The models of an n-model project: name, schema, shape, parents, dimension, materialization, params."""
    rng = random.Random(f"projsize-{seed}-{n}")
    roots = max(2, round(n * 0.06))
    mats = ["delete+insert"] * round(n * MIX["delete+insert"]) + ["view"] * round(n * MIX["view"])
    mats += ["table"] * (n - len(mats))
    rng.shuffle(mats)
    models: list[dict] = []

    def pick(i: int) -> int:
        # biased to recent models (depth), with a tail to early ones (fan-out)
        return i - 1 - int(i * rng.random() ** 3)

    for i in range(n):
        name = f"m{i + 1:04d}"
        schema = SCHEMAS[i * len(SCHEMAS) // n]
        spec = {"name": name, "schema": schema, "node": f"{schema}.{name}", "materialized": mats[i],
                "a": rng.randint(2, 9), "k": rng.randint(1, 999), "dim": None}
        if i < roots:
            spec["shape"] = "root"
            spec["parents"] = []
            spec["kinds"] = sorted(rng.sample(KINDS, 3))
            spec["dim"] = rng.choice([None, "raw.users", "raw_app.accounts"])
        else:
            r = rng.random()
            if r < 0.35:
                spec["shape"] = "chain"
                parents = [i - 1 if rng.random() < 0.5 else pick(i)]
            elif r < 0.65:
                spec["shape"] = "fanin"
                want = min(i, rng.choice([2, 3]))
                parents = []
                while len(parents) < want:
                    j = pick(i)
                    if j not in parents:
                        parents.append(j)
            else:
                spec["shape"] = "dim"
                parents = [pick(i)]
                spec["dim"] = rng.choice(["raw.users", "raw_app.accounts"])
            spec["parents"] = [models[j]["node"] for j in sorted(parents)]
        models.append(spec)

    by_node = {m["node"]: m for m in models}
    for m in models:  # models come in topological order (parents are earlier)
        m["level"] = 1 + max((by_node[p]["level"] for p in m["parents"]), default=0)
    children: dict[str, list[str]] = {m["node"]: [] for m in models}
    for m in models:
        for p in m["parents"]:
            children[p].append(m["node"])

    def descendants(node: str) -> set[str]:
        seen: set[str] = set()
        todo = [node]
        while todo:
            for c in children[todo.pop()]:
                if c not in seen:
                    seen.add(c)
                    todo.append(c)
        return seen

    middle = [m for m in models[n // 2:] + models[: n // 2] if m["materialized"] == "table" and children[m["node"]]]
    edit = middle[0]["node"] if middle else models[n // 2]["node"]
    return {
        "models_count": n, "seed": seed, "sources": list(SOURCES), "models": models, "edit": edit,
        "edit_downstream": len(descendants(edit)), "depth": max(m["level"] for m in models),
        "mix": {k: sum(1 for m in models if m["materialized"] == k) for k in ("table", "delete+insert", "view")},
        "shapes": {k: sum(1 for m in models if m["shape"] == k) for k in ("root", "chain", "fanin", "dim")},
    }


def render_sql(m: dict, ref, k: int | None = None) -> str:
    """The model's SELECT; `ref(node)` names a table (FeatherBox: schema.name; dbt: {{ ref(...) }})."""
    k = m["k"] if k is None else k
    a = m["a"]
    if m["shape"] == "root":
        kinds = ", ".join(f"'{x}'" for x in m["kinds"])
        if m["dim"]:
            value = f"sum(e.amount * d.{DIM_VALUE[m['dim']]})"
            join = f"\n  JOIN {ref(m['dim'])} AS d ON d.user_id = e.user_id"
        else:
            value, join = "sum(e.amount)", ""
        return (f"SELECT CAST(e.ts AS DATE) AS day, CAST(e.user_id AS INTEGER) AS user_id,\n"
                f"       CAST(({value} * {a} + {k}) % {MOD} AS BIGINT) AS v\n"
                f"  FROM {ref('raw.events')} AS e{join}\n"
                f"  WHERE e.kind IN ({kinds})\n"
                f"  GROUP BY ALL\n")
    if m["shape"] == "chain":
        return (f"SELECT p.day, p.user_id, CAST((p.v * {a} + {k}) % {MOD} AS BIGINT) AS v\n"
                f"  FROM {ref(m['parents'][0])} AS p\n")
    if m["shape"] == "fanin":
        union = "\n        UNION ALL ".join(f"SELECT day, user_id, v FROM {ref(p)}" for p in m["parents"])
        return (f"SELECT u.day, u.user_id, CAST((sum(u.v) + {k}) % {MOD} AS BIGINT) AS v\n"
                f"  FROM ({union}) AS u\n"
                f"  GROUP BY u.day, u.user_id\n")
    # dim
    return (f"SELECT p.day, p.user_id, CAST((p.v + d.{DIM_VALUE[m['dim']]} * {a} + {k}) % {MOD} AS BIGINT) AS v\n"
            f"  FROM {ref(m['parents'][0])} AS p\n"
            f"  JOIN {ref(m['dim'])} AS d ON d.user_id = p.user_id\n")


def _fbox_ref(node: str) -> str:
    return node


def _dbt_ref(node: str) -> str:
    name = SOURCES[node][1] if node in SOURCES else node.split(".", 1)[1]
    return "{{ ref('" + name + "') }}"


# ---------------------------------------------------------------------------------------------- data

def write_data(data: Path, seed: int = SEED) -> None:
    rng = random.Random(f"projsize-data-{seed}")
    (data / "events").mkdir(parents=True, exist_ok=True)
    (data / "dims").mkdir(parents=True, exist_ok=True)
    for day in range(DAYS):
        start = START + timedelta(days=day)
        rows = sorted(
            (start + timedelta(seconds=rng.randint(0, 86399)), rng.randint(1, USERS), rng.choice(KINDS), rng.randint(1, 500))
            for _ in range(EVENTS_PER_DAY)
        )
        with open(data / "events" / f"events_{start:%Y%m%d}.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(EVENT_COLUMNS)
            w.writerows((f"{ts:%Y-%m-%d %H:%M:%S}", u, kind, amount) for ts, u, kind, amount in rows)
    with open(data / "dims" / "users.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(USER_COLUMNS)
        w.writerows((u, rng.choice(COUNTRIES), rng.randint(1, 5)) for u in range(1, USERS + 1))
    db = data / "app.sqlite"
    db.unlink(missing_ok=True)
    lite = sqlite3.connect(db)
    with lite:
        lite.execute("CREATE TABLE accounts (user_id INTEGER PRIMARY KEY, plan TEXT, credit INTEGER)")
        lite.executemany("INSERT INTO accounts VALUES (?, ?, ?)",
                         [(u, rng.choice(PLANS), rng.randint(0, 100)) for u in range(1, USERS + 1)])
    lite.close()


# ---------------------------------------------------------------------------------------------- FeatherBox

def _columns_yaml(columns: dict) -> str:
    return "\n".join(f"    {name}: {kind}" for name, kind in columns.items())


def fbox_model_yaml(m: dict, k: int | None = None) -> str:
    lines = []
    if m["materialized"] != "table":
        lines.append(f"materialized: {m['materialized']}")
    if m["materialized"] == "delete+insert":
        lines.append("time_column: day")
        if m["shape"] == "root":
            lines.append("upstream_time_column: ts")
        lines.append("time_grain: day")
    sql = render_sql(m, _fbox_ref, k)
    lines.append("sql: |\n" + "".join("  " + line + "\n" for line in sql.splitlines()))
    return "\n".join(lines)


def write_fbox(root: Path, graph: dict) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "project.yml").write_text(
        "# bench/projsize: a generated project of tiny models (see bench/projsize/generate.py)\n"
        "storage:\n  type: local\n  path: lake\n"
        "database:\n  type: sqlite\n  path: .fbox/catalog.sqlite\n"
    )
    (root / "adapters").mkdir(exist_ok=True)
    (root / "adapters" / "events.yml").write_text(
        "type: localfile\ndescription: daily event files\nconfig:\n  base_path: data\n"
        "path: events/events_[YYYY][MM][DD].csv\nformat:\n  type: csv\n  header: true\n  columns:\n"
        + _columns_yaml(EVENT_COLUMNS) + "\n"
    )
    (root / "adapters" / "users.yml").write_text(
        "type: localfile\ndescription: the user dimension\nconfig:\n  base_path: data\n"
        "path: dims/users.csv\nformat:\n  type: csv\n  header: true\n  columns:\n"
        + _columns_yaml(USER_COLUMNS) + "\n"
    )
    (root / "adapters" / "app.yml").write_text(
        "type: sqlite\ndescription: the application database\nconfig:\n  path: data/app.sqlite\ntables: [accounts]\n"
    )
    for m in graph["models"]:
        path = root / "models" / m["schema"] / f"{m['name']}.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(fbox_model_yaml(m))
    (root / "projsize.json").write_text(json.dumps(graph, indent=1) + "\n")


# ---------------------------------------------------------------------------------------------- dbt

def _q(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _struct(columns: dict) -> str:
    return "{" + ", ".join(f"{_q(n)}: {_q(t)}" for n, t in columns.items()) + "}"


def dbt_model_sql(m: dict, k: int | None = None) -> str:
    if m["materialized"] == "delete+insert":
        config = "materialized='incremental', incremental_strategy='delete+insert', unique_key='day'"
    else:
        config = f"materialized='{m['materialized']}'"
    return "{{ config(" + config + f", schema='{m['schema']}') }}}}\n" + render_sql(m, _dbt_ref, k)


def write_dbt(root: Path, graph: dict) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "dbt_project.yml").write_text(
        "name: projsize\nversion: '1.0.0'\nconfig-version: 2\nprofile: projsize\n"
        "model-paths: [models]\nmacro-paths: [macros]\ntarget-path: target\nclean-targets: [target]\n"
    )
    (root / "macros").mkdir(exist_ok=True)
    (root / "macros" / "generate_schema_name.sql").write_text(
        "{% macro generate_schema_name(custom_schema_name, node) -%}\n"
        "  {{ custom_schema_name if custom_schema_name else target.schema }}\n"
        "{%- endmacro %}\n"
    )
    models = root / "models"
    (models / "sources").mkdir(parents=True, exist_ok=True)
    events = f"read_csv('data/events/events_*.csv', header = true, columns = {_struct(EVENT_COLUMNS)})"
    users = f"read_csv('data/dims/users.csv', header = true, columns = {_struct(USER_COLUMNS)})"
    accounts = "sqlite_scan('data/app.sqlite', 'accounts')"
    # JSON is YAML; formatter oldstyle so the braces of the column structs are not format fields
    sources = {"version": 2, "sources": [{"name": "raw", "tables": [
        {"name": name, "meta": {"external_location": location, "formatter": "oldstyle"}}
        for name, location in (("events", events), ("users", users), ("accounts", accounts))
    ]}]}
    (models / "sources" / "sources.yml").write_text(json.dumps(sources, indent=1) + "\n")
    for name, schema in (("events", "raw"), ("users", "raw"), ("accounts", "raw_app")):
        (models / "sources" / f"{name}.sql").write_text(
            f"{{{{ config(materialized='table', schema='{schema}') }}}}\n"
            f"SELECT * FROM {{{{ source('raw', '{name}') }}}}\n"
        )
    for m in graph["models"]:
        path = models / m["schema"] / f"{m['name']}.sql"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dbt_model_sql(m))


def write_dbt_profile(root: Path, database: Path) -> Path:
    """profiles.yml of the dbt project at `root`, with the absolute path of its DuckDB file and 2 threads."""
    (root / "profiles.yml").write_text(
        "projsize:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {json.dumps(str(database.resolve()))}\n      schema: main\n      threads: 2\n"
    )
    return root / "profiles.yml"


# ---------------------------------------------------------------------------------------------- entry points

def generate(out: Path, n: int, seed: int = SEED) -> dict:
    """OUT/fbox (FeatherBox project with its data) and OUT/dbt (dbt project with its own copy of the data)."""
    shutil.rmtree(out, ignore_errors=True)
    graph = build_graph(n, seed)
    write_fbox(out / "fbox", graph)
    write_data(out / "fbox" / "data", seed)
    write_dbt(out / "dbt", graph)
    shutil.copytree(out / "fbox" / "data", out / "dbt" / "data")
    return graph


def load_graph(fbox_root: Path) -> dict:
    return json.loads((fbox_root / "projsize.json").read_text())


def apply_edit(root: Path, side: str, graph: dict) -> str:
    """The edit step on a copy of one side ('fbox' also serves the plain script, which reads the same
    model files; 'dbt'): the edit model's constant k moves by EDIT_DELTA. Returns the edited node."""
    m = next(x for x in graph["models"] if x["node"] == graph["edit"])
    k = m["k"] + EDIT_DELTA
    if side == "fbox":
        (root / "models" / m["schema"] / f"{m['name']}.yml").write_text(fbox_model_yaml(m, k))
    elif side == "dbt":
        (root / "models" / m["schema"] / f"{m['name']}.sql").write_text(dbt_model_sql(m, k))
    else:
        raise ValueError(side)
    return m["node"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    graph = generate(args.out, args.models, args.seed)
    print(f"{args.models} models: {graph['mix']}, shapes {graph['shapes']}, depth {graph['depth']}, "
          f"edit {graph['edit']} ({graph['edit_downstream']} downstream) -> {args.out}")


if __name__ == "__main__":
    main()
