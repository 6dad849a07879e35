"""DuckDB extensions from the `duckdb-extension-*` wheels, so nothing is downloaded at run time."""

from __future__ import annotations

import importlib
import os
import stat
import tempfile
import threading
from pathlib import Path

import duckdb

#: extension name -> name DuckDB installs it under
INSTALLED_AS = {"sqlite": "sqlite_scanner", "postgres": "postgres_scanner", "mysql": "mysql_scanner"}
_lock = threading.Lock()
_installed: set[str] = set()


def duckdb_config() -> dict:
    """The settings of every DuckDB connection FeatherBox opens: nothing is downloaded, and when
    HOME is not set (DuckDB keeps installed extensions under ~/.duckdb and fails without one), a
    home directory of FeatherBox's own."""
    config: dict = {"autoinstall_known_extensions": False}
    if not os.environ.get("HOME"):
        config["home_directory"] = str(fallback_home())
    return config


_fallback_home: Path | None = None


def fallback_home() -> Path:
    """`<tmp>/fbox-duckdb-<uid>`, when this user owns it and no one else may write in it (DuckDB
    loads the extensions it finds there); otherwise a new private folder for this process."""
    global _fallback_home
    if _fallback_home is not None:
        return _fallback_home
    uid = os.getuid() if hasattr(os, "getuid") else None
    shared = Path(tempfile.gettempdir()) / f"fbox-duckdb-{uid if uid is not None else 'user'}"
    try:
        shared.mkdir(mode=0o700, exist_ok=True)
        info = shared.lstat()
        private = stat.S_ISDIR(info.st_mode) and (uid is None or info.st_uid == uid) and not info.st_mode & 0o022
    except OSError:
        private = False
    _fallback_home = shared if private else Path(tempfile.mkdtemp(prefix="fbox-duckdb-"))
    return _fallback_home


def wheel_file(name: str) -> Path | None:
    try:
        module = importlib.import_module(f"duckdb_extension_{name}")
    except ImportError:
        return None
    path = Path(module.__file__).parent / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    return path if path.exists() else None


def load_extensions(con: duckdb.DuckDBPyConnection, names: list[str]) -> None:
    """LOAD each extension, first installing it from its wheel when DuckDB does not have it yet."""
    wanted = [n for n in dict.fromkeys(names) if n]
    if not wanted:
        return
    with _lock:
        missing = [n for n in wanted if n not in _installed]
        if missing:
            rows = con.execute(
                "SELECT extension_name, installed, loaded FROM duckdb_extensions()"
            ).fetchall()
            status = {row[0]: (row[1], row[2]) for row in rows}
            for name in missing:
                installed, loaded = status.get(INSTALLED_AS.get(name, name), (False, False))
                if not installed and not loaded:
                    source = wheel_file(name)
                    if source is None:
                        raise duckdb.IOException(
                            f"DuckDB extension {name!r} is not installed; "
                            f"run `pip install duckdb-extension-{name}=={duckdb.__version__}`"
                        )
                    con.execute(f"INSTALL '{source}'")
                _installed.add(name)
    for name in wanted:
        con.execute(f"LOAD {INSTALLED_AS.get(name, name)}")
