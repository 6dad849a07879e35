"""Connecting to client/server SQL databases: config schemas, DSNs, dialects, scrubbing secrets.

Shared by fbox-postgresql and fbox-mysql; a `Dialect` subclass says how to talk to one kind of server.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import unquote, urlsplit

from featherbox.errors import FeatherBoxError
from featherbox.secrets import encoded_forms, redact

if TYPE_CHECKING:
    from featherbox.database_sources.adapter import DatabaseAdapter

NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
NAME_PATTERN = re.compile(NAME)


def shown(name: str) -> str:
    """`name` as messages show it: as is when it is a plain identifier, else in double quotes."""
    return name if NAME_PATTERN.match(name) else '"' + name.replace('"', '""') + '"'


#: a source table or column name: any text (quoted wherever it is used: `order items`, `bad.select`)
SOURCE_NAME = {"type": "string", "minLength": 1}
#: a duration string (5m, 1h30m), checked by `featherbox.config.durations.parse_duration` (zero is refused)
DURATION = {"type": "string", "minLength": 1, "format": "fbox-duration"}


def connection_schema(dialect_title: str, extra: dict | None = None) -> dict:
    """JSON Schema of a `config:` mapping: host/port/user/password/dbname, or url."""
    props = {
        # the password in a url is a secret (featherbox.secrets), the rest of it is not
        "url": {"type": "string", "minLength": 1, "description": f"{dialect_title} URL: scheme://user:password@host:port/dbname"},
        "host": {"type": "string", "minLength": 1},
        "port": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 65535}, {"type": "string", "pattern": r"^\s*[0-9]+\s*$"}]},
        "user": {"type": "string"},
        "password": {"type": "string", "secret": True},
        "dbname": {"type": "string", "minLength": 1},
        **(extra or {}),
    }
    return {
        "type": "object",
        "properties": props,
        "anyOf": [{"required": ["url"]}, {"required": ["dbname"]}],
        "additionalProperties": False,
    }


PRIMARY_KEY = {
    "description": "the key column(s) rows are merged by; default: the source table's primary key",
    "anyOf": [
        SOURCE_NAME,
        {"type": "array", "minItems": 1, "uniqueItems": True, "items": SOURCE_NAME},
    ],
}


# column mode only (featherbox.database_sources.column_mode)
COLUMN_OPTIONS: dict[str, Any] = {
    "soft_delete": {
        "description": "rows read past the watermark whose flag says deleted are removed from the lake table",
        "type": "object",
        "properties": {
            "column": {**SOURCE_NAME, "description": "deleted when not NULL (or when equal to value)"},
            "value": {"type": ["boolean", "integer", "string"], "description": "the value that means deleted, e.g. true"},
        },
        "required": ["column"],
        "additionalProperties": False,
    },
    "reconcile": {
        **DURATION,
        "description": "how often to compare the lake's keys with the source's and drop rows deleted there: a duration (1d)",
    },
    "chunk_rows": {
        "description": "copy the initial snapshot in chunks of this many rows (by primary key), resumable across runs",
        "type": "integer",
        "minimum": 1,
    },
    "max_chunks_per_run": {
        "description": "chunks of the initial snapshot one run copies and commits (default 10)",
        "type": "integer",
        "minimum": 1,
    },
}


def adapter_schema(type_name: str, dialect_title: str, with_schema: bool, cdc_options: dict | None = None) -> dict:
    props: dict[str, Any] = {
        "type": {"const": type_name},
        "description": {"type": "string"},
        "config": connection_schema(dialect_title),
        "tables": {
            "description": "tables to copy; omit to copy every table of the source schema",
            "type": "array",
            "minItems": 1,
            "items": {
                "oneOf": [
                    SOURCE_NAME,
                    {
                        "type": "object",
                        "properties": {
                            "name": SOURCE_NAME,
                            "query": {"type": "string", "minLength": 1},
                            "primary_key": PRIMARY_KEY,
                        },
                        "required": ["name"],
                        "additionalProperties": False,
                    },
                ]
            },
        },
        "incremental": {
            "description": "omit for a full copy each time the source changes",
            "type": "object",
            "properties": {
                # a registered database strategy (featherbox.database_sources.strategies), checked against the
                # registry by the project loader: `column` (`columner` is an accepted alias), `cdc`
                # (the server's change log, featherbox.database_sources.cdc and the plugin's cdc module), or one
                # a plugin provides, whose own settings go under `options`
                "type": {"type": "string", "minLength": 1},
                "options": {"type": "object", "description": "settings of a strategy a plugin provides"},
                "column": SOURCE_NAME,
                "primary_key": PRIMARY_KEY,
                "lookback": {
                    "description": "re-read rows this far below the watermark: a duration (5m) for time columns, a number for numeric ones",
                    "type": ["string", "number"],
                    "if": {"type": "string"},
                    "then": DURATION,
                    "else": {"minimum": 0},
                },
                **COLUMN_OPTIONS,
                **(cdc_options or {}),
            },
            "required": ["type"],
            "dependentRequired": {"max_chunks_per_run": ["chunk_rows"]},
            "if": {"properties": {"type": {"enum": ["column", "columner"]}}},
            "then": {"required": ["column"], **({"not": {"anyOf": [{"required": [k]} for k in cdc_options]}} if cdc_options else {})},
            "else": {"not": {"anyOf": [{"required": [k]} for k in ("column", "lookback", *COLUMN_OPTIONS)]}},
            "additionalProperties": False,
        },
    }
    if with_schema:
        props["schema"] = {"type": "string", "minLength": 1, "description": "source schema (default public)"}
    return {"type": "object", "properties": props, "required": ["type", "config"], "additionalProperties": False}


def connection_params(config: dict, scheme_names: tuple[str, ...], default_port: int, default_host: str = "127.0.0.1") -> dict:
    """{host, port, user, password, dbname} from `config` (url or separate keys; port may be a string)."""
    params: dict[str, Any] = {"host": default_host, "port": default_port, "user": None, "password": None, "dbname": None}
    url = config.get("url")
    if url:
        parts = urlsplit(url)
        if parts.scheme.split("+")[0] not in scheme_names:
            raise FeatherBoxError(f"config.url must start with {' or '.join(s + '://' for s in scheme_names)}")
        params.update(
            host=parts.hostname or default_host,
            port=parts.port or default_port,
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
            dbname=unquote(parts.path.lstrip("/")) or None,
        )
    for key in ("host", "user", "password", "dbname"):
        if config.get(key) not in (None, ""):
            params[key] = config[key]
    if config.get("port") not in (None, ""):
        try:
            params["port"] = int(str(config["port"]).strip())
        except ValueError:
            raise FeatherBoxError(f"config.port must be a number, got {config['port']!r}") from None
    if not params["dbname"]:
        raise FeatherBoxError("config needs dbname (or a url that names the database)")
    return params


def scrub(text: str, params: dict, *dsns: str) -> str:
    """`text` without the DSNs and the password (and every registered secret)."""
    text = str(text)
    for dsn in dsns:
        if dsn:
            text = text.replace(dsn, "<connection string hidden>")
    password = params.get("password")
    if password and len(str(password)) >= 3:
        for form in sorted(encoded_forms(str(password)), key=len, reverse=True):  # quoted, escaped, URL-encoded
            text = text.replace(form, "***")
    return redact(text)


def duckdb_secret_sql(name: str, secret_type: str, params: dict) -> str:
    """`CREATE OR REPLACE TEMPORARY SECRET` with `params`' connection settings (a `postgres` or
    `mysql` secret: HOST, PORT, DATABASE, USER, PASSWORD). An `ATTACH` naming the secret holds no
    password, and DuckDB shows the secret's PASSWORD as "redacted"."""
    from featherbox.sql import sql_string

    options = [f"TYPE {secret_type}", f"PORT {int(params['port'])}"]
    for option, key in (("HOST", "host"), ("DATABASE", "dbname"), ("USER", "user"), ("PASSWORD", "password")):
        if params.get(key) not in (None, ""):
            options.append(f"{option} {sql_string(str(params[key]))}")
    return f"CREATE OR REPLACE TEMPORARY SECRET {name} ({', '.join(options)})"


