#!/usr/bin/env python3
"""Build a single-file `fbox` executable (a shiv zipapp) holding the core, chosen plugins and DuckDB extensions.

    .venv/bin/python tools/build_binary.py --plugins localfile,sqlite --output dist/fbox

Steps: `pip wheel --no-deps` the core and each chosen plugin from this repository; `pip install --target` those
wheels with all their dependencies (duckdb, the duckdb-extension-* wheels, ...) into a staging site-packages, once
per target Python version; then `shiv --site-packages` packs it behind a `#!/usr/bin/env python3` shebang with the
entry point `featherbox.cli.app:main`. See docs/binary.md.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ENTRY_POINT = "featherbox.cli.app:main"
DEFAULT_PLUGINS = "localfile,sqlite"
DEFAULT_GLIBC = "2.28"  # duckdb 1.5.5 wheels need 2.26+; 2.28 = Debian 10, Ubuntu 20.04, RHEL 8

# Runs inside the binary after shiv has extracted it, before `fbox` starts: a clear message instead of an
# ImportError from duckdb's compiled module when the interpreter is not one the binary was built for.
PREAMBLE = '''\
import platform
import sys

SUPPORTED = {versions!r}
MACHINE = {machine!r}
found = "%d.%d" % sys.version_info[:2]
binary = globals().get("archive") or "fbox"  # shiv passes the zipapp's path as `archive`
if found not in SUPPORTED:
    hint = "Run it with a matching interpreter, e.g. `python%s %s ...`" % (SUPPORTED[0], binary)
    if sys.version_info >= (3, 11):
        hint += ", or rebuild it with `tools/build_binary.py%s --python-version %s`" % (
            "".join(" --python-version " + v for v in SUPPORTED), found)
    sys.exit("fbox: this binary was built for Python %s on Linux %s, but was started with Python %s (%s). %s."
             % (" or ".join(SUPPORTED), MACHINE, found, sys.executable, hint))
if sys.platform != "linux" or platform.machine() != MACHINE:
    sys.exit("fbox: this binary was built for Linux %s, not %s %s" % (MACHINE, sys.platform, platform.machine()))
'''


def log(message: str) -> None:
    print(f"[build_binary] {message}", file=sys.stderr, flush=True)


def run(cmd: list[str], **kwargs) -> None:
    log("$ " + " ".join(str(c) for c in cmd))
    result = subprocess.run([str(c) for c in cmd], **kwargs)
    if result.returncode != 0:
        raise SystemExit(f"build failed: {cmd[2] if len(cmd) > 2 else cmd[0]} {cmd[3] if len(cmd) > 3 else ''} exited {result.returncode}")


def plugin_dirs(spec: str) -> list[Path]:
    available = {p.name.removeprefix("fbox-"): p for p in sorted((REPO / "plugins").glob("fbox-*")) if (p / "pyproject.toml").exists()}
    if spec.strip() == "all":
        return list(available.values())
    names = [n.strip().removeprefix("fbox-") for n in spec.split(",") if n.strip()]
    unknown = [n for n in names if n not in available]
    if unknown:
        raise SystemExit(f"unknown plugin(s): {', '.join(unknown)}; available: {', '.join(available)}")
    return [available[n] for n in dict.fromkeys(names)]


def build_wheels(projects: list[Path], wheel_dir: Path) -> list[Path]:
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", wheel_dir, *projects])
    wheels = sorted(wheel_dir.glob("*.whl"))
    if len(wheels) != len(projects):
        raise SystemExit(f"expected {len(projects)} wheels in {wheel_dir}, found {[w.name for w in wheels]}")
    return wheels


def install(wheels: list[Path], target: Path, python_version: str, glibc: str) -> None:
    """Install the wheels and their dependencies (binary wheels only) for one CPython version.

    `--platform manylinux_<glibc>_<machine>` (pip also accepts every older manylinux tag for it) keeps the binary
    runnable on glibc `glibc` and newer, whatever the build machine has.
    """
    minor = int(glibc.split(".")[1])
    legacy = [name for name, needs in (("manylinux2014", 17), ("manylinux2010", 12), ("manylinux1", 5)) if needs <= minor]
    platforms = [f"manylinux_2_{minor}", *legacy]  # pip expands manylinux_2_Y to older 2_X, not to the legacy names
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--target", target, "--only-binary=:all:",
           *[arg for p in platforms for arg in ("--platform", f"{p}_{machine()}")],
           "--python-version", python_version, "--implementation", "cp"]
    run(cmd + list(wheels))


def merge(sources: list[Path], dest: Path) -> None:
    """Merge per-version site-packages: pure files must match; compiled modules differ by ABI tag in their names."""
    names = [sorted(p.name for p in s.glob("*.dist-info")) for s in sources]
    if any(n != names[0] for n in names[1:]):
        differing = sorted(set().union(*map(set, names)) - set.intersection(*map(set, names)))
        raise SystemExit(f"dependency versions differ between Python versions: {differing}; pin them to build one binary")
    for source in sources:
        for path in sorted(source.rglob("*")):
            rel = path.relative_to(source)
            out = dest / rel
            if path.is_dir():
                out.mkdir(parents=True, exist_ok=True)
            elif not out.exists():
                shutil.copy2(path, out)
            elif rel.parts[0].endswith(".dist-info") or rel.parts[0] == "bin" or filecmp.cmp(path, out, shallow=False):
                continue  # RECORD/WHEEL tags and script shebangs differ per version; harmless
            else:
                raise SystemExit(f"{rel} differs between Python versions; cannot merge")


def current_version() -> str:
    return "%d.%d" % sys.version_info[:2]


def machine() -> str:
    import platform

    return platform.machine()


def build(plugins: str, output: Path, python_versions: list[str], work_dir: Path | None = None, compressed: bool = True,
          glibc: str = DEFAULT_GLIBC) -> Path:
    try:
        import shiv  # noqa: F401
    except ImportError:
        raise SystemExit(f"shiv is not installed: {sys.executable} -m pip install shiv") from None
    if not sys.platform.startswith("linux"):
        raise SystemExit("build on Linux: the binary bundles manylinux wheels")
    if not re.fullmatch(r"2\.\d+", glibc):
        raise SystemExit(f"--glibc {glibc}: expected a version like 2.28")
    versions = list(dict.fromkeys(python_versions or [current_version()]))
    for v in versions:
        if not re.fullmatch(r"3\.\d+", v) or int(v.split(".")[1]) < 11:
            raise SystemExit(f"--python-version {v}: FeatherBox needs CPython 3.11 or newer")
    projects = [REPO / "core", *plugin_dirs(plugins)]
    output = output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fbox-binary-", dir=work_dir) as tmp:
        tmp = Path(tmp)
        wheels = build_wheels(projects, tmp / "wheels")
        per_version = []
        for v in versions:
            target = tmp / f"site-{v}"
            install(wheels, target, v, glibc)
            per_version.append(target)
        if len(per_version) == 1:
            site = per_version[0]
        else:
            site = tmp / "site-packages"
            merge(per_version, site)
        shutil.rmtree(site / "bin", ignore_errors=True)  # console scripts with build-machine shebangs; unused
        preamble = tmp / "fbox_preamble.py"
        preamble.write_text(PREAMBLE.format(versions=versions, machine=machine()))
        cmd = [sys.executable, "-m", "shiv", "--site-packages", site, "--entry-point", ENTRY_POINT,
               "--python", "/usr/bin/env python3", "--preamble", preamble, "--output-file", output,
               "--compressed" if compressed else "--uncompressed"]
        run(cmd)
    output.chmod(0o755)
    size = output.stat().st_size
    log(f"built {output} ({size / 1e6:.1f} MB, Python {', '.join(versions)}, Linux {machine()} glibc {glibc}+, plugins: "
        f"{', '.join(p.name for p in projects[1:]) or 'none'}) in {time.monotonic() - started:.0f}s")
    return output


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plugins", default=DEFAULT_PLUGINS,
                        help=f"comma-separated plugin names (localfile, sqlite, s3, ...) or 'all' (default: {DEFAULT_PLUGINS})")
    parser.add_argument("--output", "-o", type=Path, default=REPO / "dist" / "fbox", help="the executable to write (default: dist/fbox)")
    parser.add_argument("--python-version", action="append", default=[], metavar="3.X",
                        help="CPython version the binary runs on; repeat for several (default: the building interpreter's, "
                             f"{current_version()})")
    parser.add_argument("--glibc", default=DEFAULT_GLIBC, metavar="2.Y",
                        help=f"oldest glibc the binary must run on; picks manylinux wheels for it (default: {DEFAULT_GLIBC})")
    parser.add_argument("--uncompressed", action="store_true", help="store files uncompressed (bigger, slightly faster first run)")
    parser.add_argument("--work-dir", type=Path, default=None, help="where to put the temporary build tree (default: $TMPDIR)")
    args = parser.parse_args(argv)
    os.environ.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    build(args.plugins, args.output, args.python_version, args.work_dir, compressed=not args.uncompressed, glibc=args.glibc)


if __name__ == "__main__":
    main()
