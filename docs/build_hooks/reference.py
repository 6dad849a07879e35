"""MkDocs hook: the reference pages, generated at build time from the live code.

- `reference/cli.md` from the typer app (`featherbox.cli.app.create_app()`), walking its click
  command tree: every command's help, usage, arguments and options.
- `reference/project.md`, `reference/adapters.md`, `reference/models.md` from the JSON Schemas the
  validator uses (`featherbox.config.schemas`, with the duration details `fbox schema` adds).
- `reference/strategies.md` and `reference/plugins/*.md` from the installed plugins
  (`featherbox.registry.default_registry()`): each adapter, storage and database type's
  `config_schema` and `description`.

Nothing is written to `docs/`: the pages exist only in the build. `generate()` returns them as
`{path: markdown}` so tests can check them without building.
"""

from __future__ import annotations

import copy
import json
from typing import Any

PLUGIN_INDEX = "reference/plugins/index.md"
KIND_TITLES = {"adapter": "Adapter", "storage": "Storage", "database": "Database", "strategy": "Strategy"}
KIND_WHERE = {
    "adapter": "an adapter file (`adapters/NAME.yml`)",
    "storage": "the `storage:` section of `project.yml`",
    "database": "the `database:` section of `project.yml`",
}
GENERATED_NOTE = (
    "!!! note \"Generated\"\n    This page is generated when the documentation is built, from {source}. "
    "It always matches the installed code.\n"
)

# ---------------------------------------------------------------------------------------------
# JSON Schema -> markdown


_TYPE_WORDS = {
    "object": "mapping",
    "array": "list",
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "null": "null",
}


def _lit(value: Any) -> str:
    if isinstance(value, str):
        return f"`{value}`"
    return f"`{json.dumps(value)}`"


def _cell(text: str) -> str:
    """Text safe inside a markdown table cell (code spans keep their own content)."""
    out, in_code = [], False
    for part in text.split("`"):
        if not in_code:  # a code span keeps its text (and its pipes: tables do not split inside one)
            part = part.replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
        out.append(part)
        in_code = not in_code
    return "`".join(out).replace("\n", " ")


def type_text(schema: dict) -> str:
    """A short human description of what a schema accepts."""
    if not isinstance(schema, dict) or not schema:
        return "any"
    if "const" in schema:
        return _lit(schema["const"])
    if "enum" in schema:
        return "one of " + ", ".join(_lit(v) for v in schema["enum"])
    for key in ("oneOf", "anyOf"):
        if key in schema and all(isinstance(s, dict) for s in schema[key]) and any(
            "type" in s or "enum" in s or "const" in s for s in schema[key]
        ):
            return " or ".join(type_text(s) for s in schema[key])
    kinds = schema.get("type")
    if kinds is None:
        return "any"
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    words = []
    for kind in kinds:
        if kind == "array" and isinstance(schema.get("items"), dict):
            words.append(f"list of {type_text(schema['items'])}")
        elif kind == "object" and isinstance(schema.get("additionalProperties"), dict):
            words.append(f"mapping of name → {type_text(schema['additionalProperties'])}")
        else:
            words.append(_TYPE_WORDS.get(kind, kind))
    return " or ".join(words)


def _constraints(schema: dict) -> list[str]:
    out = []
    if schema.get("minLength") == 1:
        out.append("not empty")
    elif "minLength" in schema:
        out.append(f"at least {schema['minLength']} characters")
    if "pattern" in schema:
        out.append(f"matches `{schema['pattern']}`")
    for key, word in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<")):
        if key in schema:
            out.append(f"{word} {schema[key]}")
    if "minItems" in schema:
        out.append(f"at least {schema['minItems']} item{'s' if schema['minItems'] != 1 else ''}")
    if schema.get("uniqueItems"):
        out.append("no duplicates")
    if schema.get("secret") is True:
        out.append("secret: shown as `***`")
    for key in ("oneOf", "anyOf"):
        for variant in schema.get(key, []):
            if isinstance(variant, dict) and "type" in variant and "properties" not in variant:
                out.extend(c for c in _constraints(variant) if c not in out)
    return out


