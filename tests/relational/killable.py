"""Throwaway PostgreSQL and MariaDB servers a test may kill (SIGKILL, every process of the server) in
the middle of a run: `pg_killable` and `my_killable` fixtures, one server per test. A test module
imports the fixtures it uses (`from killable import pg_killable`).

Each server has a database `shop` and a user `fbox` with a password, so tests can check that no
error shows it."""

from __future__ import annotations

import pytest

from dbservers import start_mariadb, start_postgres

PASSWORD = "Killable-pw-4711"


class Killable:
    """A running server: `params` (host, port, user, password, dbname) and `kill()`."""

    def __init__(self, kind: str, params: dict, server):
        self.kind, self.params, self._server = kind, params, server

    @property
    def killed(self) -> bool:
        return self._server.killed

    def kill(self) -> None:
        """SIGKILL every process of the server at once, as a crash or an OOM kill would."""
        self._server.kill()

    def connect(self):
        if self.kind == "postgresql":
            import psycopg

            return psycopg.connect(**self.params, autocommit=True)
        import mysql.connector

        p = self.params
        return mysql.connector.connect(host=p["host"], port=p["port"], user=p["user"], password=p["password"],
                                       database=p["dbname"], autocommit=True)

    def config_yaml(self) -> str:
        p = self.params
        return "\n".join(f"  {k}: {v}" for k, v in (("host", p["host"]), ("port", p["port"]), ("user", p["user"]),
                                                   ("password", p["password"]), ("dbname", p["dbname"])))


@pytest.fixture
def pg_killable():
    with start_postgres(prefix="fbox_pgk_") as server:
        import psycopg

        with psycopg.connect(**server.params, dbname="postgres", autocommit=True) as admin:
            admin.execute(f"CREATE USER fbox SUPERUSER PASSWORD '{PASSWORD}'")
            admin.execute("CREATE DATABASE shop OWNER fbox")
        params = {**server.params, "user": "fbox", "password": PASSWORD, "dbname": "shop"}
        yield Killable("postgresql", params, server)


@pytest.fixture
def my_killable():
    with start_mariadb(prefix="fbox_myk_") as server:
        import mysql.connector

        admin = mysql.connector.connect(**server.params, connection_timeout=2, autocommit=True)
        cur = admin.cursor()
        for statement in ("CREATE DATABASE shop", f"CREATE USER 'fbox'@'%' IDENTIFIED BY '{PASSWORD}'",
                          "GRANT ALL ON *.* TO 'fbox'@'%'"):
            cur.execute(statement)
        cur.close()
        admin.close()
        params = {**server.params, "user": "fbox", "password": PASSWORD, "dbname": "shop"}
        try:
            yield Killable("mysql", params, server)
        finally:
            if not server.killed:
                server.kill()  # SIGKILLed rather than shut down (start_mariadb then only waits for it)
