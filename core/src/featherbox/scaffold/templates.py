"""The text of the files `fbox init`, `fbox adapter new` and `fbox model new` write.

Every YAML file starts with a `yaml-language-server` line pointing at the JSON Schema that
`fbox schema` writes to `.fbox/schemas/<kind>.json`, so editors can complete and check it.
"""

from __future__ import annotations

import json
import posixpath
import textwrap
from collections.abc import Sequence

SCHEMA_DIR = ".fbox/schemas"
GITIGNORE_LINES = ("data/", ".fbox/", ".env")


def schema_line(relative_file: str, kind: str) -> str:
    """`# yaml-language-server: $schema=...` for a file at `relative_file` (posix, from the project root)."""
    folder = posixpath.dirname(relative_file)
    target = posixpath.relpath(f"{SCHEMA_DIR}/{kind}.json", folder or ".")
    return f"# yaml-language-server: $schema={target}\n"


def yaml_scalar(value) -> str:
    """`value` as a one-line YAML scalar, quoted only when YAML needs it."""
    text = json.dumps(value) if not isinstance(value, str) else None
    if text is not None:
        return text
    import yaml

    dumped = yaml.safe_dump(value, default_flow_style=True, width=10**9, allow_unicode=True)
    dumped = dumped.removesuffix("\n...\n").removesuffix("\n")
    if "\n" in dumped:  # a string with line breaks: JSON's double quotes are valid YAML
        return json.dumps(value, ensure_ascii=False)
    return dumped


def yaml_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(yaml_scalar(v) for v in values) + "]"


def sql_block(sql: str, key: str = "sql") -> str:
    """`sql: |` followed by the statement, indented; falls back to a quoted string when a block cannot hold it."""
    import yaml

    body = textwrap.dedent(sql.expandtabs(4)).strip("\n")
    lines = [line.rstrip() for line in body.splitlines()]
    text = f"{key}: |\n" + "".join(f"  {line}\n" if line else "\n" for line in lines)
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        parsed = None
    if not isinstance(parsed, dict) or parsed.get(key, "").strip() != "\n".join(lines).strip():
        return f"{key}: {json.dumps(sql.strip(), ensure_ascii=False)}\n"
    return text


# --- project ------------------------------------------------------------------------------

PROJECT_YML = """\
{schema}# FeatherBox project settings. Adapters (adapters/*.yml) load sources into the lake,
# models (models/**/*.yml) transform them with SQL; `fbox run` does only the work that changed.
# Values may use $VAR or ${{VAR}} from the environment or a .env file next to this file.

# Where DuckLake writes its data files (Parquet).
storage:
  type: local
  path: data                   # relative to the project directory

# Where the DuckLake catalog and FeatherBox's run history live.
database:
  type: sqlite
  path: .fbox/catalog.sqlite   # relative to the project directory

deployments:
  timeout: 10m                 # a run is stopped after this long (30s, 10m, 1h, 1h30m, ...)
"""


def project_yml() -> str:
    return PROJECT_YML.format(schema=schema_line("project.yml", "project"))


def gitignore(existing: str = "") -> str:
    """`existing` with FeatherBox's lines added where missing."""
    present = {line.strip() for line in existing.splitlines()}
    missing = [line for line in GITIGNORE_LINES if line not in present and line.rstrip("/") not in present]
    if not missing:
        return existing
    out = existing
    if out and not out.endswith("\n"):
        out += "\n"
    if out:
        out += "\n"
    out += "# FeatherBox: the lake's data files, catalog and run state, and secrets\n"
    out += "".join(f"{line}\n" for line in missing)
    return out


# --- adapters -----------------------------------------------------------------------------

def _description(description: str | None, fallback: str) -> str:
    if description:
        return f"description: {yaml_scalar(description)}\n"
    return f"description: {yaml_scalar(fallback)}\n"


