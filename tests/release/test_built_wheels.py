"""The release files work as users receive them (tools/release.py, docs/releasing.md).

`tools/release.py build` builds every wheel and sdist into a temporary directory, once per session; a fresh
virtual environment (no featherbox, no repository on its path) then installs the core and three plugins with
`pip install --find-links DIR featherbox fbox-localfile fbox-sqlite fbox-s3`: the four from the built files,
their dependencies from the package index (pip's cache keeps the downloads between runs). There the README's
first command runs: `fbox init --example demo`, `fbox -C demo run`, `fbox -C demo query ...`, with a new HOME
(DuckDB installs its extensions there from the duckdb-extension-* wheels) and the proxy variables pointing at a
closed port, so that a download at run time would fail.

Needs the `build` and `twine` packages (requirements-dev.txt); without them the tests skip, except under
CI=true, where they fail. About 1.5-3 minutes, most of it building and installing. The same built files
also go into one more fresh venv (the core, pytest and the plugins' `test` extras, installed once), where
each plugin in turn is installed, its own tests (plugins/<plugin>/tests) run, and it is uninstalled: the
object-store plugins' against the emulators featherbox.testing starts, the database plugins' against the
local PostgreSQL and MariaDB (a few minutes more).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from featherbox.testing import unavailable
from featherbox.testing.services import cache_dir

REPO = Path(__file__).resolve().parents[2]
RELEASE = REPO / "tools" / "release.py"
INSTALLED = ["featherbox", "fbox-localfile", "fbox-sqlite", "fbox-s3"]
PLUGINS = sorted(p.parent.name for p in (REPO / "plugins").glob("*/pyproject.toml"))
DISTRIBUTIONS = ["featherbox", *PLUGINS]
VERSION = tomllib.loads((REPO / "core" / "pyproject.toml").read_text())["project"]["version"]
QUERY = "SELECT * FROM datastore.daily_active_users ORDER BY day"

pytestmark = pytest.mark.timeout(900)


def _clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without anything pointing into the development venv or the repository."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTEST_ADDOPTS")
           and (not k.startswith("FBOX_") or k.startswith("FBOX_TEST_"))}  # FBOX_TEST_*: where the test servers are
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p and Path(p).resolve() != Path(sys.executable).parent.resolve())
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def dist_dir(tmp_path_factory) -> Path:
    for module in ("build", "twine"):
        try:
            __import__(module)
        except ImportError:
            unavailable(f"`{module}` is not installed ({sys.executable} -m pip install -r requirements-dev.txt)")
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run([sys.executable, str(RELEASE), "build", "--out", str(out)],
                            capture_output=True, text=True, timeout=400, cwd=REPO)
    assert result.returncode == 0, f"release build failed:\nstdout:\n{result.stdout}\nstderr:\n{result.stderr[-6000:]}"
    return out


@pytest.fixture(scope="module")
def user_venv(tmp_path_factory, dist_dir) -> Path:
    """A fresh venv with the four distributions installed from the built files."""
    root = tmp_path_factory.mktemp("user")
    venv = root / "venv"
    base = getattr(sys, "_base_executable", None) or sys.executable
    subprocess.run([base, "-m", "venv", str(venv)], check=True, timeout=120, env=_clean_env())
    report = root / "pip-report.json"
    result = subprocess.run(
        # --no-compile: pip would byte-compile botocore, duckdb, ... (a quarter of the install time on two cores);
        # Python compiles what it imports on first use, so the installed packages behave the same
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-compile", "--report", str(report),
         "--find-links", str(dist_dir), *(f"{name}=={VERSION}" for name in INSTALLED)],
        capture_output=True, text=True, timeout=400, cwd=root, env=_clean_env(),
    )
    assert result.returncode == 0, f"pip install failed:\n{result.stdout}\n{result.stderr[-6000:]}"
    installed = {item["metadata"]["name"].lower(): item for item in json.loads(report.read_text())["install"]}
    for name in INSTALLED:
        url = installed[name]["download_info"]["url"]
        assert url.startswith(dist_dir.as_uri() + "/"), f"{name} was installed from {url}, not from the built files"
    assert installed["duckdb"]["metadata"]["version"] == "1.5.5"
    not_asked = [n for n in installed if n.startswith("fbox-") and n not in INSTALLED]
    assert not not_asked, f"plugins installed without being asked for: {not_asked}"
    return venv


def fbox(venv: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    home = cwd / "home"
    home.mkdir(exist_ok=True)
    closed = "http://127.0.0.1:9"  # discard port: nothing listens, a download attempt fails at once
    env = _clean_env(HOME=str(home), HTTP_PROXY=closed, HTTPS_PROXY=closed, http_proxy=closed, https_proxy=closed,
                     NO_PROXY="", no_proxy="")
    result = subprocess.run([str(venv / "bin" / "fbox"), *args], capture_output=True, text=True, timeout=180,
                            cwd=cwd, env=env)
    assert result.returncode == 0, f"fbox {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result


def test_release_build_makes_every_wheel_and_sdist(dist_dir):
    stems = [name.replace("-", "_") for name in DISTRIBUTIONS]
    expected = sorted([f"{s}-{VERSION}-py3-none-any.whl" for s in stems] + [f"{s}-{VERSION}.tar.gz" for s in stems])
    assert sorted(p.name for p in dist_dir.iterdir()) == expected


def test_the_readme_example_runs_from_the_built_wheels(user_venv, tmp_path):
    site = next((user_venv / "lib").glob("python*/site-packages"))
    assert (site / "featherbox" / "py.typed").is_file(), "package data is installed"

    init = fbox(user_venv, tmp_path, "init", "--example", "demo")
    assert "Created a FeatherBox project in demo" in init.stdout
    run = fbox(user_venv, tmp_path, "-C", "demo", "run")
    assert re.search(r"create datastore\.daily_active_users: \d+ rows", run.stdout), run.stdout
    assert re.search(r"Run \S+: 7 completed\.", run.stdout), run.stdout

    query = fbox(user_venv, tmp_path, "-C", "demo", "query", QUERY)
    lines = [line.split() for line in query.stdout.strip().splitlines()]
    assert lines[0] == ["day", "active_users"], query.stdout
    rows = lines[1:]
    assert [day for day, _ in rows] == ["2024-01-01", "2024-01-02"], query.stdout
    assert all(int(count) > 0 for _, count in rows), query.stdout
    assert (tmp_path / "home" / ".duckdb" / "extensions").is_dir(), "DuckDB's extensions came from the wheels into HOME"

    listed = json.loads(fbox(user_venv, tmp_path, "plugins", "--json").stdout)["plugins"]
    names = {plugin["name"]: plugin for plugin in listed}
    for name in ("localfile", "sqlite", "s3"):
        assert name in names and names[name]["status"] == "ok", listed
        assert names[name]["version"] == VERSION
    for absent in ("postgresql", "mysql", "gcs", "azure"):
        assert absent not in names, f"{absent} is listed but was not installed: {listed}"
    text = fbox(user_venv, tmp_path, "plugins").stdout
    assert "fbox-localfile" in text and "fbox-postgresql" not in text


def test_installed_fbox_is_not_the_repository(user_venv):
    """The venv runs the installed copy: the repository's src/ directories are not on its path."""
    code = "import featherbox, fbox_s3; print(featherbox.__file__); print(fbox_s3.__file__)"
    result = subprocess.run([str(user_venv / "bin" / "python"), "-c", code], capture_output=True, text=True,
                            timeout=60, cwd=user_venv.parent, env=_clean_env())
    assert result.returncode == 0, result.stderr
    for path in result.stdout.split():
        assert Path(path).resolve().is_relative_to(user_venv.resolve()), path
        assert not Path(path).resolve().is_relative_to(REPO), path
    assert shutil.which("fbox", path=str(user_venv / "bin"))