class Dialect:
    """How to reach one kind of SQL server."""

    title: ClassVar[str]  # "PostgreSQL"
    extension: ClassVar[str]  # DuckDB extension: "postgres"
    attach_type: ClassVar[str]  # ATTACH ... (TYPE x)
    query_function: ClassVar[str]  # postgres_query / mysql_query
    default_port: ClassVar[int]
    schemes: ClassVar[tuple[str, ...]]
    #: what `signature` compares, for the plan's reason
    signature_meaning: ClassVar[str] = "row count or content checksum"
    #: whether the server tells column names apart by case (PostgreSQL; MySQL and SQLite do not)
    case_sensitive: ClassVar[bool] = False

    def quote(self, name: str) -> str:
        raise NotImplementedError

    def describe(self, conn, schema: str) -> dict[str, tuple[list[str], list[str]]]:
        """Every table and view of `schema`: name -> (its columns in order, its primary key columns in
        key order, [] when it has none)."""
        raise NotImplementedError

    def query_columns(self, conn, query: str) -> list[str]:
        """The result columns of `query` (run with no rows)."""
        cur = conn.cursor()
        try:
            cur.execute(f"SELECT * FROM ({query}) AS fbox_q WHERE 1 = 0")
            columns = [d[0] for d in cur.description or ()]
            cur.fetchall()
            return columns
        finally:
            cur.close()

    def probe(self, con, alias: str) -> None:
        """Run a trivial statement through the attached source `alias` (inside the lake transaction,
        whose COMMIT also ends the source's read transaction): raises when the server went away."""
        from featherbox.sql import sql_string

        con.execute(f"SELECT * FROM {self.query_function}({sql_string(alias)}, 'SELECT 1 AS fbox_alive')").fetchall()

    def connect(self, params: dict):
        raise NotImplementedError

    def attach_dsn(self, params: dict) -> str:
        raise NotImplementedError

    def source_schema(self, adapter: DatabaseAdapter) -> str:
        raise NotImplementedError

    def list_tables(self, conn, schema: str) -> list[str]:
        raise NotImplementedError

    def signature(self, conn, schema: str, table: dict) -> Any:
        """A cheap-as-possible value that changes when the table's content does; None = unknown."""
        raise NotImplementedError

    def scan(self, con, alias: str, sql: str, table: str) -> str:
        """A DuckDB FROM item running `sql` at the source (through the attached `alias`), so its
        WHERE runs there; `table` is the source table it reads."""
        from featherbox.sql import sql_string

        return f"{self.query_function}({sql_string(alias)}, {sql_string(sql)})"

    def literal(self, value: Any) -> str:
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, (int, float, Decimal)):
            return str(value)
        if isinstance(value, dt.datetime):
            return "'" + value.isoformat(sep=" ") + "'"
        if isinstance(value, dt.date):
            return "'" + value.isoformat() + "'"
        return "'" + str(value).replace("'", "''") + "'"


