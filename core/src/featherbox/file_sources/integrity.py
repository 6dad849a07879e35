"""Checks DuckDB does not make: a truncated .gz or .zst file reads without error as a prefix of its rows.

Each compressed file is streamed through its decoder (ISA-L or zlib for gzip, zstandard for zstd) in a
background thread while DuckDB reads it, and the load fails (nothing committed) when a file does not
end with a complete gzip member or zstd frame.
"""

from __future__ import annotations

import zlib
from concurrent.futures import Future, ThreadPoolExecutor

try:  # ISA-L's inflate: the same results as zlib, 2-3 times faster (this check reads every byte)
    from isal import isal_zlib as inflate
except ImportError:  # pragma: no cover - a platform without an isal wheel
    inflate = zlib

from featherbox.errors import FeatherBoxError
from featherbox.file_sources.compression import GZIP, ZSTD

CHUNK = 1 << 20
ZSTD_CHUNK = 1 << 17  # zstd expands far more than gzip: feed it less at a time


def gzip_problem(fs, path: str) -> str | None:
    """None when `path` is complete gzip data, otherwise what is wrong with it."""
    decoder = inflate.decompressobj(31)
    started = False
    try:
        with fs.open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                started = True
                while chunk:
                    decoder.decompress(chunk)
                    chunk = decoder.unused_data
                    if decoder.eof and chunk:  # the next member of a multi-member file
                        decoder = inflate.decompressobj(31)
                    elif decoder.eof:
                        break
    except (zlib.error, inflate.error) as exc:
        return f"corrupt gzip: not valid gzip data ({exc})"
    if not started:
        return "truncated gzip: the file is empty (0 bytes), which is not gzip data"
    if not decoder.eof:
        return "truncated gzip: the data ends early (the file is cut short)"
    return None


def zstd_problem(fs, path: str) -> str | None:
    """None when `path` is complete zstd data (one or more frames), otherwise what is wrong with it."""
    import zstandard

    new = zstandard.ZstdDecompressor().decompressobj
    decoder, pending, started = new(), False, False
    try:
        with fs.open(path, "rb") as handle:
            while chunk := handle.read(ZSTD_CHUNK):
                started = True
                while chunk:
                    decoder.decompress(chunk)
                    pending = not decoder.eof
                    chunk = decoder.unused_data if decoder.eof else b""
                    if decoder.eof:
                        decoder, pending = new(), bool(chunk)
    except zstandard.ZstdError as exc:
        return f"corrupt zstd: not valid zstd data ({exc})"
    if not started:
        return "truncated zstd: the file is empty (0 bytes), which is not zstd data"
    if pending:
        return "truncated zstd: the data ends early (the file is cut short)"
    return None


PROBLEM = {GZIP: gzip_problem, ZSTD: zstd_problem}


class IntegrityChecks:
    """Start checking the compressed files among `files`: (path to open, path shown, compression or None).

    `raise_problems()` waits and raises the first problem; `first_problem()` waits and returns it.
    """

    def __init__(self, fs, files: list[tuple[str, str, str | None]], adapter: str, enabled: bool = True):
        self.adapter = adapter
        self._pool: ThreadPoolExecutor | None = None
        self._futures: list[tuple[str, Future]] = []
        checked = [(full, shown, kind) for full, shown, kind in files if kind in PROBLEM] if enabled else []
        if checked:
            self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="fbox-verify")
            self._futures = [(shown, self._pool.submit(PROBLEM[kind], fs, full)) for full, shown, kind in checked]

    def first_problem(self) -> FeatherBoxError | None:
        try:
            for shown, future in self._futures:
                try:
                    problem = future.result()
                except Exception as exc:  # the file could not be opened or read
                    problem = f"cannot be read ({type(exc).__name__}: {exc})"
                if problem:
                    return FeatherBoxError(
                        f"adapter {self.adapter}: file {shown}: {problem}; nothing of this load was kept — "
                        "fix or remove the file and run again"
                    )
            return None
        finally:
            self.close()

    def raise_problems(self) -> None:
        problem = self.first_problem()
        if problem:
            raise problem

    def close(self) -> None:
        if self._pool:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
