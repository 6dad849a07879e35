"""Deterministic benchmark data: hourly gzipped CSV logs and a SQLite app database, plus an increment.

    python bench/generate.py OUT --scale 0.2            # base data set
    python bench/generate.py OUT --scale 0.2 --increment  # apply the increment step to OUT

At --scale 1:
  OUT/logs/YYYY/MM/DD/app_YYYYMMDDTHH.csv.gz   168 files (7 days, hourly), 5,000,000 rows in total
                                                columns ts, user_id, path, status, latency_ms
  OUT/app.sqlite                                users (200,000 rows), orders (2,000,000 rows, with updated_at)
The increment adds the next hourly file (day 8, 00:00), bumps `updated_at` (and the status) of 1% of the
orders and inserts 0.5% new orders.

Everything is written by DuckDB from `range()` and `hash()` of a fixed seed, so the same scale gives the
same bytes every time (DuckDB's hash is stable within a DuckDB version) and scale 1 takes seconds.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core" / "src"))
from featherbox.duckdb_extensions import load_extensions  # noqa: E402

SEED = 7
START = datetime(2024, 3, 4)  # a Monday
HOURS = 7 * 24
LOG_ROWS = 5_000_000
USERS = 200_000
ORDERS = 2_000_000
PATHS = ["/", "/products", "/products/detail", "/cart", "/checkout", "/api/search", "/login", "/account"]
COUNTRIES = ["US", "US", "US", "DE", "DE", "JP", "JP", "BR", "IN", "IN", "FR", "GB"]
STATUSES = ["paid", "shipped", "completed", "completed", "pending", "cancelled", "refunded"]


def sizes(scale: float, hours: int = HOURS) -> dict:
    return {
        "rows_per_file": max(1, round(LOG_ROWS * scale / hours)),
        "users": max(10, round(USERS * scale)),
        "orders": max(20, round(ORDERS * scale)),
    }


def log_path(hour: datetime) -> str:
    return f"logs/{hour:%Y/%m/%d}/app_{hour:%Y%m%dT%H}.csv.gz"


def _list(values: list[str]) -> str:
    return "[" + ", ".join("'" + v + "'" for v in values) + "]"


def _write_log(con, out: Path, index: int, rows: int, users: int) -> None:
    hour = START + timedelta(hours=index)
    target = out / log_path(hour)
    target.parent.mkdir(parents=True, exist_ok=True)
    # h(k) is a pseudo-random UBIGINT per (file, row, purpose k)
    h = f"hash({SEED}, {index}, i, {{k}})"
    status = (
        f"CASE WHEN {h.format(k=3)} % 100 < 3 THEN NULL "
        f"WHEN {h.format(k=3)} % 100 < 80 THEN 200 WHEN {h.format(k=3)} % 100 < 86 THEN 304 "
        f"WHEN {h.format(k=3)} % 100 < 93 THEN 404 WHEN {h.format(k=3)} % 100 < 97 THEN 500 ELSE 503 END"
    )
    con.execute(
        f"""
        COPY (
            SELECT
                TIMESTAMP '{hour:%Y-%m-%d %H:%M:%S}' + to_seconds((i * 3600 // {rows})::BIGINT) AS ts,
                1 + ({h.format(k=1)} % {users}) AS user_id,
                {_list(PATHS)}[(1 + ({h.format(k=2)} % {len(PATHS)}))::BIGINT] AS path,
                {status} AS status,
                5 + ({h.format(k=4)} % 900) AS latency_ms
            FROM range({rows}) t(i)
            ORDER BY i
        ) TO '{target}' (FORMAT csv, HEADER true, COMPRESSION gzip)
        """
    )


def generate(out: Path, scale: float, hours: int = HOURS) -> dict:
    """Write the base data set under `out`; `hours` (default 7 days) only to make tiny test data sets."""
    n = sizes(scale, hours)
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    load_extensions(con, ["sqlite"])
    for index in range(hours):
        _write_log(con, out, index, n["rows_per_file"], n["users"])

    db = out / "app.sqlite"
    db.unlink(missing_ok=True)
    lite = sqlite3.connect(db)
    lite.executescript(
        """
        CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, country TEXT, created_at TEXT, updated_at TEXT);
        CREATE TABLE orders (
            id INTEGER PRIMARY KEY, user_id INTEGER, amount REAL, status TEXT, created_at TEXT, updated_at TEXT
        );
        """
    )
    lite.close()
    con.execute(f"ATTACH '{db}' AS app (TYPE sqlite)")
    seconds = hours * 3600
    con.execute(
        f"""
        INSERT INTO app.users
        SELECT i AS id, 'user ' || i AS name,
               {_list(COUNTRIES)}[(1 + (hash({SEED}, i, 10) % {len(COUNTRIES)}))::BIGINT] AS country,
               strftime(TIMESTAMP '2023-01-01' + to_seconds((hash({SEED}, i, 11) % 31536000)::BIGINT), '%Y-%m-%d %H:%M:%S'),
               strftime(TIMESTAMP '2023-01-01' + to_seconds((hash({SEED}, i, 11) % 31536000)::BIGINT), '%Y-%m-%d %H:%M:%S')
        FROM range(1, {n['users']} + 1) t(i)
        """
    )
    con.execute(
        f"""
        INSERT INTO app.orders
        SELECT i AS id, 1 + (hash({SEED}, i, 20) % {n['users']}) AS user_id,
               ((500 + hash({SEED}, i, 21) % 30000) / 100)::DOUBLE AS amount,
               {_list(STATUSES)}[(1 + (hash({SEED}, i, 22) % {len(STATUSES)}))::BIGINT] AS status,
               strftime(TIMESTAMP '{START:%Y-%m-%d}' + to_seconds((hash({SEED}, i, 23) % {seconds - 7200})::BIGINT), '%Y-%m-%d %H:%M:%S') AS created_at,
               strftime(TIMESTAMP '{START:%Y-%m-%d}' + to_seconds((hash({SEED}, i, 23) % {seconds - 7200} + hash({SEED}, i, 24) % 7200)::BIGINT), '%Y-%m-%d %H:%M:%S') AS updated_at
        FROM range(1, {n['orders']} + 1) t(i)
        """
    )
    con.close()
    lite = sqlite3.connect(db)
    # the index a watermark query (updated_at > ?) uses
    lite.executescript("CREATE INDEX orders_updated_at ON orders(updated_at); CREATE INDEX users_updated_at ON users(updated_at);")
    lite.close()
    return n


def increment(out: Path, scale: float, hours: int = HOURS) -> dict:
    """The increment step: one more hourly file, 1% of the orders updated, 0.5% new orders."""
    n = sizes(scale, hours)
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    load_extensions(con, ["sqlite"])
    _write_log(con, out, hours, n["rows_per_file"], n["users"])
    at = START + timedelta(hours=hours)  # after all base data
    updated = max(1, n["orders"] // 100)
    inserted = max(1, n["orders"] // 200)
    rows = con.execute(
        f"""
        SELECT i AS id, 1 + (hash({SEED}, i, 20) % {n['users']}) AS user_id,
               ((500 + hash({SEED}, i, 21) % 30000) / 100)::DOUBLE AS amount,
               {_list(STATUSES)}[(1 + (hash({SEED}, i, 22) % {len(STATUSES)}))::BIGINT] AS status,
               strftime(TIMESTAMP '{at:%Y-%m-%d %H:%M:%S}' + to_seconds((hash({SEED}, i, 23) % 3600)::BIGINT), '%Y-%m-%d %H:%M:%S') AS created_at,
               strftime(TIMESTAMP '{at:%Y-%m-%d %H:%M:%S}' + to_seconds((hash({SEED}, i, 23) % 3600)::BIGINT), '%Y-%m-%d %H:%M:%S') AS updated_at
        FROM range({n['orders']} + 1, {n['orders']} + {inserted} + 1) t(i)
        """
    ).fetchall()
    con.close()
    # SQLite itself does the writes: DuckDB's sqlite extension can block on its own scan during UPDATE
    lite = sqlite3.connect(out / "app.sqlite")
    with lite:
        # every 100th order (1%) moves on: new status, updated_at after everything in the base data
        lite.execute(
            """
            UPDATE orders
            SET status = CASE status WHEN 'paid' THEN 'shipped' WHEN 'shipped' THEN 'completed' ELSE 'refunded' END,
                updated_at = datetime(?, '+' || ((id * 2654435761) % 3600) || ' seconds')
            WHERE id % 100 = 0
            """,
            [f"{at:%Y-%m-%d %H:%M:%S}"],
        )
        lite.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?)", rows)
    lite.close()
    return {"new_files": 1, "updated_orders": updated, "inserted_orders": inserted}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--scale", type=float, default=0.2)
    parser.add_argument("--hours", type=int, default=HOURS, help="number of hourly files (tests use fewer)")
    parser.add_argument("--increment", action="store_true", help="apply the increment step to OUT")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    info = increment(args.out, args.scale, args.hours) if args.increment else generate(args.out, args.scale, args.hours)
    print(f"{info} in {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