def shapes_of(rows) -> dict[str, tuple[list[str], list[str]]]:
    """`Dialect.describe`'s result from (table, column, position in the primary key or None) rows in
    column order."""
    columns: dict[str, list[str]] = {}
    keys: dict[str, list[tuple[int, str]]] = {}
    for table, column, position in rows:
        table, column = _text(table), _text(column)
        columns.setdefault(table, []).append(column)
        if position is not None:
            keys.setdefault(table, []).append((int(position), column))
    return {t: (cols, [c for _, c in sorted(keys.get(t, []))]) for t, cols in columns.items()}


def _text(value) -> str:
    return value.decode() if isinstance(value, (bytes, bytearray)) else str(value)


def run_query(conn, sql: str, params: tuple = ()) -> list[tuple]:
    cur = conn.cursor()
    try:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else []
    finally:
        cur.close()


# watermark values <-> JSON state


def encode_value(value: Any) -> dict | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return {"kind": "timestamp", "value": value.isoformat()}
    if isinstance(value, dt.date):
        return {"kind": "date", "value": value.isoformat()}
    if isinstance(value, bool):
        return {"kind": "str", "value": str(value)}
    if isinstance(value, int):
        return {"kind": "int", "value": value}
    if isinstance(value, (float, Decimal)):
        return {"kind": "number", "value": str(value)}
    return {"kind": "str", "value": str(value)}


def decode_value(data: dict | None) -> Any:
    if not data:
        return None
    kind, value = data["kind"], data["value"]
    if kind == "timestamp":
        return dt.datetime.fromisoformat(value)
    if kind == "date":
        return dt.date.fromisoformat(value)
    if kind == "int":
        return int(value)
    if kind == "number":
        return Decimal(value)
    return value
