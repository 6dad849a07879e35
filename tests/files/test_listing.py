"""Time patterns, range pruning and the lookback window, on real local files."""

from __future__ import annotations

from datetime import datetime

import pytest

from featherbox.config.loader import load_project
from featherbox.file_sources.patterns import listing_globs, parse_pattern
from featherbox.registry import default_registry
from featherbox.testing import write_project

from fboxcli import query, ran, run_json

PATTERN = "logs/[YYYY]/[MM]/[DD]/app_[YYYY][MM][DD]T[HH][MM].csv"


def test_minutes_are_told_from_months():
    pattern = parse_pattern(PATTERN)
    assert pattern.tokens == ("year", "month", "day", "year", "month", "day", "hour", "minute")
    assert pattern.file_time("logs/2024/03/05/app_20240305T1407.csv") == datetime(2024, 3, 5, 14, 7)
    assert pattern.file_time("logs/2024/03/06/app_20240305T1407.csv") is None  # folder and name disagree
    assert parse_pattern("x/[HH]:[MM]/[mm].csv").tokens == ("hour", "minute", "minute")


def test_range_prunes_listing_to_the_folders_it_allows():
    pattern = parse_pattern(PATTERN)
    globs = listing_globs(pattern, datetime(2024, 1, 30, 22), datetime(2024, 2, 2))
    assert [g.split("/app_")[0] for g in globs] == ["logs/2024/01/30", "logs/2024/01/31", "logs/2024/02/01"]
    assert listing_globs(pattern, None, None) == [pattern.glob()]
    monthly = listing_globs(parse_pattern("[YYYY]-[MM]/x_*.csv"), datetime(2023, 11, 5), datetime(2024, 2, 1))
    assert monthly == ["2023-11/x_*.csv", "2023-12/x_*.csv", "2024-01/x_*.csv"]
    assert listing_globs(parse_pattern("data/*/[YYYY]/f.csv"), datetime(2023, 1, 1), None) == ["data/*/[0-9][0-9][0-9][0-9]/f.csv"]
    # a long range lists month folders (one listing request each) instead of thousands of day folders
    years = listing_globs(pattern, datetime(2021, 3, 4, 5), datetime(2024, 1, 1))
    assert [g.split("/[0-9]")[0] for g in years[:2]] == ["logs/2021/03", "logs/2021/04"] and len(years) == 34
    decades = listing_globs(pattern, datetime(2001, 1, 1), datetime(2024, 1, 1))
    assert decades[0] == "logs/2001/" + pattern.glob().split("/", 2)[2] and len(decades) == 23


def _write_hour(root, moment: datetime, value: int) -> None:
    path = root / "sample" / moment.strftime("logs/%Y/%m/%d/app_%Y%m%dT%H%M.csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"v\n{value}\n")


def _adapter(root):
    registry = default_registry()
    project = load_project(root, registry)
    spec = project.adapters["logs"]
    return registry.get("adapter", spec.type)(spec, project)


@pytest.fixture
def partitioned(tmp_path):
    root = write_project(tmp_path / "p", {
        "adapters/logs.yml": f"""
            type: localfile
            config: {{base_path: sample}}
            path: {PATTERN}
            range: {{since: "2024-01-02T00:00:00", until: "2024-01-04T00:00:00"}}
            lookback: 1d
        """,
    })
    for day in range(1, 6):
        for hour in (0, 12):
            _write_hour(root, datetime(2024, 1, day, hour, 30), day * 100 + hour)
    return root


def test_range_selects_files_and_lists_only_allowed_folders(partitioned):
    adapter = _adapter(partitioned)
    files = adapter.list_files()
    assert [f.path for f in files] == [
        "logs/2024/01/02/app_20240102T0030.csv", "logs/2024/01/02/app_20240102T1230.csv",
        "logs/2024/01/03/app_20240103T0030.csv", "logs/2024/01/03/app_20240103T1230.csv",
    ]
    assert [g.split("/app_")[0] for g in adapter.listed_globs] == ["logs/2024/01/02", "logs/2024/01/03"]
    assert run_json(partitioned)["actions"][0]["status"] == "completed"
    assert query(partitioned, "SELECT v, _file_time FROM logs ORDER BY v") == [
        {"v": 200, "_file_time": "2024-01-02 00:30:00"}, {"v": 212, "_file_time": "2024-01-02 12:30:00"},
        {"v": 300, "_file_time": "2024-01-03 00:30:00"}, {"v": 312, "_file_time": "2024-01-03 12:30:00"},
    ]


def test_lookback_lists_only_recent_folders_and_still_sees_late_files_inside_it(partitioned):
    run_json(partitioned)
    _write_hour(partitioned, datetime(2024, 1, 3, 6, 0), 306)  # late, inside the lookback
    _write_hour(partitioned, datetime(2024, 1, 2, 1, 0), 201)  # late, before the lookback window
    payload = run_json(partitioned)
    assert ran(payload) == {"logs": "completed"} and payload["actions"][0]["reason"] == "1 new file"
    values = [r["v"] for r in query(partitioned, "SELECT v FROM logs ORDER BY v")]
    assert values == [200, 212, 300, 306, 312]
    adapter = _adapter(partitioned)
    adapter.list_files(datetime(2024, 1, 2, 12, 30))
    assert [g.split("/app_")[0] for g in adapter.listed_globs] == ["logs/2024/01/02", "logs/2024/01/03"]


def test_truncated_gzip_fails_the_load_and_loads_once_when_fixed(tmp_path):
    import gzip

    root = write_project(tmp_path / "gz", {
        "adapters/logs.yml": "type: localfile\nconfig: {base_path: sample}\npath: '*.csv.gz'\n",
    })
    (root / "sample").mkdir()
    good = gzip.compress(("id\n" + "".join(f"{i}\n" for i in range(50000))).encode())
    (root / "sample/a.csv.gz").write_bytes(gzip.compress(b"id\n1\n2\n"))
    (root / "sample/b.csv.gz").write_bytes(good[: len(good) // 2])
    payload = run_json(root, expect_ok=False)
    failed = payload["actions"][0]
    assert failed["status"] == "failed" and "b.csv.gz" in failed["error"] and "truncated" in failed["error"]
    (root / "sample/b.csv.gz").write_bytes(good)
    assert ran(run_json(root)) == {"logs": "completed"}
    assert query(root, "SELECT count(*) AS n FROM logs") == [{"n": 50002}]
    assert run_json(root)["actions"] == []
