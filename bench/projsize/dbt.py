"""dbt-duckdb on the generated dbt project (optional: only when its own virtualenv exists).

Make the virtualenv once (dbt-core 1.11+ does not install here; 1.10.23 with dbt-duckdb 1.11.1 does):

    python3 -m venv bench/.work/dbt-venv && bench/.work/dbt-venv/bin/pip install duckdb==1.5.5 dbt-duckdb==1.11.1 "dbt-core==1.10.23"

Then, by hand on a generated project (bench/projsize/generate.py OUT writes OUT/dbt):

    .venv/bin/python bench/projsize/dbt.py OUT/dbt cold     # fresh DuckDB file, `dbt run`
    .venv/bin/python bench/projsize/dbt.py OUT/dbt rerun    # `dbt run` again: dbt has no change detection
    .venv/bin/python bench/projsize/dbt.py OUT/dbt edit NAME  # `dbt run --select NAME+` (the model and downstream)

bench/projsize/run.py uses command() to measure the same in child processes. dbt runs in the project
directory (the sources' paths are relative to it), with profiles.yml there (an absolute DuckDB path,
threads: 2) and DBT_SEND_ANONYMOUS_USAGE_STATS=false. The sqlite extension for sqlite_scan is found
installed in ~/.duckdb (FeatherBox's load_extensions installs it from its wheel; same DuckDB version).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DBT_VENV = HERE.parent / ".work" / "dbt-venv"
DATABASE = "warehouse.duckdb"
ENV = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_USE_COLORS": "false"}
INSTALL = ('python3 -m venv bench/.work/dbt-venv && bench/.work/dbt-venv/bin/pip install duckdb==1.5.5 '
           'dbt-duckdb==1.11.1 "dbt-core==1.10.23"')


def available(venv: Path = DBT_VENV) -> dict:
    """{"available": bool, "reason": why not, "versions": {package: version}}."""
    dbt = venv / "bin" / "dbt"
    if not dbt.exists():
        return {"available": False, "reason": f"no dbt virtualenv at {venv} (make it with: {INSTALL})"}
    code = ("import importlib.metadata as m, json; print(json.dumps({p: m.version(p) for p in "
            "('dbt-core', 'dbt-duckdb', 'duckdb')}))")
    result = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True)
    if result.returncode != 0:
        return {"available": False, "reason": f"the dbt virtualenv at {venv} is broken: {result.stderr.strip()[-300:]}"}
    return {"available": True, "reason": None, "versions": json.loads(result.stdout)}


def database(project: Path) -> Path:
    return project.resolve() / DATABASE


def prepare(project: Path) -> None:
    """A cold start: no DuckDB file, no target/ (parse cache); profiles.yml pointing at this copy."""
    sys.path.insert(0, str(HERE.parent))
    from projsize.generate import write_dbt_profile

    for leftover in (database(project), project / f"{DATABASE}.wal"):
        leftover.unlink(missing_ok=True)
    shutil.rmtree(project / "target", ignore_errors=True)
    write_dbt_profile(project, database(project))


def command(project: Path, select: str | None = None, venv: Path = DBT_VENV) -> list[str]:
    """`dbt run` for the project (run it with cwd=project); env(1) sets the environment and execs dbt,
    so the measured process is dbt itself."""
    project = project.resolve()
    cmd = ["/usr/bin/env", *(f"{k}={v}" for k, v in ENV.items()), str(venv / "bin" / "dbt"), "run",
           "--project-dir", str(project), "--profiles-dir", str(project)]
    if select:
        cmd += ["--select", f"{select}+"]
    return cmd


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("project", type=Path)
    parser.add_argument("mode", choices=("cold", "rerun", "edit"))
    parser.add_argument("model", nargs="?", help="edit: the model name (e.g. m0051)")
    args = parser.parse_args(argv)
    info = available()
    if not info["available"]:
        print(f"dbt skipped: {info['reason']}")
        return 0
    if args.mode == "cold":
        prepare(args.project)
    return subprocess.run(command(args.project, args.model if args.mode == "edit" else None),
                          cwd=args.project, env={**os.environ, **ENV}).returncode


if __name__ == "__main__":
    sys.exit(main())
