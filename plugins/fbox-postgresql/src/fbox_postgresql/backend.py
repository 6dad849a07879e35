"""PostgreSQL as the project database: the DuckLake catalog and FeatherBox's tables in one database.

The lake's DuckDB connection reaches the catalog through a DuckDB secret (`CREATE SECRET (TYPE
postgres, ...)`, named by `META_SECRET`), so the `ATTACH` string is just `ducklake:postgres:`: DuckDB
prints that string in `duckdb_databases()` and in its connection errors, and it holds no password.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time

from featherbox.errors import FeatherBoxError
from featherbox.extension import MetadataBackend, RunLock

from featherbox.database_sources.connection import connection_params, connection_schema, duckdb_secret_sql, scrub

DEFAULT_SCHEMA = "public"
CATALOG_SECRET = "fbox_catalog"  # the DuckDB secret holding the catalog's connection settings



class PostgresBackend(MetadataBackend):
    type_name = "postgresql"
    description = "DuckLake catalog and FeatherBox state in a PostgreSQL database"
    paramstyle = "format"
    config_schema = {
        **{k: v for k, v in connection_schema("PostgreSQL").items() if k != "properties"},
        "properties": {
            "type": {"const": "postgresql"},
            **connection_schema("PostgreSQL")["properties"],
            "schema": {
                "type": "string",
                "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$",
                "description": "schema for the DuckLake catalog tables and FeatherBox's tables (default public)",
            },
        },
    }

    @property
    def params(self) -> dict:
        try:
            return connection_params(self.config, ("postgresql", "postgres"), 5432)
        except FeatherBoxError as exc:
            raise FeatherBoxError(f"project.yml database: {exc}") from None

    @property
    def schema(self) -> str:
        return self.config.get("schema") or DEFAULT_SCHEMA

    def prepare(self, con) -> None:
        p = self.params
        try:
            con.execute(duckdb_secret_sql(CATALOG_SECRET, "postgres", p))
        except Exception as exc:
            raise FeatherBoxError(f"project database (postgresql at {p['host']}:{p['port']}): cannot create the DuckDB secret: {scrub(exc, p)}") from None

    def ducklake_catalog(self) -> str:
        if self.schema != DEFAULT_SCHEMA:
            self._ensure_schema()
        return "postgres:"  # everything else, the password included, is in the secret CATALOG_SECRET

    def duckdb_extensions(self) -> list[str]:
        return ["postgres"]

    def ducklake_options(self) -> dict[str, str]:
        options = {"META_SECRET": f"'{CATALOG_SECRET}'"}
        if self.schema != DEFAULT_SCHEMA:
            options["METADATA_SCHEMA"] = f"'{self.schema}'"
        return options

    def _connect(self, application_name: str = "featherbox"):
        import psycopg

        p = self.params
        try:
            return psycopg.connect(
                host=p["host"], port=p["port"], user=p["user"], password=p["password"], dbname=p["dbname"],
                autocommit=True, connect_timeout=10, application_name=application_name[:63],
                options=f"-c search_path={self.schema}",
            )
        except Exception as exc:
            raise FeatherBoxError(
                f"project database (postgresql at {p['host']}:{p['port']}, database {p['dbname']}): cannot connect: {scrub(exc, p)}"
            ) from None

    def catalog_exists(self) -> bool:
        """Whether DuckLake's catalog tables are in the configured schema (`ducklake_metadata`):
        asked through psycopg, so a project that never ran gets no schema and no table."""
        if getattr(self, "_catalog_seen", False):
            return True
        p = self.params
        con = self._connect()
        try:
            found = con.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = %s AND tablename = 'ducklake_metadata')",
                (self.schema,),
            ).fetchone()[0]
        except Exception as exc:
            raise FeatherBoxError(
                f"project database (postgresql at {p['host']}:{p['port']}, database {p['dbname']}): "
                f"cannot look for the lake's catalog in schema {self.schema}: {scrub(exc, p)}"
            ) from None
        finally:
            con.close()
        self._catalog_seen = bool(found)  # once there, it stays; a missing one may be made by a run
        return self._catalog_seen

    def _ensure_schema(self) -> None:
        con = self._connect()
        try:
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
        finally:
            con.close()

    def connect(self, lake=None):
        con = self._connect()
        if self.schema != DEFAULT_SCHEMA:
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
        return con

    def run_lock(self) -> RunLock:
        return PostgresRunLock(self)

    def describe(self) -> str:
        p = self.params
        return f"postgresql {p['host']}:{p['port']}/{p['dbname']} schema {self.schema}"


class PostgresRunLock(RunLock):
    """A session-level advisory lock on a dedicated connection: the server frees it when the session ends."""

    def __init__(self, backend: PostgresBackend):
        self.backend = backend
        p = backend.params
        digest = hashlib.sha256(f"featherbox:{p['dbname']}:{backend.schema}".encode()).digest()
        self.key = int.from_bytes(digest[:8], "big", signed=True)
        self._con = None

    def acquire(self, timeout: float) -> bool:
        name = f"fbox run pid {os.getpid()} on {socket.gethostname()}"
        con = self.backend._connect(application_name=name)
        deadline = time.monotonic() + max(timeout, 0)
        while True:
            if con.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()[0]:
                self._con = con
                return True
            if time.monotonic() >= deadline:
                con.close()
                return False
            time.sleep(0.2)

    def release(self) -> None:
        if self._con is not None:
            try:
                self._con.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
            finally:
                self._con.close()
                self._con = None

    def holder(self) -> str:
        unsigned = self.key & 0xFFFFFFFFFFFFFFFF
        classid, objid = unsigned >> 32, unsigned & 0xFFFFFFFF
        try:
            con = self.backend._connect()
        except FeatherBoxError:
            return "another process"
        try:
            row = con.execute(
                "SELECT a.application_name, a.pid, a.client_addr::text, a.backend_start::text FROM pg_locks l "
                "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND l.classid = %s AND l.objid = %s AND l.objsubid = 1",
                (classid, objid),
            ).fetchone()
        finally:
            con.close()
        if not row:
            return "another process"
        return f"{row[0] or 'a session'} (server pid {row[1]}, client {row[2] or 'local socket'}, since {row[3]})"
