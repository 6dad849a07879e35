"""The file ledger: which files each file adapter has loaded (`_fbox.file_ledger` in the lake).

Rows are only appended, in the load's own transaction: a file is recorded with the data read from it,
and a file that vanished (or was reloaded whole) gets a newer row. The newest row of each path says
whether it counts as loaded."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Iterable, Protocol

from featherbox.sql import sql_string, values_sql
from featherbox.state.versions import LEDGER

if TYPE_CHECKING:
    import duckdb


class LedgerFile(Protocol):
    """What the ledger keeps of a file (`featherbox.file_sources.strategies.FileInfo` is one)."""

    path: str
    size: int
    mtime: float | None
    etag: str | None
    file_time: datetime | None


@dataclass(frozen=True)
class LoadedFile:
    """A file the ledger counts as loaded, as it was when it was loaded."""

    path: str
    size: int
    mtime: float | None
    etag: str | None
    file_time: datetime | None


def loaded_files(con: duckdb.DuckDBPyConnection, adapter: str) -> dict[str, LoadedFile]:
    """path -> the file as loaded, for every file of `adapter` the ledger counts as loaded."""
    rows = con.execute(
        f"""SELECT path, size, mtime, etag, file_time, removed FROM {LEDGER} WHERE adapter = {sql_string(adapter)}
            QUALIFY row_number() OVER (PARTITION BY path ORDER BY seq DESC) = 1"""
    ).fetchall()
    return {p: LoadedFile(p, s, m, e, t) for p, s, m, e, t, removed in rows if not removed}


def record_files(
    con: duckdb.DuckDBPyConnection, adapter: str, run_id: str,
    loaded: Iterable[LedgerFile] = (), removed: Iterable[LedgerFile] = (),
) -> None:
    """Record, in the transaction `con` is in, that `adapter` loaded `loaded` and no longer holds `removed`."""
    rows = [(f, False) for f in loaded] + [(f, True) for f in removed]
    if not rows:
        return
    seq = time.time_ns()
    values = values_sql([adapter, f.path, f.size, f.mtime, f.etag, f.file_time, run_id, seq, gone] for f, gone in rows)
    con.execute(f"INSERT INTO {LEDGER} {values}")
