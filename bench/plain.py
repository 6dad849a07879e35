"""The benchmark job by hand: plain DuckDB + DuckLake (SQLite catalog), no FeatherBox.

    python bench/plain.py cold DIR          # full load of DIR/data into the lake DIR/.plain, build the outputs
    python bench/plain.py incremental DIR   # load only what is new, merge, rebuild the outputs

DIR/data holds what bench/generate.py wrote (logs/... and app.sqlite). The lake's catalog is
DIR/.plain/catalog.sqlite and its Parquet files go to DIR/.plain/lake/.

Cold: CREATE TABLE AS for main.app_logs (every log file), app_db.users and app_db.orders (whole SQLite
tables), then the three outputs in schema datastore.

Incremental: reads only the log files not in `_plain.loaded_files` and the users/orders rows whose
`updated_at` is past the lake's max(updated_at) (the watermark), merges them (DELETE the changed ids,
INSERT the new versions), then rebuilds the three outputs with CREATE OR REPLACE TABLE AS -- the same
thing FeatherBox does for models (it always rebuilds a model whose upstream changed).

The DuckDB extensions are loaded with FeatherBox's own `load_extensions` (from the wheels), so both
sides pay the same for that; the lake is attached with the same options FeatherBox uses for a
SQLite catalog (WAL, 30 s busy timeout).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import duckdb

from featherbox.execute.extensions import load_extensions

HERE = Path(__file__).resolve().parent
LOG_GLOB = "logs/[0-9][0-9][0-9][0-9]/[0-9][0-9]/[0-9][0-9]/app_*T[0-9][0-9].csv.gz"
MODELS = {
    name: (HERE / "project" / "models" / "datastore" / f"{name}.yml").read_text().split("sql: |", 1)[1]
    for name in ("daily_active_users", "sales_by_day", "user_activity")
}


def q(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


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


def read_logs(files: list[str], base: Path) -> str:
    listed = "[" + ", ".join(q(f) for f in files) + "]"
    prefix = len(str(base)) + 2  # _source_file relative to the data directory, as FeatherBox stores it
    return (
        f"SELECT * EXCLUDE (_source_file), _source_file[{prefix}:] AS _source_file "
        f"FROM read_csv({listed}, filename = '_source_file', header = true)"
    )


def build_outputs(con) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS datastore")
    for name, sql in MODELS.items():
        con.execute(f"CREATE OR REPLACE TABLE datastore.{name} AS {sql}")


def cold(work: Path) -> None:
    data = work / "data"
    con = open_lake(work)
    files = sorted(str(p) for p in data.glob(LOG_GLOB))
    con.execute(f"CREATE TABLE main.app_logs AS {read_logs(files, data)}")
    con.execute("CREATE SCHEMA _plain")
    con.execute("CREATE TABLE _plain.loaded_files (path VARCHAR)")
    con.execute("INSERT INTO _plain.loaded_files SELECT unnest(?)", [files])
    con.execute("CREATE SCHEMA app_db")
    db = q(str(data / "app.sqlite"))
    for table in ("users", "orders"):
        con.execute(f"CREATE TABLE app_db.{table} AS SELECT * FROM sqlite_scan({db}, {q(table)})")
    build_outputs(con)
    con.close()


def incremental(work: Path) -> None:
    data = work / "data"
    con = open_lake(work)
    listed = sorted(str(p) for p in data.glob(LOG_GLOB))
    loaded = {r[0] for r in con.execute("SELECT path FROM _plain.loaded_files").fetchall()}
    new = [f for f in listed if f not in loaded]
    con.execute("BEGIN")
    if new:
        con.execute(f"INSERT INTO main.app_logs BY NAME {read_logs(new, data)}")
        con.execute("INSERT INTO _plain.loaded_files SELECT unnest(?)", [new])
    con.execute(f"ATTACH {q(str(data / 'app.sqlite'))} AS src (TYPE sqlite, READ_ONLY)")
    for table in ("users", "orders"):
        mark = con.execute(f"SELECT max(updated_at) FROM app_db.{table}").fetchone()[0]
        # the filter runs inside SQLite (index on updated_at): only the changed rows cross over
        con.execute(f"CREATE TEMP TABLE delta_{table} AS SELECT * FROM app_db.{table} LIMIT 0")
        con.execute(
            f"INSERT INTO temp.delta_{table} SELECT * FROM sqlite_query('src', "
            f"{q(f'SELECT * FROM {table} WHERE updated_at > {q(mark)}')})"
        )
        con.execute(f"DELETE FROM app_db.{table} WHERE id IN (SELECT id FROM temp.delta_{table})")
        con.execute(f"INSERT INTO app_db.{table} SELECT * FROM temp.delta_{table}")
    con.execute("COMMIT")
    build_outputs(con)
    con.close()


def main() -> None:
    mode, work = sys.argv[1], Path(sys.argv[2]).resolve()
    started = time.perf_counter()
    {"cold": cold, "incremental": incremental}[mode](work)
    print(f"plain {mode}: {time.perf_counter() - started:.2f}s")


if __name__ == "__main__":
    main()
