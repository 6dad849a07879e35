"""Command-line helpers for the relational tests (fixtures are in conftest.py)."""

from __future__ import annotations

import json
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
    return json.loads(fbox(project, "query", sql, "--format", "json").stdout)

def plan_actions(project: Path) -> list[dict]:
    return json.loads(fbox(project, "plan", "--json").stdout)["actions"]
