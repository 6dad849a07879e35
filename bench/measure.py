"""Measure a command in a child process: wall time, CPU time (user+sys) and peak RSS of that child alone.

Shared by bench/run.py (FeatherBox vs plain DuckLake on one data set) and bench/projsize/run.py (project
size). Children are started by a small helper process, not by the measuring one: on Linux a child's
ru_maxrss starts from the RSS of the process that forked it, and the measuring process has DuckDB loaded
(~170 MB). The helper is a bare Python (~10 MB), so the peak RSS it reports for each child is the
child's own; it comes from os.wait4 of exactly that child.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# One job per stdin line: {"command", "log", "cwd"?, "timeout"?}. A job past its timeout gets SIGKILL
# (its whole process group) and is reported with timed_out true.
_SPAWNER_CODE = r"""
import json, os, signal, subprocess, sys, threading, time
for line in sys.stdin:
    job = json.loads(line)
    with open(job["log"], "ab") as out:
        out.write(("$ " + " ".join(job["command"]) + "\n").encode())
        out.flush()
        timeout = job.get("timeout")
        started = time.perf_counter()
        proc = subprocess.Popen(job["command"], stdout=out, stderr=subprocess.STDOUT, cwd=job.get("cwd"),
                                start_new_session=timeout is not None)
        fired = []
        timer = None
        if timeout is not None:
            def kill():
                fired.append(True)
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except OSError:
                    pass
            timer = threading.Timer(timeout, kill)
            timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        if timer is not None:
            timer.cancel()
    print(json.dumps({"seconds": seconds, "maxrss": usage.ru_maxrss, "cpu_seconds": usage.ru_utime + usage.ru_stime,
                      "returncode": os.waitstatus_to_exitcode(status), "timed_out": bool(fired)}), flush=True)
"""
_spawner: subprocess.Popen | None = None


def measure(command: list[str], log: Path, *, cwd: Path | None = None, timeout: float | None = None,
            check: bool = True) -> dict:
    """Run `command`; its wall time, CPU time and its own peak RSS (wait4's rusage of exactly this child).

    With `check` (the default) a failing command ends the benchmark (SystemExit with the log's tail);
    without it the result carries `returncode` and `timed_out` and the caller decides.
    """
    global _spawner
    if _spawner is None:
        _spawner = subprocess.Popen([sys.executable, "-S", "-c", _SPAWNER_CODE], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True)
    job = {"command": command, "log": str(log)}
    if cwd is not None:
        job["cwd"] = str(cwd)
    if timeout is not None:
        job["timeout"] = timeout
    _spawner.stdin.write(json.dumps(job) + "\n")
    _spawner.stdin.flush()
    result = json.loads(_spawner.stdout.readline())
    if check and result["returncode"] != 0:
        raise SystemExit(f"{' '.join(command)} exited {result['returncode']}; see {log}:\n{log.read_text()[-3000:]}")
    rss_mb = result["maxrss"] / 1024 if sys.platform != "darwin" else result["maxrss"] / 1024 / 1024
    out = {"seconds": result["seconds"], "rss_mb": rss_mb, "cpu_seconds": result["cpu_seconds"]}
    if not check:
        out["returncode"] = result["returncode"]
        out["timed_out"] = result["timed_out"]
    return out
