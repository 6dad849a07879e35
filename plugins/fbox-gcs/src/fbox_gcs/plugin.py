"""Entry point of fbox-gcs: Google Cloud Storage as a source and as DuckLake storage."""

from featherbox.hookspecs import hookimpl


@hookimpl
def fbox_adapter_types():
    from fbox_gcs.adapter import GCSAdapter

    return [GCSAdapter]


@hookimpl
def fbox_storage_backends():
    from fbox_gcs.storage import GCSStorage

    return [GCSStorage]
