"""delete+insert selects the touched time ranges with range predicates (`ts >= start AND ts < end`)
instead of a join on `date_trunc`: the result must stay exactly its SQL computed fresh for NULL times
(a NULL bucket of their own), several touched days (consecutive and not), an hour grain, more
touched ranges than are listed one by one, no grain (exact DATE values), a DATE result column against
TIMESTAMP buckets, and TIMESTAMPTZ buckets in a time zone with a daylight saving change.

Runs with TZ=America/New_York, so `date_trunc('day', tz)` follows a calendar whose 2024-11-03 has
25 hours; the checks query through a new `fbox` process with the same TZ.
"""

from __future__ import annotations

import json
from pathlib import Path

from featherbox.testing import write_project

from fboxcli import fbox
from fboxcli import run_json as _run_json
from test_incremental_models import events_adapter

ENV = {"TZ": "America/New_York"}

MODELS = {
    "marts.daily": "SELECT CAST(ts AS DATE) AS day, count(*) AS n, sum(amount) AS total FROM events GROUP BY 1",
    "marts.hourly": "SELECT date_trunc('hour', ts) AS hour, count(*) AS n, sum(amount) AS total FROM events GROUP BY 1",
    "marts.by_date": "SELECT d, count(*) AS n, sum(amount) AS total FROM events GROUP BY d",
    "marts.daily_tz": "SELECT date_trunc('day', tz) AS day, count(*) AS n, sum(amount) AS total FROM events GROUP BY 1",
    "marts.hourly_tz": "SELECT date_trunc('hour', tz) AS hour, count(*) AS n FROM events GROUP BY 1",
}
TIME = {  # model -> (time_column, upstream_time_column, time_grain)
    "marts.daily": ("day", "ts", "day"),
    "marts.hourly": ("hour", "ts", "hour"),
    "marts.by_date": ("d", "d", None),
    "marts.daily_tz": ("day", "tz", "day"),
    "marts.hourly_tz": ("hour", "tz", "hour"),
}

HEADER = "id,ts,tz,d,amount\n"
PROJECT = {
    "adapters/events.yml": events_adapter({"id": "INTEGER", "ts": "TIMESTAMP", "tz": "TIMESTAMPTZ", "d": "DATE",
                                           "amount": "INTEGER"}),
    "sample/events/a.csv": HEADER + (
        "1,2024-11-01 10:00:00,2024-11-01 10:00:00-04,2024-11-01,5\n"
        "2,2024-11-02 23:30:00,2024-11-03 00:30:00-04,2024-11-02,7\n"
        "3,,,,11\n"  # NULL times: a NULL bucket
        "4,2024-11-05 08:00:00,2024-11-03 23:30:00-05,2024-11-05,13\n"
    ),
}
for name, sql in MODELS.items():
    column, upstream, grain = TIME[name]
    schema, _, table = name.partition(".")
    PROJECT[f"models/{schema}/{table}.yml"] = (
        f"materialized: delete+insert\ntime_column: {column}\nupstream_time_column: {upstream}\n"
        + (f"time_grain: {grain}\n" if grain else "") + f'sql: "{sql}"\n'
    )


def run_json(root: Path) -> dict:
    payload = _run_json(root, "--threads", "1", env=ENV)
    assert {a["status"] for a in payload["actions"]} == {"completed"}, payload
    return payload


def query(root: Path, sql: str) -> list[dict]:
    return json.loads(fbox("query", sql, "--format", "json", project=root, env=ENV, check=True).stdout)


def assert_exact(root: Path, models: dict[str, str] = MODELS) -> None:
    parts = [
        f"SELECT '{model}' AS model, (SELECT count(*) FROM ((SELECT * FROM {model} EXCEPT ALL SELECT * FROM ({sql})) "
        f"UNION ALL (SELECT * FROM ({sql}) EXCEPT ALL SELECT * FROM {model}))) AS n"
        for model, sql in models.items()
    ]
    assert {r["model"]: r["n"] for r in query(root, " UNION ALL ".join(parts))} == {m: 0 for m in models}


def recomputed(payload: dict) -> dict[str, str]:
    said = {a["node"]: a["message"] for a in payload["actions"] if a["node"] in MODELS}
    for node, message in said.items():
        assert message.startswith("delete+insert: ") and "full" not in message, (node, message)
    return {node: message.split(" recomputed")[0].removeprefix("delete+insert: ") for node, message in said.items()}


