"""A cheap look at the start of each file before DuckDB reads it: its header line, and whether it
holds any row at all.

- Do CSV files share one header? If so DuckDB can sniff the first file only: `union_by_name` makes
  DuckDB sniff every file, which costs far more than reading them when there are many small files;
  it is only needed when the column sets differ (schema drift).
- A file with no rows (empty, only blank lines, only a CSV header, a JSON `[]`) is left out of the
  read: DuckDB would read an empty CSV file as a column `column0`, a header-only one as all-VARCHAR
  columns, an empty JSON file as a column `json`, and change the table's columns for no row.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from featherbox.file_sources.compression import decompress_head, decompressed

HEAD = 1 << 13  # raw bytes read from each file
OUT = 1 << 16  # decompressed bytes looked at


@dataclass(frozen=True)
class Head:
    header: bytes | None  # CSV: the header line (after `skip` lines); None when unknown
    rows: bool | None  # False: the file holds no row; True: it does; None: unknown


UNKNOWN = Head(None, None)


def probe(fs, path: str, kind: str | None, fmt: dict) -> Head:
    """What the start of `path` (compression `kind`) says, for a file read as `fmt`."""
    text_format = fmt["type"]
    if text_format == "parquet":
        return UNKNOWN
    try:
        with fs.open(path, "rb") as raw:
            head = raw.read(HEAD)
            whole = len(head) < HEAD or not raw.read(1)
            text = decompress_head(head, kind, OUT)
            complete = whole and len(text) < OUT
            if text_format in ("json", "ndjson"):
                stripped = text.strip()
                return Head(None, (stripped not in (b"", b"[]")) if complete else True)
            skip = int(fmt.get("skip") or 0)
            header_row = fmt.get("header", True)
            lines = text.split(b"\n")
            rows: bool | None = True
            if complete:  # blank: spaces only (a tab-separated line of tabs is a row of empty fields)
                blank = b" \r" if fmt.get("delimiter", "\t" if text_format == "tsv" else ",") == "\t" else b" \t\r"
                filled = [line for line in lines[skip:] if line.strip(blank)]
                rows = len(filled) > (1 if header_row else 0)
            if len(lines) > skip + 1 or complete:
                header = lines[skip].rstrip(b"\r") if len(lines) > skip else b""
                return Head(header, rows)
            raw.seek(0)  # a long first line: read on, decompressing as we go
            handle = decompressed(raw, kind)
            for _ in range(skip):
                handle.readline(1 << 20)
            return Head(handle.readline(1 << 20).rstrip(b"\r\n"), rows)
    except Exception:
        return UNKNOWN  # DuckDB or the integrity check will report the unreadable file


def probe_files(fs, files: list[tuple[str, str | None]], fmt: dict) -> list[Head]:
    """`probe` for each (path, compression), eight at a time."""
    if fmt["type"] == "parquet":
        return [UNKNOWN] * len(files)
    if len(files) == 1:
        return [probe(fs, files[0][0], files[0][1], fmt)]
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="fbox-header") as pool:
        return list(pool.map(lambda f: probe(fs, f[0], f[1], fmt), files))


def headers_match(heads: list[Head]) -> bool:
    if len(heads) < 2:
        return True
    lines = {h.header for h in heads}
    return len(lines) == 1 and None not in lines
