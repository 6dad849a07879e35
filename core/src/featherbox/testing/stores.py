"""Buckets on the object-store emulators of `services`: a fresh bucket (container) per test and an fsspec
filesystem to put objects in it. The clients (s3fs, gcsfs, adlfs) are imported when a filesystem is made:
each comes with its plugin (fbox-s3, fbox-gcs, fbox-azure)."""

from __future__ import annotations

import os
import uuid


class Store:
    """A fresh bucket (an Azure container) named `bucket`, and `fs`, a filesystem for it; the paths the
    methods take are relative to the bucket."""

    def __init__(self, fs, bucket: str):
        self.fs, self.bucket = fs, bucket

    def put(self, rel: str, data: bytes) -> None:
        self.fs.pipe(f"{self.bucket}/{rel}", data)
        self.fs.invalidate_cache()

    def put_many(self, files: dict[str, bytes]) -> None:
        """Several objects in one call: the async filesystems send them concurrently."""
        self.fs.pipe({f"{self.bucket}/{rel}": data for rel, data in files.items()})
        self.fs.invalidate_cache()

    def delete(self, rel: str) -> None:
        self.fs.rm(f"{self.bucket}/{rel}")
        self.fs.invalidate_cache()

    def find(self, rel: str = "") -> list[str]:
        """Every object under `rel`, as `bucket/path`."""
        self.fs.invalidate_cache()
        return self.fs.find(f"{self.bucket}/{rel}".rstrip("/"))


def new_store(fs, prefix: str = "b-") -> Store:
    """A new bucket named `prefix` + 12 random hex digits on `fs`."""
    bucket = prefix + uuid.uuid4().hex[:12]
    fs.mkdir(bucket)
    return Store(fs, bucket)


def s3_filesystem(server, key: str = "testing", secret: str = "testing-secret"):
    """s3fs on an S3 server (`start_moto`): path-style requests to its URL. No `region_name`: moto
    rejects the bucket's location constraint then."""
    import s3fs

    return s3fs.S3FileSystem(key=key, secret=secret, client_kwargs={"endpoint_url": server.url},
                             skip_instance_cache=True, use_listings_cache=False)


def gcs_filesystem(server):
    """gcsfs on the GCS emulator (`start_gcs_emulator`), anonymous, project "test"."""
    os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")  # else each bucket call hangs ~60 s
    import gcsfs

    return gcsfs.GCSFileSystem(endpoint_url=server.url, token="anon", project="test", skip_instance_cache=True)


def azure_filesystem(server):
    """adlfs on azurite (`start_azurite`), with its development connection string."""
    import adlfs

    return adlfs.AzureBlobFileSystem(connection_string=server.connection_string, skip_instance_cache=True)
