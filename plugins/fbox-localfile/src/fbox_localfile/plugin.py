"""Entry point of fbox-localfile: local files as a source and as DuckLake storage."""

from featherbox.hookspecs import hookimpl


@hookimpl
def fbox_adapter_types():
    from fbox_localfile.adapter import LocalFileAdapter

    return [LocalFileAdapter]


@hookimpl
def fbox_storage_backends():
    from fbox_localfile.storage import LocalStorage

    return [LocalStorage]
