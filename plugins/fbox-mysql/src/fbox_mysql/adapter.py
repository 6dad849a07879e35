"""`type: mysql`: tables of a MySQL or MariaDB database, copied through DuckDB's mysql extension."""

from __future__ import annotations

from featherbox.database_sources.adapter import DatabaseAdapter
from featherbox.database_sources.connection import Dialect, adapter_schema, run_query, shapes_of


def mysql_dsn(params: dict, db_key: str = "database") -> str:
    parts = {"host": params["host"], "port": params["port"], "user": params["user"], "password": params["password"], db_key: params["dbname"]}
    return " ".join(f"{k}={v}" for k, v in parts.items() if v not in (None, ""))


def mysql_connect(params: dict, **extra):
    import mysql.connector

    return mysql.connector.connect(
        host=params["host"], port=params["port"], user=params["user"] or "root", password=params["password"] or "",
        database=params["dbname"], autocommit=True, connection_timeout=10, **extra,
    )


class MySQLDialect(Dialect):
    title = "MySQL"
    extension = "mysql"
    attach_type = "mysql"
    query_function = "mysql_query"
    default_port = 3306
    schemes = ("mysql", "mariadb")

    def quote(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def connect(self, params: dict):
        return mysql_connect(params)

    def attach_dsn(self, params: dict) -> str:
        return mysql_dsn(params)

    def source_schema(self, adapter) -> str:
        return adapter.params["dbname"]

    def list_tables(self, conn, schema: str) -> list[str]:
        rows = run_query(
            conn,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY table_name",
            (schema,),
        )
        return [r[0] for r in rows]

    def describe(self, conn, schema: str) -> dict[str, tuple[list[str], list[str]]]:
        rows = run_query(
            conn,
            "SELECT c.table_name, c.column_name, s.seq_in_index FROM information_schema.columns c "
            "LEFT JOIN information_schema.statistics s ON s.table_schema = c.table_schema AND s.table_name = c.table_name "
            "AND s.column_name = c.column_name AND s.index_name = 'PRIMARY' "
            "WHERE c.table_schema = %s ORDER BY c.table_name, c.ordinal_position",
            (schema,),
        )
        return shapes_of(rows)

    def signature(self, conn, schema: str, table: dict):
        # CHECKSUM TABLE: computed by the server, nothing transferred. Views and `query:` tables have
        # no cheap signal (None: reloaded every run).
        if "query" in table:
            return None
        kind = run_query(
            conn, "SELECT table_type FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
            (schema, table["name"]),
        )
        if not kind or kind[0][0] != "BASE TABLE":
            return None
        rows = run_query(conn, f"CHECKSUM TABLE {self.quote(schema)}.{self.quote(table['name'])}")
        return None if not rows or rows[0][1] is None else str(rows[0][1])

    def literal(self, value) -> str:
        text = super().literal(value)
        return text.replace("\\", "\\\\") if text.startswith("'") else text


class MySQLAdapter(DatabaseAdapter):
    type_name = "mysql"
    description = "tables of a MySQL or MariaDB database (full copy, incremental by a column, or cdc from the row binlog)"
    config_schema = adapter_schema("mysql", "MySQL", with_schema=False)
    dialect = MySQLDialect()

    def cdc_reader(self):
        from fbox_mysql.cdc import MySQLCdc

        return MySQLCdc(self)
