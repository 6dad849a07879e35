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
    for error in sorted(relevant_errors(errors, schema), key=lambda e: [str(p) for p in e.absolute_path]):
        issues.extend(_issues_for(error, file, lines, prefix, schema))
    return issues


def relevant_errors(errors: Iterable[jsonschema.ValidationError], schema: dict) -> list[jsonschema.ValidationError]:
    """The errors worth reporting, out of what jsonschema found against `schema`.

    An `anyOf`/`oneOf` that failed is replaced by the errors of the branch the value was written
    for (`_chosen`), so a user reads "'header' must be true or false", not every branch. An error
    from the `then`/`else` of an `if` is left out when the `if` tested a value that has an error
    of its own (`incremental.type: colummn` picks `else`, whose complaints are beside the point)."""
    chosen = [sub for error in errors for sub in _chosen(error)]
    wrong = {tuple(error.absolute_path) for error in chosen if not {"then", "else"} & set(error.absolute_schema_path)}
    return [error for error in chosen if not _follows_a_wrong_choice(error, schema, wrong)]


def _chosen(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    """The sub-errors of the branch of an anyOf/oneOf meant for the value, or `error` itself when
    no branch is (every branch wants another type, or each only misses a different key)."""
    if error.validator not in ("anyOf", "oneOf") or not error.context:
        return [error]
    branches: dict[Any, list[jsonschema.ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    # a branch that wants another type (a string where a mapping is written) was not meant for it
    fitting = [errs for errs in branches.values() if not any(_at_value(e) and e.validator == "type" for e in errs)]
    if len(fitting) > 1:  # a branch whose discriminator (a property's const or enum) rejects the value was not either
        matched = [errs for errs in fitting if not any(_discriminates(e) for e in errs)]
        fitting = matched or fitting
    if len(fitting) == 1:
        return [chosen for sub in fitting[0] for chosen in _chosen(sub)]
    if not fitting or all(len(errs) == 1 and _at_value(errs[0]) and errs[0].validator == "required" for errs in fitting):
        return [error]  # `_message` says which types, or which keys, would do
    return _chosen(jsonschema.exceptions.best_match(sub for errs in fitting for sub in errs))


def _at_value(error: jsonschema.ValidationError) -> bool:
    """Whether a branch's error is about the value the branch was tried on, not something inside it."""
    return not error.relative_path


def _discriminates(error: jsonschema.ValidationError) -> bool:
    return error.validator in ("const", "enum") and len(error.relative_path) == 1


def _follows_a_wrong_choice(error: jsonschema.ValidationError, schema: dict, wrong: set[tuple]) -> bool:
    """Whether `error` comes from the then/else of an `if` that tested a property which has an error."""
    node: Any = schema
    where: list[Any] = []  # the instance path the schema at `node` applies to
    naming = False  # the previous part was `properties`: this part is a property name
    for part in error.absolute_schema_path:
        if naming:
            where.append(part)
        elif isinstance(node, dict) and part in ("then", "else") and isinstance(node.get("if"), dict):
            tested = node["if"].get("properties") or {}
            if any((*where, name) in wrong for name in tested):
                return True
        elif part in ("items", "prefixItems", "additionalProperties", "patternProperties", "$ref", "contains", "propertyNames"):
            return False  # which item or key the schema applies to is not known from here on
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False
        naming = not naming and part == "properties"
    return False


def _validator(schema: dict, check_schema: bool) -> jsonschema.Draft202012Validator:
    cached = _validators.get(id(schema))
    if cached is None or cached[0] is not schema:
        if check_schema:
            jsonschema.Draft202012Validator.check_schema(schema)
        cached = (schema, jsonschema.Draft202012Validator(schema, format_checker=FORMATS))
        _validators[id(schema)] = cached
    return cached[1]


def _issues_for(
    error: jsonschema.ValidationError, file: Path, lines: Mapping[str, int], prefix: str, root: dict | None = None
) -> list[ConfigIssue]:
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
        return [ConfigIssue(file, path, f"missing required key '{missing}'{_choices(error.schema, missing)}", lines.get(path))]
    if kind in ("anyOf", "oneOf") and error.context and all(sub.validator == "required" for sub in error.context):
        keys = [f"'{key}'" for sub in error.context for key in sub.validator_value if key not in error.instance]
        return [ConfigIssue(file, path, f"missing required key: one of {_or(list(dict.fromkeys(keys)))}", lines.get(path))]
    return [ConfigIssue(file, path, _message(error, _subject(path), root), lines.get(path))]


def _choices(schema: Any, key: str) -> str:
    """" (one of: csv, tsv)" when the schema names the values `key` may take."""
    prop = schema.get("properties", {}).get(key) if isinstance(schema, dict) else None
    if isinstance(prop, dict) and isinstance(prop.get("enum"), list):
        return f" (one of: {', '.join(_plain(v) for v in prop['enum'])})"
    if isinstance(prop, dict) and "const" in prop:
        return f" (write {key}: {_plain(prop['const'])})"
    return ""


def _or(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" or {items[-1]}"


def _did_you_mean(value: Any, allowed: Iterable[Any]) -> str:
    words = [str(v) for v in allowed if isinstance(v, str)]
    close = difflib.get_close_matches(value, words, n=1) if isinstance(value, str) and words else []
    return f"; did you mean '{close[0]}'?" if close else ""


def _branch_types(error: jsonschema.ValidationError) -> list[str]:
    """The types the branches of a failed anyOf/oneOf want, when each wants another type than the value's."""
    wanted: list[str] = []
    for sub in error.context or ():
        if sub.validator == "type" and _at_value(sub):
            types = sub.validator_value
            wanted += [types] if isinstance(types, str) else list(types)
    return list(dict.fromkeys(wanted))


def _not_message(error: jsonschema.ValidationError, subject: str, schema: dict) -> str:
    """A `not` that forbids keys (`not: {anyOf: [{required: [a]}, ...]}`): name the keys present, and
    the `if` that made them forbidden, when it is a then/else."""
    forbidden = error.validator_value
    alternatives = forbidden.get("anyOf", [forbidden]) if isinstance(forbidden, dict) else []
    keys = [key for alt in alternatives if isinstance(alt, dict) and set(alt) == {"required"} for key in alt["required"]]
    present = [key for key in keys if isinstance(error.instance, dict) and key in error.instance]
    if not present:
        return f"{subject} is not allowed in this form"
    named = _or([f"'{key}'" for key in present])
    condition = _branch_condition(error, schema)
    if condition is None:
        return f"{named} cannot be used here; remove {'it' if len(present) == 1 else 'them'}"
    branch, tested = condition
    return f"{named} {'cannot' if branch == 'then' else 'can only'} be used with {tested}"


def _branch_condition(error: jsonschema.ValidationError, schema: dict) -> tuple[str, str] | None:
    """("then" | "else", "type: column or columner") for an error from a then/else whose `if` tests constants."""
    node: Any = schema
    found = None
    for part in error.absolute_schema_path:
        if isinstance(node, dict) and part in ("then", "else") and isinstance(node.get("if"), dict):
            found = (part, node["if"])
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    if found is None:
        return None
    branch, condition = found
    tests = []
    for name, prop in (condition.get("properties") or {}).items():
        values = [prop["const"]] if isinstance(prop, dict) and "const" in prop else prop.get("enum") if isinstance(prop, dict) else None
        if not values:
            return None
        tests.append(f"{name}: {_or([_plain(v) for v in values])}")
    return (branch, " and ".join(tests)) if tests else None


def _message(error: jsonschema.ValidationError, subject: str, root: dict | None = None) -> str:
    kind, expected, value = error.validator, error.validator_value, error.instance
    if kind == "enum":
        return f"{subject} must be one of: {', '.join(_plain(v) for v in expected)} (got {_plain(value)}){_did_you_mean(value, expected)}"
    if kind in ("anyOf", "oneOf") and _branch_types(error):
        wanted = " or ".join(_TYPE_WORDS.get(t, t) for t in _branch_types(error))
        return f"{subject} must be {wanted} (got {_describe(value)})"
    if kind == "oneOf" and not error.context:
        return f"{subject} matches more than one of the forms it may take; write it in one of them"
    if kind == "not":
        return _not_message(error, subject, root)
    if kind == "dependentRequired":
        needs = [f"'{key}' needs '{other}' too" for key, others in expected.items() if key in value for other in others if other not in value]
        return "; ".join(needs) or error.message
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
