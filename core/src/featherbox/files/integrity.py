"""Checks DuckDB does not make: a truncated .gz file reads without error as a prefix of its rows.

Each gzip file is streamed through inflate (ISA-L, or zlib) in a background thread while DuckDB reads it, and the
load fails (nothing committed) when a file does not end with a complete gzip member.
"""

from __future__ import annotations

import zlib
from concurrent.futures import Future, ThreadPoolExecutor

try:  # ISA-L's inflate: the same results as zlib, 2-3 times faster (this check reads every byte)
    from isal import isal_zlib as inflate
except ImportError:  # pragma: no cover - a platform without an isal wheel
    inflate = zlib

from featherbox.errors import FeatherBoxError

CHUNK = 1 << 20


def gzip_problem(fs, path: str) -> str | None:
    """None when `path` is complete gzip data, otherwise what is wrong with it."""
    decoder = inflate.decompressobj(31)
    try:
        with fs.open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                while chunk:
                    decoder.decompress(chunk)
                    chunk = decoder.unused_data
                    if decoder.eof and chunk:  # the next member of a multi-member file
                        decoder = inflate.decompressobj(31)
                    elif decoder.eof:
                        break
    except (zlib.error, inflate.error) as exc:
        return f"not valid gzip data ({exc})"
    if not decoder.eof:
        return "the gzip data ends early (the file is truncated)"
    return None


class GzipChecks:
    """Start checking the .gz files among `paths`; `raise_problems()` waits and raises the first problem."""

    def __init__(self, fs, paths: list[tuple[str, str]], adapter: str, enabled: bool = True):
        self.adapter = adapter
        self._pool: ThreadPoolExecutor | None = None
        self._futures: list[tuple[str, Future]] = []
        gz = [(full, shown) for full, shown in paths if full.lower().endswith(".gz")] if enabled else []
        if gz:
            self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="fbox-gzip")
            self._futures = [(shown, self._pool.submit(gzip_problem, fs, full)) for full, shown in gz]

    def raise_problems(self) -> None:
        try:
            for shown, future in self._futures:
                problem = future.result()
                if problem:
                    raise FeatherBoxError(
                        f"adapter {self.adapter}: file {shown}: {problem}; nothing of this load was kept — "
                        "fix or remove the file and run again"
                    )
        finally:
            self.close()

    def close(self) -> None:
        if self._pool:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
