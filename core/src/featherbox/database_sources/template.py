"""The `fbox adapter new` template of client/server database sources (`DatabaseAdapter.new_file`):
how to reach the server (host, port, dbname, user, or a url), which tables, and increments.

The dialect gives the server's title, default port and url scheme; a type whose schema has a
`schema` key (fbox-postgresql) gets a line for the source schema. Database types that are not
servers (fbox-sqlite) override `new_file` with their own template.
"""

from __future__ import annotations

from featherbox.extension import AdapterTemplate

SERVER_YML = """\
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
# Tables to copy into schema {lake_schema} (as {lake_schema}.<table>); omit to copy every table{of_schema}.
# An entry may also be a query: {{name: recent_orders, query: "SELECT * FROM orders WHERE ..."}}
# tables: [users, orders]

# Copy only new and changed rows, found by a column that grows with each change, and merge them
# by the table's primary key (omit to copy whole tables whenever the source changed):
# incremental:
#   type: column
#   column: updated_at
"""


def server_template(cls, name: str, description: str | None = None) -> AdapterTemplate:
    """The template of database type `cls` (a `DatabaseAdapter` with a `dialect`); a subclass
    without a dialect gets the generic one (`AdapterType.new_file`)."""
    from featherbox.extension import AdapterType
    from featherbox.layout import adapter_lake_schema
    from featherbox.yaml_text import PLACEHOLDER, description_line, schema_line, yaml_scalar

    dialect = getattr(cls, "dialect", None)
    if dialect is None:
        return AdapterType.new_file.__func__(cls, name, {}, description)
    with_schema = "schema" in (cls.config_schema.get("properties") or {})
    text = SERVER_YML.format(
        schema=schema_line(f"adapters/{name}.yml", "adapter"),
        lake_schema=adapter_lake_schema(name),
        type=yaml_scalar(cls.type_name),
        description=description_line(description, f"Tables of a {dialect.title} database, loaded into schema {adapter_lake_schema(name)}"),
        title=dialect.title,
        port=dialect.default_port,
        scheme=dialect.schemes[0],
        placeholder=PLACEHOLDER,
        schema_line="# schema: public   # the source schema (default public)\n" if with_schema else "",
        name=name,
        of_schema=" of the source schema" if with_schema else " of the database",
    )
    return AdapterTemplate(text, [f"{adapter_lake_schema(name)}.<every table of the database>"])
