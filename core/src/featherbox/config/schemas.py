"""The core JSON Schemas of the project files, and jsonschema errors turned into readable issues."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jsonschema

from featherbox.errors import ConfigIssue

_TYPED_SECTION = {
    "type": "object",
    "required": ["type"],
    "properties": {"type": {"type": "string", "minLength": 1}},
}

PROJECT_SCHEMA: dict = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "storage": _TYPED_SECTION,
        "database": _TYPED_SECTION,
        "deployments": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"timeout": {}},  # checked by parse_duration, for a better message
        },
    },
}

#: every adapter file; the type's own `config_schema` then validates the whole document again
ADAPTER_SCHEMA: dict = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "config": {"type": "object"},
    },
}

MATERIALIZATIONS = ("table", "view", "append", "merge", "delete+insert")


def _only_with(kind: str) -> dict:
    """A key that only means something for one `materialized` kind."""
    return {"required": ["materialized"], "properties": {"materialized": {"const": kind}}}


MODEL_SCHEMA: dict = {
    "type": "object",
    "required": ["sql"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "sql": {"type": "string", "minLength": 1},
        "max_age": {},  # checked by parse_duration
        "description": {"type": "string"},
        "materialized": {
            "enum": list(MATERIALIZATIONS),
            "description": "table (default), view, or an incremental kind: append, merge, delete+insert",
        },
        "allow_empty": {
            "type": "boolean",
            "description": "accept a result of 0 rows replacing a non-empty table (refused by default)",
        },
        "unique_key": {
            "description": "merge: the result column(s) identifying a row; rows of changed keys are recomputed",
            "type": ["string", "array"], "minLength": 1,
            "items": {"type": "string", "minLength": 1}, "minItems": 1, "uniqueItems": True,
        },
        "time_column": {
            "type": "string", "minLength": 1,
            "description": "delete+insert: the result's time column; the time ranges a change touches are recomputed",
        },
        "time_grain": {
            "enum": ["hour", "day"],
            "description": "delete+insert: compare times truncated to this grain (default: exact values)",
        },
        "upstream_time_column": {
            "type": "string", "minLength": 1,
            "description": "delete+insert: the time column of the upstream tables' rows (default: time_column)",
        },
    },
    "allOf": [
        {"if": {"properties": {"materialized": {"const": "merge"}}, "required": ["materialized"]},
         "then": {"required": ["unique_key"]}},
        {"if": {"properties": {"materialized": {"const": "delete+insert"}}, "required": ["materialized"]},
         "then": {"required": ["time_column"]}},
    ],
    "dependentSchemas": {
        "unique_key": _only_with("merge"),
        "time_column": _only_with("delete+insert"),
        "time_grain": _only_with("delete+insert"),
        "upstream_time_column": _only_with("delete+insert"),
    },
}

_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}
_REQUIRED = re.compile(r"^(?P<name>'.*'|\".*\") is a required property$")

_validators: dict[int, tuple[dict, jsonschema.Draft202012Validator]] = {}

#: the `format`s FeatherBox checks (JSON Schema's own formats stay annotations, as before):
#: `fbox-duration`, a compact duration such as 5m or 1h30m, longer than zero
FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("fbox-duration", raises=ValueError)
def _is_duration(value: Any) -> bool:
    if isinstance(value, str):
        from featherbox.config.durations import parse_duration

        parse_duration(value)
    return True


def field_path(parts: Iterable[Any], prefix: str = "") -> str:
    """("tables", 2, "name") -> "tables[2].name"."""
    path = prefix
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def validate(
    instance: Any,
    schema: dict,
    file: Path,
    lines: Mapping[str, int],
    prefix: str = "",
    schema_owner: str = "",
    check_schema: bool = False,
) -> list[ConfigIssue]:
    """Every violation of `schema` by `instance` (which sits at `prefix` in `file`), as issues.

    `check_schema`: first check the schema itself against the JSON Schema metaschema (~10 ms a
    schema), for schemas that are not tested with this code (third-party plugins)."""
    try:
        errors = list(_validator(schema, check_schema).iter_errors(instance))
    except jsonschema.SchemaError as exc:
        owner = schema_owner or "the core"
        return [ConfigIssue(file, prefix, f"cannot check this: {owner} has an invalid config schema ({exc.message})")]
    except Exception as exc:  # a broken plugin schema must not turn into a traceback
        owner = schema_owner or "the core"
        return [ConfigIssue(file, prefix, f"cannot check this: {owner}'s config schema failed ({type(exc).__name__}: {exc})")]
    issues: list[ConfigIssue] = []
    for error in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]):
        issues.extend(_issues_for(error, file, lines, prefix))
    return issues


def _validator(schema: dict, check_schema: bool) -> jsonschema.Draft202012Validator:
    cached = _validators.get(id(schema))
    if cached is None or cached[0] is not schema:
        if check_schema:
            jsonschema.Draft202012Validator.check_schema(schema)
        cached = (schema, jsonschema.Draft202012Validator(schema, format_checker=FORMATS))
        _validators[id(schema)] = cached
    return cached[1]


def _issues_for(error: jsonschema.ValidationError, file: Path, lines: Mapping[str, int], prefix: str) -> list[ConfigIssue]:
    path = field_path(error.absolute_path, prefix)
    kind = error.validator
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        return [
            ConfigIssue(file, field_path([key], path), _unknown_key_message(key, error.schema), lines.get(field_path([key], path)))
            for key in _unexpected_keys(error.instance, error.schema)
        ]
    if kind == "required":
        match = _REQUIRED.match(error.message)
        missing = match["name"][1:-1] if match else str(error.validator_value)
        return [ConfigIssue(file, path, f"missing required key '{missing}'", lines.get(path))]
    return [ConfigIssue(file, path, _message(error, _subject(path)), lines.get(path))]


def _message(error: jsonschema.ValidationError, subject: str) -> str:
    kind, expected, value = error.validator, error.validator_value, error.instance
    if kind == "enum":
        return f"{subject} must be one of: {', '.join(_plain(v) for v in expected)} (got {_plain(value)})"
    if kind == "const":
        return f"{subject} must be {_plain(expected)} (got {_plain(value)})"
    if kind == "type":
        wanted = " or ".join(_TYPE_WORDS.get(t, t) for t in ([expected] if isinstance(expected, str) else expected))
        return f"{subject} must be {wanted} (got {_describe(value)})"
    if kind == "pattern":
        return f"{subject} must match the pattern {expected} (got {value!r})"
    if kind == "format" and error.cause is not None:
        return str(error.cause)  # the checker's own words: "'0d' is not a duration: it must be longer than zero"
    if kind == "minLength":
        return f"{subject} must not be empty" if expected == 1 else f"{subject} must be at least {expected} characters long"
    if kind == "maxLength":
        return f"{subject} must be at most {expected} characters long"
    if kind in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        relation = {"minimum": "at least", "exclusiveMinimum": "more than", "maximum": "at most", "exclusiveMaximum": "less than"}
        return f"{subject} must be {relation[kind]} {expected} (got {_plain(value)})"
    if kind == "minItems":
        return f"{subject} must have at least {expected} item{'s' if expected != 1 else ''}"
    if kind == "maxItems":
        return f"{subject} must have at most {expected} item{'s' if expected != 1 else ''}"
    if kind == "uniqueItems":
        return f"{subject} must not contain the same item twice"
    return error.message


def _subject(path: str) -> str:
    if not path:
        return "the document"
    return f"'{path.rsplit('.', 1)[-1]}'"


def _unexpected_keys(instance: dict, schema: dict) -> list[str]:
    known = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    return [
        key
        for key in instance
        if key not in known and not any(re.search(pattern, str(key)) for pattern in patterns)
    ]


def _unknown_key_message(key: Any, schema: dict) -> str:
    allowed = sorted(schema.get("properties", {}))
    message = f"unknown key '{key}'"
    close = difflib.get_close_matches(str(key), allowed, n=1)
    if close:
        message += f"; did you mean '{close[0]}'?"
    elif allowed:
        message += f" (allowed: {', '.join(allowed)})"
    return message


def _plain(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, (str, int, float)) else repr(value)


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the string {value!r}"
    if value is None:
        return "nothing"
    return _plain(value)