def _variants(schema: dict) -> list[dict]:
    """The schema itself and the alternatives it allows (oneOf/anyOf/items), for finding nested keys."""
    found = [schema]
    for key in ("oneOf", "anyOf"):
        found.extend(v for v in schema.get(key, []) if isinstance(v, dict))
    return found


def property_rows(schema: dict, path: str = "") -> list[tuple[str, dict, bool]]:
    """Every property at any depth as (dotted path, schema, required); list items are `path[]`."""
    rows: list[tuple[str, dict, bool]] = []
    required = set(schema.get("required", []))
    for name, sub in schema.get("properties", {}).items():
        sub = sub if isinstance(sub, dict) else {}
        full = f"{path}.{name}" if path else name
        rows.append((full, sub, name in required))
        rows.extend(_nested_rows(sub, full))
    return rows


def _nested_rows(schema: dict, path: str) -> list[tuple[str, dict, bool]]:
    rows: list[tuple[str, dict, bool]] = []
    seen: set[str] = set()
    for variant in _variants(schema):
        if "properties" in variant:
            targets = [(variant, path)]
        else:
            targets = []
        items = variant.get("items")
        if isinstance(items, dict):
            targets.extend((v, f"{path}[]") for v in _variants(items) if "properties" in v)
        for target, at in targets:
            for row in property_rows(target, at):
                if row[0] not in seen:
                    seen.add(row[0])
                    rows.append(row)
    return rows


def _condition(schema: dict) -> str:
    parts = []
    for name, sub in schema.get("properties", {}).items():
        if isinstance(sub, dict) and "const" in sub:
            parts.append(f"`{name}` is {_lit(sub['const'])}")
        elif isinstance(sub, dict) and "enum" in sub:
            parts.append(f"`{name}` is " + " or ".join(_lit(v) for v in sub["enum"]))
    parts.extend(f"`{name}` is set" for name in schema.get("required", []) if name not in schema.get("properties", {}))
    return " and ".join(parts) or json.dumps(schema)


def _consequence(schema: dict) -> str:
    parts = []
    if schema.get("required"):
        parts.append(", ".join(f"`{n}`" for n in schema["required"]) + " required")
    forbidden = schema.get("not", {}).get("anyOf", []) if isinstance(schema.get("not"), dict) else []
    names = [n for f in forbidden for n in f.get("required", [])]
    if names:
        parts.append(", ".join(f"`{n}`" for n in names) + " not allowed")
    if schema.get("properties"):
        parts.append(_condition(schema))
    return "; ".join(parts) or json.dumps(schema)


def rules(schema: dict, path: str = "") -> list[str]:
    """Cross-field rules of a schema (and its nested objects) as sentences."""
    where = f" (in `{path}`)" if path else ""
    out: list[str] = []
    alternatives = schema.get("anyOf", [])
    if alternatives and all(isinstance(a, dict) and set(a) == {"required"} for a in alternatives):
        keys = [", ".join(f"`{n}`" for n in a["required"]) for a in alternatives]
        out.append(f"At least one of {' or '.join(keys)} must be given{where}.")
    conditionals = [s for s in schema.get("allOf", []) if isinstance(s, dict)]
    if "if" in schema:
        conditionals.append(schema)
    for cond in conditionals:
        if "if" not in cond:
            continue
        text = f"When {_condition(cond['if'])}: {_consequence(cond.get('then', {}))}"
        if "else" in cond:
            text += f"; otherwise: {_consequence(cond['else'])}"
        out.append(text + f"{where}.")
    for name, dependent in schema.get("dependentSchemas", {}).items():
        out.append(f"`{name}` is only allowed when {_condition(dependent)}{where}.")
    for name, sub in schema.get("properties", {}).items():
        if not isinstance(sub, dict):
            continue
        full = f"{path}.{name}" if path else name
        for variant in _variants(sub):
            if "properties" in variant or "if" in variant or "anyOf" in variant and variant is not sub:
                out.extend(r for r in rules(variant, full) if r not in out)
        items = sub.get("items")
        if isinstance(items, dict):
            for variant in _variants(items):
                if "properties" in variant:
                    out.extend(r for r in rules(variant, f"{full}[]") if r not in out)
    return out