def _pip(python: str, cwd: Path, *args: str) -> None:
    result = subprocess.run([python, "-m", "pip", *args], capture_output=True, text=True, timeout=400, cwd=cwd,
                            env=_clean_env())
    assert result.returncode == 0, f"pip {' '.join(args)} failed:\n{result.stdout}\n{result.stderr[-6000:]}"


def _test_requirements() -> list[str]:
    """Every plugin's `test` extra (pytest, moto[server], gcp-storage-emulator, ...), without duplicates."""
    found: dict[str, None] = {}
    for plugin in PLUGINS:
        project = tomllib.loads((REPO / "plugins" / plugin / "pyproject.toml").read_text())["project"]
        found.update(dict.fromkeys(project.get("optional-dependencies", {}).get("test", [])))
    return list(found)


@pytest.fixture(scope="module")
def plugin_test_venv(tmp_path_factory, dist_dir) -> Path:
    """One fresh venv for every plugin's tests: the core from the built files, pytest and the plugins' `test`
    extras (at constraints.txt's versions), installed once; each test adds its plugin and removes it after."""
    root = tmp_path_factory.mktemp("plugin-tests")
    venv = root / "venv"
    base = getattr(sys, "_base_executable", None) or sys.executable
    subprocess.run([base, "-m", "venv", str(venv)], check=True, timeout=120, env=_clean_env())
    _pip(str(venv / "bin" / "python"), root, "install", "-q", "--no-compile", "--find-links", str(dist_dir),
         "-c", str(REPO / "constraints.txt"), f"featherbox=={VERSION}", "pytest-timeout", *_test_requirements())
    return venv


@pytest.mark.parametrize("plugin", PLUGINS)
def test_a_plugins_own_tests_pass_with_only_the_core_and_that_plugin(plugin, plugin_test_venv, dist_dir, tmp_path):
    """A plugin is testable on its own, as `fbox plugin new` promises third parties: the shared venv holds the
    core, pytest and the test tools; the plugin (from the built files, its dependencies at constraints.txt's
    versions) is installed, a copy of plugins/<plugin>/tests runs from outside the repository, and the plugin
    is uninstalled again. Its servers come from featherbox.testing's fixtures: under CI=true a missing one
    fails the run."""
    python = str(plugin_test_venv / "bin" / "python")
    _pip(python, tmp_path, "install", "-q", "--no-compile", "--find-links", str(dist_dir),
         "-c", str(REPO / "constraints.txt"), f"{plugin}=={VERSION}")
    try:
        listed = json.loads(fbox(plugin_test_venv, tmp_path, "plugins", "--json").stdout)["plugins"]
        assert {p["distribution"] for p in listed} == {"featherbox", plugin}, listed

        tests = tmp_path / "tests"
        shutil.copytree(REPO / "plugins" / plugin / "tests", tests)
        # the real cache of test tools (azurite from npm), not one under the new HOME
        env = _clean_env(HOME=str(tmp_path / "home"), FEATHERBOX_TEST_CACHE=str(cache_dir()))
        done = subprocess.run(
            [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", "/dev/null", "--rootdir", str(tests),
             "-o", "timeout=300", str(tests)],
            capture_output=True, text=True, timeout=800, cwd=tmp_path, env=env,
        )
        assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
        assert " passed" in done.stdout and " failed" not in done.stdout, done.stdout[-3000:]
    finally:
        _pip(python, tmp_path, "uninstall", "-q", "-y", plugin)
