#!/usr/bin/env python3
"""Build the release files of every distribution: the core (`featherbox`) and each plugin (`fbox-*`).

    .venv/bin/python tools/release.py build [--out dist/] [--version 0.1.0]

Before building it checks that every pyproject.toml has the same version and that each plugin's requirement on
`featherbox` is satisfied by that version (`--version`, as the release workflow passes the tag, must match it too).
Each distribution is copied without local build leftovers (build/, dist/, *.egg-info, __pycache__) into a staging
directory and built there with `python -m build`: the sdist first, then the wheel from the sdist, as pip would
build it for a user; the build dependencies (setuptools) are taken at the versions in constraints.txt.
Then it checks what came out: one wheel and one sdist per distribution, named for the common version; every
file of the package's source tree (modules and package data such as py.typed) inside the wheel; the wheel's
metadata naming the right version, requirements and entry points; and `twine check --strict` on every file
(the long description renders on PyPI). It fails with a message saying what is wrong, and the files are left
in --out (default dist/) only when everything passed. docs/releasing.md; .github/workflows/release.yml runs it.
"""

from __future__ import annotations

import argparse
import email.parser
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORE = "featherbox"
CONSTRAINTS = REPO / "constraints.txt"
BUILDS_AT_ONCE = 4
TOP_LEFTOVERS = {"build", "dist", ".pytest_cache"}  # at a distribution's root only: a package may have a build/
LEFTOVERS = ("*.egg-info", "__pycache__", "*.pyc")


class ReleaseError(Exception):
    """Something that must be fixed before a release; the message says what."""


@dataclass
class Distribution:
    name: str
    version: str
    root: Path
    dependencies: list[str]
    entry_points: dict[str, dict[str, str]]
    scripts: dict[str, str]

    @property
    def stem(self) -> str:
        """The file name prefix of its wheel and sdist (PEP 427/625: normalised, with underscores)."""
        return re.sub(r"[-_.]+", "_", self.name).lower()


def log(message: str) -> None:
    print(f"[release] {message}", file=sys.stderr, flush=True)


def distributions() -> list[Distribution]:
    """The core first, then every plugin, as their pyproject.toml files describe them."""
    roots = [REPO / "core", *sorted(p.parent for p in (REPO / "plugins").glob("*/pyproject.toml"))]
    found = []
    for root in roots:
        project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8")).get("project", {})
        if "version" not in project or "name" not in project:
            raise ReleaseError(f"{root.relative_to(REPO)}/pyproject.toml needs a static [project] name and version")
        found.append(Distribution(project["name"], project["version"], root, project.get("dependencies", []),
                                  project.get("entry-points", {}), project.get("scripts", {})))
    if not found or found[0].name != CORE:
        raise ReleaseError(f"core/pyproject.toml must be the `{CORE}` distribution")
    return found


def check_versions(dists: list[Distribution], expected: str | None = None) -> str:
    """The one version every distribution has; a ReleaseError naming each mismatch otherwise."""
    from packaging.requirements import Requirement
    from packaging.version import InvalidVersion, Version

    core = dists[0]
    problems = []
    try:
        Version(core.version)
    except InvalidVersion:
        problems.append(f"{core.name}: {core.version!r} is not a valid version")
    for dist in dists[1:]:
        where = f"{dist.root.relative_to(REPO)}/pyproject.toml"
        if dist.version != core.version:
            problems.append(f"{where}: version {dist.version} differs from {core.name} {core.version} "
                            f"(core/pyproject.toml); every distribution is released with the same version")
        wanted = [Requirement(d) for d in dist.dependencies if Requirement(d).name == CORE]
        if not wanted:
            problems.append(f"{where}: {dist.name} does not depend on {CORE}")
        for req in wanted:
            if not req.specifier.contains(core.version, prereleases=True):
                problems.append(f"{where}: {dist.name} requires {req}, which {CORE} {core.version} does not "
                                f"satisfy; make it {CORE}=={core.version}")
    if expected is not None and expected != core.version:
        problems.append(f"the release is tagged {expected} but the distributions' version is {core.version} "
                        f"(core/pyproject.toml and plugins/*/pyproject.toml)")
    if problems:
        raise ReleaseError("version check failed:\n  " + "\n  ".join(problems))
    return core.version


def run(cmd: list[str], cwd: Path | None = None) -> None:
    result = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise ReleaseError(f"`{' '.join(str(c) for c in cmd)}` exited {result.returncode}:\n{output[-6000:]}")


def installer() -> list[str]:
    """`--installer uv` when uv is at hand (requirements-dev.txt has it): build environments in seconds."""
    try:
        from uv import find_uv_bin

        find_uv_bin()
        return ["--installer", "uv"]
    except Exception:  # no uv module, or its binary missing: perhaps on PATH; else build's default, pip
        return ["--installer", "uv"] if shutil.which("uv") else []


def build_one(dist: Distribution, staging: Path, out: Path, options: list[str]) -> None:
    source = staging / dist.root.name
    anywhere = shutil.ignore_patterns(*LEFTOVERS)

    def leftovers(directory: str, names: list[str]) -> set[str]:
        top = TOP_LEFTOVERS & set(names) if Path(directory) == dist.root else set()
        return top | set(anywhere(directory, names))

    shutil.copytree(dist.root, source, ignore=leftovers)
    cmd = [sys.executable, "-m", "build", "--outdir", out, *options]
    if CONSTRAINTS.exists():
        cmd += ["--dependency-constraints-txt", CONSTRAINTS]
    run([*cmd, source])


