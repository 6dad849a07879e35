"""fbox-s3 end to end against moto_server: listing with ranges, filename/content strategies,
a corrupt file, and DuckLake data files on S3."""

from __future__ import annotations

from datetime import datetime

from featherbox.testing.samples import csv_gz, hourly_name, rows_for

from .conftest import fbox, query, run
from .stores import S3, project

KEY, SECRET = "AKIATESTKEY", "s3cr3t-value-never-printed"
KIND = S3(KEY, SECRET)  # every connection value from the environment, as strings (ssl: "false")
HOURS = [datetime(2024, 1, 1, h) for h in (0, 6, 12, 23)] + [datetime(2024, 1, 2, h) for h in (0, 5)]


def put_hours(store, hours):
    for t in hours:
        store.put(hourly_name(t), csv_gz(rows_for(t)))


def sources(proj, env) -> list[str]:
    return [r["_source_file"] for r in query(proj, "SELECT DISTINCT _source_file FROM logs ORDER BY 1", env)]


def test_range_since_until_selects_files(tmp_path, s3_store, s3_server):
    put_hours(s3_store, HOURS)
    s3_store.put("logs/2024/01/01/notes.txt", b"not matched by the pattern")
    env = KIND.env(s3_server)
    window = {"range": {"since": "2024-01-01T06:00:00", "until": "2024-01-02T00:00:00"}}
    proj = project(tmp_path / "p", KIND, s3_store.bucket, window)
    done = fbox(proj, "run", env=env)  # a new process: its real output
    assert SECRET not in done.stdout + done.stderr and KEY not in done.stdout + done.stderr
    assert sources(proj, env) == [hourly_name(t, "")[1:] for t in HOURS[1:4]]
    rows = query(proj, "SELECT count(*) AS n, min(_file_time) AS lo, max(_file_time) AS hi FROM logs", env)
    assert rows[0]["n"] == 9
    assert str(rows[0]["lo"]).startswith("2024-01-01") and "06:00" in str(rows[0]["lo"])


def test_range_prunes_what_is_listed_on_s3(tmp_path, s3_store, s3_server, monkeypatch):
    """Only the day folders the range allows are listed, not the whole bucket."""
    from featherbox.config.loader import load_project
    from featherbox.registry import default_registry

    put_hours(s3_store, HOURS)
    for name, value in KIND.env(s3_server).items():
        monkeypatch.setenv(name, value)
    proj = project(tmp_path / "p", KIND, s3_store.bucket, {"range": {"since": "2024-01-02T00:00:00"}})
    registry = default_registry()
    loaded = load_project(proj, registry)
    adapter = registry.get("adapter", "s3")(loaded.adapters["logs"], loaded)
    files = adapter.list_files()
    assert [f.path for f in files] == [hourly_name(t, "")[1:] for t in HOURS[4:]]
    # open-ended: one glob per month folder from the range's start, not one per day up to today
    assert adapter.listed_globs[0].startswith("2024/01/[0-9][0-9]/")
    assert all(not g.startswith(("[0-9]", "2023")) for g in adapter.listed_globs), "no glob over every year"
    assert len(adapter.listed_globs) <= 64


def test_filename_strategy_loads_new_and_late_files(tmp_path, s3_store, s3_server):
    env = KIND.env(s3_server)
    put_hours(s3_store, HOURS[:3])
    proj = project(tmp_path / "p", KIND, s3_store.bucket)
    run(proj, env)
    assert len(sources(proj, env)) == 3
    # a new hour and a late file for an older hour
    new, late = datetime(2024, 1, 2, 5), datetime(2024, 1, 1, 3)
    put_hours(s3_store, [new, late])
    run(proj, env)
    got = query(proj, "SELECT _source_file, count(*) AS n FROM logs GROUP BY 1 ORDER BY 1", env)
    assert {r["_source_file"]: r["n"] for r in got} == {hourly_name(t, "")[1:]: 3 for t in [*HOURS[:3], new, late]}
    ledger_runs = query(proj, "SELECT count(*) AS n FROM logs", env)
    assert ledger_runs[0]["n"] == 15  # nothing loaded twice
    # a third run finds nothing new
    run(proj, env)
    assert query(proj, "SELECT count(*) AS n FROM logs", env)[0]["n"] == 15


