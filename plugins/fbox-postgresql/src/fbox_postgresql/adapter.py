"""`type: postgresql`: tables of a PostgreSQL schema, copied through DuckDB's postgres extension."""

from __future__ import annotations

from featherbox.database_sources.adapter import DatabaseAdapter
from featherbox.database_sources.connection import Dialect, adapter_schema, run_query, shapes_of


def libpq_value(value) -> str:
    text = str(value)
    if text and all(c.isalnum() or c in "._-/:@" for c in text):
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def libpq_dsn(params: dict, dbname_key: str = "dbname") -> str:
    parts = {dbname_key: params["dbname"], "host": params["host"], "port": params["port"], "user": params["user"], "password": params["password"]}
    return " ".join(f"{k}={libpq_value(v)}" for k, v in parts.items() if v not in (None, ""))


class PostgresDialect(Dialect):
    title = "PostgreSQL"
    extension = "postgres"
    attach_type = "postgres"
    query_function = "postgres_query"
    default_port = 5432
    schemes = ("postgresql", "postgres")
    case_sensitive = True

    def quote(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def connect(self, params: dict):
        import psycopg

        return psycopg.connect(
            host=params["host"], port=params["port"], user=params["user"], password=params["password"],
            dbname=params["dbname"], autocommit=True, connect_timeout=10,
        )

    def attach_dsn(self, params: dict) -> str:
        return libpq_dsn(params)

    def source_schema(self, adapter) -> str:
        return adapter.spec.raw.get("schema") or "public"

    def list_tables(self, conn, schema: str) -> list[str]:
        rows = run_query(
            conn,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
            "AND table_type IN ('BASE TABLE', 'VIEW', 'FOREIGN') ORDER BY table_name",
            (schema,),
        )
        return [r[0] for r in rows]

    def describe(self, conn, schema: str) -> dict[str, tuple[list[str], list[str]]]:
        # pg_catalog, not information_schema: its table_constraints hides the keys of tables the
        # user may only SELECT from
        rows = run_query(
            conn,
            "SELECT c.relname::text, a.attname::text, array_position(i.indkey::int2[], a.attnum) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
            "LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary AND a.attnum = ANY(i.indkey) "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY c.relname, a.attnum",
            (schema,),
        )
        return shapes_of(rows)

    def signature(self, conn, schema: str, table: dict):
        # One scan at the source, nothing transferred: row count and an order-independent sum of row hashes.
        source = f"({table['query']})" if "query" in table else f"{self.quote(schema)}.{self.quote(table['name'])}"
        row = run_query(conn, f"SELECT count(*), coalesce(sum(hashtext(fbox_t::text)::bigint), 0)::text FROM {source} AS fbox_t")[0]
        return f"{row[0]}:{row[1]}"


class PostgresAdapter(DatabaseAdapter):
    type_name = "postgresql"
    description = "tables of a PostgreSQL database (full copy, incremental by a column, or cdc from a replication slot)"
    config_schema = adapter_schema("postgresql", "PostgreSQL", with_schema=True, cdc_options={
        "slot": {"type": "string", "pattern": r"^[a-z0-9_]{1,63}$",
                 "description": "cdc: replication slot (and publication) name; default fbox_<adapter>_<hash>"},
    })
    dialect = PostgresDialect()

    def cdc_reader(self):
        from fbox_postgresql.cdc import PostgresCdc

        return PostgresCdc(self)

