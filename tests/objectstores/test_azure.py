"""fbox-azure end to end against azurite: a ranged load, a new-file and late-file increment,
a rewritten file under the content strategy, and DuckLake data files on Azure Blob."""

from __future__ import annotations

from datetime import datetime

import yaml
from featherbox.testing import write_project

from .conftest import AZURITE_ACCOUNT, AZURITE_KEY, fbox, query
from .helpers import csv_gz, hourly_name, rows_for

PATTERN = "[YYYY]/[MM]/[DD]/app_[YYYY][MM][DD]T[HH].csv.gz"
HOURS = [datetime(2024, 1, 1, h) for h in (0, 6, 12)] + [datetime(2024, 1, 2, 3)]


def azure_config(container: str, prefix: str = "logs") -> dict:
    return {"container": container, "prefix": prefix, "connection_string": "$FB_AZURE_CS"}


def project(tmp_path, store, extra=None, strategy="filename", storage=None):
    adapter = {"type": "azure", "config": azure_config(store.bucket), "path": PATTERN, "format": "csv",
               "update_strategy": strategy, **(extra or {})}
    files = {"adapters/logs.yml": yaml.safe_dump(adapter, sort_keys=False)}
    if storage:
        files["project.yml"] = yaml.safe_dump({"storage": storage}, sort_keys=False)
    return write_project(tmp_path / "p", files)


def rel(t):
    return hourly_name(t, "")[1:]


def by_file(proj, env):
    return {r["_source_file"]: r["n"] for r in query(proj, "SELECT _source_file, count(*) AS n FROM logs GROUP BY 1", env)}


def test_azure_range_and_new_files(tmp_path, azure_store, azurite):
    env = {"FB_AZURE_CS": azurite.connection_string}
    for t in HOURS[:3]:
        azure_store.put(hourly_name(t), csv_gz(rows_for(t)))
    proj = project(tmp_path, azure_store, {"range": {"since": "2024-01-01T06:00:00"}})
    fbox(proj, "run", env=env)
    assert by_file(proj, env) == {rel(t): 3 for t in HOURS[1:3]}
    new, late, too_old = HOURS[3], datetime(2024, 1, 1, 9), datetime(2024, 1, 1, 2)
    for t in (new, late, too_old):
        azure_store.put(hourly_name(t), csv_gz(rows_for(t)))
    fbox(proj, "run", env=env)
    assert by_file(proj, env) == {rel(t): 3 for t in [*HOURS[1:3], new, late]}
    fbox(proj, "run", env=env)
    assert query(proj, "SELECT count(*) AS n FROM logs", env) == [{"n": 12}]


def test_azure_content_strategy_rewrite(tmp_path, azure_store, azurite):
    # account name + key + endpoint instead of a connection string, all from the environment
    env = {"FB_AZ_ACCOUNT": AZURITE_ACCOUNT, "FB_AZ_KEY": AZURITE_KEY, "FB_AZ_ENDPOINT": f"{azurite.url}/{AZURITE_ACCOUNT}"}
    for t in HOURS[:2]:
        azure_store.put(hourly_name(t), csv_gz(rows_for(t)))
    proj = project(tmp_path, azure_store, strategy="content")
    adapter = yaml.safe_load((proj / "adapters/logs.yml").read_text())
    adapter["config"] = {"container": azure_store.bucket, "prefix": "logs", "account_name": "$FB_AZ_ACCOUNT",
                         "account_key": "$FB_AZ_KEY", "endpoint": "$FB_AZ_ENDPOINT"}
    (proj / "adapters/logs.yml").write_text(yaml.safe_dump(adapter, sort_keys=False))
    fbox(proj, "run", env=env)
    azure_store.put(hourly_name(HOURS[0]), csv_gz([(7, "new")]))
    fbox(proj, "run", env=env)
    assert query(proj, f"SELECT id, val FROM logs WHERE _source_file = '{rel(HOURS[0])}'", env) == [{"id": 7, "val": "new"}]
    assert by_file(proj, env) == {rel(HOURS[0]): 1, rel(HOURS[1]): 3}


def test_azure_ducklake_storage(tmp_path, azure_store, azurite):
    env = {"FB_AZURE_CS": azurite.connection_string}
    azure_store.put(hourly_name(HOURS[0]), csv_gz([(i, f"r{i}") for i in range(5000)]))
    storage = {"type": "azure", **azure_config(azure_store.bucket, prefix="")}
    del storage["prefix"]
    storage["path"] = "lake"
    proj = project(tmp_path, azure_store, storage=storage)
    fbox(proj, "run", env=env)
    assert query(proj, "SELECT count(*) AS n, sum(id) AS s FROM logs", env) == [{"n": 5000, "s": sum(range(5000))}]
    assert any(p.endswith(".parquet") for p in azure_store.find("lake"))
    azure_store.put(hourly_name(HOURS[1]), csv_gz([(i, "more") for i in range(5000, 6000)]))
    fbox(proj, "run", env=env)
    assert query(proj, "SELECT count(*) AS n FROM logs", env) == [{"n": 6000}]


def test_azure_key_never_in_errors(tmp_path, azure_store, azurite):
    wrong = azurite.connection_string.replace("AccountKey=Eby8", "AccountKey=Xby8")
    proj = project(tmp_path, azure_store)
    azure_store.put(hourly_name(HOURS[0]), csv_gz(rows_for(HOURS[0])))
    done = fbox(proj, "run", env={"FB_AZURE_CS": wrong}, check=False)
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "Xby8" not in output and "AccountKey" not in output, output
    assert "logs" in output
