"""fbox-gcs end to end against gcp-storage-emulator: a ranged load, a new-file and late-file increment,
a rewritten file under the content strategy, and DuckLake data files on GCS."""

from __future__ import annotations

from datetime import datetime

import yaml
from featherbox.testing import write_project

from .conftest import fbox, query
from .helpers import csv_gz, hourly_name, rows_for

PATTERN = "[YYYY]/[MM]/[DD]/app_[YYYY][MM][DD]T[HH].csv.gz"
HOURS = [datetime(2024, 1, 1, h) for h in (0, 6, 12)] + [datetime(2024, 1, 2, 3)]


def gcs_config(bucket: str, prefix: str = "logs") -> dict:
    return {"bucket": bucket, "prefix": prefix, "project": "test", "token": "anon", "endpoint": "$FB_GCS_ENDPOINT"}


def project(tmp_path, store, extra=None, strategy="filename", storage=None):
    adapter = {"type": "gcs", "config": gcs_config(store.bucket), "path": PATTERN, "format": "csv",
               "update_strategy": strategy, **(extra or {})}
    files = {"adapters/logs.yml": yaml.safe_dump(adapter, sort_keys=False)}
    if storage:
        files["project.yml"] = yaml.safe_dump({"storage": storage}, sort_keys=False)
    return write_project(tmp_path / "p", files)


def rel(t):
    return hourly_name(t, "")[1:]


def by_file(proj, env):
    return {r["_source_file"]: r["n"] for r in query(proj, "SELECT _source_file, count(*) AS n FROM logs GROUP BY 1", env)}


def test_gcs_range_and_new_files(tmp_path, gcs_store, gcs_emulator):
    env = {"FB_GCS_ENDPOINT": gcs_emulator.url}
    for t in HOURS[:3]:
        gcs_store.put(hourly_name(t), csv_gz(rows_for(t)))
    proj = project(tmp_path, gcs_store, {"range": {"since": "2024-01-01T06:00:00"}})
    fbox(proj, "run", env=env)
    assert by_file(proj, env) == {rel(t): 3 for t in HOURS[1:3]}
    new, late, too_old = HOURS[3], datetime(2024, 1, 1, 9), datetime(2024, 1, 1, 2)
    for t in (new, late, too_old):
        gcs_store.put(hourly_name(t), csv_gz(rows_for(t)))
    fbox(proj, "run", env=env)
    assert by_file(proj, env) == {rel(t): 3 for t in [*HOURS[1:3], new, late]}
    fbox(proj, "run", env=env)
    assert query(proj, "SELECT count(*) AS n FROM logs", env) == [{"n": 12}]


def test_gcs_content_strategy_rewrite(tmp_path, gcs_store, gcs_emulator):
    env = {"FB_GCS_ENDPOINT": gcs_emulator.url}
    for t in HOURS[:2]:
        gcs_store.put(hourly_name(t), csv_gz(rows_for(t)))
    proj = project(tmp_path, gcs_store, strategy="content")
    fbox(proj, "run", env=env)
    gcs_store.put(hourly_name(HOURS[0]), csv_gz([(7, "new")]))
    fbox(proj, "run", env=env)
    assert query(proj, f"SELECT id, val FROM logs WHERE _source_file = '{rel(HOURS[0])}'", env) == [{"id": 7, "val": "new"}]
    assert by_file(proj, env) == {rel(HOURS[0]): 1, rel(HOURS[1]): 3}


def test_gcs_ducklake_storage(tmp_path, gcs_store, gcs_emulator):
    env = {"FB_GCS_ENDPOINT": gcs_emulator.url}
    gcs_store.put(hourly_name(HOURS[0]), csv_gz([(i, f"r{i}") for i in range(5000)]))
    storage = {"type": "gcs", **gcs_config(gcs_store.bucket, prefix="")}
    del storage["prefix"]
    storage["path"] = "lake"
    proj = project(tmp_path, gcs_store, storage=storage)
    fbox(proj, "run", env=env)
    assert query(proj, "SELECT count(*) AS n, sum(id) AS s FROM logs", env) == [{"n": 5000, "s": sum(range(5000))}]
    assert any(p.endswith(".parquet") for p in gcs_store.find("lake"))
    gcs_store.put(hourly_name(HOURS[1]), csv_gz([(i, "more") for i in range(5000, 6000)]))
    fbox(proj, "run", env=env)
    assert query(proj, "SELECT count(*) AS n FROM logs", env) == [{"n": 6000}]
