"""Entry point of fbox-s3. The S3 source is announced but not implemented yet."""

from featherbox.extension import placeholder_adapter
from featherbox.hookspecs import hookimpl


@hookimpl
def fbox_adapter_types():
    return [placeholder_adapter("s3", "fbox-s3")]
