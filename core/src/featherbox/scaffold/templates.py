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

# Each adapter type writes its own template (`AdapterType.new_file`: the generic one below, the
# file kit's in `featherbox.file_sources.template`, the database kit's in
# `featherbox.database_sources.template`, a plugin's in its package); these helpers are shared.

def description_line(description: str | None, fallback: str) -> str:
    """`description: ...` with `description`, or else `fallback`."""
    return f"description: {yaml_scalar(description or fallback)}\n"


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


def required_config(schema: dict) -> list[str]:
    """The `config:` keys a type's `config_schema` requires."""
    config = (schema.get("properties") or {}).get("config") or {}
    return list(config.get("required") or [])


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


GENERIC_YML = """\
{schema}type: {type}
{description}
{config}"""


def generic_adapter(name: str, type_name: str, schema: dict, description: str | None = None) -> str:
    """`type`, `description` and `config:` from the type's schema (`AdapterType.new_file`'s default)."""
    return GENERIC_YML.format(
        schema=schema_line(f"adapters/{name}.yml", "adapter"),
        type=yaml_scalar(type_name),
        description=description_line(description, f"{type_name} source {name}"),
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
