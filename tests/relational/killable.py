"""Throwaway PostgreSQL and MariaDB servers a test may kill (SIGKILL, every process of the server) in
the middle of a run: `pg_killable` and `my_killable` fixtures, one server per test. A test module
imports the fixtures it uses (`from killable import pg_killable`).

Each server has a database `shop` and a user `fbox` with a password, so tests can check that no
error shows it."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from dbservers import CI

PASSWORD = "Killable-pw-4711"


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


class Killable:
    """A running server: `params` (host, port, user, password, dbname) and `kill()`."""

    def __init__(self, kind: str, params: dict, pids):
        self.kind, self.params, self._pids = kind, params, pids
        self.killed = False

    def kill(self) -> None:
        """SIGKILL every process of the server at once, as a crash or an OOM kill would."""
        for pid in self._pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.killed = True

    def connect(self):
        if self.kind == "postgresql":
            import psycopg

            return psycopg.connect(**self.params, autocommit=True)
        import mysql.connector

        p = self.params
        return mysql.connector.connect(host=p["host"], port=p["port"], user=p["user"], password=p["password"],
                                       database=p["dbname"], autocommit=True)

    def config_yaml(self) -> str:
        p = self.params
        return "\n".join(f"  {k}: {v}" for k, v in (("host", p["host"]), ("port", p["port"]), ("user", p["user"]),
                                                   ("password", p["password"]), ("dbname", p["dbname"])))


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in found]


@pytest.fixture
def pg_killable():
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins or shutil.which("runuser") is None:
        _cannot_start("PostgreSQL", "no initdb under /usr/lib/postgresql or no runuser")
    bindir = os.path.dirname(bins[-1])
    base = tempfile.mkdtemp(prefix="fbox_pgk_")
    os.chmod(base, 0o755)
    data = os.path.join(base, "data")
    subprocess.run(["chown", "postgres", base], check=False)
    port = _free_port()

    def as_pg(*cmd):
        return subprocess.run(["runuser", "-u", "postgres", "--", *cmd], capture_output=True, text=True, timeout=120)

    done = as_pg(f"{bindir}/initdb", "-D", data, "-U", "postgres", "-A", "trust", "--no-sync")
    if done.returncode:
        _cannot_start("PostgreSQL", f"initdb failed: {done.stderr.strip()[-400:]}")
    opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    done = as_pg(f"{bindir}/pg_ctl", "-D", data, "-l", f"{base}/log", "-w", "start", "-o", opts)
    if done.returncode:
        _cannot_start("PostgreSQL", f"pg_ctl start failed: {done.stderr.strip()[-400:]}")
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres", autocommit=True) as admin:
        admin.execute(f"CREATE USER fbox SUPERUSER PASSWORD '{PASSWORD}'")
        admin.execute("CREATE DATABASE shop OWNER fbox")

    def pids():
        with open(os.path.join(data, "postmaster.pid")) as f:
            postmaster = int(f.readline())
        return [*_children(postmaster), postmaster]

    params = {"host": "127.0.0.1", "port": port, "user": "fbox", "password": PASSWORD, "dbname": "shop"}
    server = Killable("postgresql", params, pids)
    try:
        yield server
    finally:
        if not server.killed:
            as_pg(f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def my_killable():
    install, daemon = shutil.which("mariadb-install-db"), shutil.which("mariadbd") or "/usr/sbin/mariadbd"
    if not install or not os.path.exists(daemon):
        _cannot_start("MariaDB", "no mariadb-install-db / mariadbd")
    base = tempfile.mkdtemp(prefix="fbox_myk_")
    os.chmod(base, 0o755)
    data, tmp = os.path.join(base, "data"), os.path.join(base, "tmp")
    os.makedirs(tmp)  # its own tmpdir: see conftest.mariadb_binlog_server
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
                             "--bind-address=127.0.0.1", "--user=mysql", "--skip-name-resolve", f"--tmpdir={tmp}"],
                            stdout=log, stderr=log, env=env)
    import mysql.connector

    deadline = time.monotonic() + 60
    while True:
        try:
            admin = mysql.connector.connect(host="127.0.0.1", port=port, user="root", password="", connection_timeout=2,
                                            autocommit=True)
            break
        except Exception as exc:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                _cannot_start("MariaDB", f"{exc}; log: {open(os.path.join(base, 'log')).read()[-400:]}")
            time.sleep(0.2)
    cur = admin.cursor()
    for statement in ("CREATE DATABASE shop", f"CREATE USER 'fbox'@'%' IDENTIFIED BY '{PASSWORD}'",
                      "GRANT ALL ON *.* TO 'fbox'@'%'"):
        cur.execute(statement)
    cur.close()
    admin.close()
    params = {"host": "127.0.0.1", "port": port, "user": "fbox", "password": PASSWORD, "dbname": "shop"}
    server = Killable("mysql", params, lambda: [proc.pid])
    try:
        yield server
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        log.close()
        shutil.rmtree(base, ignore_errors=True)
