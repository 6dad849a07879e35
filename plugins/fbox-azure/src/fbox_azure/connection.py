"""Azure Blob settings shared by the adapter and the storage backend.

Every way to authenticate becomes one connection string: adlfs lists with it and DuckDB's azure
extension reads and writes `az://container/...` with a secret made from it. Nothing here puts a key
into a message.
"""

from __future__ import annotations

import hashlib

from featherbox.errors import FeatherBoxError
from featherbox.secrets import redact

CONFIG_PROPERTIES: dict[str, dict] = {
    "container": {"type": "string", "minLength": 1, "description": "blob container name"},
    "prefix": {"type": "string", "description": "base prefix inside the container"},
    "connection_string": {"type": "string", "minLength": 1, "secret": True, "description": "storage account connection string"},
    "account_name": {"type": "string", "minLength": 1, "description": "storage account name (with account_key or sas_token)"},
    "account_key": {"type": "string", "minLength": 1, "secret": True, "description": "storage account key"},
    "sas_token": {"type": "string", "minLength": 1, "secret": True, "description": "shared access signature (with account_name or endpoint)"},
    "endpoint": {"type": "string", "minLength": 1, "description": "blob endpoint URL, e.g. http://127.0.0.1:10000/devstoreaccount1"},
}
SECRET_FIELDS = ("connection_string", "account_key", "sas_token")


class AzureSettings:
    def __init__(self, config: dict):
        self.config = config
        self.container = str(config["container"]).strip("/")
        self.prefix = str(config.get("prefix") or "").strip("/")

    def fs_root(self) -> str:
        return f"{self.container}/{self.prefix}" if self.prefix else self.container

    def url(self) -> str:
        return "az://" + self.fs_root()

    def connection_string(self) -> str:
        c = self.config
        if c.get("connection_string"):
            return str(c["connection_string"])
        endpoint = str(c.get("endpoint") or "").rstrip("/")
        if endpoint and "://" not in endpoint:
            endpoint = "https://" + endpoint
        account = c.get("account_name")
        if account and c.get("account_key"):
            protocol = endpoint.split("://")[0] if endpoint else "https"
            text = f"DefaultEndpointsProtocol={protocol};AccountName={account};AccountKey={c['account_key']};"
            return text + (f"BlobEndpoint={endpoint};" if endpoint else "EndpointSuffix=core.windows.net;")
        if c.get("sas_token") and (account or endpoint):
            endpoint = endpoint or f"https://{account}.blob.core.windows.net"
            return f"BlobEndpoint={endpoint};SharedAccessSignature={str(c['sas_token']).lstrip('?')}"
        raise FeatherBoxError(
            "azure: set config.connection_string, or account_name with account_key, or sas_token with account_name or endpoint"
        )

    def filesystem(self):
        from adlfs import AzureBlobFileSystem

        try:
            return AzureBlobFileSystem(connection_string=self.connection_string(), skip_instance_cache=True)
        except FeatherBoxError:
            raise
        except Exception as exc:
            raise FeatherBoxError(f"azure: connecting to container {self.container} failed: {self.scrub(exc)}") from None

    def create_secret(self, con) -> None:
        from featherbox.sql import sql_string

        text = self.connection_string()
        name = "fbox_az_" + hashlib.sha256(f"{text}|{self.url()}".encode()).hexdigest()[:16]
        try:
            con.execute(
                f"CREATE OR REPLACE SECRET {name} (TYPE azure, CONNECTION_STRING {sql_string(text)}, "
                f"SCOPE {sql_string(self.url())})"
            )
        except Exception as exc:
            raise FeatherBoxError(f"azure: creating the DuckDB secret for {self.url()} failed: {self.scrub(exc)}") from None

    def scrub(self, exc: BaseException | str) -> str:
        text = str(exc)
        values = [self.config.get(k) for k in SECRET_FIELDS]
        try:
            values.append(self.connection_string())
        except FeatherBoxError:
            pass
        for value in sorted((str(v) for v in values if v), key=len, reverse=True):
            if len(value) >= 3:
                text = text.replace(value, "***")
        return redact(text) or type(exc).__name__
