"""The incremental strategies of the core: `full`, `filename` and `content` for file adapters
(`update_strategy:`), `column` and `cdc` for database adapters (`incremental.type`)."""

from featherbox.hookspecs import hookimpl


@hookimpl
def fbox_incremental_strategies():
    from featherbox.file_sources.strategies import ContentStrategy, FilenameStrategy, FullStrategy
    from featherbox.database_sources.strategies import CdcStrategy, ColumnStrategy

    return [FullStrategy, FilenameStrategy, ContentStrategy, ColumnStrategy, CdcStrategy]
