"""Entry point of fbox-azure: Azure Blob Storage as a source and as DuckLake storage."""

from featherbox.hookspecs import hookimpl


@hookimpl
def fbox_adapter_types():
    from fbox_azure.adapter import AzureAdapter

    return [AzureAdapter]


@hookimpl
def fbox_storage_backends():
    from fbox_azure.storage import AzureStorage

    return [AzureStorage]
