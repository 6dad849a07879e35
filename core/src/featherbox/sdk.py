"""Everything a plugin author builds on, in one place (docs/plugins.md#the-plugin-sdk).

`from featherbox.sdk import AdapterType, LoadContext, quote_table, hookimpl` and so on. Names load on
first use, so importing this module costs nothing a plugin does not use (the source kits pull in
fsspec and DuckDB's attach helpers).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    # hooks
    "hookimpl": "featherbox.hookspecs",
    # base classes and what the engine hands over or expects back
    "AdapterType": "featherbox.extension",
    "AdapterTemplate": "featherbox.extension",
    "Detection": "featherbox.extension",
    "LoadContext": "featherbox.extension",
    "LoadResult": "featherbox.extension",
    "DeadlineExceeded": "featherbox.extension",
    "SourceUnreachable": "featherbox.extension",
    "NotImplementedSource": "featherbox.extension",
    "placeholder_adapter": "featherbox.extension",
    "IncrementalStrategy": "featherbox.extension",
    "StorageBackend": "featherbox.extension",
    "MetadataBackend": "featherbox.extension",
    "RunLock": "featherbox.extension",
    # errors and secrets
    "FeatherBoxError": "featherbox.errors",
    "redact": "featherbox.secrets",
    # SQL names and literals; where adapters' tables land
    "quote_ident": "featherbox.sql",
    "quote_table": "featherbox.sql",
    "sql_string": "featherbox.sql",
    "sql_literal": "featherbox.sql",
    "values_sql": "featherbox.sql",
    "RAW_SCHEMA": "featherbox.layout",
    "adapter_table": "featherbox.layout",
    "adapter_lake_schema": "featherbox.layout",
    # the file-source kit
    "FileAdapter": "featherbox.file_sources.adapter",
    "file_adapter_schema": "featherbox.file_sources.schema",
    "FileStrategy": "featherbox.file_sources.strategies",
    "FileInfo": "featherbox.file_sources.strategies",
    "FileSelection": "featherbox.file_sources.strategies",
    # the database-source kit
    "DatabaseAdapter": "featherbox.database_sources.adapter",
    "DatabaseStrategy": "featherbox.database_sources.strategies",
    "CdcReader": "featherbox.database_sources.cdc",
    "ChangeSink": "featherbox.database_sources.cdc",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"featherbox.sdk has no {name!r} (it exports: {', '.join(__all__)})")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
