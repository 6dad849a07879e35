"""SIGKILL `fbox run` while it loads time-partitioned gz-CSV files from S3 (moto), GCS and Azure.

After a rerun to completion the adapter table and the models equal a clean run's result (sorted rows,
so a file loaded twice shows up as a difference), and the next plan is empty. The kill points are
fractions of the clean run's wall time (a new process, like the killed ones; the clean runs are made
once per store), so they stay spread over the run on a slower machine. The runs that are killed are
real `fbox run` processes; the reruns run in this process. The same is checked once with the DuckLake
data path on S3 itself.
"""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import time
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

import pytest

from featherbox.testing.samples import hourly_name

from .conftest import FBOX, fbox, run
from .stores import KINDS, Kind, Store, project

START = datetime(2024, 3, 1)
FIRST = [START + timedelta(hours=h) for h in range(16)]            # the first run
SECOND = [START + timedelta(hours=h) for h in range(16, 22)]       # new hours for the second run
LATE = [START - timedelta(hours=2)]                                  # older than everything loaded
ROWS = 2500
MODELS = {
    "models/marts/by_val.yml": "sql: SELECT val, count(*) AS n, sum(id) AS s FROM raw.logs GROUP BY ALL\n",
    "models/marts/totals.yml": "sql: SELECT count(*) AS n, count(DISTINCT id) AS ids, sum(id) AS s FROM raw.logs\n",
}
TABLES = ["raw.logs", "marts.by_val", "marts.totals"]
FRACTIONS = [0.35, 0.7]


@lru_cache(maxsize=None)
def file_bytes(t: datetime) -> bytes:
    base = int((t - START).total_seconds() // 3600 + 100) * 100_000
    rows = "".join(f"{base + i},v{(base // 100_000 * 7 + i) % 53}\n" for i in range(ROWS))
    return gzip.compress(("id,val\n" + rows).encode(), compresslevel=1)


def put(store: Store, hours) -> None:
    store.put_many({hourly_name(t): file_bytes(t) for t in hours})


# --- the three stores ------------------------------------------------------------------------


class Site:
    """One store and its server: a fresh bucket, a project on it, and the environment of a run."""

    def __init__(self, kind: Kind, server):
        self.kind, self.server, self.name = kind, server, kind.name
        self.env = kind.env(server)

    def new_store(self) -> Store:
        return self.kind.new_store(self.server, prefix="k-")

    def project(self, root: Path, store: Store, lake_on_store: bool = False) -> Path:
        return project(root, self.kind, store.bucket, lake_on_store=lake_on_store, files=MODELS)


@pytest.fixture(params=["s3", "gcs", "azure"])
def site(request) -> Site:
    kind = KINDS[request.param]
    return Site(kind, request.getfixturevalue(kind.server))


# --- running, killing, comparing -------------------------------------------------------------


def timed_run(root: Path, env: dict) -> float:
    """A clean `fbox run` in a new process, as the killed ones run: its wall time sets the kill points."""
    began = time.monotonic()
    fbox(root, "run", env=env)
    return time.monotonic() - began


def killed_run(root: Path, env: dict, delay: float) -> None:
    """`fbox run` in a new process, SIGKILLed `delay` seconds after it started (unless it is done by then)."""
    process = subprocess.Popen(
        [str(FBOX), "-C", str(root), "run"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false", **env},
    )
    try:
        process.wait(delay)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()


def snapshot(root: Path, env: dict, monkeypatch) -> dict[str, list]:
    """Every table's rows, sorted; `plan` is the number of actions the next run would take."""
    from featherbox.workspace import Workspace

    with monkeypatch.context() as m:
        for key, value in env.items():
            m.setenv(key, value)
        ws = Workspace(root)
        con = ws.open_lake(for_writing=False)
        try:
            tables = {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in TABLES}
            plan, _ = ws.plan(con)
            tables["plan"] = [(a.action, a.node) for a in plan.actions]
        finally:
            con.close()
    return tables


def check(got: dict, want: dict) -> None:
    assert got["plan"] == [], f"the next plan is not empty: {got['plan']}"
    logs = got["raw.logs"]
    assert len(logs) == len(set(logs)), "duplicate rows in raw.logs"
    for table in TABLES:
        assert len(got[table]) == len(want[table]), table
        assert got[table] == want[table], table


_references: dict[str, tuple] = {}


def reference(site: Site, tmp_path_factory, monkeypatch) -> tuple[dict, dict, float, float]:
    """A clean run of both phases on a bucket of its own, once per store: the tables after each, and
    each run's wall time."""
    if site.name not in _references:
        store = site.new_store()
        put(store, FIRST)
        root = site.project(tmp_path_factory.mktemp(f"ref-{site.name}") / "p", store)
        first_time = timed_run(root, site.env)
        first = snapshot(root, site.env, monkeypatch)
        put(store, SECOND + LATE)
        second_time = timed_run(root, site.env)
        second = snapshot(root, site.env, monkeypatch)
        assert len(first["raw.logs"]) == ROWS * len(FIRST)
        assert len(second["raw.logs"]) == ROWS * (len(FIRST) + len(SECOND) + len(LATE))
        assert first["plan"] == [] and second["plan"] == []
        _references[site.name] = (first, second, first_time, second_time)
    return _references[site.name]


def kill_rerun_check(site: Site, root: Path, delay: float, want: dict, monkeypatch) -> None:
    """Kill a run after `delay` seconds, rerun it to completion (in this process: the kill was in a real
    one) and compare with the clean run."""
    killed_run(root, site.env, delay)
    run(root, site.env)
    check(snapshot(root, site.env, monkeypatch), want)


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize("fraction", FRACTIONS)
def test_kill_then_rerun_equals_clean_run(site, fraction, tmp_path, tmp_path_factory, monkeypatch):
    first, second, first_time, second_time = reference(site, tmp_path_factory, monkeypatch)
    store = site.new_store()
    put(store, FIRST)
    root = site.project(tmp_path / "p", store)
    kill_rerun_check(site, root, first_time * fraction, first, monkeypatch)
    # an increment: new hours and a late file for an hour older than everything loaded
    put(store, SECOND + LATE)
    kill_rerun_check(site, root, second_time * fraction, second, monkeypatch)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_kill_with_ducklake_data_path_on_s3(s3_server, tmp_path, tmp_path_factory, monkeypatch):
    site = Site(KINDS["s3"], s3_server)
    first, second, first_time, second_time = reference(site, tmp_path_factory, monkeypatch)
    store = site.new_store()
    put(store, FIRST)
    root = site.project(tmp_path / "p", store, lake_on_store=True)
    # on S3 writing the data files takes longer than locally: kill near the end of a local-lake run
    kill_rerun_check(site, root, first_time * 0.8, first, monkeypatch)
    assert any(p.endswith(".parquet") for p in store.find("lake")), "the data files are not on S3"
    assert not any((root / "data").rglob("*.parquet")) if (root / "data").exists() else True
    put(store, SECOND + LATE)
    kill_rerun_check(site, root, second_time * 0.6, second, monkeypatch)
