"""The text of the files `fbox init` and `fbox model new` write. Adapter files are written by their
types (`AdapterType.new_file`), with the helpers in `featherbox.yaml_text`.

Every YAML file starts with a `yaml-language-server` line pointing at the JSON Schema that
`fbox schema` writes to `.fbox/schemas/<kind>.json`, so editors can complete and check it.
"""

from __future__ import annotations

import json
import textwrap

from featherbox.yaml_text import schema_line, yaml_scalar

GITIGNORE_LINES = ("data/", ".fbox/", ".env")


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
