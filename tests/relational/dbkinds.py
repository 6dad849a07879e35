"""What differs between PostgreSQL and MariaDB in the scenarios that test_loads.py and test_cdc.py
write once for both: seed SQL, how rows are read back on each side, adapter YAML and the few
server-specific checks. `POSTGRES` and `MARIADB` are the two descriptions; the `server` fixture
(conftest.py) runs a scenario on each. test_names_and_keys.py also runs its scenarios on a SQLite
file (`SQLITE`, `KINDS`)."""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from dbservers import Source
from featherbox.testing import fresh_database


class Server:
    kind: str  # the adapter type
    name: str
    quote: str  # around a database name
    ident_quote: str  # around a table or column name in the server's SQL
    ts_type: str  # a column type holding '2024-05-01 12:00:00'
    has_cdc: bool = True
    drop_options: str = ""
    fixture: str  # a fresh database on the shared server (tests/dbservers.py)
    cdc_fixture: str  # a fresh database on the throwaway CDC-capable server (conftest.py)

    # -- full and column-incremental loads (test_loads.py): customers and orders
    load_ddl: tuple[str, ...]
    t0: datetime
    column_type: str  # `incremental.type` of the column scenario
    customers_source: str  # id, name, balance, updated_at as text with microseconds
    customers_lake_ts: str  # DuckDB expression for updated_at as the same text

    # -- CDC (test_cdc.py): items, with every type the server's change log has to carry, and pairs
    cdc_seed: tuple[str, ...]
    items_columns: tuple[str, ...]
    items_source: str
    items_lake: str
    json_column: str | None = None  # compared after normalizing the JSON text
    insert_row_21: str  # quotes, a newline and NULLs
    update_row_2: str
    later_change: str  # the third run's single change
    bulk_insert: str  # ids 1000 to 1999, named 'bulk'
    cdc_options: str = ""  # more `incremental:` lines for the scenario that names what the server holds
    held_named: list[tuple] = []  # what `held` shows once that scenario has run
    cdc_reader: str  # "module:Class" of the plugin's CdcReader
    cdc_off_message: str  # what `fbox run` says on a server without the change log

    def seed_customers(self, source: Source) -> None:
        source.sql(*self.load_ddl)
        cur = source.con.cursor()
        cur.executemany(
            "INSERT INTO customers VALUES (%s, %s, %s, %s)",
            [(i, f"c{i}", Decimal(i) / 4, self.t0 + timedelta(minutes=i)) for i in range(1, 21)],
        )
        orders = [(i, i % 20 + 1, i * 1.5, "it's \\ ok") for i in range(1, 51)]
        cur.executemany("INSERT INTO orders VALUES (%s, %s, %s, %s)", orders)
        cur.close()

    def lake_customers(self, query) -> list[tuple]:
        updated_at = f"strftime({self.customers_lake_ts}, '%Y-%m-%d %H:%M:%S.%f')"
        rows = query(f"SELECT id, name, balance, {updated_at} AS updated_at FROM raw_src.customers")
        return sorted((r["id"], r["name"], Decimal(str(r["balance"])), r["updated_at"]) for r in rows)

    def source_customers(self, source: Source) -> list[tuple]:
        return [(r[0], r[1], Decimal(r[2]), r[3]) for r in source.rows(self.customers_source)]

    def bad_connection(self, source: Source) -> tuple[str, list[str]]:
        """An adapter config that cannot connect (with a password in it), and what the error names."""
        host, port, needles = self.refused(source)
        config = f"""
            type: {self.kind}
            config:
              host: {host}
              port: {port}
              user: {source.params['user']}
              password: TopSecret-pw-123
              dbname: {source.dbname}
        """
        return config, needles

    def refused(self, source: Source) -> tuple[str, int, list[str]]:
        """Host and port for `bad_connection`, and what its error names."""
        raise NotImplementedError

    def lake_items(self, query) -> list[tuple]:
        return sorted(self._normalized(tuple(r[c] for c in self.items_columns)) for r in query(self.items_lake))

    def source_items(self, source: Source) -> list[tuple]:
        return sorted(self._normalized(r) for r in source.rows(self.items_source))

    def _normalized(self, row: tuple) -> tuple:
        if self.json_column is None:
            return row
        i = self.items_columns.index(self.json_column)
        value = row[i] and json.dumps(json.loads(row[i]), separators=(",", ":"))
        return (*row[:i], value, *row[i + 1:])

    def connect(self, params: dict, dbname: str | None):
        """An autocommit connection to `dbname` (None: to the server without choosing a database)."""
        raise NotImplementedError

    @contextmanager
    def fresh_database(self, params: dict):
        """A new database on the server at `params`, as a Source; dropped afterwards (after `release`)."""
        with fresh_database(self.kind, params, before_drop=self.release) as source:
            yield source

    def release(self, cur, dbname: str) -> None:
        """Drop what CDC left at the server for the database (before the database itself)."""

    def held(self, source: Source) -> list[tuple]:
        """What CDC keeps at the server (a replication slot and its publication, ...)."""
        return []

    def position(self, source: Source):
        """How far the server has released changes to the lake (None: it keeps no such position)."""
        return None

    def cdc_ready(self, source: Source) -> bool:
        raise NotImplementedError


