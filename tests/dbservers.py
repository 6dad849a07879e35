"""Fresh databases on the real PostgreSQL and MySQL/MariaDB servers, for any test folder.

Connection settings come from the environment (defaults match ../shared/TESTING.md):
FBOX_TEST_PG_HOST/PORT/USER/PASSWORD and FBOX_TEST_MYSQL_HOST/PORT/USER/PASSWORD.
An unreachable server skips its tests, except with CI=true, where it fails them.
"""

from __future__ import annotations

import json
import os
import uuid

import pytest

CI = os.environ.get("CI", "").lower() == "true"

def _unreachable(what: str, exc: Exception):
    message = f"{what} is not reachable ({type(exc).__name__}: {exc}); see /work/shared/TESTING.md"
    if CI:
        pytest.fail(message + " (CI=true: not skipping)")
    pytest.skip(message)

PG = {
    "host": os.environ.get("FBOX_TEST_PG_HOST", "127.0.0.1"),
    "port": int(os.environ.get("FBOX_TEST_PG_PORT", "5432")),
    "user": os.environ.get("FBOX_TEST_PG_USER", "postgres"),
    "password": os.environ.get("FBOX_TEST_PG_PASSWORD", ""),
}

MY = {
    "host": os.environ.get("FBOX_TEST_MYSQL_HOST", "127.0.0.1"),
    "port": int(os.environ.get("FBOX_TEST_MYSQL_PORT", "3306")),
    "user": os.environ.get("FBOX_TEST_MYSQL_USER", "root"),
    "password": os.environ.get("FBOX_TEST_MYSQL_PASSWORD", ""),
}

class Source:
    """A freshly created database; `sql` runs statements, `rows` returns sorted rows."""

    def __init__(self, kind: str, params: dict, dbname: str, con):
        self.kind, self.params, self.dbname, self.con = kind, params, dbname, con

    def sql(self, *statements: str, params=None) -> None:
        cur = self.con.cursor()
        for statement in statements:
            cur.execute(statement, params)
        cur.close()

    def rows(self, statement: str) -> list[tuple]:
        cur = self.con.cursor()
        cur.execute(statement)
        rows = cur.fetchall()
        cur.close()
        return sorted(tuple(r) for r in rows)

    def config_yaml(self, indent: int = 2) -> str:
        pad = " " * indent
        p = self.params
        lines = [f"host: {p['host']}", f"port: \"{p['port']}\"", f"user: {p['user']}", f"dbname: {self.dbname}"]
        if p["password"]:
            lines.append(f"password: {json.dumps(p['password'])}")
        return "\n".join(pad + line for line in lines)

@pytest.fixture
def pg():
    try:
        import psycopg

        admin = psycopg.connect(**{k: v for k, v in PG.items() if v != ""}, dbname="postgres", autocommit=True, connect_timeout=5)
    except Exception as exc:
        _unreachable(f"PostgreSQL at {PG['host']}:{PG['port']}", exc)
    dbname = f"fbox_t_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{dbname}"')
    con = psycopg.connect(**{k: v for k, v in PG.items() if v != ""}, dbname=dbname, autocommit=True)
    try:
        yield Source("postgresql", PG, dbname, con)
    finally:
        con.close()
        admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        admin.close()

@pytest.fixture
def my():
    try:
        import mysql.connector

        admin = mysql.connector.connect(**MY, autocommit=True, connection_timeout=5)
    except Exception as exc:
        _unreachable(f"MySQL/MariaDB at {MY['host']}:{MY['port']}", exc)
    dbname = f"fbox_t_{uuid.uuid4().hex[:10]}"
    cur = admin.cursor()
    cur.execute(f"CREATE DATABASE `{dbname}`")
    con = mysql.connector.connect(**MY, database=dbname, autocommit=True)
    try:
        yield Source("mysql", MY, dbname, con)
    finally:
        con.close()
        cur.execute(f"DROP DATABASE IF EXISTS `{dbname}`")
        cur.close()
        admin.close()
