"""MySQL / MariaDB as the project database: the DuckLake catalog and FeatherBox's tables in one database.

NOT USABLE YET (`implemented = False`, so project.yml refuses it with a clear message): with DuckDB 1.5.5,
DuckLake on a MySQL/MariaDB catalog fails to commit the second write to a table ("Unsupported operator
type HASH_JOIN in UPDATE statement ... MySQL connector"; upstream duckdb/ducklake#51, duckdb/duckdb-mysql#130).
The connection, history and run lock below work and are tested; flip `implemented` once upstream is fixed.

As with PostgreSQL, the lake reaches the catalog through a DuckDB secret (`TYPE mysql`, named by
`META_SECRET`): the `ATTACH` string DuckDB prints is `ducklake:mysql:`, without the password.
"""

from __future__ import annotations

import os
import socket
import time
from datetime import datetime, timezone

from featherbox.errors import FeatherBoxError
from featherbox.extension import MetadataBackend, RunLock

from fbox_mysql.adapter import mysql_connect
from featherbox.database_sources.connection import connection_params, connection_schema, duckdb_secret_sql, scrub

CATALOG_SECRET = "fbox_catalog"


class MySQLBackend(MetadataBackend):
    type_name = "mysql"
    description = (
        "DuckLake catalog and FeatherBox state in MySQL/MariaDB - not usable yet: DuckLake's MySQL catalog "
        "fails on the second write to a table (duckdb/ducklake#51)"
    )
    implemented = False
    paramstyle = "format"
    config_schema = {
        **{k: v for k, v in connection_schema("MySQL").items() if k != "properties"},
        "properties": {"type": {"const": "mysql"}, **connection_schema("MySQL")["properties"]},
    }

    @property
    def params(self) -> dict:
        try:
            return connection_params(self.config, ("mysql", "mariadb"), 3306)
        except FeatherBoxError as exc:
            raise FeatherBoxError(f"project.yml database: {exc}") from None

    def prepare(self, con) -> None:
        p = self.params
        try:
            con.execute(duckdb_secret_sql(CATALOG_SECRET, "mysql", p))
        except Exception as exc:
            raise FeatherBoxError(f"project database (mysql at {p['host']}:{p['port']}): cannot create the DuckDB secret: {scrub(exc, p)}") from None

    def ducklake_catalog(self) -> str:
        return "mysql:"  # everything else, the password included, is in the secret CATALOG_SECRET

    def ducklake_options(self) -> dict[str, str]:
        return {"META_SECRET": f"'{CATALOG_SECRET}'"}

    def duckdb_extensions(self) -> list[str]:
        return ["mysql"]

    def catalog_exists(self) -> bool:
        """Whether DuckLake's catalog tables (`ducklake_metadata`) are in the database: asked through
        the MySQL client, so a project that never ran gets no table."""
        if getattr(self, "_catalog_seen", False):
            return True
        p = self.params
        con = self.connect()
        try:
            cur = con.cursor()
            try:
                cur.execute(
                    "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() "
                    "AND table_name = 'ducklake_metadata'"
                )
                found = cur.fetchone()[0]
            finally:
                cur.close()
        except Exception as exc:
            raise FeatherBoxError(
                f"project database (mysql at {p['host']}:{p['port']}, database {p['dbname']}): "
                f"cannot look for the lake's catalog: {scrub(exc, p)}"
            ) from None
        finally:
            con.close()
        self._catalog_seen = bool(found)  # once there, it stays; a missing one may be made by a run
        return self._catalog_seen

    def connect(self, lake=None):
        p = self.params
        try:
            return mysql_connect(p)
        except Exception as exc:
            raise FeatherBoxError(
                f"project database (mysql at {p['host']}:{p['port']}, database {p['dbname']}): cannot connect: {scrub(exc, p)}"
            ) from None

    def run_lock(self) -> RunLock:
        return MySQLRunLock(self)

    def describe(self) -> str:
        p = self.params
        return f"mysql {p['host']}:{p['port']}/{p['dbname']}"


class MySQLRunLock(RunLock):
    """GET_LOCK on a dedicated connection: the server frees it when the session ends.

    The holder's host and pid are written to `fbox_run_lock` for the refusal message."""

    def __init__(self, backend: MySQLBackend):
        self.backend = backend
        self.name = f"featherbox:{backend.params['dbname']}"[:64]
        self._con = None

    def _run(self, con, sql: str, params=()):
        cur = con.cursor()
        try:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []
        finally:
            cur.close()

    def acquire(self, timeout: float) -> bool:
        con = self.backend.connect()
        deadline = time.monotonic() + max(timeout, 0)
        while True:
            if self._run(con, "SELECT GET_LOCK(%s, 0)", (self.name,))[0][0] == 1:
                break
            if time.monotonic() >= deadline:
                con.close()
                return False
            time.sleep(0.2)
        self._con = con
        try:
            self._run(con, "CREATE TABLE IF NOT EXISTS fbox_run_lock (name VARCHAR(64) PRIMARY KEY, "
                           "connection_id BIGINT, host VARCHAR(255), pid INTEGER, since VARCHAR(40))")
            self._run(con, "REPLACE INTO fbox_run_lock VALUES (%s, CONNECTION_ID(), %s, %s, %s)",
                      (self.name, socket.gethostname(), os.getpid(), datetime.now(timezone.utc).isoformat(timespec="seconds")))
        except Exception:
            pass  # the lock holds without the note
        return True

    def release(self) -> None:
        if self._con is not None:
            try:
                self._run(self._con, "SELECT RELEASE_LOCK(%s)", (self.name,))
            finally:
                self._con.close()
                self._con = None

    def holder(self) -> str:
        try:
            con = self.backend.connect()
        except FeatherBoxError:
            return "another process"
        try:
            owner = self._run(con, "SELECT IS_USED_LOCK(%s)", (self.name,))[0][0]
            try:
                note = self._run(con, "SELECT connection_id, host, pid, since FROM fbox_run_lock WHERE name = %s", (self.name,))
            except Exception:
                note = []
        finally:
            con.close()
        if note and owner is not None and int(note[0][0]) == int(owner):
            return f"pid {note[0][2]} on {note[0][1]} since {note[0][3]}"
        return f"MySQL connection {owner}" if owner is not None else "another process"
