"""Which compression a file has, and reading it decompressed (for the checks DuckDB does not make).

DuckDB's `read_csv` and `read_json` read `gzip` and `zstd` (`compression` = auto, none, gzip, zstd);
with `auto` it recognises only the lower-case suffixes `.gz` and `.zst`. FeatherBox also takes
`.gzip` and `.zstd` (in any case) and then tells DuckDB the compression explicitly.
"""

from __future__ import annotations

import gzip
import io
import zlib

GZIP, ZSTD = "gzip", "zstd"
SUFFIXES = {".gz": GZIP, ".gzip": GZIP, ".zst": ZSTD, ".zstd": ZSTD}
DUCKDB_AUTO = {".gz": GZIP, ".zst": ZSTD}  # what DuckDB's `compression = 'auto'` recognises (case-sensitive)


def strip_compression_suffix(name: str) -> str:
    lower = name.lower()
    for suffix in SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return name


def compression_of(path: str, declared: str = "auto") -> str | None:
    """`gzip`, `zstd` or None (not compressed) for `path` read with `format.compression = declared`."""
    if declared == "none":
        return None
    if declared in (GZIP, ZSTD):
        return declared
    lower = path.lower()
    return next((kind for suffix, kind in SUFFIXES.items() if lower.endswith(suffix)), None)


def duckdb_auto(path: str) -> str | None:
    """The compression DuckDB's `auto` finds for `path` (by its suffix)."""
    return next((kind for suffix, kind in DUCKDB_AUTO.items() if path.endswith(suffix)), None)


def decompressed(raw, kind: str | None):
    """A binary file object giving the decompressed bytes of the open binary file `raw`."""
    if kind == GZIP:
        return gzip.GzipFile(fileobj=raw)
    if kind == ZSTD:
        import zstandard

        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True))
    return raw


def decompress_head(raw: bytes, kind: str | None, limit: int) -> bytes:
    """Up to `limit` decompressed bytes from `raw`, the start of a file (possibly cut anywhere): what
    can be decompressed from it, without an error for the missing rest."""
    if kind is None:
        return raw[:limit]
    out = b""
    try:
        if kind == GZIP:
            while raw and len(out) < limit:
                decoder = zlib.decompressobj(31)
                out += decoder.decompress(raw, limit - len(out))
                if not decoder.eof:
                    break
                raw = decoder.unused_data
        else:
            out = decompressed(io.BytesIO(raw), ZSTD).read(limit)
    except Exception:  # damaged data: the integrity check reports it
        pass
    return out[:limit]
