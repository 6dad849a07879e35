"""The adapter-file schema every file type shares (`file_adapter_schema`), and the checks it cannot
express (`config_issues`)."""

from __future__ import annotations

from datetime import datetime, timezone

from featherbox.file_sources.reader import FORMAT_SCHEMA, normalize_format

ISO_TIME = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?)?(Z|[+-]\d{2}:?\d{2})?$"


def file_adapter_schema(type_name: str, config_properties: dict, config_required: list[str]) -> dict:
    return {
        "type": "object",
        "properties": {
            "type": {"const": type_name},
            "description": {"type": "string"},
            "config": {
                "type": "object",
                "properties": config_properties,
                "required": config_required,
                "additionalProperties": False,
            },
            "path": {"type": "string", "minLength": 1, "description": "glob or time pattern, relative to the base"},
            "format": FORMAT_SCHEMA,
            "range": {
                "type": "object",
                "properties": {
                    "since": {
                        "type": "string", "pattern": ISO_TIME,
                        "description": "ISO-8601 date or date-time, UTC unless it has an offset; files from this time on",
                    },
                    "until": {
                        "type": "string", "pattern": ISO_TIME,
                        "description": "ISO-8601 date or date-time, UTC unless it has an offset; exclusive; open if omitted",
                    },
                },
                "additionalProperties": False,
            },
            "update_strategy": {
                "type": "string",
                "description": "a file strategy: filename (default), content, full, or one a plugin provides",
            },
            "delete_missing": {"type": "boolean", "description": "content strategy: drop rows of files that vanished"},
            "verify_compressed": {
                "type": "boolean",
                "description": "decompress every gzip and zstd file once more while DuckDB reads it, so a truncated "
                "or corrupt file fails the load instead of loading part of its rows (default true)",
            },
            "verify_gzip": {
                "type": "boolean",
                "description": "the older name of verify_compressed; false turns the check off",
            },
            "bad_lines": {
                "enum": ["fail", "skip"],
                "description": "csv/tsv: a line DuckDB cannot read (wrong number of fields, a value of the wrong "
                "type) fails the load (fail, the default) or is left out and counted in the run's output (skip)",
            },
            "lookback": {
                "type": "string",
                "pattern": r"^(\d+[wdhms])+$",
                "description": "time patterns: after the first load, list only folders from the newest loaded "
                "file time minus this (e.g. 2d); late files older than that are not seen",
            },
        },
        "required": ["type", "path"],
        "additionalProperties": False,
    }


def config_issues(document: dict) -> list[tuple[str, str]]:
    """`range` values that are not real times, an empty range, or `bad_lines: skip` on a format
    without lines (see `AdapterType.config_issues`)."""
    issues, bounds = [], {}
    for key in ("since", "until"):
        value = (document.get("range") or {}).get(key)
        if value is None:
            continue
        try:
            bounds[key] = parse_time(value)
        except ValueError as exc:
            why = "its UTC offset is out of range" if "offset" in str(exc) else str(exc)
            issues.append((f"range.{key}", f"{value!r} is not a valid date or date-time ({why}); write e.g. 2024-01-31 or 2024-01-31T09:00:00+09:00"))
    if len(bounds) == 2 and bounds["until"] <= bounds["since"]:
        since, until = (document["range"][key] for key in ("since", "until"))
        relation = "the same time as" if bounds["until"] == bounds["since"] else "before"
        issues.append(("range.until", f"{until!r} is {relation} range.since {since!r}, so no file could match; until is exclusive and must come after since"))
    if document.get("bad_lines") == "skip" and isinstance(document.get("path"), str):
        kind = normalize_format(document.get("format"), document["path"])["type"]
        if kind not in ("csv", "tsv"):
            issues.append(("bad_lines", f"bad_lines: skip applies to csv and tsv files only, and these are {kind}"))
    return issues


def parse_time(value) -> datetime | None:
    """A `range` bound as a naive UTC time (file times from path tokens are UTC); an offset converts."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.replace(tzinfo=None)