def closed_objects(schema: dict, path: str = "") -> list[str]:
    """Paths of the objects that reject keys they do not list (`additionalProperties: false`)."""
    found = [path] if schema.get("additionalProperties") is False and schema.get("properties") else []
    for name, sub in schema.get("properties", {}).items():
        if not isinstance(sub, dict):
            continue
        full = f"{path}.{name}" if path else name
        for variant in _variants(sub):
            found.extend(p for p in closed_objects(variant, full) if p not in found)
        if isinstance(sub.get("items"), dict):
            for variant in _variants(sub["items"]):
                found.extend(p for p in closed_objects(variant, f"{full}[]") if p not in found)
    return found


#: what the core schemas' keys without a `description` mean (only keys the schema has: see the test)
CORE_MEANINGS = {
    "project": {
        "storage": "Where DuckLake writes its Parquet data files: `type` plus that storage type's keys (default `{type: local, path: data}`).",
        "storage.type": "A storage type (see below).",
        "database": "Where the DuckLake catalog and FeatherBox's run history live: `type` plus that database type's keys (default `{type: sqlite, path: .fbox/catalog.sqlite}`).",
        "database.type": "A database type (see below).",
        "deployments": "Run settings.",
    },
    "adapter": {
        "type": "The adapter type (see below).",
        "description": "Free text; editing it does not reload anything.",
        "config": "How to reach the source; its keys depend on the type.",
    },
    "model": {
        "name": "Optional; must equal the file name if given.",
        "sql": "One `SELECT` statement (`WITH ... SELECT` is fine); its result becomes the table.",
        "description": "Free text.",
    },
}


def schema_table(schema: dict, meanings: dict[str, str] | None = None) -> str:
    lines = ["| key | accepts | required | meaning |", "| --- | --- | --- | --- |"]
    for path, sub, required in property_rows(schema):
        accepts = type_text(sub)
        extra = _constraints(sub)
        if extra:
            accepts += " (" + ", ".join(extra) + ")"
        lines.append(
            f"| `{path}` | {_cell(accepts)} | {'yes' if required else ''} | {_cell(sub.get('description') or (meanings or {}).get(path, ''))} |"
        )
    text = "\n".join(lines) + "\n"
    found = rules(schema)
    closed = closed_objects(schema)
    if closed:
        found.append("No other keys are allowed " + ", ".join("at the top level" if p == "" else f"in `{p}`" for p in closed) + ".")
    if found:
        text += "\nRules:\n\n" + "\n".join(f"- {_cell(r)}" for r in found) + "\n"
    return text


# ---------------------------------------------------------------------------------------------
# configuration pages


def _registry():
    from featherbox.registry import default_registry

    return default_registry()


def _plugin_page(plugin: str) -> str:
    return f"reference/plugins/{plugin.replace('.', '-')}.md"


def _anchor(kind: str, name: str) -> str:
    return f"{kind}-{name}".replace("+", "").replace(".", "")


def _distribution(registry, plugin: str) -> str:
    if plugin.startswith("featherbox."):
        return "featherbox"
    return registry.report.distributions.get(plugin, plugin)


def _types_table(registry, kind: str, classes: dict, here: str) -> str:
    lines = ["| type | plugin | description |", "| --- | --- | --- |"]
    for name in sorted(classes):
        plugin = registry.provided_by[(kind, name)]
        link = _relative(here, _plugin_page(plugin)) + f"#{_anchor(kind, name)}"
        lines.append(f"| [`{name}`]({link}) | {_distribution(registry, plugin)} | {_cell(getattr(classes[name], 'description', '') or '')} |")
    return "\n".join(lines) + "\n"


def _relative(here: str, target: str) -> str:
    import posixpath

    return posixpath.relpath(target, posixpath.dirname(here) or ".")


