"""The incremental strategies every file or table plugin can use."""

from featherbox.hookspecs import hookimpl


@hookimpl
def fbox_incremental_strategies():
    from featherbox.files.strategies import ContentStrategy, FilenameStrategy, FullStrategy

    return [FullStrategy, FilenameStrategy, ContentStrategy]
