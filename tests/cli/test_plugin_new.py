"""`fbox plugin new`: the scaffolded distribution is found through its entry point, passes its own
contract tests and loads data in a project.

The package is not pip-installed (that would change the shared venv): the test puts its `src/` on
PYTHONPATH next to a `.dist-info` whose `entry_points.txt` and `METADATA` are made from the generated
pyproject.toml, which is what an install would write.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from featherbox import __version__
from featherbox.testing import write_project

from fboxcli import fbox, query


def _install_by_path(package: Path, site: Path) -> dict:
    """A .dist-info made from `package`'s pyproject.toml; returns the environment that "installs" it."""
    meta = tomllib.loads((package / "pyproject.toml").read_text())["project"]
    info = site / f"{meta['name'].replace('-', '_')}-{meta['version']}.dist-info"
    info.mkdir(parents=True)
    requires = "".join(f"Requires-Dist: {r}\n" for r in meta.get("dependencies", []))
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {meta['name']}\nVersion: {meta['version']}\n{requires}")
    groups = meta.get("entry-points", {})
    (info / "entry_points.txt").write_text(
        "".join(f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()) for group, eps in groups.items())
    )
    path = os.pathsep.join([str(package / "src"), str(site), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return {"PYTHONPATH": path}


@pytest.fixture(scope="module")
def scaffold(tmp_path_factory):
    base = tmp_path_factory.mktemp("plugin")
    package = base / "fbox-demo"
    result = fbox("plugin", "new", "fbox-demo", "--dir", str(package))
    assert result.returncode == 0, result.stderr
    env = _install_by_path(package, base / "site")
    return package, env


def test_scaffold_layout_and_pins(scaffold):
    package, _ = scaffold
    for rel in ("pyproject.toml", "README.md", "src/fbox_demo/__init__.py", "src/fbox_demo/plugin.py",
                "src/fbox_demo/adapter.py", "src/fbox_demo/schema.py", "tests/test_contract.py"):
        assert (package / rel).is_file(), rel
    meta = tomllib.loads((package / "pyproject.toml").read_text())["project"]
    assert meta["name"] == "fbox-demo"
    assert f"featherbox=={__version__}" in meta["dependencies"]
    assert meta["entry-points"]["featherbox"] == {"demo": "fbox_demo.plugin"}
    plugin = (package / "src/fbox_demo/plugin.py").read_text()
    assert "@hookimpl" in plugin and len(plugin.splitlines()) <= 15
    for rel in ("src/fbox_demo/plugin.py", "src/fbox_demo/adapter.py", "src/fbox_demo/schema.py", "tests/test_contract.py"):
        compile((package / rel).read_text(), rel, "exec")


def test_fbox_plugins_lists_it(scaffold):
    _, env = scaffold
    result = fbox("plugins", "--json", env=env)
    assert result.returncode == 0, result.stderr
    import json

    plugins = {p["name"]: p for p in json.loads(result.stdout)["plugins"]}
    assert plugins["demo"]["distribution"] == "fbox-demo"
    assert plugins["demo"]["version"] == "0.1.0"
    assert plugins["demo"]["types"] == {"adapter": ["demo"]} and plugins["demo"]["status"] == "ok"


def test_its_contract_suite_passes(scaffold):
    package, env = scaffold
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(package / "tests")],
        cwd=package, capture_output=True, text=True, timeout=600, env={**os.environ, **env},
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "10 passed, 1 skipped" in done.stdout, done.stdout[-2000:]


def test_a_project_using_it_loads_data(scaffold, tmp_path):
    _, env = scaffold
    project = write_project(tmp_path / "p", {"models/evens.yml": "sql: SELECT id FROM numbers WHERE id % 2 = 0\n"})
    made = fbox("adapter", "new", "numbers", "--type", "demo", "--option", "rows=7", project=project, env=env)
    assert made.returncode == 0 and "writes: raw.numbers" in made.stdout, made.stdout + made.stderr
    path = project / "adapters" / "numbers.yml"
    path.write_text(path.read_text().replace("# start: 1", "start: 100"))
    done = fbox("run", project=project, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert query(project, "SELECT count(*) AS n, min(id) AS lo, max(label) AS hi FROM raw.numbers", env=env) == [
        {"n": 7, "lo": 100, "hi": "row 106"}
    ]
    assert query(project, "SELECT count(*) AS n FROM main.evens", env=env) == [{"n": 4}]
    again = fbox("run", project=project, env=env)
    assert "Nothing to do" in again.stdout
    bad = write_project(tmp_path / "bad", {"adapters/numbers.yml": "type: demo\nconfig:\n  rows: 0\n"})
    done = fbox("plan", project=bad, env=env)
    assert done.returncode == 1 and "numbers.yml:3" in done.stderr and "Traceback" not in done.stderr
    refused = fbox("adapter", "new", "n2", "--type", "demo", "--option", "rows=lots", project=project, env=env)
    assert refused.returncode == 1 and "--option rows must be a whole number" in refused.stderr
    refused = fbox("adapter", "new", "n3", "--type", "localfile", "--option", "rows=3", project=project, env=env)
    assert refused.returncode == 1 and "--option rows (for demo adapters)" in refused.stderr


def test_bad_names_and_existing_types_are_refused(tmp_path):
    for name, message in (("Bad Name", "not valid"), ("fbox-sqlite", "already provided"), ("fbox-", "not valid")):
        result = fbox("plugin", "new", name, "--dir", str(tmp_path / "x"))
        assert result.returncode != 0 and message in result.stderr, (name, result.stderr)
        assert "Traceback" not in result.stderr
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    result = fbox("plugin", "new", "fbox-other", "--dir", str(tmp_path / "full"))
    assert result.returncode == 1 and "not empty" in result.stderr
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"