class Postgres(Server):
    kind, name, fixture, cdc_fixture = "postgresql", "PostgreSQL", "pg", "pgl"
    quote, drop_options = '"', " WITH (FORCE)"
    ident_quote, ts_type = '"', "timestamp"

    def where(self, source) -> str:
        """How errors name the source."""
        return f"PostgreSQL at {source.params['host']}:{source.params['port']}"

    load_ddl = (
        "CREATE TABLE customers (id int PRIMARY KEY, name text, balance numeric(10,2), updated_at timestamptz NOT NULL)",
        "CREATE TABLE orders (id int PRIMARY KEY, customer_id int, amount double precision, note text)",
        "CREATE SCHEMA other",
        "CREATE TABLE other.hidden (x int)",
    )
    t0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
    column_type = "column"
    customers_source = "SELECT id, name, balance, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') FROM customers"
    customers_lake_ts = "updated_at AT TIME ZONE 'UTC'"

    cdc_seed = (
        "CREATE TABLE items (id int PRIMARY KEY, name text, price numeric(10,2), ts timestamptz, flag boolean, "
        "raw bytea, tags int[], doc jsonb, big text)",
        "ALTER TABLE items ALTER COLUMN big SET STORAGE EXTERNAL",  # big values go to TOAST uncompressed
        "CREATE TABLE pairs (a int, b text, v text, PRIMARY KEY (a, b))",
        "INSERT INTO items SELECT g, 'item ' || g || ' it''s', g * 1.25, '2024-05-01 12:00:00+00'::timestamptz + g * interval '1 minute', "
        "g % 2 = 0, '\\x0102'::bytea, ARRAY[g, g + 1], jsonb_build_object('g', g), CASE WHEN g = 3 THEN repeat('x', 5000) END "
        "FROM generate_series(1, 20) g",
        "INSERT INTO pairs SELECT g, 'k' || g, 'v' FROM generate_series(1, 5) g",
    )
    items_columns = ("id", "name", "price", "ts", "flag", "raw", "tags", "doc", "big")
    items_source = ("SELECT id, name, price::text, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), flag, "
                    "encode(raw, 'hex'), array_to_string(tags, ','), doc::text, md5(big) FROM items")
    items_lake = ("SELECT id, name, price::VARCHAR AS price, strftime(ts AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S') AS ts, flag, "
                  "lower(hex(raw)) AS raw, array_to_string(tags, ',') AS tags, doc::VARCHAR AS doc, md5(big) AS big FROM raw_src.items")
    json_column = "doc"  # jsonb comes back re-spaced
    insert_row_21 = ("INSERT INTO items (id, name, price, flag, doc) "
                     "VALUES (21, 'new ''quoted'' \"x\"\nline', 9.99, NULL, '{\"a\": [1, null]}')")
    update_row_2 = "UPDATE items SET name = 'renamed', tags = '{}' WHERE id = 2"
    later_change = "UPDATE items SET flag = true WHERE id = 1"
    bulk_insert = "INSERT INTO items (id, name) SELECT g, 'bulk' FROM generate_series(1000, 1999) g"
    cdc_options = "  slot: fbox_custom_slot\n"
    held_named = [("fbox_custom_slot", "pgoutput"), ("fbox_custom_slot", "publication")]
    cdc_reader = "fbox_postgresql.cdc:PostgresCdc"
    cdc_off_message = "set wal_level = logical in postgresql.conf and restart"

    def refused(self, source):
        return "127.0.0.1", 1, ["src", "PostgreSQL at 127.0.0.1"]  # nothing listens on port 1

    def connect(self, params, dbname):
        import psycopg

        given = {k: v for k, v in params.items() if v != ""}
        return psycopg.connect(**given, dbname=dbname or "postgres", autocommit=True)

    def release(self, cur, dbname):
        cur.execute("SELECT slot_name FROM pg_replication_slots WHERE database = %s", (dbname,))
        for (slot,) in cur.fetchall():
            cur.execute("SELECT pg_drop_replication_slot(%s)", (slot,))

    def held(self, source):
        return (source.rows("SELECT slot_name, plugin FROM pg_replication_slots")
                + source.rows("SELECT pubname, 'publication' FROM pg_publication"))

    def position(self, source):
        return source.rows("SELECT slot_name, confirmed_flush_lsn::text FROM pg_replication_slots")

    def cdc_ready(self, source):
        return source.rows("SHOW wal_level")[0][0] == "logical"


