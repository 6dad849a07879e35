"""The benchmark's two sides compute the same thing: FeatherBox and bench/plain.py give identical tables.

A correctness test on a tiny generated data set (not a timing test): cold run, then the increment step
(new log file, updated and inserted orders) and the incremental runs, comparing the three output tables
with EXCEPT ALL both ways after each.
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402
import run as bench  # noqa: E402


def test_fbox_and_plain_build_identical_tables(tmp_path: Path):
    hours = 6
    data = tmp_path / "data-set"
    generate.generate(data, 0.001, hours=hours)

    result = bench.one_repeat(data, 0.001, tmp_path / "work", tmp_path / "run.log", check=True, hours=hours)

    checks = result["checks"]
    assert set(checks) == {"after_cold", "after_incremental"}
    for stage, tables in checks.items():
        assert set(tables) == set(bench.OUTPUTS)
        for name, table in tables.items():
            assert table["rows_fbox"] > 0, (stage, name, table)
            assert table["identical"], (stage, name, table)
    # the increment step reached both sides
    for side in ("fbox", "plain"):
        assert len(list((tmp_path / "work" / side / "data" / "logs").rglob("*.csv.gz"))) == hours + 1
