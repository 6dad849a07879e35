"""Command-line helpers for the relational tests (fixtures are in conftest.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FBOX = str(Path(sys.executable).parent / "fbox")


def fbox(project: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([FBOX, "-C", str(project), *args], capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"fbox {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result

def query(project: Path, sql: str) -> list[dict]:
    from fboxcli import query as query_in_process

    return query_in_process(project, sql)


def plan_actions(project: Path) -> list[dict]:
    from fboxcli import plan_json

    return plan_json(project)["actions"]
