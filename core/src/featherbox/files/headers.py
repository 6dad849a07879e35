"""Do CSV files share one header? If so DuckDB can sniff the first file only.

`union_by_name` makes DuckDB sniff every file, which costs far more than reading them when there
are many small files; it is only needed when the column sets differ (schema drift).
"""

from __future__ import annotations

import gzip
import zlib
from concurrent.futures import ThreadPoolExecutor

HEAD = 1 << 13


def first_line(fs, path: str, skip: int = 0) -> bytes | None:
    """The header line of `path` (after `skip` lines), or None when it cannot be read cheaply."""
    lower = path.lower()
    if lower.endswith((".zst", ".zstd")):
        return None
    gz = lower.endswith(".gz")
    try:
        with fs.open(path, "rb") as raw:
            head = raw.read(HEAD)
            if gz:  # one zlib call on the first block; GzipFile reads and buffers far more
                head = zlib.decompressobj(31).decompress(head, 1 << 16)
            lines = head.split(b"\n", skip + 1)
            if len(lines) > skip + 1:
                return lines[skip].rstrip(b"\r")
            raw.seek(0)
            handle = gzip.GzipFile(fileobj=raw) if gz else raw
            for _ in range(skip):
                handle.readline(1 << 20)
            return handle.readline(1 << 20).rstrip(b"\r\n")
    except (OSError, EOFError, zlib.error):
        return None  # DuckDB will report the unreadable file with its own message


def headers_match(fs, paths: list[str], skip: int = 0) -> bool:
    if len(paths) < 2:
        return True
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="fbox-header") as pool:
        lines = set(pool.map(lambda p: first_line(fs, p, skip), paths))
    return len(lines) == 1 and None not in lines
