"""Fixtures shared by every test folder; command-line helpers live in `fboxcli`."""

from __future__ import annotations

import os

import pytest

from dbservers import my, pg  # noqa: F401  (fixtures: a fresh database per test)


@pytest.fixture
def ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_configure(config):
    """Install the DuckDB extensions once, before xdist starts its workers, so they do not race."""
    if hasattr(config, "workerinput"):
        return
    import duckdb

    from featherbox.duckdb_extensions import load_extensions

    con = duckdb.connect()
    try:
        load_extensions(con, ["ducklake", "sqlite", "httpfs", "azure", "postgres", "mysql"])
    finally:
        con.close()
