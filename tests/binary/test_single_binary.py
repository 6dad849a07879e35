"""The single-file `fbox` (tools/build_binary.py, docs/binary.md) runs the example project with nothing installed.

The binary is built once per session into a temporary directory (about 30-40 s; pip's own cache keeps the
downloaded dependency wheels between runs), then started as `./fbox` -- through its `#!/usr/bin/env python3`
shebang -- in a clean environment: `env -i PATH=... HOME=<tmp>`, with a python3 on PATH that has neither
featherbox nor duckdb installed. DuckDB extensions must be installed into HOME/.duckdb from the wheels inside the
binary; the proxy variables point at a closed port so that a download attempt would fail.

Needs shiv in the test environment (requirements-dev.txt) and Linux; otherwise the tests skip, except under
CI=true, where they fail.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from featherbox.testing import unavailable

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "tools" / "build_binary.py"
PLUGINS = ["localfile", "sqlite"]
DUCKDB_VERSION = "1.5.5"

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def binary(tmp_path_factory) -> Path:
    if not sys.platform.startswith("linux"):
        unavailable(f"the single binary is built and tested on Linux only (this is {sys.platform})")
    if shutil.which("env", path="/usr/bin:/bin") is None:
        unavailable("/usr/bin/env is missing, so the binary's `#!/usr/bin/env python3` cannot work")
    try:
        import shiv  # noqa: F401
    except ImportError:
        unavailable(f"shiv is not installed ({sys.executable} -m pip install -r requirements-dev.txt)")
    output = tmp_path_factory.mktemp("dist") / "fbox"
    result = subprocess.run(
        [sys.executable, str(BUILD), "--plugins", ",".join(PLUGINS), "--output", str(output)],
        capture_output=True, text=True, timeout=240, cwd=REPO,
    )
    assert result.returncode == 0, f"build failed:\nstdout:\n{result.stdout}\nstderr:\n{result.stderr[-6000:]}"
    assert output.is_file() and os.access(output, os.X_OK)
    assert output.read_bytes()[:64].splitlines()[0] == b"#!/usr/bin/env python3"
    return output


@pytest.fixture(scope="module")
def clean_env(tmp_path_factory, binary) -> dict[str, str]:
    """`env -i` style environment whose python3 is a bare interpreter of the version the binary was built for."""
    root = tmp_path_factory.mktemp("clean")
    home = root / "home"
    home.mkdir()
    wanted = "%d.%d" % sys.version_info[:2]
    path = "/usr/bin:/bin"
    system = shutil.which("python3", path=path)
    if system is None or not _bare(system, wanted, path, home):
        # No suitable system python3: put the venv's base interpreter (no featherbox, same version) first on PATH.
        base = Path(getattr(sys, "_base_executable", "") or "")
        if not base.is_file():
            unavailable(f"no bare Python {wanted} interpreter found for the clean environment")
        bindir = root / "bin"
        bindir.mkdir()
        (bindir / "python3").symlink_to(base)
        path = f"{bindir}:{path}"
    env = {
        "PATH": path,
        "HOME": str(home),
        # a download attempt (DuckDB extension repository, pip, ...) fails fast instead of reaching out
        "http_proxy": "http://127.0.0.1:9",
        "https_proxy": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
    }
    check = _python(env, "import featherbox")
    assert check.returncode != 0 and "ModuleNotFoundError" in check.stderr, "python3 in the clean env has featherbox"
    assert _python(env, "import duckdb").returncode != 0, "python3 in the clean env has duckdb"
    return env


def _python(env: dict[str, str], code: str) -> subprocess.CompletedProcess:
    return subprocess.run(["/usr/bin/env", "python3", "-c", code], env=env, capture_output=True, text=True, timeout=60)


def _bare(python: str, wanted: str, path: str, home: Path) -> bool:
    env = {"PATH": path, "HOME": str(home)}
    version = _python(env, "import sys; print('%d.%d' % sys.version_info[:2])")
    if version.returncode != 0 or version.stdout.strip() != wanted:
        return False
    return _python(env, "import featherbox").returncode != 0 and _python(env, "import duckdb").returncode != 0


def fbox(binary: Path, env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run([str(binary), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, (
        f"fbox {' '.join(args)} exited {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    return result


def test_example_project_runs_from_the_binary_alone(binary, clean_env, tmp_path):
    home = Path(clean_env["HOME"])
    fbox(binary, clean_env, "init", "--example", "demo", cwd=tmp_path)
    run = fbox(binary, clean_env, "-C", "demo", "run", cwd=tmp_path)
    assert "datastore.daily_active_users" in run.stdout + run.stderr
    out = fbox(binary, clean_env, "-C", "demo", "query", "SELECT * FROM datastore.daily_active_users ORDER BY 1",
               "--format", "csv", cwd=tmp_path).stdout
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["day", "active_users"], out
    assert len(rows) > 1 and all(int(r[1]) > 0 for r in rows[1:]), out

    # shiv extracted itself under HOME/.shiv (the default root) ...
    extracted = list((home / ".shiv").glob("fbox_*/site-packages"))
    assert len(extracted) == 1, list((home / ".shiv").iterdir())
    assert (extracted[0] / "featherbox").is_dir() and (extracted[0] / "duckdb_extension_ducklake").is_dir()
    # ... from manylinux wheels for glibc 2.28 or older (tools/build_binary.py --glibc default) ...
    for wheel in extracted[0].glob("*.dist-info/WHEEL"):
        tags = [line.split(":", 1)[1].strip() for line in wheel.read_text().splitlines() if line.startswith("Tag:")]
        assert any(_glibc(tag.rsplit("-", 1)[1]) <= (2, 28) for tag in tags), f"{wheel.parent.name}: {tags}"
    # ... and DuckDB's extensions came from the bundled wheels into HOME/.duckdb, not from a download.
    ext_dir = home / ".duckdb" / "extensions" / f"v{DUCKDB_VERSION}"
    installed = {p.name for p in ext_dir.glob("*/*.duckdb_extension")}
    assert {"ducklake.duckdb_extension", "sqlite_scanner.duckdb_extension"} <= installed, installed
    for info in ext_dir.glob("*/*.duckdb_extension.info"):
        origin = info.read_bytes()
        assert str(extracted[0]).encode() in origin, f"{info.name} was not installed from the bundled wheel: {origin!r}"


def _glibc(platform_tag: str) -> tuple[int, int]:
    """Oldest glibc a wheel platform tag needs: any -> (0, 0), manylinux2014 -> (2, 17), manylinux_2_28_x86_64 -> (2, 28)."""
    legacy = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
    if platform_tag == "any":
        return (0, 0)
    for name, version in legacy.items():
        if platform_tag.startswith(name + "_"):
            return version
    parts = platform_tag.split("_")
    assert parts[0] == "manylinux", platform_tag
    return (int(parts[1]), int(parts[2]))


def test_plugins_are_exactly_the_chosen_ones(binary, clean_env, tmp_path):
    payload = json.loads(fbox(binary, clean_env, "plugins", "--json", cwd=tmp_path).stdout)
    distributions = {p["distribution"] for p in payload["plugins"]}
    assert distributions == {"featherbox", *(f"fbox-{p}" for p in PLUGINS)}, payload
    assert all(p["status"] == "ok" for p in payload["plugins"]), payload


def test_wrong_python_version_gets_a_clear_message(binary, clean_env, tmp_path):
    """Compiled wheels (duckdb) are per CPython version: another interpreter gets told what to do."""
    wanted = "%d.%d" % sys.version_info[:2]
    others = [
        p for p in sorted(Path("/usr/bin").glob("python3.*")) + sorted(Path(sys.base_prefix).parent.glob("*/bin/python3"))
        if p.is_file() and os.access(p, os.X_OK)
    ]
    for other in others:
        probe = subprocess.run([str(other), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                               capture_output=True, text=True, timeout=30)
        version = probe.stdout.strip()
        if probe.returncode == 0 and version != wanted and tuple(map(int, version.split("."))) >= (3, 8):
            break  # shiv's bootstrap needs 3.8+
    else:
        pytest.skip(f"no Python other than {wanted} on this machine to start the binary with")
    result = subprocess.run([str(other), str(binary), "plugins"], env=clean_env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert f"built for Python {wanted}" in result.stderr and f"started with Python {version}" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
