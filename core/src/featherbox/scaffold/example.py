"""The runnable example `fbox init --example` writes: web logs and a small app database, and models over them.

Everything is generated from a fixed seed without the network, so the same files come out every time:
  sample/logs/YYYY/MM/DD/app_YYYYMMDDTHH.csv.gz   48 hourly gzipped CSV files (2024-01-01 and 2024-01-02)
  sample/app.sqlite                               users (100 rows) and orders (500 rows)
and the adapters and models that load and transform them.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import random
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

from featherbox.yaml_text import schema_line

SEED = 20240101
DAYS = (datetime(2024, 1, 1), datetime(2024, 1, 2))
USERS = 100
ORDERS = 500
LOG_COLUMNS = ("ts", "user_id", "path", "status", "latency_ms")
LOG_DIR = "sample/logs"
DB_FILE = "sample/app.sqlite"

_FIRST = ("Ada", "Ben", "Chen", "Dana", "Emil", "Fatima", "Goro", "Hana", "Ivan", "Jonas", "Kai", "Lena",
          "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tomoko", "Uma", "Victor", "Wei", "Yara")
_LAST = ("Alvarez", "Brown", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito", "Jensen",
         "Kowalski", "Lopez", "Müller", "Nakamura", "Okafor", "Patel", "Rossi", "Silva", "Tanaka", "Weber")
_COUNTRIES = (("US", 30), ("DE", 15), ("JP", 15), ("BR", 12), ("IN", 12), ("FR", 8), ("GB", 8))
_PATHS = (("/", 20), ("/products", 25), ("/products/detail", 20), ("/cart", 10), ("/checkout", 5),
          ("/api/search", 15), ("/login", 5))
_STATUSES = ((200, 78), (201, 3), (304, 6), (404, 6), (500, 4), (503, 3))
_ORDER_STATUSES = (("pending", 10), ("paid", 20), ("shipped", 20), ("completed", 35), ("cancelled", 10), ("refunded", 5))


def _pick(rng: random.Random, weighted):
    values, weights = zip(*weighted)
    return rng.choices(values, weights=weights, k=1)[0]


def log_files() -> list[tuple[str, list[dict]]]:
    """(path relative to the project, rows) of every hourly log file, rows as the CSV holds them."""
    rng = random.Random(SEED)
    files = []
    for day in DAYS:
        active = sorted(rng.sample(range(1, USERS + 1), rng.randint(55, 80)))  # not every user visits every day
        for hour in range(24):
            start = day + timedelta(hours=hour)
            seconds = sorted(rng.randrange(3600) for _ in range(rng.randint(40, 60)))
            rows = []
            for second in seconds:
                status = _pick(rng, _STATUSES)
                latency = rng.randint(5, 400) if status < 500 else rng.randint(800, 3000)
                rows.append({
                    "ts": (start + timedelta(seconds=second)).strftime("%Y-%m-%d %H:%M:%S"),
                    "user_id": str(rng.choice(active)),
                    "path": _pick(rng, _PATHS),
                    # a few requests were logged before the status was known: empty, read as NULL
                    "status": "" if rng.random() < 0.03 else str(status),
                    "latency_ms": str(latency),
                })
            name = f"{LOG_DIR}/{start:%Y/%m/%d}/app_{start:%Y%m%dT%H}.csv.gz"
            files.append((name, rows))
    return files


def users() -> list[tuple]:
    rng = random.Random(SEED + 1)
    out = []
    for user_id in range(1, USERS + 1):
        created = datetime(2023, 1, 1) + timedelta(seconds=rng.randrange(365 * 86400))
        name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
        out.append((user_id, name, _pick(rng, _COUNTRIES), created.strftime("%Y-%m-%d %H:%M:%S")))
    return out


def orders() -> list[tuple]:
    rng = random.Random(SEED + 2)
    out = []
    for order_id in range(1, ORDERS + 1):
        created = DAYS[0] + timedelta(seconds=rng.randrange(len(DAYS) * 86400))
        updated = created + timedelta(minutes=rng.randint(0, 600))
        amount = round(rng.uniform(5, 300), 2)
        status = _pick(rng, _ORDER_STATUSES)
        out.append((order_id, rng.randint(1, USERS), amount, status,
                    created.strftime("%Y-%m-%d %H:%M:%S"), updated.strftime("%Y-%m-%d %H:%M:%S")))
    return out


def _csv_gz(rows: list[dict]) -> bytes:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=LOG_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return gzip.compress(text.getvalue().encode("utf-8"), mtime=0)


def write_sqlite(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    con = sqlite3.connect(partial)
    try:
        con.executescript(
            """
            CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, country TEXT, created_at TEXT);
            CREATE TABLE orders (
                id INTEGER PRIMARY KEY, user_id INTEGER, amount REAL, status TEXT, created_at TEXT, updated_at TEXT
            );
            """
        )
        con.executemany("INSERT INTO users VALUES (?, ?, ?, ?)", users())
        con.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?)", orders())
        con.commit()
    finally:
        con.close()
    os.replace(partial, path)


# --- adapters and models --------------------------------------------------------------------

APP_LOGS = """\
type: localfile
description: Hourly web server logs, one gzipped CSV file per hour
config:
  base_path: sample          # relative to the project directory
