"""Rows FeatherBox writes itself go into DuckDB as literals (bound parameters are slow in its Python client)."""

from __future__ import annotations

from datetime import datetime

import duckdb

from featherbox.sql import values_sql


def test_literal_rows_read_back_exactly():
    con = duckdb.connect()
    con.execute("CREATE TABLE t (s VARCHAR, i BIGINT, f DOUBLE, ts TIMESTAMP, b BOOLEAN)")
    rows = [
        ["it's a \\ path/ü", 2**62, 1732420123.4567893, datetime(2024, 1, 1, 3, 4, 5, 123456), True],
        [None, -1, 0.1 + 0.2, None, False],
        ["", 0, float("inf"), datetime(1999, 12, 31), None],
    ]
    con.execute(f"INSERT INTO t {values_sql(rows)}")
    got = [list(r) for r in con.execute("SELECT * FROM t").fetchall()]
    assert got == rows
    con.execute(f"INSERT INTO t {values_sql([[None, None, float('nan'), None, None]])}")
    assert con.execute("SELECT isnan(f) FROM t WHERE i IS NULL").fetchone() == (True,)