def project_page(registry) -> str:
    from featherbox.config.editor_schemas import DURATION
    from featherbox.config.schemas import PROJECT_SCHEMA

    schema = copy.deepcopy(PROJECT_SCHEMA)
    schema["properties"]["deployments"]["properties"]["timeout"] = DURATION
    here = "reference/project.md"
    return (
        "# project.yml reference\n\n"
        + GENERATED_NOTE.format(source="`featherbox.config.schemas.PROJECT_SCHEMA` and the installed storage and database types")
        + "\nThe top level of `project.yml` (an empty file means all defaults: local storage in `data/`, "
        "a SQLite database in `.fbox/catalog.sqlite`). Prose and examples: [Project files](../project.md#projectyml).\n\n"
        + schema_table(schema, CORE_MEANINGS["project"])
        + "\n## storage types\n\n`storage.type` picks one of these; that type's schema checks the rest of the section.\n\n"
        + _types_table(registry, "storage", registry.storages, here)
        + "\n## database types\n\n`database.type` picks one of these; that type's schema checks the rest of the section.\n\n"
        + _types_table(registry, "database", registry.databases, here)
    )


def adapters_page(registry) -> str:
    from featherbox.config.schemas import ADAPTER_SCHEMA

    here = "reference/adapters.md"
    return (
        "# Adapter reference\n\n"
        + GENERATED_NOTE.format(source="`featherbox.config.schemas.ADAPTER_SCHEMA` and the installed adapter types")
        + "\nEvery file `adapters/NAME.yml` is first checked against these common keys; then the schema of "
        "the type it names checks the whole document, so each type decides which further keys exist. "
        "Prose and examples: [Project files](../project.md#adapters-adaptersyml).\n\n"
        + schema_table(ADAPTER_SCHEMA, CORE_MEANINGS["adapter"])
        + "\n## Adapter types\n\n"
        + _types_table(registry, "adapter", registry.adapters, here)
        + "\nFile adapters choose which files a run reads with `update_strategy`: see "
        "[file strategies](strategies.md).\n"
    )


def models_page() -> str:
    from featherbox.config.editor_schemas import model_schema

    schema = model_schema()
    for key in ("$schema", "title"):
        schema.pop(key, None)
    return (
        "# Model reference\n\n"
        + GENERATED_NOTE.format(source="`featherbox.config.schemas.MODEL_SCHEMA`")
        + "\nEvery file `models/**/NAME.yml`. Prose and examples: [Project files](../project.md#models-modelsyml); "
        "how incremental kinds are updated: [Incremental loading](../incremental.md).\n\n"
        + schema_table(schema, CORE_MEANINGS["model"])
    )


def strategies_table(registry, kind: str = "file") -> str:
    lines = ["| strategy | provided by | what it loads |", "| --- | --- | --- |"]
    for name, cls in sorted(registry.strategies_of(kind).items()):
        plugin = registry.provided_by[("strategy", name)]
        lines.append(f"| `{name}` | {_distribution(registry, plugin)} | {_cell(getattr(cls, 'description', '') or '')} |")
    return "\n".join(lines) + "\n"


def table_strategies_table(registry) -> str:
    return strategies_table(registry, "database")


def strategies_page(registry) -> str:
    return (
        "# Incremental strategies\n\n"
        + GENERATED_NOTE.format(source="the installed incremental strategies")
        + "\nSee [Incremental loading](../incremental.md) for how they fit with the rest, and "
        "[Writing plugins](../plugins.md#fbox_incremental_strategies) for adding one.\n\n"
        "## File strategies\n\nA file adapter's `update_strategy` names one of these (default `filename`).\n\n"
        + strategies_table(registry, "file")
        + "\n## Database strategies\n\nA database adapter's `incremental.type` names one of these; without "
        "`incremental:` it copies its tables whole.\n\n"
        + strategies_table(registry, "database")
    )


