"""The `fbox adapter new` template of file sources (`FileAdapter.new_file`): `path`, `format`, the
update strategy and `range`, with the type's `config:` from its schema.

Every file type takes `--path` and `--format`. A subclass that declares more options (fbox-localfile:
`--base-path`) overrides `new_file` and passes the `config` values they give and how its paths are
relative (`base`).
"""

from __future__ import annotations

from featherbox.errors import FeatherBoxError
from featherbox.extension import AdapterTemplate

#: the options every file type takes (`FileAdapter.new_options`)
FILE_OPTIONS = {
    "path": "glob or time pattern of the files, e.g. 'logs/[YYYY]/[MM]/*.csv.gz' (default: NAME/*.csv, or the extension of --format)",
    "format": "csv, tsv, json, ndjson or parquet (default: from the path's extension)",
}

FILE_YML = """\
{schema}type: {type}
{description}
{config}
# Which files to load: a glob (*, ?, **) relative to {base}. Time tokens [YYYY] [MM] [DD] [HH]
# [mm] [SS] match digits and add a _file_time column, e.g. logs/[YYYY]/[MM]/[DD]/app_[HH].csv.gz.
# Every row also gets _source_file, the file it came from.
path: {path}

# csv | tsv | json | ndjson | parquet; .gz and .zst files are decompressed.
format:
{format_lines}
# Which files a run reads again:
#   filename - only files not loaded before (new names)   content - also files whose size/time changed
#   full     - reload everything on every change
update_strategy: filename

# Only files whose time (from the time tokens) falls in this range (UTC unless the value has an
# offset such as +09:00; until is exclusive):
# range:
#   since: 2024-01-01T00:00:00
#   until: 2025-01-01T00:00:00
"""

_FORMAT_LINES = {
    "csv": "  type: csv\n  header: true\n  # delimiter: \",\"\n  # columns: {id: INTEGER, name: VARCHAR}   # omit to infer\n",
    "tsv": "  type: tsv\n  header: true\n  # columns: {id: INTEGER, name: VARCHAR}   # omit to infer types\n",
    "json": "  type: json\n",
    "ndjson": "  type: ndjson\n",
    "parquet": "  type: parquet\n",
}


def file_template(
    cls, name: str, options: dict[str, str], description: str | None = None,
    config: dict | None = None, base: str = "the configured location",
) -> AdapterTemplate:
    """The file template of adapter type `cls` from the `path` and `format` options.

    `config` holds settings written as given (the others come from `cls.config_schema`, required ones
    as CHANGE_ME); `base` says in the comment what `path` is relative to. The template is complete
    (it must load as written) when it leaves no setting to fill in."""
    from featherbox.file_sources.reader import FORMATS, guess_format
    from featherbox.layout import adapter_table
    from featherbox.yaml_text import config_section, description_line, required_config, schema_line, yaml_scalar

    path, fmt = options.get("path"), options.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise FeatherBoxError(f"unknown --format {fmt!r}; use one of: {', '.join(FORMATS)}")
    if path is not None and not path.strip():
        raise FeatherBoxError("--path must not be empty")
    fmt = fmt or (guess_format(path) if path else "csv")
    path = (path or f"{name}/*.{_extension(fmt)}").lstrip("/")
    text = FILE_YML.format(
        schema=schema_line(f"adapters/{name}.yml", "adapter"),
        type=yaml_scalar(cls.type_name),
        description=description_line(description, f"Files loaded into table raw.{name}"),
        config=config_section(cls.config_schema, config),
        base=base,
        path=yaml_scalar(path),
        format_lines=_FORMAT_LINES[fmt],
    )
    unfilled = [key for key in required_config(cls.config_schema) if key not in (config or {})]
    return AdapterTemplate(text, [adapter_table(name)], complete=not unfilled)


def _extension(fmt: str) -> str:
    return {"ndjson": "jsonl"}.get(fmt, fmt)