def test_content_strategy_replaces_rewritten_file(tmp_path, s3_store, s3_server):
    env = KIND.env(s3_server)
    put_hours(s3_store, HOURS[:3])
    proj = project(tmp_path / "p", KIND, s3_store.bucket, strategy="content")
    run(proj, env)
    assert query(proj, "SELECT count(*) AS n FROM logs", env)[0]["n"] == 9
    target = HOURS[1]
    s3_store.put(hourly_name(target), csv_gz([(1, "rewritten"), (2, "rewritten")]))
    run(proj, env)
    rel = hourly_name(target, "")[1:]
    got = query(proj, f"SELECT id, val FROM logs WHERE _source_file = '{rel}' ORDER BY id", env)
    assert got == [{"id": 1, "val": "rewritten"}, {"id": 2, "val": "rewritten"}]
    others = query(proj, f"SELECT count(*) AS n FROM logs WHERE _source_file <> '{rel}'", env)
    assert others[0]["n"] == 6


def test_corrupt_gzip_fails_then_loads_once_fixed(tmp_path, s3_store, s3_server):
    env = KIND.env(s3_server)
    put_hours(s3_store, HOURS[:2])
    proj = project(tmp_path / "p", KIND, s3_store.bucket)
    run(proj, env)
    bad_time = HOURS[2]
    bad = hourly_name(bad_time)
    good = csv_gz(rows_for(bad_time))
    s3_store.put(bad, good[:10] + bytes(range(256)) * 2)  # a gzip header, then garbage
    failed = fbox(proj, "run", env=env, check=False)  # a new process: its real output
    assert failed.returncode != 0
    output = failed.stdout + failed.stderr
    assert hourly_name(bad_time, "")[1:] in output
    assert SECRET not in output
    assert query(proj, "SELECT count(*) AS n FROM logs", env)[0]["n"] == 6  # nothing of it loaded
    s3_store.put(bad, csv_gz(rows_for(bad_time)))
    run(proj, env)
    got = query(proj, "SELECT _source_file, count(*) AS n FROM logs GROUP BY 1 ORDER BY 1", env)
    assert {r["_source_file"]: r["n"] for r in got} == {hourly_name(t, "")[1:]: 3 for t in HOURS[:3]}
    run(proj, env)
    assert query(proj, "SELECT count(*) AS n FROM logs", env)[0]["n"] == 9


def test_ducklake_data_path_on_s3(tmp_path, s3_store, s3_server):
    env = KIND.env(s3_server)
    # enough rows that DuckLake writes parquet files rather than inlining them in the catalog
    many = [(i, f"row{i}") for i in range(5000)]
    s3_store.put(hourly_name(HOURS[0]), csv_gz(many))
    proj = project(tmp_path / "p", KIND, s3_store.bucket, lake_on_store=True)
    run(proj, env)
    assert query(proj, "SELECT count(*) AS n, sum(id) AS s FROM logs", env) == [{"n": 5000, "s": sum(range(5000))}]
    written = s3_store.find("lake")
    assert any(p.endswith(".parquet") for p in written), written
    assert not (proj / "data").exists() or not any((proj / "data").rglob("*.parquet"))
    # an increment goes to S3 too
    s3_store.put(hourly_name(HOURS[1]), csv_gz([(i, "more") for i in range(5000, 10000)]))
    run(proj, env)
    assert query(proj, "SELECT count(*) AS n FROM logs", env) == [{"n": 10000}]
    assert len([p for p in s3_store.find("lake") if p.endswith(".parquet")]) > len([p for p in written if p.endswith(".parquet")])
