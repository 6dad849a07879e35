#!/usr/bin/env python3
"""Regenerate constraints.txt, the lock that pins every package requirements-dev.txt installs.

    .venv/bin/python tools/lock.py                      # after editing requirements-dev.txt or a pyproject.toml
    .venv/bin/python tools/lock.py --upgrade            # move every pin to the newest allowed version
    .venv/bin/python tools/lock.py --upgrade-package moto --upgrade-package boto3

It runs `uv pip compile --universal --python-version 3.11` (uv is in requirements-dev.txt) on requirements-dev.txt:
one resolution for every platform and Python the project supports (Linux and macOS, Python 3.11+), with platform
specific pins carrying environment markers. The core and the plugins themselves (the editable `-e` lines) are left
out: pip refuses editable requirements in a constraints file, and their versions come from their pyproject.toml.

Pins already in constraints.txt are kept when they still satisfy the requirements (uv reads the output file as
its preferences), so a run without --upgrade changes only what the edit needs. requirements-dev.txt's own
`-c constraints.txt` line is neutralised while resolving (constraints.txt is emptied for the run and restored on
failure), so a requirement raised past an old pin does not conflict with it.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REQUIREMENTS = REPO / "requirements-dev.txt"
CONSTRAINTS = REPO / "constraints.txt"
PYTHON = "3.11"  # requires-python of every distribution: the lowest version the resolution must work for
COMMAND = ".venv/bin/python tools/lock.py"


def local_distributions() -> list[str]:
    """Names of the distributions in this repository (core/, plugins/*): never pinned in the lock."""
    names = []
    for pyproject in [REPO / "core" / "pyproject.toml", *sorted((REPO / "plugins").glob("*/pyproject.toml"))]:
        match = re.search(r'(?m)^name\s*=\s*"([^"]+)"', pyproject.read_text(encoding="utf-8"))
        if match is None:
            raise SystemExit(f"no project name in {pyproject}")
        names.append(match.group(1))
    return names


def uv() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if found is None:
        raise SystemExit(f"uv is not installed: {sys.executable} -m pip install -r requirements-dev.txt")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upgrade", action="store_true", help="ignore the current pins: newest allowed versions")
    parser.add_argument("--upgrade-package", action="append", default=[], metavar="NAME",
                        help="let this package (and only it) move to its newest allowed version; repeatable")
    args = parser.parse_args(argv)

    if "-c constraints.txt" not in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        raise SystemExit("requirements-dev.txt must have the line `-c constraints.txt` (that is how the lock applies)")
    with tempfile.TemporaryDirectory() as tmp:
        previous = Path(tmp) / "constraints.txt"
        output = Path(tmp) / "resolved.txt"
        if CONSTRAINTS.exists():
            shutil.copyfile(CONSTRAINTS, previous)
            shutil.copyfile(CONSTRAINTS, output)  # uv prefers the versions already in its output file
        cmd = [uv(), "pip", "compile", "--quiet", "--universal", "--python-version", PYTHON,
               "--custom-compile-command", COMMAND, "--output-file", str(output)]
        for name in local_distributions():
            cmd += ["--no-emit-package", name]
        if args.upgrade:
            cmd.append("--upgrade")
        for name in args.upgrade_package:
            cmd += ["--upgrade-package", name]
        cmd.append(REQUIREMENTS.name)
        CONSTRAINTS.write_text("", encoding="utf-8")  # requirements-dev.txt's `-c constraints.txt` must not bind
        try:
            result = subprocess.run(cmd, cwd=REPO)
        finally:
            if previous.exists():
                shutil.copyfile(previous, CONSTRAINTS)
        if result.returncode != 0:
            print(f"tools/lock.py: uv pip compile exited {result.returncode}; constraints.txt is unchanged",
                  file=sys.stderr)
            return result.returncode
        text = output.read_text(encoding="utf-8")
    lines = _drop_local_annotations(text.splitlines())
    pins = [line for line in lines if line and not line[0].isspace() and not line.startswith("#")]
    if not any(line.startswith("duckdb==") for line in pins):
        raise SystemExit("tools/lock.py: the resolution has no duckdb pin; constraints.txt is unchanged")
    CONSTRAINTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"tools/lock.py: wrote {CONSTRAINTS.relative_to(REPO)} ({len(pins)} pins)")
    return 0


def _drop_local_annotations(lines: list[str]) -> list[str]:
    """Remove the `# via -r requirements-dev.txt` blocks that followed the dropped `-e` lines."""
    out: list[str] = []
    skipping = False
    for line in lines:
        if line.startswith("-e "):
            skipping = True
            continue
        if skipping and line.startswith("    #"):
            continue
        skipping = False
        out.append(line)
    return out


if __name__ == "__main__":
    sys.exit(main())
