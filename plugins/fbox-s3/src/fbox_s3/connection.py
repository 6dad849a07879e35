"""S3 settings shared by the adapter and the storage backend: the s3fs filesystem and the DuckDB secret.

Values may come from `$VAR`s, which arrive as strings, so booleans accept "true"/"false" too.
Nothing here puts a key into a message: errors are scrubbed of every credential in the config.
"""

from __future__ import annotations

import hashlib
from typing import Any

from featherbox.errors import FeatherBoxError
from featherbox.secrets import redact

BOOL = {"type": ["boolean", "string"], "pattern": "^(true|false|True|False|TRUE|FALSE|yes|no|1|0)$"}

CONFIG_PROPERTIES: dict[str, dict] = {
    "bucket": {"type": "string", "minLength": 1, "description": "bucket name"},
    "prefix": {"type": "string", "description": "base prefix inside the bucket"},
    "region": {"type": "string", "description": "AWS region, e.g. us-east-1"},
    "access_key": {"type": "string", "secret": True, "description": "access key id (omit to use the default AWS credential chain)"},
    "secret_key": {"type": "string", "secret": True, "description": "secret access key"},
    "session_token": {"type": "string", "secret": True, "description": "session token of temporary credentials"},
    "endpoint": {"type": "string", "minLength": 1, "description": "host[:port] of an S3-compatible service, with or without http(s)://"},
    "path_style": {**BOOL, "description": "path-style URLs (default: true with an endpoint, false without)"},
    "ssl": {**BOOL, "description": "use https (default true; false for an http:// endpoint)"},
}
SECRET_FIELDS = ("access_key", "secret_key", "session_token")


def as_bool(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "yes", "1")


class S3Settings:
    def __init__(self, config: dict):
        self.config = config
        self.bucket = str(config["bucket"]).strip("/")
        self.prefix = str(config.get("prefix") or "").strip("/")
        self.region = config.get("region") or None
        endpoint = str(config.get("endpoint") or "").strip().rstrip("/")
        scheme_ssl = None
        for scheme, is_ssl in (("https://", True), ("http://", False)):
            if endpoint.lower().startswith(scheme):
                endpoint, scheme_ssl = endpoint[len(scheme):], is_ssl
        self.endpoint = endpoint or None
        self.ssl = as_bool(config.get("ssl"), True if scheme_ssl is None else scheme_ssl)
        self.path_style = as_bool(config.get("path_style"), self.endpoint is not None)

    # --- paths ---------------------------------------------------------------------------
    def fs_root(self) -> str:
        """`bucket/prefix`: s3fs' path syntax (no scheme)."""
        return f"{self.bucket}/{self.prefix}" if self.prefix else self.bucket

    def url(self, fs_path: str = "") -> str:
        return "s3://" + (fs_path or self.fs_root())

    # --- clients -------------------------------------------------------------------------
    def filesystem(self):
        import s3fs

        kwargs: dict[str, Any] = {"use_listings_cache": False, "skip_instance_cache": True}
        if self.config.get("access_key"):
            kwargs["key"] = self.config["access_key"]
            kwargs["secret"] = self.config.get("secret_key")
            if self.config.get("session_token"):
                kwargs["token"] = self.config["session_token"]
        client: dict[str, Any] = {}
        if self.endpoint:
            client["endpoint_url"] = f"{'https' if self.ssl else 'http'}://{self.endpoint}"
        elif self.region:
            # with a custom endpoint the region stays out: some services (moto) reject its location constraint
            client["region_name"] = self.region
        if client:
            kwargs["client_kwargs"] = client
        if self.path_style:
            kwargs["config_kwargs"] = {"s3": {"addressing_style": "path"}}
        return s3fs.S3FileSystem(**kwargs)

    def create_secret(self, con, scope: str) -> None:
        """`CREATE OR REPLACE SECRET` for `scope` (an s3:// URL) on `con`'s database."""
        from featherbox.sql import sql_string

        options = ["TYPE s3", f"SCOPE {sql_string(scope)}"]
        if self.config.get("access_key"):
            options += [f"KEY_ID {sql_string(str(self.config['access_key']))}",
                        f"SECRET {sql_string(str(self.config.get('secret_key') or ''))}"]
            if self.config.get("session_token"):
                options.append(f"SESSION_TOKEN {sql_string(str(self.config['session_token']))}")
        else:
            options.append("PROVIDER config")
        if self.region:
            options.append(f"REGION {sql_string(str(self.region))}")
        if self.endpoint:
            options.append(f"ENDPOINT {sql_string(self.endpoint)}")
        options.append(f"URL_STYLE {sql_string('path' if self.path_style else 'vhost')}")
        options.append(f"USE_SSL {'true' if self.ssl else 'false'}")
        name = "fbox_s3_" + hashlib.sha256(repr(sorted((k, str(v)) for k, v in self.config.items())).encode()).hexdigest()[:16]
        try:
            con.execute(f"CREATE OR REPLACE SECRET {name} ({', '.join(options)})")
        except Exception as exc:
            raise FeatherBoxError(f"s3: creating the DuckDB secret for {scope} failed: {self.scrub(exc)}") from None

    def scrub(self, exc: BaseException | str) -> str:
        text = str(exc)
        for key in SECRET_FIELDS:
            value = self.config.get(key)
            if value and len(str(value)) >= 3:
                text = text.replace(str(value), "***")
        return redact(text)
