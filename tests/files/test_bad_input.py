"""Broken and odd input files through `fbox run`: nothing lost, nothing leaked, nothing surprising.

A file DuckDB cannot read exactly (a bad line, a truncated or corrupt compressed file) fails its
adapter's load with one line naming the file (and the line), and the load leaves nothing behind:
no row, no column, no ledger entry. A file without rows (empty, blank, header only) loads as 0 rows
without touching the table's columns.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from pathlib import Path

import pytest
import zstandard

from featherbox.config.loader import load_project
from featherbox.registry import default_registry
from featherbox.testing import write_project

from fboxcli import query

ROWS = 20000
DATA = ("id,name,v\n" + "".join(f"{i},n{i},{i * 10}\n" for i in range(ROWS))).encode()


def run(root: Path, *args: str) -> dict:
    """`fbox run --json` in this process (the typer app the console script runs); its JSON."""
    from typer.testing import CliRunner

    from featherbox import secrets
    from featherbox.cli.app import create_app

    secrets.clear()
    result = CliRunner().invoke(create_app(), ["-C", str(root), "run", "--json", *args], catch_exceptions=False)
    return json.loads(result.stdout)


def outcome(payload: dict, node: str) -> dict:
    return next(a for a in payload["actions"] if a["node"] == node)


def columns(root: Path, table: str) -> list[str]:
    return [r["column_name"] for r in query(root, f"DESCRIBE {table}")]


def ledger(root: Path, adapter: str) -> list[str]:
    rows = query(root, f"SELECT DISTINCT path FROM _fbox.file_ledger WHERE adapter = '{adapter}' AND NOT removed ORDER BY path")
    return [r["path"] for r in rows]


def project(tmp_path: Path, adapter: str, files: dict[str, bytes] = ()) -> Path:
    root = write_project(tmp_path / "p", {"adapters/logs.yml": adapter})
    for rel, data in dict(files).items():
        (root / "src" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "src" / rel).write_bytes(data)
    return root


def add(root: Path, rel: str, data: bytes) -> None:
    (root / "src" / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / "src" / rel).write_bytes(data)


GZ_ADAPTER = "type: localfile\nconfig: {base_path: src}\npath: 'h_*.csv.gz'\n"


# --- a bad line ----------------------------------------------------------------------------------


def test_a_bad_last_line_fails_the_load_naming_file_and_line_and_marks_nothing(tmp_path):
    root = project(tmp_path, GZ_ADAPTER, {"h_00.csv.gz": gzip.compress(b"id,name,v\n1,a,10\n2,b,20\n")})
    assert outcome(run(root), "logs")["status"] == "completed"
    # the new hourly file's last line has one field too many: DuckDB's sniffer used to skip every
    # line above it, take it for the header, add four junk columns and record the file as loaded
    add(root, "h_01.csv.gz", gzip.compress(b"id,name,v\n3,c,30\n4,d,40\n5,e,50,x\n"))
    failed = outcome(run(root), "logs")
    assert failed["status"] == "failed"
    assert failed["error"].startswith("adapter logs: file h_01.csv.gz, line 4: 4 fields where the header has 3")
    assert "\n" not in failed["error"] and "5,e,50,x" in failed["error"]
    assert columns(root, "logs") == ["id", "name", "v", "_source_file"]
    assert query(root, "SELECT count(*) AS n FROM logs") == [{"n": 2}]
    assert ledger(root, "logs") == ["h_00.csv.gz"]
    # the next run tries again (nothing was marked loaded); fixed, the file loads once
    add(root, "h_01.csv.gz", gzip.compress(b"id,name,v\n3,c,30\n4,d,40\n5,e,50\n"))
    assert outcome(run(root), "logs")["status"] == "completed"
    assert query(root, "SELECT count(*) AS n FROM logs") == [{"n": 5}]
    assert ledger(root, "logs") == ["h_00.csv.gz", "h_01.csv.gz"]


def test_a_bad_line_past_the_sniffed_rows_and_a_short_line_name_their_line(tmp_path):
    bad_late = DATA + b"5,e,50,x\n"
    root = project(tmp_path, "type: localfile\nconfig: {base_path: src}\npath: '*.csv'\n", {"a.csv": bad_late})
    failed = outcome(run(root), "logs")
    assert failed["status"] == "failed"
    assert failed["error"].startswith(f"adapter logs: file a.csv, line {ROWS + 2}: 4 fields where the header has 3")
    lines = DATA.split(b"\n")
    lines[9] = b"9,z"  # a line with a field missing, inside the sniffed rows
    add(root, "a.csv", b"\n".join(lines))
    failed = outcome(run(root), "logs")
    assert failed["error"].startswith("adapter logs: file a.csv, line 10: 2 fields where the header has 3 (the line reads: 9,z)")
    assert "Possible fixes" not in failed["error"] and "sniffing" not in failed["error"]


def test_a_blank_line_inside_a_file_is_a_bad_line_and_a_row_of_empty_tsv_fields_is_a_row(tmp_path):
    root = project(tmp_path, "type: localfile\nconfig: {base_path: src}\npath: '*.csv'\n", {"a.csv": b"id,v\n1,2\n   \n3,4\n"})
    error = outcome(run(root), "logs")["error"]
    assert error.startswith("adapter logs: file a.csv, line 3: 1 field where the header has 2"), error
    (root / "adapters/logs.yml").write_text("type: localfile\nconfig: {base_path: src}\npath: '*.tsv'\n")
    add(root, "b.tsv", b"id\tv\n\t\n")
    done = outcome(run(root), "logs")
    assert done["status"] == "completed" and "without rows" not in done["message"]
    assert query(root, "SELECT id, v FROM logs") == [{"id": None, "v": None}]


def test_bad_lines_skip_leaves_them_out_and_says_how_many_in_the_run_output(tmp_path):
    from fboxcli import fbox

    adapter = "type: localfile\nconfig: {base_path: src}\npath: '*.csv'\nbad_lines: skip\n"
    root = project(tmp_path, adapter, {"a.csv": b"id,name,v\n1,a,10\n2,b\n3,c,30,x\n4,d,40\n"})
    result = fbox("run", project=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "skipped 2 bad lines (bad_lines: skip): a.csv lines 3, 4" in result.stdout
    assert query(root, "SELECT id FROM logs ORDER BY id") == [{"id": 1}, {"id": 4}]
    assert columns(root, "logs") == ["id", "name", "v", "_source_file"]


def test_bad_lines_is_checked_by_the_schema_and_applies_to_csv_only(tmp_path):
    from featherbox.errors import ConfigError

    root = project(tmp_path, "type: localfile\npath: '*.csv'\nbad_lines: drop\n")
    with pytest.raises(ConfigError, match="bad_lines"):
        load_project(root, default_registry())
    (root / "adapters/logs.yml").write_text("type: localfile\npath: '*.parquet'\nbad_lines: skip\n")
    with pytest.raises(ConfigError, match=r"logs.yml:3: bad_lines: bad_lines: skip applies to csv and tsv files only"):
        load_project(root, default_registry())


# --- compressed files ----------------------------------------------------------------------------


def test_a_truncated_zstd_file_fails_naming_the_file_and_loads_whole_once_fixed(tmp_path):
    whole = zstandard.ZstdCompressor(write_checksum=True).compress(DATA)  # as the zstd command writes it
    adapter = "type: localfile\nconfig: {base_path: src}\npath: '*.csv.zst'\n"
    root = project(tmp_path, adapter, {"a.csv.zst": whole[: len(whole) // 2]})
    failed = outcome(run(root), "logs")
    assert failed["status"] == "failed"  # DuckDB alone loads a prefix of the rows, without an error
    assert failed["error"].startswith("adapter logs: file a.csv.zst: truncated zstd")
    assert ledger(root, "logs") == []
    corrupt = bytearray(whole)
    corrupt[len(whole) // 2] ^= 0xFF
    add(root, "a.csv.zst", bytes(corrupt))
    assert outcome(run(root), "logs")["error"].startswith("adapter logs: file a.csv.zst: corrupt zstd")
    add(root, "a.csv.zst", whole)
    assert outcome(run(root), "logs")["status"] == "completed"
    assert query(root, "SELECT count(*) AS n FROM logs") == [{"n": ROWS}]


def test_a_gzip_cut_in_half_is_one_line_naming_the_file(tmp_path):
    whole = gzip.compress(b"id,name\n" + b"".join(b"%d,x%d\n" % (i, i) for i in range(200)))
    adapter = "type: localfile\nconfig: {base_path: src}\npath: '*.csv.gz'\n"
    root = project(tmp_path, adapter, {"a.csv.gz": whole[: len(whole) // 2]})
    error = outcome(run(root), "logs")["error"]
    assert error.startswith("adapter logs: file a.csv.gz: truncated gzip"), error
    assert "\n" not in error and "sniff" not in error


def test_compressed_files_are_read_and_verified_by_suffix_in_any_case_and_by_format_compression(tmp_path):
    gz, zst = gzip.compress(b"id\n1\n2\n"), zstandard.ZstdCompressor().compress(b"id\n3\n4\n")
    adapter = "type: localfile\nconfig: {base_path: src}\npath: '*.csv.*'\n"
    root = project(tmp_path, adapter, {"a.csv.GZ": gz, "b.csv.gzip": gz})
    assert outcome(run(root), "logs")["status"] == "completed"  # DuckDB itself only knows .gz and .zst
    (root / "adapters/logs.yml").write_text("type: localfile\nconfig: {base_path: src}\npath: '*.csv.zstd'\n")
    add(root, "c.csv.zstd", zst)
    assert outcome(run(root), "logs")["status"] == "completed"
    assert query(root, "SELECT id FROM logs ORDER BY id") == [{"id": 3}, {"id": 4}]
    # `format.compression` names the compression of files without a suffix: they are verified too
    (root / "adapters/logs.yml").write_text(
        "type: localfile\nconfig: {base_path: src}\npath: '*.dat'\nformat: {type: csv, compression: zstd}\n"
    )
    add(root, "d.dat", zst[:-3])
    assert outcome(run(root), "logs")["error"].startswith("adapter logs: file d.dat: truncated zstd")


def test_an_empty_compressed_file_is_truncated_not_empty(tmp_path):
    adapter = "type: localfile\nconfig: {base_path: src}\npath: '*.csv.gz'\n"
    root = project(tmp_path, adapter, {"a.csv.gz": b""})
    assert "truncated gzip: the file is empty (0 bytes)" in outcome(run(root), "logs")["error"]


# --- files without rows --------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"", b"  \n\n", b"id,name,v\n", b"id,name,v\n\n  \n"], ids=["empty", "blank", "header", "header-blank"])
@pytest.mark.parametrize("compress", [None, "gzip", "zstd"])
def test_a_file_without_rows_loads_as_zero_rows_and_keeps_the_columns(tmp_path, body, compress):
    pack = {None: lambda b: b, "gzip": gzip.compress, "zstd": zstandard.ZstdCompressor().compress}[compress]
    suffix = {None: "", "gzip": ".gz", "zstd": ".zst"}[compress]
    adapter = f"type: localfile\nconfig: {{base_path: src}}\npath: '*.csv{suffix}'\n"
    root = project(tmp_path, adapter, {f"a.csv{suffix}": pack(b"id,name,v\n1,a,10\n")})
    assert outcome(run(root), "logs")["status"] == "completed"
    add(root, f"b.csv{suffix}", pack(body))
    done = outcome(run(root), "logs")
    assert done["status"] == "completed", done
    assert "1 file without rows: b.csv" in done["message"]
    assert columns(root, "logs") == ["id", "name", "v", "_source_file"]  # no column0, no VARCHAR id
    assert query(root, "SELECT id FROM logs") == [{"id": 1}]
    assert ledger(root, "logs") == [f"a.csv{suffix}", f"b.csv{suffix}"]
    assert run(root)["actions"] == []  # recorded as loaded
    # a full reload reads both again, with the same result
    assert outcome(run(root, "--full-refresh"), "logs")["status"] == "completed"
    assert columns(root, "logs") == ["id", "name", "v", "_source_file"]


def test_a_first_load_of_files_without_rows_makes_an_empty_table_the_next_file_fills(tmp_path):
    adapter = "type: localfile\nconfig: {base_path: src}\npath: 'd/[YYYY][MM][DD].csv'\n"
    root = project(tmp_path, adapter, {"d/20240101.csv": b"", "d/20240102.csv": b"id,v\n"})
    # declared columns: an empty first load already has them, with their types
    declared = adapter + "format: {type: csv, columns: {id: INTEGER, v: VARCHAR}}\n"
    (root / "adapters/declared.yml").write_text(declared)
    payload = run(root)
    assert outcome(payload, "logs")["status"] == outcome(payload, "declared")["status"] == "completed"
    assert [(r["column_name"], r["column_type"]) for r in query(root, "DESCRIBE declared")][:2] == [("id", "INTEGER"), ("v", "VARCHAR")]
    assert columns(root, "logs") == ["_source_file", "_file_time"]
    assert query(root, "SELECT count(*) AS n FROM logs") == [{"n": 0}]
    add(root, "d/20240103.csv", b"id,v\n1,2\n")
    assert outcome(run(root), "logs")["status"] == "completed"
    assert query(root, "SELECT id, v, _file_time FROM logs") == [{"id": 1, "v": 2, "_file_time": "2024-01-03 00:00:00"}]
    assert query(root, "SELECT id, v FROM declared") == [{"id": 1, "v": "2"}]


@pytest.mark.parametrize("fmt, body", [("ndjson", b""), ("ndjson", b" \n"), ("json", b"[]"), ("json", b"")])
def test_an_empty_json_file_adds_no_json_column(tmp_path, fmt, body):
    adapter = f"type: localfile\nconfig: {{base_path: src}}\npath: '*.{fmt}'\n"
    root = project(tmp_path, adapter, {f"a.{fmt}": b'{"id": 1}\n' if fmt == "ndjson" else b'[{"id": 1}]'})
    assert outcome(run(root), "logs")["status"] == "completed"
    add(root, f"b.{fmt}", body)
    assert outcome(run(root), "logs")["status"] == "completed"
    assert columns(root, "logs") == ["id", "_source_file"]


# --- range and base_path -------------------------------------------------------------------------


def test_a_range_with_an_offset_is_converted_to_utc(tmp_path):
    adapter = (
        "type: localfile\nconfig: {base_path: src}\npath: 'h/[YYYY][MM][DD]T[HH].csv'\n"
        "range: {since: 2023-01-01T09:00:00+09:00, until: '2023-01-01T02:00:00Z'}\n"
    )
    files = {f"h/20230101T{h:02d}.csv": f"h\n{h}\n".encode() for h in range(4)}
    root = project(tmp_path, adapter, files)
    assert outcome(run(root), "logs")["status"] == "completed"
    # 09:00 at +09:00 is 00:00 UTC (it used to be read as 09:00, and nothing matched)
    assert query(root, "SELECT h FROM logs ORDER BY h") == [{"h": 0}, {"h": 1}]


def test_range_and_base_path_mistakes_say_what_is_wrong(tmp_path):
    from featherbox.errors import ConfigError

    root = project(tmp_path, "type: localfile\npath: '[YYYY].csv'\nrange:\n  since: 2024-13-45\n  until: '2024-02-01'\n")
    with pytest.raises(ConfigError) as error:
        load_project(root, default_registry())
    assert "logs.yml:4: range.since: '2024-13-45' is not a valid date or date-time (month must be in 1..12)" in str(error.value)
    (root / "adapters/logs.yml").write_text("type: localfile\npath: '[YYYY].csv'\nrange:\n  since: 2024-02-01\n  until: 2024-01-01\n")
    with pytest.raises(ConfigError) as error:
        load_project(root, default_registry())
    assert "logs.yml:5: range.until: '2024-01-01' is before range.since '2024-02-01'" in str(error.value)
    (root / "adapters/logs.yml").write_text("type: localfile\nconfig: {base_path: data.csv}\npath: '*.csv'\n")
    (root / "data.csv").write_text("a\n1\n")
    error = outcome(run(root), "logs")["error"]
    assert "config.base_path 'data.csv' is a file" in error and "not a directory" in error
    (root / "adapters/logs.yml").write_text("type: localfile\nconfig: {base_path: nowhere}\npath: '*.csv'\n")
    assert "config.base_path 'nowhere'" in outcome(run(root), "logs")["error"]


def test_range_bounds_are_utc_in_listing(tmp_path):
    root = project(tmp_path, "type: localfile\npath: 'h/[YYYY][MM][DD]T[HH].csv'\nrange: {since: '2023-01-01T09:00:00+09:00'}\n")
    registry = default_registry()
    spec = load_project(root, registry).adapters["logs"]
    adapter = registry.get("adapter", spec.type)(spec, load_project(root, registry))
    assert adapter.time_range() == (datetime(2023, 1, 1, 0, 0), None)


# --- adapter new ---------------------------------------------------------------------------------


def test_adapter_new_writes_a_path_relative_to_the_project_as_the_docs_say(tmp_path):
    from fboxcli import fbox

    root = write_project(tmp_path / "p", {})
    fbox("adapter", "new", "logs", "--type", "localfile", "--path", "logs/*.csv", project=root, check=True)
    assert "base_path: ." in (root / "adapters/logs.yml").read_text()
    (root / "logs").mkdir()
    (root / "logs/a.csv").write_text("a\n1\n")
    assert outcome(run(root), "logs")["status"] == "completed"
    assert query(root, "SELECT a, _source_file FROM logs") == [{"a": 1, "_source_file": "logs/a.csv"}]
