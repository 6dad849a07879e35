"""Fresh databases on the real PostgreSQL and MySQL/MariaDB servers, for any test folder, and
throwaway servers (`start_postgres`, `start_mariadb`) for settings the shared ones lack.

Connection settings come from the environment (defaults match ../shared/TESTING.md):
FBOX_TEST_PG_HOST/PORT/USER/PASSWORD and FBOX_TEST_MYSQL_HOST/PORT/USER/PASSWORD.
An unreachable server, or a throwaway one that cannot start, skips its tests, except with CI=true,
where it fails them.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from contextlib import contextmanager

import pytest

CI = os.environ.get("CI", "").lower() == "true"

def _unreachable(what: str, exc: Exception):
    message = f"{what} is not reachable ({type(exc).__name__}: {exc}); see /work/shared/TESTING.md"
    if CI:
        pytest.fail(message + " (CI=true: not skipping)")
    pytest.skip(message)

PG = {
    "host": os.environ.get("FBOX_TEST_PG_HOST", "127.0.0.1"),
    "port": int(os.environ.get("FBOX_TEST_PG_PORT", "5432")),
    "user": os.environ.get("FBOX_TEST_PG_USER", "postgres"),
    "password": os.environ.get("FBOX_TEST_PG_PASSWORD", ""),
}

MY = {
    "host": os.environ.get("FBOX_TEST_MYSQL_HOST", "127.0.0.1"),
    "port": int(os.environ.get("FBOX_TEST_MYSQL_PORT", "3306")),
    "user": os.environ.get("FBOX_TEST_MYSQL_USER", "root"),
    "password": os.environ.get("FBOX_TEST_MYSQL_PASSWORD", ""),
}

class Source:
    """A freshly created database; `sql` runs statements, `rows` returns sorted rows."""

    def __init__(self, kind: str, params: dict, dbname: str, con):
        self.kind, self.params, self.dbname, self.con = kind, params, dbname, con

    def sql(self, *statements: str, params=None) -> None:
        cur = self.con.cursor()
        for statement in statements:
            cur.execute(statement, params)
        cur.close()

    def rows(self, statement: str) -> list[tuple]:
        cur = self.con.cursor()
        cur.execute(statement)
        rows = cur.fetchall()
        cur.close()
        return sorted(tuple(r) for r in rows)

    def config_yaml(self, indent: int = 2) -> str:
        pad = " " * indent
        p = self.params
        lines = [f"host: {p['host']}", f"port: \"{p['port']}\"", f"user: {p['user']}", f"dbname: {self.dbname}"]
        if p["password"]:
            lines.append(f"password: {json.dumps(p['password'])}")
        return "\n".join(pad + line for line in lines)

@pytest.fixture
def pg():
    try:
        import psycopg

        admin = psycopg.connect(**{k: v for k, v in PG.items() if v != ""}, dbname="postgres", autocommit=True, connect_timeout=5)
    except Exception as exc:
        _unreachable(f"PostgreSQL at {PG['host']}:{PG['port']}", exc)
    dbname = f"fbox_t_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{dbname}"')
    con = psycopg.connect(**{k: v for k, v in PG.items() if v != ""}, dbname=dbname, autocommit=True)
    try:
        yield Source("postgresql", PG, dbname, con)
    finally:
        con.close()
        admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        admin.close()

def my_admin():
    """An autocommit connection to the shared MySQL/MariaDB server as MY's user."""
    try:
        import mysql.connector

        return mysql.connector.connect(**MY, autocommit=True, connection_timeout=5)
    except Exception as exc:
        _unreachable(f"MySQL/MariaDB at {MY['host']}:{MY['port']}", exc)

@pytest.fixture
def my():
    admin = my_admin()
    import mysql.connector

    dbname = f"fbox_t_{uuid.uuid4().hex[:10]}"
    cur = admin.cursor()
    cur.execute(f"CREATE DATABASE `{dbname}`")
    con = mysql.connector.connect(**MY, database=dbname, autocommit=True)
    try:
        yield Source("mysql", MY, dbname, con)
    finally:
        con.close()
        cur.execute(f"DROP DATABASE IF EXISTS `{dbname}`")
        cur.close()
        admin.close()

# throwaway servers, started and removed by the tests (see /work/shared/TESTING.md)

def free_port() -> int:
    """A port nothing listens on (at the moment)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def _cannot_start(what: str, detail: str):
    message = f"cannot start a throwaway {what}: {detail}; see /work/shared/TESTING.md"
    if CI:
        pytest.fail(message + " (CI=true: not skipping)")
    pytest.skip(message)

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