# [YYYY] [MM] [DD] [HH] match the digits of the file's hour and fill the _file_time column
path: logs/[YYYY]/[MM]/[DD]/app_[YYYY][MM][DD]T[HH].csv.gz
format:
  type: csv
  header: true
update_strategy: filename     # a run reads only the hourly files it has not loaded yet
"""

APP_DB = """\
type: sqlite
description: The application's database (users and their orders)
config:
  path: sample/app.sqlite     # relative to the project directory
# copied into the adapter's own schema: raw_app_db.users and raw_app_db.orders
tables: [users, orders]
"""

STAGING_REQUESTS = """\
description: Web requests with proper types; requests logged without a status are dropped
sql: |
  SELECT
    CAST(ts AS TIMESTAMP) AS ts,
    CAST(user_id AS INTEGER) AS user_id,
    path,
    CAST(status AS INTEGER) AS status,
    CAST(latency_ms AS INTEGER) AS latency_ms,
    _file_time AS log_hour
  FROM app_logs               -- the adapter's table raw.app_logs; a bare name works when it is unique
  WHERE status IS NOT NULL
"""

STAGING_ORDERS = """\
description: Orders that were paid for (paid, shipped or completed), with proper types
sql: |
  SELECT
    id AS order_id,
    user_id,
    CAST(amount AS DECIMAL(12, 2)) AS amount,
    status,
    CAST(created_at AS TIMESTAMP) AS created_at,
    CAST(updated_at AS TIMESTAMP) AS updated_at
  FROM raw_app_db.orders
  WHERE status IN ('paid', 'shipped', 'completed')
"""

DAILY_ACTIVE_USERS = """\
description: Distinct users with at least one request, per day
sql: |
  SELECT
    CAST(ts AS DATE) AS day,
    count(DISTINCT user_id) AS active_users
  FROM staging.requests
  GROUP BY day
  ORDER BY day
"""

SALES_BY_COUNTRY = """\
description: Paid orders and revenue per customer country
sql: |
  SELECT
    u.country,
    count(*) AS orders,
    sum(o.amount) AS revenue
  FROM staging.orders AS o
  JOIN raw_app_db.users AS u ON u.id = o.user_id
  GROUP BY u.country
  ORDER BY revenue DESC
"""

USER_ACTIVITY = """\
description: Requests and server errors (status 5xx) per day and user, with the user's country
sql: |
  SELECT
    CAST(r.ts AS DATE) AS day,
    r.user_id,
    u.country,
    count(*) AS requests,
    count(*) FILTER (WHERE r.status >= 500) AS errors
  FROM requests AS r          -- staging.requests: the only table named requests
  LEFT JOIN raw_app_db.users AS u ON u.id = r.user_id
  GROUP BY ALL
# rebuild at least daily even if no new logs arrived:
# max_age: 1d
"""

PROJECT_FILES = {
    "adapters/app_logs.yml": ("adapter", APP_LOGS),
    "adapters/app_db.yml": ("adapter", APP_DB),
    "models/staging/requests.yml": ("model", STAGING_REQUESTS),
    "models/staging/orders.yml": ("model", STAGING_ORDERS),
    "models/datastore/daily_active_users.yml": ("model", DAILY_ACTIVE_USERS),
    "models/datastore/sales_by_country.yml": ("model", SALES_BY_COUNTRY),
    "models/datastore/user_activity.yml": ("model", USER_ACTIVITY),
}


def example_paths() -> list[str]:
    """Every file the example writes, relative to the project (the log files as one folder)."""
    return [*PROJECT_FILES, DB_FILE, LOG_DIR]


def write_example(root: Path) -> list[Path]:
    """Write the sample data, adapters and models into the project at `root`; returns the files written."""
    written = []
    for relative, (kind, text) in PROJECT_FILES.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(schema_line(relative, kind) + text, encoding="utf-8")
        written.append(target)
    for relative, rows in log_files():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_csv_gz(rows))
        written.append(target)
    write_sqlite(root / DB_FILE)
    written.append(root / DB_FILE)
    return written
