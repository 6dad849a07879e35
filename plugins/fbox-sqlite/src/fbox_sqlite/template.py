"""`fbox adapter new NAME --type sqlite [--db-path FILE] [--tables a,b]`: the SQLite file and the
tables to copy (`SQLiteAdapter.new_file`)."""

from __future__ import annotations

import re

from featherbox.errors import FeatherBoxError
from featherbox.extension import AdapterTemplate

OPTIONS = {
    "db-path": "the SQLite file, relative to the project (default: sources/NAME.sqlite)",
    "tables": "tables to copy, comma-separated (default: all)",
}

#: the table names --tables takes (any other is written in the file by hand)
_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

SQLITE_YML = """\
{schema}type: sqlite
{description}
config:
  path: {path}   # the SQLite file; relative to the project directory

# Tables to copy into schema {lake_schema} (as {lake_schema}.<table>); omit to copy every table.
# An entry may also be a query: {{name: recent_orders, query: "SELECT * FROM orders WHERE ..."}}
{tables}"""


def sqlite_template(name: str, options: dict[str, str], description: str | None = None) -> AdapterTemplate:
    from featherbox.layout import adapter_lake_schema
    from featherbox.yaml_text import description_line, schema_line, yaml_list, yaml_scalar

    tables = _tables(options.get("tables"))
    text = SQLITE_YML.format(
        schema=schema_line(f"adapters/{name}.yml", "adapter"),
        lake_schema=adapter_lake_schema(name),
        description=description_line(description, f"Tables of a SQLite database, loaded into schema {adapter_lake_schema(name)}"),
        path=yaml_scalar(options.get("db-path") or f"sources/{name}.sqlite"),
        name=name,
        tables=f"tables: {yaml_list(tables)}\n" if tables else "# tables: [users, orders]\n",
    )
    schema = adapter_lake_schema(name)
    written = [f"{schema}.{t}" for t in tables] if tables else [f"{schema}.<every table of the database>"]
    return AdapterTemplate(text, written, complete=True)


def _tables(option: str | None) -> list[str] | None:
    """The names of `--tables a,b` (None: not given, every table)."""
    if option is None:
        return None
    tables = [t.strip() for t in option.split(",") if t.strip()]
    if not tables:
        raise FeatherBoxError("--tables is empty; give table names like --tables users,orders, or omit it to copy all tables")
    for table in tables:
        if not _TABLE_NAME.fullmatch(table):
            raise FeatherBoxError(f"invalid table name {table!r} in --tables: use letters, digits and _ only")
    duplicated = sorted({t for t in tables if tables.count(t) > 1})
    if duplicated:
        raise FeatherBoxError(f"--tables names {', '.join(duplicated)} more than once")
    return tables
