"""Nothing lost, nothing leaked, nothing surprising: commands that only read write nothing, a copied
or moved project just runs, a changed storage path is refused with what to do, `fbox` runs without
HOME, and `fbox query` prints columns in order and every statement's result."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from featherbox.testing import write_project

from fboxcli import FBOX, invoke

ROWS = 5000  # enough rows that DuckLake writes Parquet files rather than inlining them in the catalog


def csv_rows(start: int, count: int) -> str:
    return "id,name\n" + "".join(f"{i},n{i}\n" for i in range(start, start + count))


def make_project(root: Path) -> Path:
    return write_project(root, {
        "adapters/events.yml": "type: localfile\nconfig: {base_path: src}\npath: '*.csv'\n",
        "src/a.csv": csv_rows(0, ROWS),
        "models/marts/total.yml": "sql: SELECT count(*) AS n, sum(id) AS s FROM raw.events\n",
    })


def run(root: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([FBOX, "-C", str(root), "run"], capture_output=True, text=True, timeout=180, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def fails(root: Path, *args: str) -> str:
    """The error of an in-process command that must fail."""
    from featherbox import secrets
    from featherbox.cli.app import create_app

    secrets.clear()
    result = CliRunner().invoke(create_app(), ["-C", str(root), *args], catch_exceptions=True)
    assert result.exit_code != 0, result.output
    return str(result.exception) + result.output


def listing(root: Path) -> dict[str, tuple]:
    """Every file and folder under `root` with its size and modification time."""
    out = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        out[path.relative_to(root).as_posix()] = (path.is_dir(), 0 if path.is_dir() else info.st_size, info.st_mtime_ns)
    return out


def parquet_files(folder: Path) -> set[Path]:
    return set(folder.rglob("*.parquet")) if folder.exists() else set()


def recorded_data_path(root: Path) -> str:
    with sqlite3.connect(root / ".fbox" / "catalog.sqlite") as con:
        return con.execute("SELECT value FROM ducklake_metadata WHERE key = 'data_path' AND scope IS NULL").fetchone()[0]


# --- commands that only read write nothing -----------------------------------------------------

def test_read_only_commands_write_nothing_in_a_project_that_never_ran(tmp_path):
    root = make_project(tmp_path / "p")
    before = listing(root)
    plan = json.loads(invoke("plan", "--json", project=root))
    assert {a["node"]: a["action"] for a in plan["actions"]} == {"events": "create", "marts.total": "create"}
    invoke("plan", project=root)
    assert "new adapter" in invoke("status", project=root)
    invoke("status", "--json", project=root)
    invoke("graph", project=root)
    invoke("graph", "--format", "html", "--status", project=root)
    assert json.loads(invoke("query", "SELECT 42 AS answer", "--format", "json", project=root)) == [{"answer": 42}]
    assert "no runs yet" in fails(root, "logs")
    assert listing(root) == before  # no .fbox/catalog.sqlite, no data/, nothing


def test_query_on_a_project_that_never_ran_writes_nothing_and_says_so(tmp_path):
    root = make_project(tmp_path / "p")
    before = listing(root)
    message = fails(root, "query", "CREATE TABLE main.x AS SELECT range AS i FROM range(100000)")
    assert "no lake yet" in message and "fbox run" in message
    message = fails(root, "query", "SELECT * FROM raw.events")
    assert "no lake yet" in message
    assert listing(root) == before


def test_plan_on_a_project_that_ran_changes_nothing(tmp_path):
    root = make_project(tmp_path / "p")
    run(root)
    files = {k for k, (is_dir, *_rest) in listing(root).items() if not is_dir}
    assert "Nothing to do" in invoke("plan", project=root)
    invoke("status", project=root)
    after = {k for k, (is_dir, *_rest) in listing(root).items() if not is_dir}
    assert after - files <= {".fbox/catalog.sqlite-wal", ".fbox/catalog.sqlite-shm"}


# --- a copied or moved project ----------------------------------------------------------------

def test_a_copied_and_then_moved_project_runs_and_reads_its_own_data(tmp_path):
    original = make_project(tmp_path / "original")
    run(original)
    assert parquet_files(original / "data")
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    moved_away = tmp_path / "elsewhere"
    original.rename(moved_away)  # the catalog's recorded data path is gone: only the copy's data is there
    kept = {p: p.stat().st_mtime_ns for p in parquet_files(moved_away / "data")}

    assert "Nothing to do" in run(copy).stdout
    assert json.loads(invoke("plan", "--json", project=copy))["actions"] == []
    rows = json.loads(invoke("query", "SELECT n, s FROM marts.total", "--format", "json", project=copy))
    assert rows == [{"n": ROWS, "s": ROWS * (ROWS - 1) // 2}]
    assert json.loads(invoke("query", "SELECT count(*) AS c FROM raw.events", "--format", "json", project=copy)) == [{"c": ROWS}]

    (copy / "src" / "b.csv").write_text(csv_rows(ROWS, ROWS))
    assert "2 completed" in run(copy).stdout
    assert json.loads(invoke("query", "SELECT n FROM marts.total", "--format", "json", project=copy)) == [{"n": 2 * ROWS}]
    assert recorded_data_path(copy) == f"{copy}/data/"  # the catalog now names the copy's folder
    assert {p: p.stat().st_mtime_ns for p in parquet_files(moved_away / "data")} == kept  # the original was not written


def test_a_copy_next_to_its_original_leaves_the_original_alone(tmp_path):
    original = make_project(tmp_path / "original")
    run(original)
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    kept = parquet_files(original / "data")
    (copy / "src" / "b.csv").write_text(csv_rows(ROWS, 10))
    run(copy)
    assert parquet_files(original / "data") == kept
    assert recorded_data_path(original) == f"{original}/data/"
    assert json.loads(invoke("query", "SELECT n FROM marts.total", "--format", "json", project=original)) == [{"n": ROWS}]
    assert json.loads(invoke("query", "SELECT n FROM marts.total", "--format", "json", project=copy)) == [{"n": ROWS + 10}]


def test_a_changed_storage_path_is_refused_until_the_data_is_moved_there(tmp_path):
    root = make_project(tmp_path / "p")
    run(root)
    (root / "project.yml").write_text("storage: {type: local, path: lake}\n")
    for command in (["plan"], ["run"], ["status"], ["query", "SELECT 1"]):
        message = fails(root, *command)
        assert f"the lake's data files are in {root}/data/" in message and f"not in {root}/lake/" in message, message
        assert f"`mv {root}/data {root}/lake`" in message
    assert not (root / "lake").exists()  # nothing made at the new place, so the suggested `mv` does what it says
    (root / "data").rename(root / "lake")
    assert json.loads(invoke("plan", "--json", project=root))["actions"] == []
    assert json.loads(invoke("query", "SELECT n FROM marts.total", "--format", "json", project=root)) == [{"n": ROWS}]
    run(root)
    assert recorded_data_path(root) == f"{root}/lake/"


def test_data_missing_everywhere_is_refused_with_what_to_do(tmp_path):
    root = make_project(tmp_path / "p")
    run(root)
    shutil.rmtree(root / "data")
    (root / "project.yml").write_text("storage: {type: local, path: lake}\n")
    message = fails(root, "plan")
    assert "the lake's data files are missing" in message and f"{root}/lake/" in message and "catalog" in message


# --- no HOME --------------------------------------------------------------------------------

def test_runs_and_queries_without_home(tmp_path):
    root = make_project(tmp_path / "p")
    env = {k: v for k, v in os.environ.items() if k != "HOME"}
    assert "2 completed" in run(root, env=env).stdout
    done = subprocess.run([FBOX, "-C", str(root), "query", "SELECT n FROM marts.total", "--format", "json"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [{"n": ROWS}]


# --- fbox query -------------------------------------------------------------------------------

def test_query_json_keeps_the_column_order(tmp_path):
    root = write_project(tmp_path / "p", {})
    out = invoke("query", "SELECT 3 AS zebra, 1 AS apple, 2 AS mango", "--format", "json", project=root)
    assert list(json.loads(out)[0]) == ["zebra", "apple", "mango"]
    assert invoke("query", "SELECT 3 AS zebra, 1 AS apple", "--format", "csv", project=root).splitlines()[0] == "zebra,apple"


def test_query_shows_every_statement_in_table_format(tmp_path):
    root = write_project(tmp_path / "p", {})
    out = invoke("query", "SELECT 1 AS first_col; SET threads = 1; SELECT 2 AS second_col", project=root)
    lines = out.splitlines()
    assert lines[0] == "-- 1: SELECT 1 AS first_col" and "first_col" in lines[1] and lines[2].strip() == "1"
    assert "-- 2: SET threads = 1" in out and "OK" in out
    assert "-- 3: SELECT 2 AS second_col" in out and "second_col" in out and out.rstrip().endswith("2")


def test_query_json_prints_the_last_statement_and_refuses_two_results(tmp_path):
    root = write_project(tmp_path / "p", {})
    assert json.loads(invoke("query", "SET threads = 1; SELECT 7 AS x", "--format", "json", project=root)) == [{"x": 7}]
    message = fails(root, "query", "SELECT 1 AS a; SELECT 2 AS b", "--format", "json")
    assert "statement 1 of 2 also returns rows" in message and "--format table" in message
