"""Entry point of fbox-postgresql. The PostgreSQL source is announced but not implemented yet."""

from featherbox.extension import placeholder_adapter
from featherbox.hookspecs import hookimpl


@hookimpl
def fbox_adapter_types():
    return [placeholder_adapter("postgresql", "fbox-postgresql")]