def plugin_pages(registry) -> dict[str, str]:
    by_plugin: dict[str, list[tuple[str, str, type]]] = {}
    tables = {"adapter": registry.adapters, "storage": registry.storages, "database": registry.databases}
    for (kind, name), plugin in sorted(registry.provided_by.items()):
        if kind in tables:
            by_plugin.setdefault(plugin, []).append((kind, name, tables[kind][name]))
    pages: dict[str, str] = {}
    index = [
        "# Plugin types",
        "",
        GENERATED_NOTE.format(source="the installed plugins (`featherbox` entry points)"),
        "Every adapter, storage and database type the installed plugins provide, with the schema that "
        "checks its configuration. `fbox plugins` lists the same on the command line; "
        "[Writing plugins](../../plugins.md) explains how to add one.",
        "",
        "| plugin | distribution | provides |",
        "| --- | --- | --- |",
    ]
    for plugin in sorted(by_plugin):
        dist = _distribution(registry, plugin)
        provides = "; ".join(f"{kind}: `{name}`" for kind, name, _ in by_plugin[plugin])
        index.append(f"| [{plugin}]({_relative(PLUGIN_INDEX, _plugin_page(plugin))}) | {dist} | {provides} |")
        body = [f"# {dist}", "", GENERATED_NOTE.format(source="the `config_schema` of each type this plugin provides")]
        body.append(f"`pip install {dist}` provides:\n")
        body.extend(f"- {kind} type [`{name}`](#{_anchor(kind, name)})" for kind, name, _ in by_plugin[plugin])
        body.append("")
        for kind, name, cls in by_plugin[plugin]:
            body.append(f"## {KIND_TITLES[kind]} `type: {name}` {{#{_anchor(kind, name)}}}\n")
            description = getattr(cls, "description", "") or ""
            if description:
                body.append(f"*{description}*\n")
            body.append(f"Used in {KIND_WHERE[kind]}.\n")
            schema = getattr(cls, "config_schema", None)
            if isinstance(schema, dict) and schema.get("properties"):
                body.append(schema_table(schema))
            else:
                body.append("This type declares no keys of its own.\n")
            options = (getattr(cls, "new_options", None) or {}) if kind == "adapter" else {}
            if options:
                from featherbox.scaffold.adapters import option_label

                body.append(f"`fbox adapter new NAME --type {name}` takes:\n")
                body.append("| option | meaning |\n| --- | --- |")
                body.extend(f"| `{option_label(option)}` | {_cell(text)} |" for option, text in options.items())
                body.append("")
        pages[_plugin_page(plugin)] = "\n".join(body)
    pages[PLUGIN_INDEX] = "\n".join(index) + "\n"
    return pages


# ---------------------------------------------------------------------------------------------
# CLI page


def cli_commands():
    """(command path, command, context) for the root and every command below it, depth first."""
    import typer

    from featherbox.cli.app import create_app

    root = typer.main.get_command(create_app())
    ctx = root.make_context("fbox", [], resilient_parsing=True)
    found = [("fbox", root, ctx)]

    def walk(group, parent_ctx):
        for name in group.list_commands(parent_ctx):
            command = group.get_command(parent_ctx, name)
            if command is None or getattr(command, "hidden", False):
                continue
            sub_ctx = command.make_context(name, [], parent=parent_ctx, resilient_parsing=True)
            found.append((sub_ctx.command_path, command, sub_ctx))
            if hasattr(command, "list_commands"):
                walk(command, sub_ctx)

    walk(root, ctx)
    return found


def _help_text(command) -> str:
    text = (command.help or "").replace("\b\n", "").strip()
    return text