class MariaDB(Server):
    kind, name, fixture, cdc_fixture = "mysql", "MariaDB", "my", "myb"
    quote = "`"
    ident_quote, ts_type = "`", "datetime(6)"

    def where(self, source) -> str:
        return f"MySQL at {source.params['host']}:{source.params['port']}"

    load_ddl = (
        "CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(50), balance DECIMAL(10,2), updated_at DATETIME(6) NOT NULL)",
        "CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT, amount DOUBLE, note TEXT)",
    )
    t0 = datetime(2024, 5, 1, 12, 0, 0)
    column_type = "columner"  # the alias of `column`, covered here
    customers_source = "SELECT id, name, balance, DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s.%f') FROM customers"
    customers_lake_ts = "updated_at"

    cdc_seed = (
        "CREATE TABLE items (id int PRIMARY KEY, name varchar(100), price decimal(10,2), ts datetime, raw varbinary(10), "
        "doc text, big longtext)",
        "CREATE TABLE pairs (a int, b varchar(10), v varchar(20), PRIMARY KEY (a, b))",
        "INSERT INTO items SELECT seq, concat('item ', seq, ' it''s \\\\ back'), seq * 1.25, "
        "'2024-05-01 12:00:00' + INTERVAL seq MINUTE, x'0102', concat('{\"g\": ', seq, '}'), "
        "IF(seq = 3, repeat('x', 5000), NULL) FROM seq_1_to_20",
        "INSERT INTO pairs SELECT seq, concat('k', seq), 'v' FROM seq_1_to_5",
    )
    items_columns = ("id", "name", "price", "ts", "raw", "doc", "big")
    items_source = ("SELECT id, name, CAST(price AS char), DATE_FORMAT(ts, '%Y-%m-%d %H:%i:%s'), lower(hex(raw)), doc, md5(big) "
                    "FROM items")
    items_lake = ("SELECT id, name, price::VARCHAR AS price, strftime(ts, '%Y-%m-%d %H:%M:%S') AS ts, lower(hex(raw)) AS raw, "
                  "doc, md5(big) AS big FROM raw_src.items")
    insert_row_21 = "INSERT INTO items (id, name, price, doc) VALUES (21, 'new ''quoted'' \"x\"\\nline', 9.99, NULL)"
    update_row_2 = "UPDATE items SET name = 'renamed', raw = NULL WHERE id = 2"
    later_change = "UPDATE items SET doc = 'again' WHERE id = 1"
    bulk_insert = "INSERT INTO items (id, name) SELECT seq, 'bulk' FROM seq_1000_to_1999"
    cdc_reader = "fbox_mysql.cdc:MySQLCdc"
    cdc_off_message = "set binlog_format=ROW and binlog_row_metadata=FULL"

    def refused(self, source):
        host = source.params["host"]
        return host, source.params["port"], ["src", f"MySQL at {host}", "Access denied"]  # a wrong password

    def connect(self, params, dbname):
        import mysql.connector

        return mysql.connector.connect(**params, **({"database": dbname} if dbname else {}), autocommit=True)

    def cdc_ready(self, source):
        log_bin, binlog_format = source.rows("SELECT @@log_bin, @@binlog_format")[0]
        return log_bin == 1 and str(binlog_format).upper() == "ROW"


class SQLiteFile(Server):
    """A SQLite file as a source (`sq` fixture in the test modules that use it): no server, no CDC."""

    kind, name, fixture = "sqlite", "SQLite", "sq"
    ident_quote, ts_type, has_cdc = '"', "TEXT", False

    def where(self, source) -> str:
        return f"SQLite file {source.path}"


class SQLiteSource(Source):
    """A SQLite file in the shape of `dbservers.Source`; `config_yaml` gives `path:`."""

    def __init__(self, path):
        import sqlite3

        super().__init__("sqlite", {"host": None, "port": None, "user": None, "password": ""}, path.stem,
                         sqlite3.connect(path, isolation_level=None))
        self.path = path

    def sql(self, *statements: str, params=None) -> None:
        for statement in statements:
            self.con.execute(statement)

    def config_yaml(self, indent: int = 2) -> str:
        return " " * indent + f"path: {self.path}"


POSTGRES, MARIADB, SQLITE = Postgres(), MariaDB(), SQLiteFile()
SERVERS = (POSTGRES, MARIADB)
KINDS = (SQLITE, POSTGRES, MARIADB)
