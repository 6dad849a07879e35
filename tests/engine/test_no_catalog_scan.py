"""No code of FeatherBox or its plugins lists the tables, views or columns of every attached catalog
(`duckdb_tables()`, `duckdb_views()`, `duckdb_columns()`): on a DuckLake, `duckdb_tables()` loads every
table's metadata after each commit (seconds at a few hundred tables), and the others walk every table
of every catalog. What the lake holds comes from `featherbox.state.objects.LakeObjects`, read once per
run; one table's columns from `DESCRIBE`. (`duckdb_schemas()` lists schemas only.)"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import featherbox

ROOT = Path(featherbox.__file__).resolve().parents[3]
SCANS = re.compile(r"\b(duckdb_tables|duckdb_views|duckdb_columns)\s*\(", re.IGNORECASE)


def _sources() -> list[Path]:
    files = sorted((ROOT / "core" / "src").rglob("*.py")) + sorted((ROOT / "plugins").glob("*/src/**/*.py"))
    assert len(files) > 40, f"no sources found under {ROOT}"
    return files


def _strings_in_code(path: Path) -> list[tuple[int, str]]:
    """String literals that are not docstrings (SQL lives in those), with their line."""
    found, previous = [], tokenize.NEWLINE
    for token in tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline):
        if token.type in (tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", -1)):
            if previous not in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.NL):  # not a docstring
                found.append((token.start[0], token.string))
        if token.type not in (tokenize.COMMENT, tokenize.NL):
            previous = token.type
    return found


def test_no_whole_catalog_scan_in_the_engine_or_plugins():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {text.strip()[:80]}"
        for path in _sources()
        for line, text in _strings_in_code(path)
        if SCANS.search(text)
    ]
    assert offenders == []


def test_the_check_finds_a_scan(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('"""duckdb_tables() in a docstring is prose."""\nrows = con.execute("SELECT * FROM duckdb_tables()")\n')
    assert [line for line, text in _strings_in_code(sample) if SCANS.search(text)] == [2]