FILE_YML = """\
{schema}type: {type}
{description}
{config}
# Which files to load: a glob (*, ?, **) relative to {base}. Time tokens [YYYY] [MM] [DD] [HH]
# [mm] [SS] match digits and add a _file_time column, e.g. logs/[YYYY]/[MM]/[DD]/app_[HH].csv.gz.
# Every row also gets _source_file, the file it came from.
path: {path}

# csv | tsv | json | ndjson | parquet; .gz and .zst files are decompressed.
format:
{format_lines}
# Which files a run reads again:
#   filename - only files not loaded before (new names)   content - also files whose size/time changed
#   full     - reload everything on every change
update_strategy: filename

# Only files whose time (from the time tokens) falls in this range (UTC unless the value has an
# offset such as +09:00; until is exclusive):
# range:
#   since: 2024-01-01T00:00:00
#   until: 2025-01-01T00:00:00
"""

_FORMAT_LINES = {
    "csv": "  type: csv\n  header: true\n  # delimiter: \",\"\n  # columns: {id: INTEGER, name: VARCHAR}   # omit to infer\n",
    "tsv": "  type: tsv\n  header: true\n  # columns: {id: INTEGER, name: VARCHAR}   # omit to infer types\n",
    "json": "  type: json\n",
    "ndjson": "  type: ndjson\n",
    "parquet": "  type: parquet\n",
}

PLACEHOLDER = "CHANGE_ME"


def example_value(prop):
    """A value the property schema `prop` accepts, for a line the user uncomments and edits: its
    default, first example, const or enum value, else one of its type (a string is CHANGE_ME)."""
    if not isinstance(prop, dict):
        return PLACEHOLDER
    if "default" in prop:
        return prop["default"]
    if prop.get("examples"):
        return prop["examples"][0]
    if "const" in prop:
        return prop["const"]
    if prop.get("enum"):
        return prop["enum"][0]
    for key in ("anyOf", "oneOf"):
        if prop.get(key):
            return example_value(prop[key][0])
    kind = prop.get("type")
    kind = kind[0] if isinstance(kind, list) and kind else kind
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        if "minimum" in prop:
            return prop["minimum"]
        return prop["exclusiveMinimum"] + 1 if "exclusiveMinimum" in prop else 0
    if kind == "array":
        return [example_value(prop.get("items", {}))] * max(prop.get("minItems", 1), 1)
    if kind == "object":
        return {}
    return PLACEHOLDER


def config_section(schema: dict, values: dict | None = None) -> str:
    """`config:` with the settings a type's `config_schema` describes.

    `values` are written as given; other required settings get the placeholder CHANGE_ME, and
    optional ones are listed as commented-out lines with a value their schema accepts and their
    descriptions, so uncommenting a line gives a file that loads.
    """
    values = dict(values or {})
    config = (schema.get("properties") or {}).get("config") or {}
    properties = config.get("properties") or {}
    required = set(config.get("required") or [])

    def note(key: str, extra: str = "") -> str:
        prop = properties.get(key)
        text = prop.get("description") if isinstance(prop, dict) else None
        text = ": ".join(t for t in (extra, text) if t)
        return f"   # {text}" if text else ""

    settings = [f"{key}: {yaml_scalar(value)}{note(key)}" for key, value in values.items()]
    settings += [f"{key}: {PLACEHOLDER}{note(key, 'required')}" for key in properties if key in required and key not in values]
    optional = [
        f"{key}: {yaml_scalar(example_value(properties[key]))}{note(key)}"
        for key in properties if key not in required and key not in values
    ]
    if settings:
        return "config:\n" + "".join(f"  {line}\n" for line in settings) + "".join(f"  # {line}\n" for line in optional)
    if not optional:
        return "config: {}\n"
    # `config:` with nothing under it is an empty mapping (the loader reads it so)
    head = "# Settings of this source: uncomment the ones it needs (`fbox plan` checks them).\nconfig:\n"
    return head + "".join(f"  # {line}\n" for line in optional)


def file_adapter(
    name: str, type_name: str, schema: dict, path: str, fmt: str,
    config: dict | None = None, description: str | None = None,
) -> str:
    """A file source; for localfile `config` is {"base_path": ...}."""
    return FILE_YML.format(
        schema=schema_line(f"adapters/{name}.yml", "adapter"),
        type=yaml_scalar(type_name),
        description=_description(description, f"Files loaded into table raw.{name}"),
        config=config_section(schema, config),
        base="base_path" if type_name == "localfile" else "the configured location",
        path=yaml_scalar(path),
        format_lines=_FORMAT_LINES[fmt],
    )


