"""Helpers for tests: run the installed `fbox` console script against a project directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

FBOX = str(Path(sys.executable).parent / "fbox")


def fbox(*args: str, project: Path | None = None, env: dict | None = None, check: bool = False, timeout: float = 120):
    command = [FBOX, *(["-C", str(project)] if project else []), *args]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} exited {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}")
    return result


def invoke(*args: str, project: Path | None = None, env: dict | None = None) -> str:
    """Run a read-only command (`query`, `plan`, `status`) in this process: the same typer app and
    command code as the console script, without paying for a new interpreter on every call."""
    from typer.testing import CliRunner

    from featherbox import secrets
    from featherbox.cli.app import create_app

    if env and "PYTHONPATH" in env:  # plugins only a new interpreter can import
        return fbox(*args, project=project, env=env, check=True).stdout
    secrets.clear()  # as in a new process: only this project's values are secrets
    argv = [*(["-C", str(project)] if project else []), *args]
    result = CliRunner().invoke(create_app(), argv, env=env, catch_exceptions=True)
    if result.exit_code != 0 or result.exception is not None:
        raise AssertionError(f"fbox {' '.join(argv)} exited {result.exit_code}: {result.exception!r}\n{result.output}")
    return result.stdout


def query(project: Path, sql: str, env: dict | None = None) -> list[dict]:
    return json.loads(invoke("query", sql, "--format", "json", project=project, env=env))


def plan_json(project: Path, *args: str, env: dict | None = None) -> dict:
    return json.loads(invoke("plan", "--json", *args, project=project, env=env))


def run_json(project: Path, *args: str, env: dict | None = None, expect_ok: bool = True) -> dict:
    result = fbox("run", "--json", *args, project=project, env=env)
    if expect_ok and result.returncode != 0:
        raise AssertionError(f"fbox run failed:\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout)


def ran(payload: dict) -> dict[str, str]:
    """node -> status of every action a `run --json` executed."""
    return {a["node"]: a["status"] for a in payload["actions"]}


def registry_with(*adapter_types):
    """A registry of a fresh plugin manager (built-ins, installed plugins) plus a throw-away plugin
    providing `adapter_types`; the process-wide registry stays as it is."""
    from featherbox.hookspecs import hookimpl
    from featherbox.plugins import build_manager
    from featherbox.registry import collect

    class ThrowAway:
        @hookimpl
        def fbox_adapter_types(self):
            return list(adapter_types)

    pm, report = build_manager()
    pm.register(ThrowAway(), name="throwaway")
    return collect(pm, report)
