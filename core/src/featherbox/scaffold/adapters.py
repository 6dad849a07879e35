"""`fbox adapter new` and `fbox adapter delete`."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from featherbox.errors import FeatherBoxError
from featherbox.scaffold import (
    ADAPTERS_DIR, DEFAULT_BASE_PATH, NAME_RE, STRICT_TYPES, YAML_SUFFIXES,
    Deleted, _check_free, _count, _graph_or_reason, _same_name_files, check_name,
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


def new_adapter(
    root: Path,
    name: str,
    type_name: str,
    registry=None,
    *,
    path: str | None = None,
    fmt: str | None = None,
    base_path: str | None = None,
    db_path: str | None = None,
    tables: list[str] | None = None,
    description: str | None = None,
    force: bool = False,
) -> NewAdapter:
    """Write adapters/<name>.yml from the template for `type_name`."""
    from featherbox.layout import adapter_lake_schema, adapter_table
    from featherbox.scaffold import templates

    check_name(name, "adapter name")
    if registry is None:
        from featherbox.registry import default_registry

        registry = default_registry()
    cls = _adapter_class(registry, type_name)

    from featherbox.file_sources.adapter import FileAdapter

    is_files = isinstance(cls, type) and issubclass(cls, FileAdapter)
    wrong = [opt for opt, value in (("--path", path), ("--format", fmt)) if value is not None and not is_files]
    wrong += ["--base-path"] if base_path is not None and type_name != "localfile" else []
    wrong += [opt for opt, value in (("--db-path", db_path), ("--tables", tables)) if value is not None and type_name != "sqlite"]
    if wrong:
        applies = {"--path": "file adapters such as localfile", "--format": "file adapters such as localfile",
                   "--base-path": "localfile adapters"}
        detail = ", ".join(f"{opt} (for {applies.get(opt, 'sqlite adapters')})" for opt in wrong)
        raise FeatherBoxError(f"option{'s' if len(wrong) > 1 else ''} {detail} cannot be used with --type {type_name}")

    target = root / ADAPTERS_DIR / f"{name}.yml"
    _check_free(root, target, _same_name_files(root / ADAPTERS_DIR, name), f"adapter {name}", "adapter", force)

    written_tables: list[str] = []
    if is_files:
        from featherbox.file_sources.reader import FORMATS, guess_format

        if fmt is not None and fmt not in FORMATS:
            raise FeatherBoxError(f"unknown --format {fmt!r}; use one of: {', '.join(FORMATS)}")
        if path is not None and not path.strip():
            raise FeatherBoxError("--path must not be empty")
        fmt = fmt or (guess_format(path) if path else "csv")
        path = (path or f"{name}/*.{_extension(fmt)}").lstrip("/")
        # the adapter's own default: --path is relative to the project directory, as a user reads it
        config = {"base_path": base_path or "."} if type_name == "localfile" else None
        text = templates.file_adapter(name, type_name, cls.config_schema, path, fmt, config, description)
        written_tables = [adapter_table(name)]
    elif type_name == "sqlite":
        tables = [t.strip() for t in tables if t.strip()] if tables is not None else None
        if tables is not None:
            if not tables:
                raise FeatherBoxError(
                    "--tables is empty; give table names like --tables users,orders, or omit it to copy all tables"
                )
            for table in tables:
                if not NAME_RE.fullmatch(table):
                    raise FeatherBoxError(f"invalid table name {table!r} in --tables: use letters, digits and _ only")
            duplicated = sorted({t for t in tables if tables.count(t) > 1})
            if duplicated:
                raise FeatherBoxError(f"--tables names {', '.join(duplicated)} more than once")
        text = templates.sqlite_adapter(name, db_path or f"{DEFAULT_BASE_PATH}/{name}.sqlite", tables, description)
        written_tables = [f"{adapter_lake_schema(name)}.{t}" for t in tables] if tables else [f"{adapter_lake_schema(name)}.<every table of the database>"]
    elif _is_database(cls):
        dialect = cls.dialect
        text = templates.database_adapter(
            name, type_name, cls.config_schema, dialect.title, dialect.default_port, dialect.schemes[0], description
        )
        written_tables = [f"{adapter_lake_schema(name)}.<every table of the database>"]
    else:
        text = templates.generic_adapter(name, type_name, cls.config_schema, description)

    issues = _validate_adapter(text, cls, target, type_name)
    if issues and type_name in STRICT_TYPES:
        raise FeatherBoxError(
            "the adapter file would not be valid, so it was not written:\n" + "\n".join(f"  {i}" for i in issues)
        )
    result = NewAdapter(target, type_name, written_tables)
    result.warnings = [f"config.{key}: replace {templates.PLACEHOLDER}" for key in _placeholders(text)]
    result.warnings += [f"{i.field or 'file'}: {i.message}" for i in issues]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return result


def _is_database(cls) -> bool:
    """A client/server database source (postgresql, mysql): `featherbox.database_sources.DatabaseAdapter`."""
    from featherbox.database_sources.adapter import DatabaseAdapter

    return isinstance(cls, type) and issubclass(cls, DatabaseAdapter) and hasattr(cls, "dialect")


def _placeholders(text: str) -> list[str]:
    import yaml

    from featherbox.scaffold.templates import PLACEHOLDER

    config = (yaml.safe_load(text) or {}).get("config") or {}
    return [key for key, value in config.items() if value == PLACEHOLDER]


def _extension(fmt: str) -> str:
    return {"ndjson": "jsonl"}.get(fmt, fmt)


def _validate_adapter(text: str, cls, file: Path, type_name: str) -> list:
    import yaml

    from featherbox.config.schemas import ADAPTER_SCHEMA, validate

    data = yaml.safe_load(text)
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
