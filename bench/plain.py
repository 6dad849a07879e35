"""The benchmark job by hand: plain DuckDB + DuckLake (SQLite catalog), no FeatherBox -- the limit a
careful engineer would write for this job, to measure FeatherBox against.

    python bench/plain.py cold DIR          # full load of DIR/data into the lake DIR/.plain, build the outputs
    python bench/plain.py incremental DIR   # load only what is new, update only what it touched

DIR/data holds what bench/generate.py wrote (logs/... and app.sqlite). The lake's catalog is
DIR/.plain/catalog.sqlite and its Parquet files go to DIR/.plain/lake/. PLAIN_TIMINGS=1 prints the
time of every statement to stderr.

Cold: CREATE TABLE AS for raw.app_logs (every log file), raw_app_db.users and raw_app_db.orders (whole SQLite
tables), then the three outputs in schema datastore (the models' own SQL from bench/project); the
loaded files and the watermarks are recorded in schema _plain.

Incremental, all in ONE transaction (a failure leaves the lake as it was):

1. Logs: reads only the log files not in `_plain.loaded_files` into a temp table, appends them to
   raw.app_logs and records them. The touched days are the distinct days of those rows (NULL
   times form a NULL day).
2. users/orders: reads only the rows whose `updated_at` is past the watermark (the max(updated_at)
   loaded so far, kept in `_plain.watermarks`; the filter runs inside SQLite on its index), and
   merges them by id (DELETE the changed ids, INSERT the new versions). Strictly past: a row written
   later with the watermark's own updated_at would be missed (the generator's increments never do
   that; FeatherBox reads `>=` and skips the rows it already has).
3. daily_active_users and user_activity: deletes the rows of the touched days and inserts those
   days again, computed by the models' SQL with raw.app_logs restricted to the touched days by
   range predicates (`ts >= d AND ts < d + 1 day`, consecutive days as one range), which DuckLake
   uses to skip every file outside them. user_activity also joins users: if users changed, the rows
   of the changed users (every day) are recomputed as well (logs restricted to those user ids).
4. sales_by_day (orders x users, grouped by created_at day, country, status): the changed orders
   lie on every day (the increment moves 1% of all orders on), so recomputing the touched days
   would be a full rebuild that scans every order. Its measures are a count and a sum of an exact
   DECIMAL, so it is maintained by delta instead: the contributions of the changed orders' old
   versions (read from the lake before the merge, joined with the old users) are subtracted and
   those of their new versions (the delta rows, joined with the users after the merge) are added,
   per (day, country, status) group; groups whose count reaches 0 are deleted. If users changed,
   every order of a changed user counts as changed (its country may have moved). This is exact
   except for a sum over NULL amounts only (SUM gives NULL, a delta gives 0): if any order has a
   NULL amount after the merge, sales_by_day is rebuilt in full instead.

What it does not see (like FeatherBox's `column` increment): rows deleted in SQLite.

The DuckDB extensions are loaded with FeatherBox's own `load_extensions` (from the wheels), so both
sides pay the same for that; the lake is attached with the same options FeatherBox uses for a
SQLite catalog (WAL, 30 s busy timeout).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from pathlib import Path

import duckdb

from featherbox.duckdb_extensions import load_extensions

HERE = Path(__file__).resolve().parent
LOG_GLOB = "logs/[0-9][0-9][0-9][0-9]/[0-9][0-9]/[0-9][0-9]/app_*T[0-9][0-9].csv.gz"
MODELS = {
    name: (HERE / "project" / "models" / "datastore" / f"{name}.yml").read_text().split("sql: |", 1)[1]
    for name in ("daily_active_users", "sales_by_day", "user_activity")
}
TIMINGS = bool(os.environ.get("PLAIN_TIMINGS"))


def q(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def run(con, sql: str, params: list | None = None):
    started = time.perf_counter()
    result = con.execute(sql, params) if params is not None else con.execute(sql)
    if TIMINGS:
        print(f"{(time.perf_counter() - started) * 1000:8.1f} ms  {' '.join(sql.split())[:110]}", file=sys.stderr)
    return result


def open_lake(work: Path) -> duckdb.DuckDBPyConnection:
    (work / ".plain").mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    load_extensions(con, ["ducklake", "sqlite"])
    catalog = work / ".plain" / "catalog.sqlite"
    run(con,
        f"ATTACH {q('ducklake:sqlite:' + str(catalog))} AS lake "
        f"(DATA_PATH {q(str(work / '.plain' / 'lake'))}, META_JOURNAL_MODE 'WAL', META_BUSY_TIMEOUT 30000)"
    )
    run(con, "USE lake")
    return con


def read_logs(files: list[str], base: Path) -> str:
    listed = "[" + ", ".join(q(f) for f in files) + "]"
    prefix = len(str(base)) + 2  # _source_file relative to the data directory, as FeatherBox stores it
    return (
        f"SELECT * EXCLUDE (_source_file), _source_file[{prefix}:] AS _source_file "
        f"FROM read_csv({listed}, filename = '_source_file', header = true)"
    )


def cold(work: Path) -> None:
    data = work / "data"
    con = open_lake(work)
    files = sorted(str(p) for p in data.glob(LOG_GLOB))
    run(con, "CREATE SCHEMA raw")  # where FeatherBox puts the table of a file adapter (raw.<adapter>)
    run(con, f"CREATE TABLE raw.app_logs AS {read_logs(files, data)}")
    run(con, "CREATE SCHEMA _plain")
    run(con, "CREATE TABLE _plain.loaded_files (path VARCHAR)")
    run(con, "INSERT INTO _plain.loaded_files SELECT unnest(?)", [files])
    run(con, "CREATE SCHEMA raw_app_db")
    db = q(str(data / "app.sqlite"))
    for table in ("users", "orders"):
        run(con, f"CREATE TABLE raw_app_db.{table} AS SELECT * FROM sqlite_scan({db}, {q(table)})")
    run(con, "CREATE TABLE _plain.watermarks AS SELECT 'users' AS name, max(updated_at) AS mark FROM raw_app_db.users "
             "UNION ALL SELECT 'orders', max(updated_at) FROM raw_app_db.orders")
    run(con, "CREATE SCHEMA datastore")
    for name, sql in MODELS.items():
        run(con, f"CREATE TABLE datastore.{name} AS {sql}")
    con.close()


def day_ranges(days: list[dt.date | None], column: str) -> str:
    """`column` (a TIMESTAMP) in one of `days` (None: NULL), as range predicates DuckLake can skip
    files with: consecutive days form one range; several ranges are also bounded by the outermost."""
    dated = sorted(d for d in days if d is not None)
    islands: list[list[dt.date]] = []
    for day in dated:
        if islands and islands[-1][1] == day:
            islands[-1][1] = day + dt.timedelta(days=1)
        else:
            islands.append([day, day + dt.timedelta(days=1)])
    ranges = [f"({column} >= TIMESTAMP '{lo}' AND {column} < TIMESTAMP '{hi}')" for lo, hi in islands]
    if len(ranges) > 1:
        ranges = [f"({column} >= TIMESTAMP '{islands[0][0]}' AND {column} < TIMESTAMP '{islands[-1][1]}' "
                  f"AND ({' OR '.join(ranges)}))"]
    if None in days:
        ranges.append(f"{column} IS NULL")
    return " OR ".join(ranges) or "false"


def day_list(days: list[dt.date | None], column: str) -> str:
    parts = []
    if any(d is not None for d in days):
        parts.append(f"{column} IN ({', '.join(f'DATE {q(str(d))}' for d in days if d is not None)})")
    if None in days:
        parts.append(f"{column} IS NULL")
    return " OR ".join(parts) or "false"


def sales_contributions(sign: int, orders: str, scope: str) -> str:
    """What the orders in `scope` add to sales_by_day's groups (the model's expressions), times `sign`."""
    return (
        f"SELECT CAST(o.created_at AS DATE) AS day, u.country, o.status, {sign} AS orders, "
        f"{sign} * CAST(o.amount AS DECIMAL(12, 2)) AS revenue "
        f"FROM {orders} AS o JOIN raw_app_db.users AS u ON u.id = o.user_id WHERE {scope}"
    )


def incremental(work: Path) -> None:
    data = work / "data"
    con = open_lake(work)
    listed = sorted(str(p) for p in data.glob(LOG_GLOB))
    run(con, "BEGIN")

    # 1. only the new log files
    loaded = {r[0] for r in run(con, "SELECT path FROM _plain.loaded_files").fetchall()}
    new = [f for f in listed if f not in loaded]
    run(con, "CREATE TEMP TABLE new_logs AS SELECT * FROM raw.app_logs LIMIT 0")
    if new:
        run(con, f"INSERT INTO temp.new_logs BY NAME {read_logs(new, data)}")
        run(con, "INSERT INTO raw.app_logs SELECT * FROM temp.new_logs")
        run(con, "INSERT INTO _plain.loaded_files SELECT unnest(?)", [new])
    days = [r[0] for r in run(con, "SELECT DISTINCT CAST(ts AS DATE) FROM temp.new_logs").fetchall()]

    # 2. only the users/orders rows past the watermark; the filter runs inside SQLite (index on updated_at)
    run(con, f"ATTACH {q(str(data / 'app.sqlite'))} AS src (TYPE sqlite, READ_ONLY)")
    changed, marks = {}, dict(run(con, "SELECT name, mark FROM _plain.watermarks").fetchall())
    for table in ("users", "orders"):
        run(con, f"CREATE TEMP TABLE delta_{table} AS SELECT * FROM raw_app_db.{table} LIMIT 0")
        changed[table] = run(con,
            f"INSERT INTO temp.delta_{table} SELECT * FROM sqlite_query('src', "
            f"{q(f'SELECT * FROM {table} WHERE updated_at > {q(marks[table] or str())}')})"
        ).fetchone()[0]
    users_changed = changed["users"] > 0
    of_changed_users = "o.user_id IN (SELECT id FROM temp.delta_users)"
    scope = "o.id IN (SELECT id FROM temp.delta_orders)" + (f" OR {of_changed_users}" if users_changed else "")
    if changed["orders"] or users_changed:
        # sales_by_day: what the changed orders' old versions contributed, before the merge
        run(con, f"CREATE TEMP TABLE sales_delta AS {sales_contributions(-1, 'raw_app_db.orders', scope)}")
    for table in ("users", "orders"):
        if changed[table]:
            run(con, f"DELETE FROM raw_app_db.{table} WHERE id IN (SELECT id FROM temp.delta_{table})")
            run(con, f"INSERT INTO raw_app_db.{table} SELECT * FROM temp.delta_{table}")
            run(con, f"UPDATE _plain.watermarks SET mark = (SELECT max(updated_at) FROM temp.delta_{table}) "
                     f"WHERE name = {q(table)}")

    # 3. daily_active_users and user_activity: only the touched days (and, for user_activity, changed users)
    logs = "raw.app_logs"
    for name, extra in (("daily_active_users", None), ("user_activity", "user_id" if users_changed else None)):
        if not days and not extra:
            continue
        where, read = day_list(days, "day"), day_ranges(days, "ts")
        if extra:
            where += f" OR {extra} IN (SELECT id FROM temp.delta_users)"
            read += f" OR {extra} IN (SELECT id FROM temp.delta_users)"
        run(con, f"DELETE FROM datastore.{name} WHERE {where}")
        run(con, f"INSERT INTO datastore.{name} {MODELS[name].replace(logs, f'(SELECT * FROM {logs} WHERE {read})')}")

    # 4. sales_by_day by delta (or in full if an order has a NULL amount, see the docstring)
    if changed["orders"] or users_changed:
        if run(con, "SELECT count(*) FROM raw_app_db.orders WHERE amount IS NULL").fetchone()[0]:
            run(con, f"CREATE OR REPLACE TABLE datastore.sales_by_day AS {MODELS['sales_by_day']}")
        else:
            added = sales_contributions(1, "temp.delta_orders", "true")
            if users_changed:  # their other orders did not change, their country may have
                added += (" UNION ALL " + sales_contributions(
                    1, "raw_app_db.orders", f"{of_changed_users} AND o.id NOT IN (SELECT id FROM temp.delta_orders)"))
            run(con, f"INSERT INTO temp.sales_delta {added}")
            same = " AND ".join(f"s.{c} IS NOT DISTINCT FROM g.{c}" for c in ("day", "country", "status"))
            run(con, f"""
                CREATE TEMP TABLE sales_groups AS
                SELECT g.day, g.country, g.status, coalesce(s.orders, 0) + g.orders AS orders,
                       coalesce(s.revenue, 0) + coalesce(g.revenue, 0) AS revenue
                FROM (SELECT day, country, status, sum(orders) AS orders, sum(revenue) AS revenue
                      FROM temp.sales_delta GROUP BY ALL) AS g
                LEFT JOIN datastore.sales_by_day AS s ON {same}
                WHERE g.orders <> 0 OR g.revenue <> 0""")
            run(con, f"DELETE FROM datastore.sales_by_day AS s "
                     f"WHERE EXISTS (SELECT 1 FROM temp.sales_groups AS g WHERE {same})")
            run(con, "INSERT INTO datastore.sales_by_day SELECT day, country, status, orders, revenue "
                     "FROM temp.sales_groups WHERE orders > 0")
    run(con, "COMMIT")
    con.close()


def main() -> None:
    mode, work = sys.argv[1], Path(sys.argv[2]).resolve()
    started = time.perf_counter()
    {"cold": cold, "incremental": incremental}[mode](work)
    print(f"plain {mode}: {time.perf_counter() - started:.2f}s")


if __name__ == "__main__":
    main()
