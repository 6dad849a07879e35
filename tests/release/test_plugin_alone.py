"""Each plugin's own tests (plugins/fbox-*/tests) pass in a fresh virtual environment that holds only the
core, that plugin and pytest: a plugin is testable on its own, as `fbox plugin new` promises third parties.

The core and the plugin are installed from the repository (not editable), their dependencies at the
versions of constraints.txt; the tests run from a copy outside the repository, so nothing of the other
plugins or of the root test suite is on the path. About a minute per plugin, most of it installing.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from test_built_wheels import _clean_env

REPO = Path(__file__).resolve().parents[2]
ALONE = ["fbox-localfile", "fbox-sqlite"]  # the plugins whose tests need no server

pytestmark = pytest.mark.timeout(900)


@pytest.mark.parametrize("plugin", ALONE)
def test_a_plugins_tests_pass_with_only_the_core_and_that_plugin(plugin, tmp_path):
    venv = tmp_path / "venv"
    env = _clean_env(HOME=str(tmp_path / "home"))
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    pytest_version = __import__("pytest").__version__
    install = subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-compile", "-c", str(REPO / "constraints.txt"),
         str(REPO / "core"), str(REPO / "plugins" / plugin), f"pytest=={pytest_version}", "pytest-timeout"],
        env=env, capture_output=True, text=True, timeout=800,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    listed = subprocess.run([str(venv / "bin" / "fbox"), "plugins", "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    others = [p for p in (REPO / "plugins").iterdir() if p.name not in (plugin,) and (p / "pyproject.toml").exists()]
    assert plugin in listed.stdout and not any(f'"{p.name}"' in listed.stdout for p in others), listed.stdout

    tests = tmp_path / "tests"
    shutil.copytree(REPO / "plugins" / plugin / "tests", tests)
    done = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", "/dev/null", "--rootdir", str(tests), str(tests)],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=800,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert " passed" in done.stdout and " failed" not in done.stdout, done.stdout[-3000:]