def cli_page() -> str:
    commands = cli_commands()
    out = [
        "# Command reference",
        "",
        GENERATED_NOTE.format(source="the `fbox` command tree (`featherbox.cli.app.create_app()`), "
                              "including commands installed plugins add"),
        "Every command also takes `-h, --help`. Explanations and example output: [Command line](../cli.md).",
        "",
        "| command | does |",
        "| --- | --- |",
    ]
    for path, command, _ in commands[1:]:
        out.append(f"| [`{path}`](#{path.replace(' ', '-')}) | {_cell(command.get_short_help_str(200))} |")
    out.append("")
    for path, command, ctx in commands:
        anchor = path.replace(" ", "-")
        title = "Global options: fbox" if path == "fbox" else path
        out.append(f"## {title} {{#{anchor}}}\n")
        text = _help_text(command)
        if text:
            out.append(_cell(text).replace("\\|", "|") + "\n")
        out.append("```text\n" + command.get_usage(ctx).strip() + "\n```\n")
        arguments, options = [], []
        for param in command.get_params(ctx):
            if param.name == "help" or getattr(param, "hidden", False):
                continue
            record = param.get_help_record(ctx)
            if record is None:
                continue
            name, help_text = record
            (arguments if param.param_type_name == "argument" else options).append((name, help_text))
        for heading, params in (("Arguments", arguments), ("Options", options)):
            if params:
                out.append(f"**{heading}**\n\n| {heading[:-1].lower()} | meaning |\n| --- | --- |")
                out.extend(f"| `{name}` | {_cell(help_text)} |" for name, help_text in params)
                out.append("")
        if hasattr(command, "list_commands"):
            subs = command.list_commands(ctx)
            if subs and path != "fbox":
                out.append("Commands: " + ", ".join(f"[`{path} {s}`](#{anchor}-{s})" for s in subs) + "\n")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# strategies inline in hand-written pages

MARKERS = {"<!-- fbox-reference: strategies -->": strategies_table, "<!-- fbox-reference: table-strategies -->": table_strategies_table}


def generate() -> dict[str, str]:
    """Every generated page, `{path under docs/: markdown}`."""
    registry = _registry()
    pages = {
        "reference/cli.md": cli_page(),
        "reference/project.md": project_page(registry),
        "reference/adapters.md": adapters_page(registry),
        "reference/models.md": models_page(),
        "reference/strategies.md": strategies_page(registry),
    }
    pages.update(plugin_pages(registry))
    return pages


# ---------------------------------------------------------------------------------------------
# mkdocs events

_pages: dict[str, str] | None = None


def _generated() -> dict[str, str]:
    global _pages
    if _pages is None:
        _pages = generate()
    return _pages


#: pages written alongside this one by other work: listed in the nav, dropped from it while absent
OPTIONAL_PAGES = {"performance.md", "binary.md"}


def _drop_missing_optional(items, docs_dir: str) -> list:
    import os

    kept = []
    for item in items or []:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        if isinstance(value, list):
            value[:] = _drop_missing_optional(value, docs_dir)
        elif isinstance(value, str) and value in OPTIONAL_PAGES and not os.path.isfile(os.path.join(docs_dir, value)):
            continue
        kept.append(item)
    return kept


def on_config(config, **kwargs):
    """Put each generated plugin page into the nav, after the plugin index; drop absent optional pages."""
    global _pages
    config["nav"][:] = _drop_missing_optional(config["nav"], config["docs_dir"])
    _pages = None  # rebuilds under `mkdocs serve` see code changes
    plugin_pages_ = sorted(p for p in _generated() if p.startswith("reference/plugins/") and p != PLUGIN_INDEX)

    def visit(items):
        for item in items or []:
            value = next(iter(item.values())) if isinstance(item, dict) else item
            if isinstance(value, list):
                if PLUGIN_INDEX in [next(iter(v.values())) if isinstance(v, dict) else v for v in value]:
                    value.extend(p for p in plugin_pages_ if p not in value)
                    return True
                if visit(value):
                    return True
        return False

    visit(config["nav"])
    return config


def on_files(files, config, **kwargs):
    from mkdocs.structure.files import File

    for path, text in _generated().items():
        existing = files.get_file_from_path(path)
        if existing is not None:
            files.remove(existing)
        files.append(File.generated(config, path, content=text))
    return files


def on_page_markdown(markdown, page, config, files, **kwargs):
    if "<!-- fbox-reference:" not in markdown:
        return markdown
    registry = _registry()
    for marker, render in MARKERS.items():
        if marker in markdown:
            markdown = markdown.replace(marker, render(registry))
    return markdown
