"""A project database password containing `'` is never printed, in any form, by any command.

DuckDB prints the string a lake is attached with (in `duckdb_databases()` and in every connection
error), and a libpq or MySQL connection string holds the password escaped (`'it\\'s'`), which the
old exact-value redaction did not match. The catalogs are now reached through DuckDB secrets, so
the attach string holds no password, and redaction masks every encoded form of a secret.

PostgreSQL: a throwaway server that checks passwords (the shared one trusts every login), with a
role created per test. MySQL: a user created on the shared MariaDB (it checks passwords); the MySQL
catalog backend is refused by the CLI until DuckLake supports it (test_backends.py), so these tests
switch that refusal off for the one process.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from featherbox.testing import write_project

from dbservers import MY, free_port, my_admin
from dbtest import fbox

FAILING = [("plan",), ("status", "--json"), ("query", "SELECT 1 AS one"), ("graph", "--format", "html"), ("run",)]


def _password(tag: str) -> str:
    # what follows the quote is what must never appear: the quote is what libpq/SQL escaping changes
    return f"fb'Q-{tag}-{uuid.uuid4().hex[:10]}"


def _tail(password: str) -> str:
    """The part after the `'`: found in the raw, quoted, escaped, JSON and URL-encoded forms alike."""
    return password.split("'", 1)[1]


def _assert_hidden(out: str, *passwords: str) -> None:
    for password in passwords:
        assert _tail(password) not in out, out
        assert quote(password, safe="") not in out, out


@pytest.fixture
def pg_role(pg_password_server):
    """A login role whose password contains `'`, owning a fresh database; both dropped afterwards."""
    import psycopg

    admin = psycopg.connect(**pg_password_server, dbname="postgres", autocommit=True, connect_timeout=5)
    name = f"fbox_q_{uuid.uuid4().hex[:8]}"
    password = _password("s3cr3t")
    admin.execute(f"CREATE ROLE {name} LOGIN PASSWORD " + "'" + password.replace("'", "''") + "'")
    admin.execute(f'CREATE DATABASE "{name}" OWNER {name}')
    try:
        yield {"host": pg_password_server["host"], "port": pg_password_server["port"], "user": name, "dbname": name, "password": password}
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f"DROP ROLE IF EXISTS {name}")
        admin.close()


@pytest.fixture
def my_user():
    """A MariaDB user whose password contains `'`, with a fresh database; both dropped afterwards."""
    admin = my_admin()
    name = f"fbox_q_{uuid.uuid4().hex[:8]}"
    password = _password("s3cr3t")
    cur = admin.cursor()
    cur.execute(f"CREATE DATABASE `{name}`")
    for host in ("%", "localhost"):
        cur.execute(f"CREATE USER '{name}'@'{host}' IDENTIFIED BY %s", (password,))
        cur.execute(f"GRANT ALL ON `{name}`.* TO '{name}'@'{host}'")
    try:
        yield {"host": MY["host"], "port": MY["port"], "user": name, "dbname": name, "password": password}
    finally:
        for host in ("%", "localhost"):
            cur.execute(f"DROP USER IF EXISTS '{name}'@'{host}'")
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cur.close()
        admin.close()


def _project(tmp_path: Path, database_yaml: str) -> Path:
    return write_project(tmp_path / "p", {
        "project.yml": "database:\n" + database_yaml,
        "models/m.yml": "sql: SELECT 1 AS x\n",
    })


def _fields_yaml(kind: str, p: dict, port, password: str) -> str:
    return (f"  type: {kind}\n  host: {p['host']}\n  port: {port}\n  user: {p['user']}\n"
            f"  password: {json.dumps(password)}\n  dbname: {p['dbname']}\n")


def _check_commands_fail_without_the_password(project: Path, needle: str, *passwords: str) -> None:
    for command in FAILING:
        result = fbox(project, *command, check=False)
        out = result.stdout + result.stderr
        assert result.returncode != 0, (command, out)
        assert needle in out, (command, out)
        _assert_hidden(out, *passwords)


def _check_lake_shows_no_password(project: Path, password: str) -> None:
    fbox(project, "run")
    for sql, fmt in (("SELECT * FROM duckdb_databases()", "table"), ("SELECT * FROM duckdb_databases()", "csv"),
                     ("SELECT * FROM duckdb_secrets()", "json")):
        out = fbox(project, "query", sql, "--format", fmt).stdout
        assert "lake" in out or "fbox_catalog" in out, out
        _assert_hidden(out, password)
    assert json.loads(fbox(project, "query", "SELECT x FROM main.m", "--json").stdout) == [{"x": 1}]


def test_postgresql_catalog_password_with_a_quote_is_never_printed(pg_role, tmp_path, monkeypatch):
    right = pg_role["password"]
    monkeypatch.setenv("FBOX_T_CAT_PASSWORD", right)
    project = _project(tmp_path, _fields_yaml("postgresql", pg_role, pg_role["port"], "$FBOX_T_CAT_PASSWORD"))
    _check_lake_shows_no_password(project, right)

    wrong = _password("wrong")
    monkeypatch.setenv("FBOX_T_CAT_PASSWORD", wrong)
    _check_commands_fail_without_the_password(project, "password authentication failed", right, wrong)

    monkeypatch.setenv("FBOX_T_CAT_PASSWORD", right)
    unreachable = _project(tmp_path / "down", _fields_yaml("postgresql", pg_role, free_port(), "$FBOX_T_CAT_PASSWORD"))
    _check_commands_fail_without_the_password(unreachable, "127.0.0.1", right)


def test_postgresql_catalog_url_with_an_encoded_password_is_never_printed(pg_role, tmp_path):
    """The password written into `url:` (URL-encoded, not from a variable) is a secret too."""
    p = pg_role

    def url(password: str, port) -> str:
        return f"postgresql://{p['user']}:{quote(password, safe='')}@{p['host']}:{port}/{p['dbname']}"

    right, wrong = p["password"], _password("wrong")
    project = _project(tmp_path, f"  type: postgresql\n  url: {json.dumps(url(right, p['port']))}\n")
    _check_lake_shows_no_password(project, right)
    (project / "project.yml").write_text(f"database:\n  type: postgresql\n  url: {json.dumps(url(wrong, p['port']))}\n")
    _check_commands_fail_without_the_password(project, "password authentication failed", right, wrong)


def test_mysql_catalog_password_with_a_quote_is_never_printed(my_user, tmp_path, monkeypatch):
    from fbox_mysql.backend import MySQLBackend

    monkeypatch.setattr(MySQLBackend, "implemented", True)  # refused until DuckLake supports it
    right = my_user["password"]  # written into project.yml as it is, not through a variable
    project = _project(tmp_path, _fields_yaml("mysql", my_user, my_user["port"], right))
    out = fbox(project, "query", "SELECT * FROM duckdb_databases()", "--format", "csv").stdout
    assert "lake" in out
    _assert_hidden(out, right)
    for sql in ("SELECT * FROM duckdb_databases()", "SELECT * FROM duckdb_secrets()"):
        _assert_hidden(fbox(project, "query", sql, "--json").stdout, right)

    wrong = _password("wrong")
    (project / "project.yml").write_text("database:\n" + _fields_yaml("mysql", my_user, my_user["port"], wrong))
    commands = [c for c in FAILING if c[0] != "run"]  # `run` first takes the lock (mysql-connector's own error)
    for command in commands:
        result = fbox(project, *command, check=False)
        out = result.stdout + result.stderr
        assert result.returncode != 0 and "Access denied" in out, (command, out)
        _assert_hidden(out, right, wrong)
    result = fbox(project, "run", check=False)
    assert result.returncode != 0
    _assert_hidden(result.stdout + result.stderr, right, wrong)

    (project / "project.yml").write_text("database:\n" + _fields_yaml("mysql", my_user, free_port(), right))
    for command in FAILING:
        result = fbox(project, *command, check=False)
        out = result.stdout + result.stderr
        assert result.returncode != 0 and "127.0.0.1" in out, (command, out)
        _assert_hidden(out, right)
