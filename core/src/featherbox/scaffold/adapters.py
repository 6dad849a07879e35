"""`fbox adapter new` and `fbox adapter delete`."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from featherbox.errors import FeatherBoxError
from featherbox.scaffold import (
    ADAPTERS_DIR, YAML_SUFFIXES, Deleted, _check_free, _count, _graph_or_reason, _same_name_files, check_name,
)


@dataclass
class NewAdapter:
    file: Path
    type: str
    tables: list[str]
    warnings: list[str] = field(default_factory=list)


def _adapter_class(registry, type_name: str):
    """The registered class for `type_name`; refuses types that are unknown or not implemented."""
    from featherbox.registry import KNOWN_DISTRIBUTIONS

    cls = registry.get("adapter", type_name)  # UnknownTypeError names `pip install fbox-...`
    if not getattr(cls, "implemented", True):
        plugin = registry.provided_by.get(("adapter", type_name))
        distribution = registry.report.distributions.get(plugin) if plugin else None
        distribution = distribution or KNOWN_DISTRIBUTIONS.get(type_name, f"fbox-{type_name}")
        raise FeatherBoxError(
            f"type: {type_name} is provided by {distribution}, which does not implement it yet; "
            f"use one of: {', '.join(_implemented(registry)) or 'none'}"
        )
    return cls


def _implemented(registry) -> list[str]:
    return sorted(name for name, cls in registry.adapters.items() if getattr(cls, "implemented", True))


#: options `fbox adapter new` has a flag of its own for (`--db-path x`); any other is given as
#: `--option NAME=VALUE`. Which types take them is up to the types (`AdapterType.new_options`).
OPTION_FLAGS = ("path", "format", "base-path", "db-path", "tables")


def option_label(option: str) -> str:
    """How a user gives `option` on the command line: `--db-path`, `--option region`."""
    return f"--{option}" if option in OPTION_FLAGS else f"--option {option}"


def new_adapter(
    root: Path,
    name: str,
    type_name: str,
    registry,
    *,
    options: dict[str, str] | None = None,
    description: str | None = None,
    force: bool = False,
) -> NewAdapter:
    """Write adapters/<name>.yml from the template of `type_name` (`AdapterType.new_file`), given
    `options` (name -> value) the type declares in `new_options`."""
    import yaml

    from featherbox.extension import AdapterTemplate
    from featherbox.yaml_text import PLACEHOLDER

    check_name(name, "adapter name")
    cls = _adapter_class(registry, type_name)
    options = dict(options or {})
    _check_options(registry, cls, type_name, options)

    target = root / ADAPTERS_DIR / f"{name}.yml"
    _check_free(root, target, _same_name_files(root / ADAPTERS_DIR, name), f"adapter {name}", "adapter", force)

    template = cls.new_file(name, options, description)
    if not isinstance(template, AdapterTemplate):
        raise FeatherBoxError(
            f"the {type_name} adapter plugin wrote no template: {cls.__name__}.new_file returned "
            f"{type(template).__name__}, not an AdapterTemplate"
        )
    text = template.text
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise FeatherBoxError(f"the {type_name} adapter plugin wrote a template that is not YAML ({cls.__name__}.new_file): {exc}") from None
    issues = _validate_adapter(document, cls, target, type_name)
    if issues and template.complete:
        raise FeatherBoxError(
            "the adapter file would not be valid, so it was not written:\n" + "\n".join(f"  {i}" for i in issues)
        )
    result = NewAdapter(target, type_name, list(template.tables))
    result.warnings = [f"config.{key}: replace {PLACEHOLDER}" for key in _placeholders(document)]
    result.warnings += list(template.warnings)
    result.warnings += [f"{i.field or 'file'}: {i.message}" for i in issues]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return result


def _check_options(registry, cls, type_name: str, options: dict[str, str]) -> None:
    """Refuse options `cls` does not take, saying which installed types take each, and what `cls` takes."""
    accepted = getattr(cls, "new_options", None) or {}
    wrong = [option for option in options if option not in accepted]
    if not wrong:
        return
    takers: dict[str, list[str]] = {}
    for other, other_cls in sorted(registry.adapters.items()):
        if getattr(other_cls, "implemented", True):
            for option in getattr(other_cls, "new_options", None) or {}:
                takers.setdefault(option, []).append(other)

    def why(option: str) -> str:
        if option in takers:
            return f"for {_and(takers[option])} adapters"
        close = difflib.get_close_matches(option, [*accepted, *takers], n=1)
        hint = f"; did you mean {option_label(close[0])}?" if close else ""
        return f"no installed adapter type takes it{hint}"

    groups: dict[str, list[str]] = {}  # options the same types take are named together
    for option in wrong:
        groups.setdefault(why(option), []).append(option_label(option))
    listed = ", ".join(f"{_and(labels)} ({reason})" for reason, labels in groups.items())
    message = f"option{'s' if len(wrong) > 1 else ''} {listed} cannot be used with --type {type_name}"
    if accepted:
        message += f"; --type {type_name} takes: " + ", ".join(option_label(o) for o in accepted)
    else:
        message += f"; --type {type_name} takes no options"
    raise FeatherBoxError(message)


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _placeholders(document) -> list[str]:
    from featherbox.yaml_text import PLACEHOLDER

    config = document.get("config") if isinstance(document, dict) else None
    return [key for key, value in config.items() if value == PLACEHOLDER] if isinstance(config, dict) else []


def _validate_adapter(document, cls, file: Path, type_name: str) -> list:
    import copy

    from featherbox.config.schemas import ADAPTER_SCHEMA, validate

    data = copy.deepcopy(document)
    if isinstance(data, dict) and "config" in data and data["config"] is None:
        data["config"] = {}  # as the loader reads `config:` with nothing under it
    issues = validate(data, ADAPTER_SCHEMA, file, {})
    issues += validate(data, cls.config_schema, file, {}, schema_owner=f"the {type_name} adapter plugin")
    return issues


def delete_adapter(workspace, name: str, force: bool = False) -> Deleted:
    from featherbox.graph.dag import downstream, node_of

    root = workspace.root
    files = _same_name_files(root / ADAPTERS_DIR, name)
    exact = [f for f in files if f.stem == name] or files
    if not exact:
        known = sorted({p.stem for p in (root / ADAPTERS_DIR).glob("*") if p.suffix in YAML_SUFFIXES and p.is_file()}) \
            if (root / ADAPTERS_DIR).is_dir() else []
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise FeatherBoxError(
            f"no adapter named {name!r} (adapters: {', '.join(known) or 'none'}){hint}"
        )
    file = exact[0]
    node = file.stem

    graph, reason = _graph_or_reason(workspace)
    tables: list[str] = []
    dependents: list[str] = []
    warnings: list[str] = []
    if graph is not None and node in graph:
        tables = list(node_of(graph, node).tables)
        dependents = sorted(downstream(graph, node))
    elif not force:
        raise FeatherBoxError(
            f"cannot tell which models read adapter {node}, because the project does not load:\n{reason}\n"
            "Fix that first, or pass --force to delete the adapter anyway"
        )
    else:
        warnings.append("the project does not load, so models that read this adapter were not checked")

    if dependents and not force:
        raise FeatherBoxError(
            f"adapter {node} is read by {_count(len(dependents), 'model')}: {', '.join(dependents)}; "
            "change or delete them first, or pass --force to delete the adapter anyway (they will fail until fixed)"
        )
    if graph is not None:
        adapter = workspace.backends.adapters.get(node)
        if adapter is not None:
            try:
                adapter.on_delete()
            except Exception as exc:  # the file goes anyway; say what the source may still hold
                warnings.append(f"adapter {node} could not release what it holds at its source: {type(exc).__name__}: {exc}")
    file.unlink()
    return Deleted(file, node, tables, dependents, warnings)
