"""Entry point of fbox-localfile: local files as a source (local storage for the lake is built into the core)."""

from featherbox.hookspecs import hookimpl


@hookimpl
def fbox_adapter_types():
    from fbox_localfile.adapter import LocalFileAdapter

    return [LocalFileAdapter]

