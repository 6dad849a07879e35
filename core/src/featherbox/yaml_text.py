"""YAML text for the files `fbox` writes: scalars quoted only where YAML needs it, the line that
points editors at the JSON Schema, and an adapter file's `config:` made from its type's schema.

Each adapter type writes its own `fbox adapter new` template (`AdapterType.new_file`: the generic one
here, the file kit's in `featherbox.file_sources.template`, the database kit's in
`featherbox.database_sources.template`, a plugin's in its package) with these helpers.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Sequence

SCHEMA_DIR = ".fbox/schemas"


def schema_line(relative_file: str, kind: str) -> str:
    """`# yaml-language-server: $schema=...` for a file at `relative_file` (posix, from the project root)."""
    folder = posixpath.dirname(relative_file)
    target = posixpath.relpath(f"{SCHEMA_DIR}/{kind}.json", folder or ".")
    return f"# yaml-language-server: $schema={target}\n"


def yaml_scalar(value) -> str:
    """`value` as a one-line YAML scalar, quoted only when YAML needs it."""
    text = json.dumps(value) if not isinstance(value, str) else None
    if text is not None:
        return text
    import yaml

    dumped = yaml.safe_dump(value, default_flow_style=True, width=10**9, allow_unicode=True)
    dumped = dumped.removesuffix("\n...\n").removesuffix("\n")
    if "\n" in dumped:  # a string with line breaks: JSON's double quotes are valid YAML
        return json.dumps(value, ensure_ascii=False)
    return dumped


def yaml_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(yaml_scalar(v) for v in values) + "]"


# --- adapter files ------------------------------------------------------------------------

def description_line(description: str | None, fallback: str) -> str:
    """`description: ...` with `description`, or else `fallback`."""
    return f"description: {yaml_scalar(description or fallback)}\n"


PLACEHOLDER = "CHANGE_ME"


def example_value(prop):
    """A value the property schema `prop` accepts, for a line the user uncomments and edits: its
    default, first example, const or enum value, else one of its type (a string is CHANGE_ME)."""
    if not isinstance(prop, dict):
        return PLACEHOLDER
    if "default" in prop:
        return prop["default"]
    if prop.get("examples"):
        return prop["examples"][0]
    if "const" in prop:
        return prop["const"]
    if prop.get("enum"):
        return prop["enum"][0]
    for key in ("anyOf", "oneOf"):
        if prop.get(key):
            return example_value(prop[key][0])
    kind = prop.get("type")
    kind = kind[0] if isinstance(kind, list) and kind else kind
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        if "minimum" in prop:
            return prop["minimum"]
        return prop["exclusiveMinimum"] + 1 if "exclusiveMinimum" in prop else 0
    if kind == "array":
        return [example_value(prop.get("items", {}))] * max(prop.get("minItems", 1), 1)
    if kind == "object":
        return {}
    return PLACEHOLDER


def required_config(schema: dict) -> list[str]:
    """The `config:` keys a type's `config_schema` requires."""
    config = (schema.get("properties") or {}).get("config") or {}
    return list(config.get("required") or [])


def config_section(schema: dict, values: dict | None = None) -> str:
    """`config:` with the settings a type's `config_schema` describes.

    `values` are written as given; other required settings get the placeholder CHANGE_ME, and
    optional ones are listed as commented-out lines with a value their schema accepts and their
    descriptions, so uncommenting a line gives a file that loads.
    """
    values = dict(values or {})
    config = (schema.get("properties") or {}).get("config") or {}
    properties = config.get("properties") or {}
    required = set(config.get("required") or [])

    def note(key: str, extra: str = "") -> str:
        prop = properties.get(key)
        text = prop.get("description") if isinstance(prop, dict) else None
        text = ": ".join(t for t in (extra, text) if t)
        return f"   # {text}" if text else ""

    settings = [f"{key}: {yaml_scalar(value)}{note(key)}" for key, value in values.items()]
    settings += [f"{key}: {PLACEHOLDER}{note(key, 'required')}" for key in properties if key in required and key not in values]
    optional = [
        f"{key}: {yaml_scalar(example_value(properties[key]))}{note(key)}"
        for key in properties if key not in required and key not in values
    ]
    if settings:
        return "config:\n" + "".join(f"  {line}\n" for line in settings) + "".join(f"  # {line}\n" for line in optional)
    if not optional:
        return "config: {}\n"
    # `config:` with nothing under it is an empty mapping (the loader reads it so)
    head = "# Settings of this source: uncomment the ones it needs (`fbox plan` checks them).\nconfig:\n"
    return head + "".join(f"  # {line}\n" for line in optional)


GENERIC_YML = """\
{schema}type: {type}
{description}
{config}"""


def generic_adapter(name: str, type_name: str, schema: dict, description: str | None = None) -> str:
    """`type`, `description` and `config:` from the type's schema (`AdapterType.new_file`'s default)."""
    return GENERIC_YML.format(
        schema=schema_line(f"adapters/{name}.yml", "adapter"),
        type=yaml_scalar(type_name),
        description=description_line(description, f"{type_name} source {name}"),
        config=config_section(schema),
    )
