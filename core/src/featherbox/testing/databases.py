"""Fresh databases on running PostgreSQL and MySQL/MariaDB servers.

The servers are not started here: by default the tests reach PostgreSQL at 127.0.0.1:5432 (user
postgres, no password) and MySQL/MariaDB at 127.0.0.1:3306 (user root, no password); the environment
variables FBOX_TEST_PG_HOST/PORT/USER/PASSWORD and FBOX_TEST_MYSQL_HOST/PORT/USER/PASSWORD point them
elsewhere. An unreachable server is `unavailable` (skip, or fail under CI). The drivers (psycopg,
mysql-connector-python) come with fbox-postgresql and fbox-mysql and are imported on use.
"""

from __future__ import annotations

import json
import os
import uuid
from contextlib import contextmanager
from typing import Callable, Iterator

from .services import unavailable

KINDS = ("postgresql", "mysql")


def postgres_params() -> dict:
    """host, port, user, password of the PostgreSQL server the tests use."""
    return {
        "host": os.environ.get("FBOX_TEST_PG_HOST", "127.0.0.1"),
        "port": int(os.environ.get("FBOX_TEST_PG_PORT", "5432")),
        "user": os.environ.get("FBOX_TEST_PG_USER", "postgres"),
        "password": os.environ.get("FBOX_TEST_PG_PASSWORD", ""),
    }


def mysql_params() -> dict:
    """host, port, user, password of the MySQL/MariaDB server the tests use."""
    return {
        "host": os.environ.get("FBOX_TEST_MYSQL_HOST", "127.0.0.1"),
        "port": int(os.environ.get("FBOX_TEST_MYSQL_PORT", "3306")),
        "user": os.environ.get("FBOX_TEST_MYSQL_USER", "root"),
        "password": os.environ.get("FBOX_TEST_MYSQL_PASSWORD", ""),
    }


def connect(kind: str, params: dict, dbname: str | None = None, timeout: int = 5):
    """An autocommit connection to `dbname` on the server at `params` (None: no database chosen)."""
    if kind == "postgresql":
        import psycopg

        given = {k: v for k, v in params.items() if v != ""}
        return psycopg.connect(**given, dbname=dbname or "postgres", autocommit=True, connect_timeout=timeout)
    if kind == "mysql":
        import mysql.connector

        return mysql.connector.connect(**params, **({"database": dbname} if dbname else {}), autocommit=True,
                                       connection_timeout=timeout)
    raise ValueError(f"unknown database kind {kind!r} (one of {', '.join(KINDS)})")


def admin_connection(kind: str, params: dict):
    """`connect(kind, params)`, or `unavailable` naming the server when it cannot be reached."""
    try:
        return connect(kind, params)
    except Exception as exc:
        what = "PostgreSQL" if kind == "postgresql" else "MySQL/MariaDB"
        unavailable(f"{what} at {params['host']}:{params['port']} is not reachable ({type(exc).__name__}: {exc})")


class Database:
    """A freshly created database: `kind` ("postgresql" or "mysql", the adapter type), `params` of its
    server, `dbname`, `con` (an autocommit connection to it); `sql` runs statements, `rows` returns
    sorted rows, `config()` is the `config:` of an adapter that reads it."""

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

    def config(self) -> dict:
        """host, port (a string), user, dbname and, when there is one, password."""
        p = self.params
        config = {"host": p["host"], "port": str(p["port"]), "user": p["user"], "dbname": self.dbname}
        if p["password"]:
            config["password"] = p["password"]
        return config

    def config_yaml(self, indent: int = 2) -> str:
        """`config()` as YAML lines indented by `indent` spaces."""
        pad = " " * indent
        lines = [f"{key}: {json.dumps(value)}" if key in ("port", "password") else f"{key}: {value}"
                 for key, value in self.config().items()]
        return "\n".join(pad + line for line in lines)


@contextmanager
def fresh_database(kind: str, params: dict, before_drop: Callable | None = None) -> Iterator[Database]:
    """A new database `fbox_t_<hex>` on the server at `params`, dropped afterwards (after
    `before_drop(cursor, dbname)`, which may release what the test left on the server)."""
    admin = admin_connection(kind, params)
    cur = admin.cursor()
    dbname = f"fbox_t_{uuid.uuid4().hex[:10]}"
    quote = '"' if kind == "postgresql" else "`"
    cur.execute(f"CREATE DATABASE {quote}{dbname}{quote}")
    con = None
    try:
        con = connect(kind, params, dbname)
        yield Database(kind, params, dbname, con)
    finally:
        if con is not None:
            con.close()
        if before_drop is not None:
            before_drop(cur, dbname)
        force = " WITH (FORCE)" if kind == "postgresql" else ""
        cur.execute(f"DROP DATABASE IF EXISTS {quote}{dbname}{quote}{force}")
        cur.close()
        admin.close()
