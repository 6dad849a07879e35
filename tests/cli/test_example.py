"""`fbox init --example` end to end: the models' results equal the same numbers computed in Python from the sample files."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import sqlite3
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from featherbox.config.loader import load_project
from featherbox.registry import default_registry

FBOX = str(Path(sys.executable).parent / "fbox")
PAID = ("paid", "shipped", "completed")


def fbox(root: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([FBOX, "-C", str(root), *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"fbox {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def query(root: Path, sql: str) -> list[dict]:
    out = fbox(root, "query", sql, "--format", "csv").stdout
    return list(csv.DictReader(io.StringIO(out)))


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("example") / "shop"
    subprocess.run([FBOX, "init", str(root), "--example"], check=True, capture_output=True, text=True)
    result = fbox(root, "run")
    for node in ("app_logs", "app_db", "staging.requests", "staging.orders", "datastore.daily_active_users",
                 "datastore.sales_by_country", "datastore.user_activity"):
        assert node in result.stdout
    return root


# --- the numbers, straight from the sample files ------------------------------------------

def log_rows(root: Path) -> list[dict]:
    rows = []
    for file in sorted((root / "sample" / "logs").rglob("*.csv.gz")):
        with gzip.open(file, "rt", encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                rows.append({**row, "_file": file.name})
    return rows


def requests(root: Path) -> list[dict]:
    """staging.requests: log rows with a status."""
    return [r for r in log_rows(root) if r["status"] != ""]


def sqlite_rows(root: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(root / "sample" / "app.sqlite")
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def countries(root: Path) -> dict[int, str]:
    return dict(sqlite_rows(root, "SELECT id, country FROM users"))


# --- the sample files ---------------------------------------------------------------------

def test_sample_files_have_the_promised_shape(example):
    files = sorted((example / "sample" / "logs").rglob("*.csv.gz"))
    assert len(files) == 48
    names = {f.relative_to(example / "sample" / "logs").as_posix() for f in files}
    assert "2024/01/01/app_20240101T00.csv.gz" in names and "2024/01/02/app_20240102T23.csv.gz" in names
    for file in files:
        with gzip.open(file, "rt", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert list(rows[0]) == ["ts", "user_id", "path", "status", "latency_ms"]
        assert 40 <= len(rows) <= 60
        hour = datetime.strptime(file.name, "app_%Y%m%dT%H.csv.gz")
        for row in rows:  # every row lies in its file's hour
            assert datetime.strptime(row["ts"], "%Y-%m-%d %H:%M:%S").replace(minute=0, second=0) == hour
    assert any(r["status"] == "" for r in log_rows(example))  # some rows are dropped by staging

    assert sqlite_rows(example, "SELECT count(*) FROM users") == [(100,)]
    assert sqlite_rows(example, "SELECT count(*) FROM orders") == [(500,)]
    statuses = {s for (s,) in sqlite_rows(example, "SELECT DISTINCT status FROM orders")}
    assert set(PAID) <= statuses and statuses - set(PAID)  # some orders are filtered out


def test_example_is_deterministic(example, tmp_path):
    other = tmp_path / "again"
    subprocess.run([FBOX, "init", str(other), "--example"], check=True, capture_output=True)

    def digest(root: Path) -> dict[str, str]:
        files = [p for p in root.rglob("*") if p.is_file() and p.suffix != ".sqlite" and ".fbox" not in p.parts
                 and "data" not in p.relative_to(root).parts[:1]]
        return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}

    assert digest(other) == digest(example)
    for table in ("users", "orders"):
        sql = f"SELECT * FROM {table} ORDER BY id"
        assert sqlite_rows(other, sql) == sqlite_rows(example, sql)


def test_example_project_loads(example):
    project = load_project(example, default_registry())
    assert sorted(project.adapters) == ["app_db", "app_logs"]
    assert sorted(project.models) == [
        "datastore.daily_active_users", "datastore.sales_by_country", "datastore.user_activity",
        "staging.orders", "staging.requests",
    ]
    for file in [*project.adapters.values(), *project.models.values()]:
        assert file.file.read_text().startswith("# yaml-language-server: $schema=")


# --- the models' results ------------------------------------------------------------------

def test_adapter_tables(example):
    logs = log_rows(example)
    rows = query(example, "SELECT count(*) AS n, count(DISTINCT _source_file) AS files, "
                          "count(DISTINCT _file_time) AS hours, count(status) AS with_status FROM raw.app_logs")
    assert rows == [{"n": str(len(logs)), "files": "48", "hours": "48",
                     "with_status": str(sum(r["status"] != "" for r in logs))}]
    assert query(example, "SELECT count(*) AS n FROM raw_app_db.orders") == [{"n": "500"}]
    assert query(example, "SELECT count(*) AS n FROM raw_app_db.users") == [{"n": "100"}]


def test_staging_requests(example):
    expected = requests(example)
    rows = query(example, "SELECT count(*) AS n, sum(latency_ms) AS latency, count(*) FILTER (WHERE status IS NULL) AS nulls "
                          "FROM staging.requests")
    assert rows == [{"n": str(len(expected)), "latency": str(sum(int(r["latency_ms"]) for r in expected)), "nulls": "0"}]


def test_daily_active_users(example):
    users_by_day = defaultdict(set)
    for row in requests(example):
        users_by_day[row["ts"][:10]].add(int(row["user_id"]))
    expected = [{"day": day, "active_users": str(len(users))} for day, users in sorted(users_by_day.items())]
    assert [e["day"] for e in expected] == ["2024-01-01", "2024-01-02"]
    assert query(example, "SELECT * FROM datastore.daily_active_users ORDER BY 1") == expected


def test_sales_by_country(example):
    country = countries(example)
    orders, revenue = Counter(), defaultdict(Decimal)
    for user_id, amount, status in sqlite_rows(example, "SELECT user_id, amount, status FROM orders"):
        if status in PAID:
            orders[country[user_id]] += 1
            revenue[country[user_id]] += Decimal(str(amount))
    rows = query(example, "SELECT * FROM datastore.sales_by_country ORDER BY country")
    assert [list(r) for r in rows[:1]] == [["country", "orders", "revenue"]]
    got = [(r["country"], int(r["orders"]), Decimal(r["revenue"])) for r in rows]
    assert got == [(c, orders[c], revenue[c]) for c in sorted(orders)]
    assert len(got) > 3


def test_user_activity(example):
    country = countries(example)
    counts = defaultdict(lambda: [0, 0])
    for row in requests(example):
        key = (row["ts"][:10], int(row["user_id"]))
        counts[key][0] += 1
        counts[key][1] += int(row["status"]) >= 500
    expected = [
        {"day": day, "user_id": str(user), "country": country[user], "requests": str(n), "errors": str(errors)}
        for (day, user), (n, errors) in sorted(counts.items())
    ]
    rows = query(example, "SELECT * FROM datastore.user_activity ORDER BY day, user_id")
    assert rows == expected
    assert any(int(r["errors"]) > 0 for r in rows)


def test_second_run_has_nothing_to_do(example):
    before = query(example, "SELECT * FROM datastore.daily_active_users ORDER BY 1")
    fbox(example, "run")
    plan = fbox(example, "plan", "--json")
    assert json.loads(plan.stdout)["actions"] == []
    assert query(example, "SELECT * FROM datastore.daily_active_users ORDER BY 1") == before
