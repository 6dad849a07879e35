"""Turn DuckDB's read errors into one line naming the file and the line.

DuckDB's CSV errors are several paragraphs (possible fixes, every dialect option); when the bad line
is among the rows its sniffer samples, it only says it could not detect the dialect, without a line
(and with `union_by_name`, without the file). For those, the files are read again here with Python's
csv module to find the first line whose number of fields differs from the header's.
"""

from __future__ import annotations

import csv
import io
import re

from featherbox.file_sources.compression import decompressed

LINE = re.compile(r"CSV Error on Line: (\d+)")
FILE = re.compile(r"^\s*file = (.*)$", re.M)
ORIGINAL = re.compile(r"^Original Line: (.*)$", re.M)
COLUMNS = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")
SNIFF = "Error when sniffing file"
SHOWN = 120  # characters of a bad line shown


def clip(text: str, limit: int = SHOWN) -> str:
    text = text.rstrip("\r\n")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def first_paragraph(message: str) -> str:
    """DuckDB's message without its lists of possible fixes and options."""
    lines = []
    for line in message.strip().splitlines():
        if not line.strip() or line.startswith(("Possible fixes", "Possible solutions", "Possible Solution", "The search space")):
            break
        lines.append(line.strip())
    return " ".join(lines) or message.strip()


CONVERT = re.compile(r"""Error when converting column "(.+?)"\. Could not convert string "(.*?)" to '(.+?)'""")


def expectation(fmt: dict) -> str:
    """What sets the number of fields of a CSV line: "format.columns declares", "the header has"."""
    if fmt.get("columns"):
        return "format.columns declares"
    return "the header has" if fmt.get("header", True) else "the first line has"


def csv_line_error(message: str, fmt: dict) -> tuple[str, int, str] | None:
    """(file DuckDB read, line, what is wrong) from a DuckDB `CSV Error on Line` message."""
    line, file = LINE.search(message), FILE.search(message)
    if not line or not file:
        return None
    original = ORIGINAL.search(message)
    reason = ""
    if original:
        rest = message[original.end() :].lstrip("\n").splitlines()
        reason = rest[0].strip() if rest else ""
    columns, convert = COLUMNS.search(reason), CONVERT.search(reason)
    if columns:
        expected, found = columns.groups()
        reason = f"{found} field{'s' if found != '1' else ''} where {expectation(fmt)} {expected}"
    elif convert:
        column, value, kind = convert.groups()
        reason = f"column {column!r}: {clip(value, 40)!r} is not a {kind}"
        if "auto-detected" in message:
            reason += f" (the type was inferred from the first rows; to read other values declare {column} in `format.columns`)"
    if original:
        reason += f" (the line reads: {clip(original.group(1))})"
    return file.group(1).strip(), int(line.group(1)), reason or "cannot be read"


def csv_bad_line(fs, path: str, kind: str | None, fmt: dict) -> tuple[int, str] | None:
    """The first line of the CSV file `path` whose number of fields differs from the header's (or
    from the first line's, or from `format.columns`): (line number, what is wrong). None when every
    line has the same number of fields, or the file cannot be checked this way."""
    delimiter = fmt.get("delimiter", "\t" if fmt["type"] == "tsv" else ",")
    quote, escape = fmt.get("quote", '"'), fmt.get("escape") or None
    if len(delimiter) != 1 or len(quote) > 1 or (escape and len(escape) != 1):
        return None
    options: dict = {"delimiter": delimiter, "strict": False}
    if quote:
        options["quotechar"] = quote
        options["doublequote"] = escape in (None, quote)
        options["escapechar"] = escape if escape not in (None, quote) else None
    else:
        options["quoting"] = csv.QUOTE_NONE
    skip = int(fmt.get("skip") or 0)
    columns = fmt.get("columns")
    expected = len(columns) if columns else None
    header = fmt.get("header", True)
    what = expectation(fmt)
    try:
        with fs.open(path, "rb") as raw:
            stream = io.TextIOWrapper(decompressed(raw, kind), encoding="utf-8", errors="replace", newline="")
            for _ in range(skip):
                stream.readline()
            reader = csv.reader(stream, **options)
            for row in reader:
                if not row:
                    continue  # an empty line, which DuckDB skips too
                if header or expected is None:
                    header = False
                    expected = expected if expected is not None else len(row)
                    continue
                if len(row) != expected:
                    shown = clip(delimiter.join(row))
                    fields = f"{len(row)} field{'s' if len(row) != 1 else ''}"
                    return skip + reader.line_num, f"{fields} where {what} {expected} (the line reads: {shown})"
    except Exception:  # unreadable: the integrity check or DuckDB's own message says why
        return None
    return None
