"""Servers for tests: the skip-or-fail rule for a missing service, and the object-store emulators
(moto for S3, gcp-storage-emulator for GCS, azurite for Azure Blob) started on free ports.

A test whose service cannot be started or reached calls `unavailable(reason)`: it skips with the reason,
except when the environment variable CI is true (`1`, `true`, `yes`), where it fails instead, so a CI run
never passes by skipping. Only the standard library and pytest are imported here; each emulator is a
program found on PATH or next to the running Python (`pip install "moto[server]"`,
`pip install gcp-storage-emulator`; azurite comes from npm and is installed on first use when `npm` is
available, see `azurite_executable`).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import NoReturn

import pytest

#: The well-known development account of azurite (public, documented by Microsoft).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def in_ci() -> bool:
    """Whether this is a CI run (CI=1/true/yes): there a missing service fails its tests."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def unavailable(reason: str) -> NoReturn:
    """A service or tool the test needs is missing: skip with `reason`, or fail under CI."""
    if in_ci():
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port nothing listens on at the moment, on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cache_dir() -> Path:
    """Where test tools installed on demand are kept: $FEATHERBOX_TEST_CACHE or ~/.cache/featherbox-test."""
    return Path(os.environ.get("FEATHERBOX_TEST_CACHE", Path.home() / ".cache" / "featherbox-test"))


def executable(name: str, hint: str) -> str:
    """The program `name`, next to the running Python (a venv's bin/) or on PATH; `unavailable` otherwise."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if not found:
        unavailable(f"{name} is not installed ({hint})")
    return found


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 30) -> bool:
    """Whether something answers HTTP at `url` (any status) before `proc` exits or `timeout` passes."""
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
    """A server process of a test session: `name`, `url` (http://127.0.0.1:PORT), `log` (its output),
    and whatever `start_server` was given as `attrs` (azurite's `connection_string`)."""

    def __init__(self, name: str, argv: list[str], url: str, log: Path, cwd=None, **attrs):
        self.name, self.url, self.log = name, url, log
        for key, value in attrs.items():
            setattr(self, key, value)
        with log.open("wb") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True)

    def stop(self) -> None:
        """SIGKILL to its process group: every server here keeps its data in memory or in a temporary
        directory, and a graceful stop only costs time."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()


def start_server(name: str, argv: list[str], port: int, workdir: Path, probe: str = "", cwd=None,
                 timeout: float = 30, **attrs) -> Server:
    """Start `argv` (which listens on `port`), its log in `workdir`, and wait until `url + probe`
    answers; `unavailable` (with the end of its log) when it does not within `timeout` seconds."""
    workdir.mkdir(parents=True, exist_ok=True)
    server = Server(name, argv, f"http://127.0.0.1:{port}", workdir / "server.log", cwd=cwd, **attrs)
    if not wait_http(server.url + probe, server.proc, timeout):
        server.stop()
        unavailable(f"{name} did not start: {server.log.read_text(errors='replace')[-500:]}")
    return server


# --- the object-store emulators ----------------------------------------------------------------------


def start_moto(workdir: Path) -> Server:
    """S3: `moto_server` (pip install "moto[server]"); accepts any key. `POST {url}/moto-api/reset` clears it."""
    exe, port = executable("moto_server", 'pip install "moto[server]"'), free_port()
    return start_server("moto", [exe, "-H", "127.0.0.1", "-p", str(port)], port, workdir)


def start_gcs_emulator(workdir: Path) -> Server:
    """GCS: `gcp-storage-emulator` in memory (pip install gcp-storage-emulator); clients use token "anon"."""
    exe, port = executable("gcp-storage-emulator", "pip install gcp-storage-emulator"), free_port()
    argv = [exe, "start", "--host=127.0.0.1", f"--port={port}", "--in-memory"]
    return start_server("gcp-storage-emulator", argv, port, workdir, probe="/storage/v1/b")


def azurite_executable() -> str | None:
    """`azurite-blob` from PATH, else from `cache_dir()/azurite`, installed there with `npm install azurite`
    when npm is available (one process at a time: pytest-xdist workers wait for the first)."""
    exe = shutil.which("azurite-blob")
    if exe:
        return exe
    prefix = cache_dir() / "azurite"
    local = prefix / "node_modules" / ".bin" / "azurite-blob"
    npm = shutil.which("npm")
    if local.exists() or not npm:
        return str(local) if local.exists() else None
    import fcntl

    prefix.mkdir(parents=True, exist_ok=True)
    with (prefix / ".install.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not local.exists():
            subprocess.run([npm, "install", "--prefix", str(prefix), "azurite"], capture_output=True, timeout=300)
    return str(local) if local.exists() else None


def start_azurite(workdir: Path) -> Server:
    """Azure Blob: azurite in memory; the server's `connection_string` uses the development account."""
    exe = azurite_executable()
    if not exe:
        unavailable("azurite is not installed (npm install azurite) and could not be installed with npm")
    port = free_port()
    argv = [exe, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence", "--skipApiVersionCheck",
            "--loose", "--disableTelemetry"]
    connection_string = (f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
                         f"BlobEndpoint=http://127.0.0.1:{port}/{AZURITE_ACCOUNT};")
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    return start_server("azurite", argv, port, workdir, cwd=data, connection_string=connection_string)
