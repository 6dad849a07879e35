"""GCS settings shared by the adapter and the storage backend.

DuckDB reads and writes GCS through the gcsfs filesystem registered with it
(`con.register_filesystem`), so `gs://` paths work against the emulator and real GCS alike
(DuckDB's own gcs:// support only reads single files against the emulator). A DuckDB database
holds one filesystem per protocol: every GCS adapter and the GCS storage of a project share the
first registered credentials.
"""

from __future__ import annotations

import os

from featherbox.errors import FeatherBoxError
from featherbox.secrets import redact

CONFIG_PROPERTIES: dict[str, dict] = {
    "bucket": {"type": "string", "minLength": 1, "description": "bucket name"},
    "prefix": {"type": "string", "description": "base prefix inside the bucket"},
    "project": {"type": "string", "description": "Google Cloud project id"},
    "token": {"type": "string", "minLength": 1, "secret": False,  # a file's path or a mode, not a credential
              "description": "path to a service-account JSON file, 'anon', 'google_default' or 'cloud' (default: google_default)"},
    "endpoint": {"type": "string", "minLength": 1, "description": "URL of a GCS-compatible endpoint (an emulator)"},
}


class GCSSettings:
    def __init__(self, config: dict, root=None):
        self.config = config
        self.root = root
        self.bucket = str(config["bucket"]).strip("/")
        self.prefix = str(config.get("prefix") or "").strip("/")
        endpoint = str(config.get("endpoint") or "").strip().rstrip("/")
        if endpoint and "://" not in endpoint:
            endpoint = "http://" + endpoint
        self.endpoint = endpoint or None

    def fs_root(self) -> str:
        return f"{self.bucket}/{self.prefix}" if self.prefix else self.bucket

    def url(self) -> str:
        return "gs://" + self.fs_root()

    def token(self):
        token = self.config.get("token")
        if not token:
            return None
        if token in ("anon", "google_default", "cloud", "browser"):
            return token
        path = os.path.expanduser(str(token))
        if not os.path.isabs(path) and self.root is not None:
            path = os.path.join(str(self.root), path)
        return path

    def filesystem(self):
        if self.endpoint:
            # the emulator has no hierarchical-namespace API: gcsfs' experimental class waits ~60 s per bucket call
            os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
            from gcsfs.core import GCSFileSystem
        else:
            from gcsfs import GCSFileSystem

        kwargs = {"skip_instance_cache": True, "use_listings_cache": False}
        if self.config.get("project"):
            kwargs["project"] = self.config["project"]
        token = self.token()
        if token:
            kwargs["token"] = token
        if self.endpoint:
            kwargs["endpoint_url"] = self.endpoint
        try:
            return GCSFileSystem(**kwargs)
        except Exception as exc:
            raise FeatherBoxError(f"gcs: connecting to bucket {self.bucket} failed: {self.scrub(exc)}") from None

    def register(self, con) -> None:
        """Hand DuckDB the gcsfs filesystem for gs:// and gcs:// paths, unless one is registered already."""
        try:
            if any(name in ("gs", "gcs") for name in con.list_filesystems()):
                return
            con.register_filesystem(self.filesystem())
        except FeatherBoxError:
            raise
        except Exception as exc:
            if "already been registered" in str(exc):
                return
            raise FeatherBoxError(f"gcs: registering the filesystem with DuckDB failed: {self.scrub(exc)}") from None

    def scrub(self, exc: BaseException | str) -> str:
        return redact(str(exc)) or type(exc).__name__
