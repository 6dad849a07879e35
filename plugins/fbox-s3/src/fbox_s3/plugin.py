"""Entry point of fbox-s3: S3 and S3-compatible object stores as a source and as DuckLake storage."""

from featherbox.hookspecs import hookimpl


@hookimpl
def fbox_adapter_types():
    from fbox_s3.adapter import S3Adapter

    return [S3Adapter]


@hookimpl
def fbox_storage_backends():
    from fbox_s3.storage import S3Storage

    return [S3Storage]
