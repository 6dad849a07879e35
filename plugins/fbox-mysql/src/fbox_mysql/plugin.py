"""Entry point of fbox-mysql. The MySQL source is announced but not implemented yet."""

from featherbox.extension import placeholder_adapter
from featherbox.hookspecs import hookimpl


@hookimpl
def fbox_adapter_types():
    return [placeholder_adapter("mysql", "fbox-mysql")]
