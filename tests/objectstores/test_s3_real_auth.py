"""fbox-s3 against SeaweedFS, which checks S3 request signatures (moto accepts any key): the right keys
from the environment load the files; a wrong secret key fails the run with an error that names the
adapter and the bucket, never prints the secret, and loads nothing."""

from __future__ import annotations

import time
import uuid
from datetime import datetime

import pytest

from featherbox.testing.samples import csv_gz, hourly_name, rows_for

from .conftest import SEAWEED_KEY, SEAWEED_SECRET, fbox, query, run
from .stores import KINDS, Store, project
HOURS = [datetime(2024, 1, 1, h) for h in (0, 6, 12)]
LATER = [datetime(2024, 1, 2, 3)]
WRONG_SECRET = "wrong-secret-value-7d1e"


@pytest.fixture
def seaweed_store(seaweed):
    import s3fs

    fs = s3fs.S3FileSystem(key=SEAWEED_KEY, secret=SEAWEED_SECRET, client_kwargs={"endpoint_url": seaweed.url},
                           skip_instance_cache=True, use_listings_cache=False)
    bucket = "b-" + uuid.uuid4().hex[:12]
    deadline = time.monotonic() + 20
    while True:  # the S3 port answers a moment before the filer behind it takes writes
        try:
            fs.mkdir(bucket)
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    return Store(fs, bucket)


def env_for(seaweed, secret: str = SEAWEED_SECRET) -> dict:
    return {"FB_S3_KEY": SEAWEED_KEY, "FB_S3_SECRET": secret, "FB_S3_ENDPOINT": seaweed.url}


def seaweed_project(tmp_path, store):
    config = {"bucket": store.bucket, "region": "us-east-1", "access_key": "$FB_S3_KEY", "secret_key": "$FB_S3_SECRET",
              "endpoint": "$FB_S3_ENDPOINT", "path_style": True}
    return project(tmp_path / "p", KINDS["s3"], store.bucket, config=config,
                   files={"models/totals.yml": "sql: SELECT count(*) AS n, sum(id) AS s FROM raw.logs\n"})


def put_hours(store, hours):
    for t in hours:
        store.put(hourly_name(t), csv_gz(rows_for(t)))


def test_unsigned_requests_are_refused(seaweed, seaweed_store):
    """The server really checks: anonymous and wrongly signed requests are denied."""
    import s3fs

    seaweed_store.put("probe.txt", b"x")
    for kwargs in ({"anon": True}, {"key": SEAWEED_KEY, "secret": WRONG_SECRET}):
        fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": seaweed.url}, skip_instance_cache=True, **kwargs)
        with pytest.raises(PermissionError):
            fs.cat(f"{seaweed_store.bucket}/probe.txt")


def test_right_keys_load(tmp_path, seaweed, seaweed_store):
    put_hours(seaweed_store, HOURS)
    proj = seaweed_project(tmp_path, seaweed_store)
    env = env_for(seaweed)
    done = fbox(proj, "run", env=env)  # a new process: its real output
    assert SEAWEED_SECRET not in done.stdout + done.stderr
    want = [row for t in HOURS for row in rows_for(t)]
    assert query(proj, "SELECT n, s FROM totals", env) == [
        {"n": len(want), "s": sum(i for i, _ in want)}]
    got = query(proj, "SELECT _source_file, count(*) AS n FROM logs GROUP BY 1 ORDER BY 1", env)
    assert got == [{"_source_file": hourly_name(t, "")[1:], "n": 3} for t in HOURS]


def assert_refused(done, bucket: str) -> None:
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "adapter logs" in output and bucket in output, output
    assert WRONG_SECRET not in output and SEAWEED_SECRET not in output, output


def test_wrong_secret_fails_without_leaking_or_loading(tmp_path, seaweed, seaweed_store):
    put_hours(seaweed_store, HOURS)
    proj = seaweed_project(tmp_path, seaweed_store)
    # a new project: nothing is created
    assert_refused(fbox(proj, "run", env=env_for(seaweed, WRONG_SECRET), check=False), seaweed_store.bucket)
    tables = query(proj, "SELECT table_name FROM information_schema.tables WHERE table_name IN ('logs', 'totals')",
                   env_for(seaweed))
    assert tables == []
    # a loaded project: new files are not loaded with the wrong secret, and are with the right one
    run(proj, env_for(seaweed))
    put_hours(seaweed_store, LATER)
    assert_refused(fbox(proj, "run", env=env_for(seaweed, WRONG_SECRET), check=False), seaweed_store.bucket)
    env = env_for(seaweed)
    assert query(proj, "SELECT count(*) AS n FROM logs", env) == [{"n": 3 * len(HOURS)}]
    assert query(proj, "SELECT n FROM totals", env) == [{"n": 3 * len(HOURS)}]
    run(proj, env)
    assert query(proj, "SELECT count(*) AS n FROM logs", env) == [{"n": 3 * len(HOURS + LATER)}]
    assert query(proj, "SELECT n FROM totals", env) == [{"n": 3 * len(HOURS + LATER)}]