SQLITE_YML = """\
{schema}type: sqlite
{description}
config:
  path: {path}   # the SQLite file; relative to the project directory

# Tables to copy into schema {name} (as {name}.<table>); omit to copy every table.
# An entry may also be a query: {{name: recent_orders, query: "SELECT * FROM orders WHERE ..."}}
{tables}"""


def sqlite_adapter(name: str, db_path: str, tables: Sequence[str] | None, description: str | None = None) -> str:
    tables_line = f"tables: {yaml_list(tables)}\n" if tables else "# tables: [users, orders]\n"
    return SQLITE_YML.format(
        schema=schema_line(f"adapters/{name}.yml", "adapter"),
        description=_description(description, f"Tables of a SQLite database, loaded into schema {name}"),
        path=yaml_scalar(db_path),
        name=name,
        tables=tables_line,
    )


DATABASE_YML = """\
{schema}type: {type}
{description}
# How to reach the {title} server: dbname and the keys below, or a url instead of them.
config:
  host: 127.0.0.1
  port: {port}
  dbname: {placeholder}   # required (unless the url names it)
  user: {placeholder}
  # password: {placeholder}   # better: password: $SOME_VARIABLE, set in the environment or .env; masked in every output
  # url: {scheme}://user:password@127.0.0.1:{port}/dbname   # instead of host, port, user, password and dbname
{schema_line}
# Tables to copy into schema {name} (as {name}.<table>); omit to copy every table{of_schema}.
# An entry may also be a query: {{name: recent_orders, query: "SELECT * FROM orders WHERE ..."}}
# tables: [users, orders]

# Copy only new and changed rows, found by a column that grows with each change, and merge them
# by the table's primary key (omit to copy whole tables whenever the source changed):
# incremental:
#   type: column
#   column: updated_at
"""


def database_adapter(name: str, type_name: str, schema: dict, title: str, port: int, scheme: str, description: str | None = None) -> str:
    """A client/server database source (postgresql, mysql): `config` with host, port, dbname, user."""
    with_schema = "schema" in (schema.get("properties") or {})
    return DATABASE_YML.format(
        schema=schema_line(f"adapters/{name}.yml", "adapter"),
        type=yaml_scalar(type_name),
        description=_description(description, f"Tables of a {title} database, loaded into schema {name}"),
        title=title,
        port=port,
        scheme=scheme,
        placeholder=PLACEHOLDER,
        schema_line="# schema: public   # the source schema (default public)\n" if with_schema else "",
        name=name,
        of_schema=" of the source schema" if with_schema else " of the database",
    )


GENERIC_YML = """\
{schema}type: {type}
{description}
{config}"""


def generic_adapter(name: str, type_name: str, schema: dict, description: str | None = None) -> str:
    return GENERIC_YML.format(
        schema=schema_line(f"adapters/{name}.yml", "adapter"),
        type=yaml_scalar(type_name),
        description=_description(description, f"{type_name} source {name}"),
        config=config_section(schema),
    )


# --- models -------------------------------------------------------------------------------

DEFAULT_MODEL_SQL = "-- Replace with your query. Read adapter tables and other models by name,\n-- e.g. SELECT * FROM staging.orders (a bare name works when only one table has it).\nSELECT 1 AS id\n"

MODEL_YML = """\
{schema}description: {description}

# One SELECT (WITH ... SELECT is fine); its result becomes table {qualified}.
{sql}
# Rebuild at least this often even when nothing it reads changed (30m, 6h, 1d, ...):
{max_age}
# table (the default) stores the result; view stores only the query.
# materialized: table
"""


def model_yml(relative_file: str, qualified: str, sql: str | None, max_age: str | None, description: str | None = None) -> str:
    return MODEL_YML.format(
        schema=schema_line(relative_file, "model"),
        description=yaml_scalar(description or f"Model {qualified}"),
        qualified=qualified,
        sql=sql_block(sql if sql and sql.strip() else DEFAULT_MODEL_SQL),
        max_age=f"max_age: {yaml_scalar(max_age)}" if max_age else "# max_age: 6h",
    )
