"""Throwaway PostgreSQL and MariaDB servers (`start_postgres`, `start_mariadb`) for settings the shared
ones lack, and the shared servers' settings `PG` and `MY`.

A fresh database on the shared servers is featherbox.testing's fixture `postgres_database` /
`mysql_database` (`pg` / `my` in tests/conftest.py); their connection settings come from the environment
(defaults match ../shared/TESTING.md): FBOX_TEST_PG_HOST/PORT/USER/PASSWORD and
FBOX_TEST_MYSQL_HOST/PORT/USER/PASSWORD. An unreachable server, or a throwaway one that cannot start,
skips its tests, except with CI=true, where it fails them (featherbox.testing.unavailable).
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from contextlib import contextmanager

from featherbox.testing import Database, free_port, mysql_params, postgres_params, unavailable
from featherbox.testing.databases import admin_connection

__all__ = ["MY", "PG", "Source", "Throwaway", "free_port", "my_admin", "start_mariadb", "start_postgres"]

PG = postgres_params()
MY = mysql_params()
Source = Database  # a fresh database: featherbox.testing.Database


def my_admin():
    """An autocommit connection to the shared MySQL/MariaDB server as MY's user."""
    return admin_connection("mysql", MY)


# throwaway servers, started and removed by the tests (see /work/shared/TESTING.md)

def _cannot_start(what: str, detail: str):
    unavailable(f"cannot start a throwaway {what}: {detail}; see /work/shared/TESTING.md")

def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in found]

class Throwaway:
    """A running throwaway server: `params` (host, port, user, password) of its superuser, and
    `kill()`, which SIGKILLs every process of it at once, as a crash or an OOM kill would (its
    teardown then only removes its files)."""

    def __init__(self, params: dict, pids):
        self.params, self._pids = params, pids
        self.killed = False

    def kill(self) -> None:
        for pid in self._pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.killed = True

@contextmanager
def start_postgres(settings: tuple[str, ...] = (), auth: str = "trust", prefix: str = "fbox_pg_"):
    """A PostgreSQL (the newest under /usr/lib/postgresql) on a free port, run as the postgres user,
    with fsync=off and `settings` ("name=value", passed as -c); a Throwaway. `auth`: "trust", or
    "scram" (scram-sha-256 with a generated password for the superuser postgres)."""
    assert auth in ("trust", "scram"), auth
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins or shutil.which("runuser") is None:
        _cannot_start("PostgreSQL", "no initdb under /usr/lib/postgresql or no runuser")
    bindir = os.path.dirname(bins[-1])
    base = tempfile.mkdtemp(prefix=prefix)
    os.chmod(base, 0o755)
    data = os.path.join(base, "data")
    password, auth_args = "", ["-A", "trust"]
    if auth == "scram":
        password = f"admin-{uuid.uuid4().hex[:12]}"
        pwfile = os.path.join(base, "pw")
        with open(pwfile, "w") as f:
            f.write(password + "\n")
        auth_args = ["-A", "scram-sha-256", f"--pwfile={pwfile}"]
    subprocess.run(["chown", "-R", "postgres", base], check=False)
    port = free_port()

    def as_pg(*cmd):
        return subprocess.run(["runuser", "-u", "postgres", "--", *cmd], capture_output=True, text=True, timeout=120)

    done = as_pg(f"{bindir}/initdb", "-D", data, "-U", "postgres", *auth_args, "--no-sync")
    if done.returncode:
        _cannot_start("PostgreSQL", f"initdb failed: {done.stderr.strip()[-400:]}")
    opts = " ".join([f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off", *(f"-c {s}" for s in settings)])
    done = as_pg(f"{bindir}/pg_ctl", "-D", data, "-l", f"{base}/log", "-w", "start", "-o", opts)
    if done.returncode:
        _cannot_start("PostgreSQL", f"pg_ctl start failed: {done.stderr.strip()[-400:]}")

    def pids():
        with open(os.path.join(data, "postmaster.pid")) as f:
            postmaster = int(f.readline())
        return [*_children(postmaster), postmaster]

    server = Throwaway({"host": "127.0.0.1", "port": port, "user": "postgres", "password": password}, pids)
    try:
        yield server
    finally:
        if not server.killed:
            as_pg(f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)

@contextmanager
def start_mariadb(extra_args: tuple[str, ...] = (), prefix: str = "fbox_my_"):
    """A MariaDB on a free port, run as the mysql user, with `extra_args` for mariadbd; a Throwaway
    (user root, no password). Stopped with SIGTERM, unless killed."""
    install, daemon = shutil.which("mariadb-install-db"), shutil.which("mariadbd") or "/usr/sbin/mariadbd"
    if not install or not os.path.exists(daemon):
        _cannot_start("MariaDB", "no mariadb-install-db / mariadbd")
    base = tempfile.mkdtemp(prefix=prefix)
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
    port = free_port()
    log = open(os.path.join(base, "log"), "w")
    proc = subprocess.Popen([daemon, "--no-defaults", f"--datadir={data}", f"--socket={base}/s.sock", f"--port={port}",
                             "--bind-address=127.0.0.1", "--user=mysql", *extra_args, "--skip-name-resolve",
                             f"--tmpdir={tmp}"],
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
    server = Throwaway(params, lambda: [proc.pid])
    try:
        yield server
    finally:
        if not server.killed:
            proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(base, ignore_errors=True)