def source_files(dist: Distribution) -> list[str]:
    """Paths (as in the wheel) of every file of the package's source tree: modules and package data."""
    src = dist.root / "src"
    files = []
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if path.is_dir() or any(part in ("__pycache__",) or part.endswith(".egg-info") for part in rel.parts):
            continue
        if path.suffix == ".pyc":
            continue
        files.append(rel.as_posix())
    return files


def check_files(dists: list[Distribution], version: str, out: Path) -> list[Path]:
    """Every distribution's wheel and sdist: present, complete, with the right metadata. Returns them."""
    from packaging.requirements import Requirement

    problems = []
    built = []
    for dist in dists:
        wheels = sorted(out.glob(f"{dist.stem}-*.whl"))
        sdists = sorted(out.glob(f"{dist.stem}-*.tar.gz"))
        expected_wheel = f"{dist.stem}-{version}-py3-none-any.whl"
        expected_sdist = f"{dist.stem}-{version}.tar.gz"
        if [w.name for w in wheels] != [expected_wheel] or [s.name for s in sdists] != [expected_sdist]:
            problems.append(f"{dist.name}: expected {expected_wheel} and {expected_sdist}, "
                            f"built {[p.name for p in wheels + sdists]}")
            continue
        built += [wheels[0], sdists[0]]
        with zipfile.ZipFile(wheels[0]) as wheel:
            names = set(wheel.namelist())
            missing = [f for f in source_files(dist) if f not in names]
            if missing:
                problems.append(f"{expected_wheel} lacks files of {dist.root.relative_to(REPO)}/src: "
                                f"{', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''} "
                                f"(list package data in [tool.setuptools.package-data])")
            info = f"{dist.stem}-{version}.dist-info"
            metadata = email.parser.Parser().parsestr(wheel.read(f"{info}/METADATA").decode())
            if metadata["Name"] != dist.name or metadata["Version"] != version:
                problems.append(f"{expected_wheel}: METADATA says {metadata['Name']} {metadata['Version']}")
            requires = {Requirement(r).name: Requirement(r) for r in metadata.get_all("Requires-Dist") or []}
            for dependency in dist.dependencies:
                wanted = Requirement(dependency)
                if wanted.name not in requires or requires[wanted.name].specifier != wanted.specifier:
                    problems.append(f"{expected_wheel}: METADATA lacks Requires-Dist {wanted}")
            entry_points = wheel.read(f"{info}/entry_points.txt").decode() if f"{info}/entry_points.txt" in names else ""
            for group, entries in {**dist.entry_points, **({"console_scripts": dist.scripts} if dist.scripts else {})}.items():
                for key, target in entries.items():
                    if not re.search(rf"(?ms)^\[{re.escape(group)}\][^\[]*^{re.escape(key)} = {re.escape(target)}$", entry_points):
                        problems.append(f"{expected_wheel}: entry point [{group}] {key} = {target} is missing")
    if problems:
        raise ReleaseError("the built files are wrong:\n  " + "\n  ".join(problems))
    return built


def twine_check(files: list[Path]) -> None:
    try:
        import twine  # noqa: F401
    except ImportError:
        raise ReleaseError(f"twine is not installed: {sys.executable} -m pip install -r requirements-dev.txt") from None
    run([sys.executable, "-m", "twine", "check", "--strict", *files])


def build(out: Path, expected_version: str | None = None) -> list[Path]:
    try:
        import build as _build  # noqa: F401
    except ImportError:
        raise ReleaseError(f"the `build` package is not installed: {sys.executable} -m pip install -r "
                           f"requirements-dev.txt") from None
    started = time.monotonic()
    dists = distributions()
    version = check_versions(dists, expected_version)
    log(f"{len(dists)} distributions at version {version}: {', '.join(d.name for d in dists)}")
    with tempfile.TemporaryDirectory(prefix="fbox-release-") as tmp:
        staging, built_dir = Path(tmp) / "src", Path(tmp) / "dist"
        staging.mkdir()
        log(f"building {len(dists)} sdists, then each wheel from its sdist, {BUILDS_AT_ONCE} at a time")
        options = installer()  # before the threads: find_uv_bin reads sysconfig, whose first use is not thread-safe
        with ThreadPoolExecutor(BUILDS_AT_ONCE) as pool:  # mostly waiting on processes: threads suffice
            for future in [pool.submit(build_one, dist, staging, built_dir, options) for dist in dists]:
                future.result()
        files = check_files(dists, version, built_dir)
        log(f"twine check --strict on {len(files)} files")
        twine_check(files)
        out.mkdir(parents=True, exist_ok=True)
        for dist in dists:  # earlier builds of these distributions go; other files in `out` stay
            for old in [*out.glob(f"{dist.stem}-*.whl"), *out.glob(f"{dist.stem}-*.tar.gz")]:
                old.unlink()
        result = []
        for path in files:
            result.append(out / path.name)
            shutil.copyfile(path, result[-1])
    log(f"done in {time.monotonic() - started:.0f} s: {len(result)} files in {out}")
    for path in result:
        print(path)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/release.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build_cmd = commands.add_parser("build", help="check versions, build every wheel and sdist, check them")
    build_cmd.add_argument("--out", type=Path, default=REPO / "dist", help="where the files go (default: dist/)")
    build_cmd.add_argument("--version", dest="expected", metavar="VERSION",
                           help="fail unless the distributions have this version (the release tag without its v)")
    commands.add_parser("check", help="only check that the versions agree (no build)")
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            version = check_versions(distributions())
            print(f"every distribution is at version {version}")
        else:
            build(args.out.resolve(), args.expected)
    except ReleaseError as error:
        print(f"tools/release.py: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
