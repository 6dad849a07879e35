"""constraints.txt pins everything requirements-dev.txt installs (tools/lock.py), and tools/release.py refuses
distributions whose versions disagree. Offline and fast: the build itself is tests/release/test_built_wheels.py."""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
PYPROJECTS = [REPO / "core" / "pyproject.toml", *sorted((REPO / "plugins").glob("*/pyproject.toml"))]
LOCAL = {canonicalize_name(tomllib.loads(p.read_text())["project"]["name"]) for p in PYPROJECTS}


def pins() -> dict[str, list[str]]:
    """name -> every version constraints.txt pins it to (a name may have several, each under its own marker)."""
    found: dict[str, list[str]] = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if not line.strip() or line.startswith((" ", "#")):
            continue
        requirement = Requirement(line)
        specs = list(requirement.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", f"constraints.txt: {line!r} is not an exact pin"
        found.setdefault(canonicalize_name(requirement.name), []).append(specs[0].version)
    return found


def requirements() -> list[Requirement]:
    """Every requirement of requirements-dev.txt (but the -e/-c lines) and of the distributions' pyproject.toml
    (their extras too: a plugin's `test` extra is installed with the lock by tests/release/test_built_wheels.py)."""
    wanted = []
    for line in (REPO / "requirements-dev.txt").read_text().splitlines():
        line = line.split(" #", 1)[0].strip()
        if line and not line.startswith(("#", "-")):
            wanted.append(Requirement(line))
    for pyproject in PYPROJECTS:
        project = tomllib.loads(pyproject.read_text())["project"]
        wanted += [Requirement(d) for d in project.get("dependencies", [])]
        wanted += [Requirement(d) for extra in project.get("optional-dependencies", {}).values() for d in extra]
    return wanted


def test_requirements_dev_applies_the_lock():
    lines = (REPO / "requirements-dev.txt").read_text().splitlines()
    assert "-c constraints.txt" in lines
    assert "tools/lock.py" in (REPO / "constraints.txt").read_text().splitlines()[1], "the header names the command"


def test_every_requirement_is_pinned_by_a_version_it_allows():
    locked = pins()
    for requirement in requirements():
        name = canonicalize_name(requirement.name)
        if name in LOCAL:
            continue
        assert name in locked, f"{requirement} is not in constraints.txt: run .venv/bin/python tools/lock.py"
        allowed = [v for v in locked[name] if requirement.specifier.contains(v, prereleases=True)]
        assert allowed, f"constraints.txt pins {name}=={locked[name]}, outside {requirement}: run tools/lock.py"


def test_the_local_distributions_are_not_pinned():
    text = (REPO / "constraints.txt").read_text()
    assert not re.search(r"(?m)^-e ", text), "pip refuses editable requirements in a constraints file"
    assert not LOCAL & set(pins()), "the core and the plugins get their versions from their pyproject.toml"


def test_duckdb_and_its_extension_wheels_stay_at_1_5_5():
    locked = pins()
    duckdb = {name: versions for name, versions in locked.items() if name == "duckdb" or name.startswith("duckdb-extension")}
    assert duckdb["duckdb"] == ["1.5.5"]
    assert len(duckdb) >= 8, duckdb  # duckdb, duckdb-extensions and the six duckdb-extension-* wheels
    assert all(versions == ["1.5.5"] for versions in duckdb.values()), duckdb


# --- tools/release.py's version check ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def release():
    spec = importlib.util.spec_from_file_location("fbox_release_tool", REPO / "tools" / "release.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks the module up while the class is made
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(spec.name, None)
    return module


def test_the_repository_versions_agree(release):
    dists = release.distributions()
    assert [d.name for d in dists][0] == "featherbox" and len(dists) == len(PYPROJECTS)
    assert release.check_versions(dists) == dists[0].version


def _dist(release, name: str, version: str, *dependencies: str):
    return release.Distribution(name, version, REPO / "plugins" / name, list(dependencies), {}, {})


def test_a_plugin_with_another_version_is_refused(release):
    dists = [_dist(release, "featherbox", "0.2.0"), _dist(release, "fbox-s3", "0.1.0", "featherbox==0.2.0")]
    with pytest.raises(release.ReleaseError, match=r"plugins/fbox-s3/pyproject.toml: version 0.1.0 differs from featherbox 0.2.0"):
        release.check_versions(dists)


def test_a_plugin_requiring_another_core_is_refused(release):
    dists = [_dist(release, "featherbox", "0.2.0"), _dist(release, "fbox-s3", "0.2.0", "featherbox==0.1.0", "s3fs")]
    with pytest.raises(release.ReleaseError, match=r"fbox-s3 requires featherbox==0.1.0, which featherbox 0.2.0 "
                                                   r"does not satisfy; make it featherbox==0.2.0"):
        release.check_versions(dists)
    ranged = [_dist(release, "featherbox", "0.2.0"), _dist(release, "fbox-s3", "0.2.0", "featherbox>=0.2,<0.3")]
    assert release.check_versions(ranged) == "0.2.0"


def test_a_plugin_without_the_core_and_a_wrong_tag_are_refused(release):
    dists = [_dist(release, "featherbox", "0.2.0"), _dist(release, "fbox-x", "0.2.0", "s3fs")]
    with pytest.raises(release.ReleaseError, match="fbox-x does not depend on featherbox"):
        release.check_versions(dists)
    with pytest.raises(release.ReleaseError, match="tagged 0.3.0 but the distributions' version is 0.2.0"):
        release.check_versions(dists[:1], expected="0.3.0")
