"""Command-line helpers for the relational tests (fixtures are in conftest.py).

`fbox` runs the console script's own `main()` in this process (a new interpreter costs ~1 s a
start); `killed_run` is the one place that starts a real process, because it SIGKILLs it.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

FBOX = str(Path(sys.executable).parent / "fbox")
KILL_HOOK_DIR = str(Path(__file__).parent / "killhook")


def fbox(project: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """`fbox -C PROJECT ARGS` in this process: `featherbox.cli.app.main()` (its error reporting
    included) with `sys.argv` set, stdout/stderr captured and the exit code taken from SystemExit.
    Like a new process it starts with the CLI state and the secrets registry empty."""
    from featherbox import secrets
    from featherbox.cli import app

    argv = ["fbox", "-C", str(project), *args]
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "argv", argv)
        secrets.clear()
        try:
            with redirect_stdout(out), redirect_stderr(err):
                app.main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            secrets.clear()
    result = subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())
    if check and code != 0:
        raise AssertionError(f"fbox {' '.join(args)} failed ({code}):\n{result.stdout}\n{result.stderr}")
    return result


def killed_run(project: Path, mark: Path, after: str) -> None:
    """`fbox run` in a new process, SIGKILLed once `after` ("module:attribute.path") has returned,
    with the process then held in a sleep (see killhook/sitecustomize.py)."""
    mark.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": KILL_HOOK_DIR, "FBOX_TEST_KILL_AFTER": after, "FBOX_TEST_KILL_MARK": str(mark)}
    proc = subprocess.Popen([FBOX, "-C", str(project), "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not mark.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert mark.exists(), proc.communicate(timeout=5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdout.close()
    proc.stderr.close()


def query(project: Path, sql: str) -> list[dict]:
    from fboxcli import query as query_in_process

    return query_in_process(project, sql)


@contextmanager
def lake(project: Path):
    """A `query(sql) -> list[dict]` for a series of checks on one lake connection (opening the
    lake loads DuckDB extensions: ~0.3 s each time). Rows come back as `fbox query --format json`
    gives them (values JSON cannot hold as strings). Close it before the next run."""
    from featherbox.workspace import Workspace

    con = Workspace(project).open_lake(for_writing=False)

    def read(sql: str) -> list[dict]:
        cursor = con.execute(sql)
        headers = [d[0] for d in cursor.description]
        return json.loads(json.dumps([dict(zip(headers, row)) for row in cursor.fetchall()], default=str))

    try:
        yield read
    finally:
        con.close()


def plan_actions(project: Path) -> list[dict]:
    from fboxcli import plan_json

    return plan_json(project)["actions"]
