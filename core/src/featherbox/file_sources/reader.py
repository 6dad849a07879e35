"""Build the DuckDB `read_*` call for a list of files in one of the supported formats."""

from __future__ import annotations

from featherbox.errors import FeatherBoxError
from featherbox.sql import quote_ident, sql_string
from featherbox.file_sources.compression import compression_of, duckdb_auto, strip_compression_suffix

FORMATS = ("csv", "tsv", "json", "ndjson", "parquet")
COMPRESSIONS = ("auto", "gzip", "zstd", "none")

FORMAT_SCHEMA = {
    "oneOf": [
        {"type": "string", "enum": list(FORMATS)},
        {
            "type": "object",
            "properties": {
                "type": {"type": "string", "enum": list(FORMATS)},
                "delimiter": {"type": "string", "minLength": 1},
                "header": {"type": "boolean"},
                "quote": {"type": "string"},
                "escape": {"type": "string"},
                "null": {"type": "string", "description": "string read as NULL"},
                "compression": {"type": "string", "enum": list(COMPRESSIONS)},
                "columns": {
                    "type": "object",
                    "description": "column name -> DuckDB type; omit to infer",
                    "additionalProperties": {"type": "string", "minLength": 1},
                },
                "timestamp_format": {"type": "string"},
                "skip": {"type": "integer", "minimum": 0},
            },
            "required": ["type"],
            "additionalProperties": False,
        },
    ]
}


def normalize_format(fmt: str | dict | None, path: str) -> dict:
    if fmt is None:
        fmt = guess_format(path)
    if isinstance(fmt, str):
        fmt = {"type": fmt}
    return dict(fmt)


def guess_format(path: str) -> str:
    name = strip_compression_suffix(path).lower()
    for ext, fmt in ((".parquet", "parquet"), (".tsv", "tsv"), (".ndjson", "ndjson"), (".jsonl", "ndjson"), (".json", "json")):
        if name.endswith(ext):
            return fmt
    return "csv"


def duckdb_compression(paths: list[str], declared: str = "auto") -> str:
    """The `compression` to give DuckDB for `paths`: `auto` when DuckDB's own detection (by the
    suffixes `.gz` and `.zst`) finds what FeatherBox finds, otherwise the one compression they share."""
    if declared != "auto":
        return declared
    if all(compression_of(p) == duckdb_auto(p) for p in paths):
        return "auto"
    kinds = {compression_of(p) or "none" for p in paths}
    if len(kinds) == 1:
        return kinds.pop()
    raise FeatherBoxError(
        f"the files mix compressions ({', '.join(sorted(kinds))}) and some have a suffix DuckDB does not "
        "recognise (only .gz and .zst, in lower case): rename them or set `format.compression`"
    )


def read_call(paths: list[str], fmt: dict, same_header: bool = False, bad_lines: str = "fail") -> str:
    """A DuckDB table function call reading `paths`, with the file name in column `_source_file`.

    `same_header`: the CSV files are known to share one header, so DuckDB need not sniff each.
    `bad_lines`: `fail` (DuckDB's strict mode) or `skip` (CSV lines DuckDB cannot read are left out
    and recorded in its reject tables).
    """
    files = "[" + ", ".join(sql_string(p) for p in paths) + "]"
    kind = fmt["type"]
    options = ["filename = '_source_file'"]
    columns = fmt.get("columns")
    if kind == "parquet":
        options.append("union_by_name = true")
        return f"read_parquet({files}, {', '.join(options)})"
    compression = duckdb_compression(paths, fmt.get("compression", "auto"))
    if compression != "auto":
        options.append(f"compression = {sql_string(compression)}")
    if columns:
        struct = ", ".join(f"{sql_string(name)}: {sql_string(kind_)}" for name, kind_ in columns.items())
        options.append(f"columns = {{{struct}}}")
    if kind in ("json", "ndjson"):
        options.append("format = " + ("'newline_delimited'" if kind == "ndjson" else "'auto'"))
        if fmt.get("timestamp_format"):
            options.append(f"timestampformat = {sql_string(fmt['timestamp_format'])}")
        return f"read_json({files}, {', '.join(options)})"
    delimiter = fmt.get("delimiter", "\t" if kind == "tsv" else ",")
    options.append(f"delim = {sql_string(delimiter)}")
    options.append(f"header = {str(fmt.get('header', True)).lower()}")
    if "quote" in fmt:
        options.append(f"quote = {sql_string(fmt['quote'])}")
    if "escape" in fmt:
        options.append(f"escape = {sql_string(fmt['escape'])}")
    if "null" in fmt:
        options.append(f"nullstr = {sql_string(fmt['null'])}")
    if fmt.get("timestamp_format"):
        options.append(f"timestampformat = {sql_string(fmt['timestamp_format'])}")
    # always given: DuckDB's sniffer otherwise may skip leading lines on its own, e.g. take a last
    # line with one field too many for the header and drop every line above it
    options.append(f"skip = {int(fmt.get('skip') or 0)}")
    options.append("strict_mode = true")
    if bad_lines == "skip":
        options.append("ignore_errors = true")
        options.append("store_rejects = true")
    if not columns and not same_header:
        options.append("union_by_name = true")
    return f"read_csv({files}, {', '.join(options)})"


def select_with_file_columns(call: str, mapping: list[tuple[str, str, object]], with_time: bool) -> str:
    """Rows of `call` with `_source_file` made relative and, for time patterns, `_file_time` added.

    mapping: (path DuckDB read, path recorded, file time) for every file in the call.
    """
    values = ", ".join(
        f"({sql_string(full)}, {sql_string(rel)}, {('TIMESTAMP ' + sql_string(str(t))) if t else 'NULL::TIMESTAMP'})"
        for full, rel, t in mapping
    )
    time_column = ", _m._file_time" if with_time else ""
    return (
        f"SELECT _r.* EXCLUDE ({quote_ident('_source_file')}), _m._rel AS _source_file{time_column} "
        f"FROM {call} AS _r JOIN (VALUES {values}) AS _m(_full, _rel, _file_time) ON _r._source_file = _m._full"
    )
