"""Relational sources: what every database plugin shares (connections, column-based increments).

Source tables land in the lake under their own names, whatever characters those hold: adapter `app`
writes the source table `order items` as `app."order items"` and `bad.select` as `app."bad.select"`.
FeatherBox's qualified names (`schema.table` strings) split at the first dot, since a schema (an
adapter or a models folder) never holds one; `lake_table` quotes such a name for SQL.
"""


def lake_table(schema: str, table: str) -> str:
    """The lake table `table` of `schema`, quoted for SQL (the table name may hold any character)."""
    from featherbox.sql import quote_ident

    return f"{quote_ident(schema)}.{quote_ident(table)}"
