"""fbox-gcs against gcp-storage-emulator and fbox-azure against azurite, the same scenarios on each:
a ranged load, a new-file and late-file increment, a rewritten file under the content strategy, and
DuckLake data files on the store. Then what only Azure has: a wrong key never printed."""

from __future__ import annotations

from datetime import datetime

import pytest

from featherbox.testing.samples import csv_gz, hourly_name, rows_for
from featherbox.testing.services import AZURITE_ACCOUNT, AZURITE_KEY

from .conftest import fbox, query, run
from .stores import KINDS, Kind, project

HOURS = [datetime(2024, 1, 1, h) for h in (0, 6, 12)] + [datetime(2024, 1, 2, 3)]


def azure_account_key(store, server) -> tuple[dict, dict]:
    """account name + key + endpoint instead of a connection string, all from the environment"""
    config = {"container": store.bucket, "account_name": "$FB_AZ_ACCOUNT", "account_key": "$FB_AZ_KEY",
              "endpoint": "$FB_AZ_ENDPOINT"}
    env = {"FB_AZ_ACCOUNT": AZURITE_ACCOUNT, "FB_AZ_KEY": AZURITE_KEY,
           "FB_AZ_ENDPOINT": f"{server.url}/{AZURITE_ACCOUNT}"}
    return config, env


# per store: how the content-strategy scenario connects, when not with the store's usual config
CONTENT_CONNECTION = {"gcs": None, "azure": azure_account_key}


@pytest.fixture(params=["gcs", "azure"])
def kind(request) -> Kind:
    return KINDS[request.param]


@pytest.fixture
def server(kind, request):
    return request.getfixturevalue(kind.server)


@pytest.fixture
def store(kind, request):
    return request.getfixturevalue(f"{kind.name}_store")


def rel(t):
    return hourly_name(t, "")[1:]


def by_file(proj, env):
    return {r["_source_file"]: r["n"] for r in query(proj, "SELECT _source_file, count(*) AS n FROM logs GROUP BY 1", env)}


def test_range_and_new_files(tmp_path, kind, server, store):
    env = kind.env(server)
    for t in HOURS[:3]:
        store.put(hourly_name(t), csv_gz(rows_for(t)))
    proj = project(tmp_path / "p", kind, store.bucket, {"range": {"since": "2024-01-01T06:00:00"}})
    run(proj, env)
    assert by_file(proj, env) == {rel(t): 3 for t in HOURS[1:3]}
    new, late, too_old = HOURS[3], datetime(2024, 1, 1, 9), datetime(2024, 1, 1, 2)
    for t in (new, late, too_old):
        store.put(hourly_name(t), csv_gz(rows_for(t)))
    run(proj, env)
    assert by_file(proj, env) == {rel(t): 3 for t in [*HOURS[1:3], new, late]}
    run(proj, env)
    assert query(proj, "SELECT count(*) AS n FROM logs", env) == [{"n": 12}]


def test_content_strategy_rewrite(tmp_path, kind, server, store):
    config, env = None, kind.env(server)
    if CONTENT_CONNECTION[kind.name]:
        config, env = CONTENT_CONNECTION[kind.name](store, server)
    for t in HOURS[:2]:
        store.put(hourly_name(t), csv_gz(rows_for(t)))
    proj = project(tmp_path / "p", kind, store.bucket, strategy="content", config=config)
    run(proj, env)
    store.put(hourly_name(HOURS[0]), csv_gz([(7, "new")]))
    run(proj, env)
    assert query(proj, f"SELECT id, val FROM logs WHERE _source_file = '{rel(HOURS[0])}'", env) == [{"id": 7, "val": "new"}]
    assert by_file(proj, env) == {rel(HOURS[0]): 1, rel(HOURS[1]): 3}


def test_ducklake_storage(tmp_path, kind, server, store):
    env = kind.env(server)
    store.put(hourly_name(HOURS[0]), csv_gz([(i, f"r{i}") for i in range(5000)]))
    proj = project(tmp_path / "p", kind, store.bucket, lake_on_store=True)
    run(proj, env)
    assert query(proj, "SELECT count(*) AS n, sum(id) AS s FROM logs", env) == [{"n": 5000, "s": sum(range(5000))}]
    assert any(p.endswith(".parquet") for p in store.find("lake"))
    store.put(hourly_name(HOURS[1]), csv_gz([(i, "more") for i in range(5000, 6000)]))
    run(proj, env)
    assert query(proj, "SELECT count(*) AS n FROM logs", env) == [{"n": 6000}]


def test_azure_key_never_in_errors(tmp_path, azure_store, azure_server):
    wrong = azure_server.connection_string.replace("AccountKey=Eby8", "AccountKey=Xby8")
    proj = project(tmp_path / "p", KINDS["azure"], azure_store.bucket)
    azure_store.put(hourly_name(HOURS[0]), csv_gz(rows_for(HOURS[0])))
    done = fbox(proj, "run", env={"FB_AZURE_CS": wrong}, check=False)  # a new process: its real output
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "Xby8" not in output and "AccountKey" not in output, output
    assert "logs" in output
