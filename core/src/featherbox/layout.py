"""Where adapters' tables land in the lake: their own namespace, apart from the models'.

Models take their schema from their folder (`models/app_db/users.yml` is `app_db.users`); adapters
write into the schema `raw` (one table per adapter: file adapters) or `raw_<adapter>` (one table per
source table: database adapters). Models may not use those schemas, so a model can always be named
like the source table it cleans.

Projects built before this layout (version 1) had adapter tables in `main` and `<adapter>`;
`featherbox.state.layout` moves them.
"""

from __future__ import annotations

LAYOUT_VERSION = 2
RAW_SCHEMA = "raw"
RAW_PREFIX = "raw_"


def adapter_table(adapter: str) -> str:
    """The one table of an adapter that writes one (`raw.<adapter>`)."""
    return f"{RAW_SCHEMA}.{adapter}"


def adapter_lake_schema(adapter: str) -> str:
    """The schema of an adapter that writes one table per source table (`raw_<adapter>`)."""
    return f"{RAW_PREFIX}{adapter}"


def is_adapter_lake_schema(schema: str) -> bool:
    """Whether `schema` belongs to adapters (models may not be put there)."""
    schema = schema.lower()
    return schema == RAW_SCHEMA or schema.startswith(RAW_PREFIX)


def current_name(schema: str, table: str) -> str:
    """Where layout 2 keeps what layout 1 called `schema.table`, if that was an adapter's table:
    `main.app_logs` -> `raw.app_logs`, `app_db.users` -> `raw_app_db.users`."""
    return adapter_table(table) if schema.lower() == "main" else f"{adapter_lake_schema(schema)}.{table}"


def legacy_table(adapter: str, table: str) -> str | None:
    """Where layout 1 kept the lake table `table` (qualified, layout 2) of `adapter`; None when it was
    not an adapter table of that layout."""
    schema, _, name = table.partition(".")
    if schema.lower() == RAW_SCHEMA and name.lower() == adapter.lower():
        return f"main.{name}"
    if schema.lower() == adapter_lake_schema(adapter).lower():
        return f"{adapter}.{name}"
    return None