def test_touched_ranges_are_exact(tmp_path):
    root = write_project(tmp_path / "p", PROJECT)
    run_json(root)
    assert_exact(root)

    # days 1 and 2 (consecutive: one range), day 5, and a NULL time; the tz rows straddle 2024-11-03
    (root / "sample/events/b.csv").write_text(HEADER + (
        "10,2024-11-01 01:00:00,2024-11-03 01:30:00-04,2024-11-01,1\n"
        "11,2024-11-02 02:00:00,2024-11-03 01:30:00-05,2024-11-02,2\n"
        "12,2024-11-05 23:59:59,2024-11-04 00:00:00-05,2024-11-05,3\n"
        "13,,,,4\n"
    ))
    said = recomputed(run_json(root))
    assert said["marts.daily"] == "4 time ranges", said  # 11-01, 11-02, 11-05 and NULL
    assert said["marts.by_date"] == "4 time ranges", said
    # DuckDB truncates 01:30 EDT to 01:00 EST, a bucket that starts after the time itself (why
    # TIMESTAMPTZ ranges are widened and the bucket checked): 01:00 EST, 11-04 00:00 and NULL
    assert said["marts.hourly_tz"] == "3 time ranges", said
    assert said["marts.daily_tz"] == "3 time ranges", said  # 11-03, 11-04 and NULL
    assert_exact(root)
    assert query(root, "SELECT n, total FROM marts.daily WHERE day IS NULL") == [{"n": 2, "total": 15}]
    assert query(root, "SELECT CAST(day AS VARCHAR) AS day, n FROM marts.daily_tz ORDER BY day NULLS LAST") == [
        {"day": "2024-11-01 00:00:00-04", "n": 1},
        {"day": "2024-11-03 00:00:00-04", "n": 4},  # 25 hours: 00:30 EDT to 23:30 EST
        {"day": "2024-11-04 00:00:00-05", "n": 1},
        {"day": None, "n": 2},
    ]

    # more touched hours than are listed one by one (20 scattered hours, one range with a check)
    hours = [f"2024-11-{1 + i // 5:02d} {(i * 5) % 24:02d}:15:00" for i in range(20)]
    rows = [f"{100 + i},{hour},{hour}+00,{hour[:10]},{i}\n" for i, hour in enumerate(hours)]
    (root / "sample/events/c.csv").write_text(HEADER + "".join(rows))
    said = recomputed(run_json(root))
    assert said["marts.hourly"] == "20 time ranges", said
    assert_exact(root)

    # a vanished file: its rows (a NULL time among them) are deleted from their buckets
    (root / "sample/events/a.csv").unlink()
    said = recomputed(run_json(root))
    assert said["marts.daily"] == "4 time ranges", said
    assert_exact(root)
    assert query(root, "SELECT n, total FROM marts.daily WHERE day IS NULL") == [{"n": 1, "total": 4}]


