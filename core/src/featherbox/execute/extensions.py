"""DuckDB extensions from the `duckdb-extension-*` wheels, so nothing is downloaded at run time."""

from __future__ import annotations

import importlib
import threading
from pathlib import Path

import duckdb

#: extension name -> name DuckDB installs it under
INSTALLED_AS = {"sqlite": "sqlite_scanner", "postgres": "postgres_scanner", "mysql": "mysql_scanner"}
_lock = threading.Lock()
_installed: set[str] = set()


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
