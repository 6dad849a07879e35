"""Throwaway PostgreSQL (logical decoding) and MariaDB (row binlog) servers for the CDC tests, and
`server`: a scenario written once runs on each server kind (see dbkinds.py).

The `pg` and `my` fixtures (a fresh database on the shared servers) come from tests/dbservers.py.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from dbkinds import MARIADB, POSTGRES, SERVERS
from dbservers import CI


@pytest.fixture(params=SERVERS, ids=lambda server: server.kind)
def server(request):
    """The description of the server kind the test runs on (what its SQL and checks look like)."""
    return request.param


# throwaway servers for CDC (server settings the shared instances lack; see /work/shared/TESTING.md)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cannot_start(what: str, detail: str):
    message = f"cannot start a throwaway {what}: {detail}; see /work/shared/TESTING.md"
    if CI:
        pytest.fail(message + " (CI=true: not skipping)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_logical_server(tmp_path_factory):
    """A PostgreSQL 15 with wal_level=logical on a free port, run as the postgres user."""
    import glob
    import shutil
    import tempfile

    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins or shutil.which("runuser") is None:
        _cannot_start("PostgreSQL", "no initdb under /usr/lib/postgresql or no runuser")
    bindir = os.path.dirname(bins[-1])
    base = tempfile.mkdtemp(prefix="fbox_pg_")
    os.chmod(base, 0o755)
    data = os.path.join(base, "data")
    subprocess.run(["chown", "postgres", base], check=False)
    port = _free_port()

    def as_pg(*cmd):
        return subprocess.run(["runuser", "-u", "postgres", "--", *cmd], capture_output=True, text=True, timeout=120)

    done = as_pg(f"{bindir}/initdb", "-D", data, "-U", "postgres", "-A", "trust", "--no-sync")
    if done.returncode:
        _cannot_start("PostgreSQL", f"initdb failed: {done.stderr.strip()[-400:]}")
    opts = (f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c wal_level=logical "
            "-c max_replication_slots=10 -c max_wal_senders=10")
    done = as_pg(f"{bindir}/pg_ctl", "-D", data, "-l", f"{base}/log", "-w", "start", "-o", opts)
    if done.returncode:
        _cannot_start("PostgreSQL", f"pg_ctl start failed: {done.stderr.strip()[-400:]}")
    try:
        yield {"host": "127.0.0.1", "port": port, "user": "postgres", "password": ""}
    finally:
        as_pg(f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_password_server():
    """A PostgreSQL 15 that checks passwords (scram-sha-256; the shared server trusts every login),
    on a free port: {host, port, user, password} of its superuser."""
    import glob
    import shutil
    import tempfile
    import uuid

    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins or shutil.which("runuser") is None:
        _cannot_start("PostgreSQL", "no initdb under /usr/lib/postgresql or no runuser")
    bindir = os.path.dirname(bins[-1])
    base = tempfile.mkdtemp(prefix="fbox_pgpw_")
    os.chmod(base, 0o755)
    data = os.path.join(base, "data")
    password = f"admin-{uuid.uuid4().hex[:12]}"
    pwfile = os.path.join(base, "pw")
    with open(pwfile, "w") as f:
        f.write(password + "\n")
    subprocess.run(["chown", "-R", "postgres", base], check=False)
    port = _free_port()

    def as_pg(*cmd):
        return subprocess.run(["runuser", "-u", "postgres", "--", *cmd], capture_output=True, text=True, timeout=120)

    done = as_pg(f"{bindir}/initdb", "-D", data, "-U", "postgres", "-A", "scram-sha-256", f"--pwfile={pwfile}", "--no-sync")
    if done.returncode:
        _cannot_start("PostgreSQL", f"initdb failed: {done.stderr.strip()[-400:]}")
    opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    done = as_pg(f"{bindir}/pg_ctl", "-D", data, "-l", f"{base}/log", "-w", "start", "-o", opts)
    if done.returncode:
        _cannot_start("PostgreSQL", f"pg_ctl start failed: {done.stderr.strip()[-400:]}")
    try:
        yield {"host": "127.0.0.1", "port": port, "user": "postgres", "password": password}
    finally:
        as_pg(f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pgl(pg_logical_server):
    """A fresh database on the logical-decoding server; its replication slots are dropped afterwards."""
    with POSTGRES.fresh_database(pg_logical_server) as source:
        yield source


@pytest.fixture(scope="session")
def mariadb_binlog_server():
    """A MariaDB with a ROW binlog (binlog_row_metadata=FULL) on a free port."""
    import shutil
    import tempfile
    import time

    install, daemon = shutil.which("mariadb-install-db"), shutil.which("mariadbd") or "/usr/sbin/mariadbd"
    if not install or not os.path.exists(daemon):
        _cannot_start("MariaDB", "no mariadb-install-db / mariadbd")
    base = tempfile.mkdtemp(prefix="fbox_my_")
    os.chmod(base, 0o755)
    data = os.path.join(base, "data")
    # its own tmpdir: a MariaDB server clears stale #sql* files from its tmpdir when it starts, which
    # in the shared /tmp are the live temporary tables of the machine's own server
    tmp = os.path.join(base, "tmp")
    os.makedirs(tmp)
    subprocess.run(["chown", "mysql", tmp], check=False)
    env = {**os.environ, "TMPDIR": tmp}
    done = subprocess.run([install, "--no-defaults", f"--datadir={data}", "--user=mysql", "--auth-root-authentication-method=normal"],
                          capture_output=True, text=True, timeout=120, env=env)
    if done.returncode:
        _cannot_start("MariaDB", f"mariadb-install-db failed: {done.stderr.strip()[-400:]}")
    subprocess.run(["chown", "-R", "mysql", base], check=False)
    port = _free_port()
    log = open(os.path.join(base, "log"), "w")
    proc = subprocess.Popen([daemon, "--no-defaults", f"--datadir={data}", f"--socket={base}/s.sock", f"--port={port}",
                             "--bind-address=127.0.0.1", "--user=mysql", "--log-bin=mysql-bin", "--binlog-format=ROW",
                             "--binlog-row-metadata=FULL", "--server-id=1", "--skip-name-resolve", f"--tmpdir={tmp}"],
                            stdout=log, stderr=log, env=env)
    params = {"host": "127.0.0.1", "port": port, "user": "root", "password": ""}
    import mysql.connector

    deadline = time.monotonic() + 60
    while True:
        try:
            mysql.connector.connect(**params, connection_timeout=2).close()
            break
        except Exception as exc:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                _cannot_start("MariaDB", f"{exc}; log: {open(os.path.join(base, 'log')).read()[-400:]}")
            time.sleep(0.2)
    try:
        yield params
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def myb(mariadb_binlog_server):
    """A fresh database on the binlog MariaDB."""
    with MARIADB.fresh_database(mariadb_binlog_server) as source:
        yield source