def test_touched_buckets_become_range_predicates():
    """What DuckLake gets: literal ranges on the column itself (consecutive days merged, the bounds in
    the column's own type when lossless), `IS NULL` for a NULL bucket, and a bucket check only where
    the ranges alone are not exact (TIMESTAMPTZ) or are too many."""
    import duckdb

    from featherbox.config.project import ModelSpec
    from featherbox.state.objects import LakeObjects
    from featherbox.execute.incremental_build import IncrementalBuild

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE SCHEMA raw")  # where the adapter events writes (featherbox.layout)
    con.execute("CREATE TABLE raw.events (ts TIMESTAMP, tz TIMESTAMPTZ, n INTEGER)")

    def ranges(grain: str | None, keys: str, column: str = "ts", column_type: str = "TIMESTAMP") -> dict:
        raw = {"materialized": "delete+insert", "time_column": "day", "upstream_time_column": column}
        if grain:
            raw["time_grain"] = grain
        spec = ModelSpec("m", "main", Path("m.yml"), f"SELECT {column} AS day FROM events", raw)
        job = IncrementalBuild(con, spec, {"events": "raw.events"}, None, 0, LakeObjects())
        touched = job._temp("TABLE", "touched")
        con.execute(f"CREATE TEMP TABLE {touched} AS SELECT * FROM (VALUES {keys}) AS k(k0)")
        sql, within = job._only_touched_ranges(spec.sql, touched, [column])
        view = con.execute("SELECT sql FROM duckdb_views() WHERE view_name LIKE 'fbox_ranges_%'").fetchall()
        job.cleanup()
        return {"view": view[0][0], "sql": sql, "within": within(f"t.{column}", column_type)}

    days = ranges("day", "(TIMESTAMP '2024-01-01'), (TIMESTAMP '2024-01-02'), (TIMESTAMP '2024-01-05'), (NULL)")
    assert days["within"]["branches"] == [
        "(t.ts >= CAST('2024-01-01 00:00:00' AS TIMESTAMP) AND t.ts < CAST('2024-01-03 00:00:00' AS TIMESTAMP))",
        "(t.ts >= CAST('2024-01-05 00:00:00' AS TIMESTAMP) AND t.ts < CAST('2024-01-06 00:00:00' AS TIMESTAMP))",
    ]
    assert days["within"]["null"] == "t.ts IS NULL"
    assert "EXISTS" not in days["view"] and "date_trunc" not in days["view"]
    assert days["view"].count("UNION ALL") == 2 and "fbox_ranges_" in days["sql"]
    # a DATE column gets DATE bounds (a TIMESTAMP bound would cast every row and skip no file)
    on_date = ranges("day", "(TIMESTAMP '2024-01-01')", column_type="DATE")["within"]
    assert on_date["ranges"] == "(t.ts >= CAST('2024-01-01' AS DATE) AND t.ts < CAST('2024-01-02' AS DATE))"
    # an hour grain; no grain: every value its own point
    hour = ranges("hour", "(TIMESTAMP '2024-01-01 10:00'), (TIMESTAMP '2024-01-01 11:00')")["within"]
    assert hour["ranges"] == (
        "(t.ts >= CAST('2024-01-01 10:00:00' AS TIMESTAMP) AND t.ts < CAST('2024-01-01 12:00:00' AS TIMESTAMP))"
    )
    points = ranges(None, "(TIMESTAMP '2024-01-01 10:00'), (TIMESTAMP '2024-01-01 11:00')")["within"]
    assert points["branches"][0] == (
        "(t.ts >= CAST('2024-01-01 10:00:00' AS TIMESTAMP) AND t.ts <= CAST('2024-01-01 10:00:00' AS TIMESTAMP))"
    )
    # a time zone: widened by a day, overlapping ranges merged, the bucket checked
    tz = ranges("day", "(TIMESTAMPTZ '2024-01-01 00:00:00+00'), (TIMESTAMPTZ '2024-01-03 00:00:00+00')", "tz",
                "TIMESTAMP WITH TIME ZONE")["within"]
    assert len(tz["branches"]) == 1
    assert "2023-12-31 00:00:00+00" in tz["ranges"] and "2024-01-05 00:00:00+00" in tz["ranges"]
    assert "date_trunc('day', t.tz) IN (SELECT k0 FROM" in tz["ranges"]
    # past 16 ranges: one outer range and the bucket checked against the touched table
    many = ranges("day", ", ".join(f"(TIMESTAMP '2024-01-01' + INTERVAL {2 * i} DAY)" for i in range(20)))["within"]
    assert len(many["branches"]) == 1 and "IN (SELECT k0 FROM" in many["ranges"]
    assert "t.ts < CAST('2024-02-09 00:00:00' AS TIMESTAMP)" in many["ranges"]


def test_models_of_one_wave_read_an_upstream_change_once(tmp_path, monkeypatch):
    """Three models read `events` since the same snapshot in one wave: its change feed is read
    once (`ChangeFeeds`) and every model is still exactly its SQL computed fresh. (The models
    without time zones: this run is in process, outside the TZ the other runs use.)"""
    from featherbox.execute.incremental_build import IncrementalBuild
    from featherbox.workspace import RunOptions, Workspace

    models = {name: sql for name, sql in MODELS.items() if not name.endswith("_tz")}
    files = {path: text for path, text in PROJECT.items() if not path.endswith("_tz.yml")}
    root = write_project(tmp_path / "p", files)
    run_json(root)
    (root / "sample/events/b.csv").write_text(HEADER + "10,2024-11-01 01:00:00,2024-11-01 01:00:00-04,2024-11-01,1\n")
    reads = []
    real = IncrementalBuild._read_changes

    def counted(self, table, since):
        reads.append((self.spec.qualified, table))
        return real(self, table, since)

    monkeypatch.setattr(IncrementalBuild, "_read_changes", counted)
    plan, result = Workspace(root).run(RunOptions(threads=1))
    assert result.ok and sorted(a.node for a in plan.actions) == ["events", *sorted(models)], result.outcomes
    assert [table for _, table in reads] == ["raw.events"], reads
    said = {node: outcome.message for node, outcome in result.outcomes.items() if node in models}
    assert all(m.startswith("delete+insert: ") and "full" not in m for m in said.values()), said
    assert_exact(root, models)
