"""Create and delete project files: `fbox init`, `fbox adapter new|delete`, `fbox model new|delete`.

The functions here do the file work and raise FeatherBoxError for every user mistake; the commands
in `featherbox.cli.project_cmds` only print what happened.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

from featherbox.errors import FeatherBoxError

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PROJECT_FILE = "project.yml"
ADAPTERS_DIR = "adapters"
MODELS_DIR = "models"
YAML_SUFFIXES = (".yml", ".yaml")
STRICT_TYPES = ("localfile", "sqlite")  # their templates always validate; others may need filling in
DEFAULT_BASE_PATH = "sources"


# --- names ----------------------------------------------------------------------------------

def check_name(name: str, what: str) -> str:
    """`name` if it can name a lake schema or table; otherwise a FeatherBoxError saying why."""
    from featherbox.config.loader import name_problem

    if not NAME_RE.fullmatch(name or ""):
        raise FeatherBoxError(
            f"invalid {what} {name!r}: use letters, digits and _ only, not starting with a digit "
            f"(it must match ^[A-Za-z_][A-Za-z0-9_]*$, e.g. {_suggest(name)})"
        )
    problem = name_problem(name)
    if problem:
        raise FeatherBoxError(f"invalid {what} {name!r}: it {problem}")
    return name


def _suggest(name: str) -> str:
    suggestion = re.sub(r"[^A-Za-z0-9_]+", "_", name or "").strip("_") or "my_name"
    return f"_{suggestion}" if suggestion[0].isdigit() else suggestion


def _rel(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def project_root(start: Path | None) -> Path:
    from featherbox.config.loader import find_project_root

    return find_project_root(Path(start or Path.cwd()).resolve())


# --- init -----------------------------------------------------------------------------------

@dataclass
class InitResult:
    root: Path
    written: list[Path] = field(default_factory=list)
    example: bool = False


def init_project(target: Path, example: bool = False, force: bool = False) -> InitResult:
    """Write a new project (and with `example`, the runnable example) into `target`."""
    from featherbox.scaffold import templates

    root = Path(target).expanduser().resolve()
    if root.exists() and not root.is_dir():
        raise FeatherBoxError(f"cannot create a project in {root}: it is a file, not a directory")

    protected = [PROJECT_FILE]
    if example:
        from featherbox.scaffold.example import example_paths

        protected += example_paths()
    existing = [p for p in protected if (root / p).exists()]
    if existing and not force:
        if PROJECT_FILE in existing:
            head = f"{root} already has a {PROJECT_FILE}"
        else:
            head = f"{root} already has files the example would overwrite"
        if existing == [PROJECT_FILE]:
            raise FeatherBoxError(f"{head}; pass --force to overwrite it")
        listed = ", ".join(existing[:6]) + (" ..." if len(existing) > 6 else "")
        raise FeatherBoxError(f"{head} ({listed}); pass --force to overwrite them")

    result = InitResult(root, example=example)
    root.mkdir(parents=True, exist_ok=True)
    project_file = root / PROJECT_FILE
    project_file.write_text(templates.project_yml(), encoding="utf-8")
    result.written.append(project_file)
    for folder in (ADAPTERS_DIR, MODELS_DIR):
        (root / folder).mkdir(exist_ok=True)
        keep = root / folder / ".gitkeep"
        if not keep.exists():
            keep.write_text("", encoding="utf-8")
            result.written.append(keep)
    ignore = root / ".gitignore"
    before = ignore.read_text(encoding="utf-8") if ignore.exists() else ""
    after = templates.gitignore(before)
    if after != before:
        ignore.write_text(after, encoding="utf-8")
        result.written.append(ignore)
    if example:
        from featherbox.scaffold.example import write_example

        result.written.extend(write_example(root))
    return result


# --- adapters -------------------------------------------------------------------------------

@dataclass
class NewAdapter:
    file: Path
    type: str
    tables: list[str]
    warnings: list[str] = field(default_factory=list)


def _same_name_files(folder: Path, stem: str, recursive: bool = False) -> list[Path]:
    if not folder.is_dir():
        return []
    files = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in files if p.is_file() and p.suffix in YAML_SUFFIXES and p.stem.lower() == stem.lower())


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
    from featherbox.config.project import MAIN_SCHEMA
    from featherbox.scaffold import templates

    check_name(name, "adapter name")
    if name.lower() == MAIN_SCHEMA:
        raise FeatherBoxError(
            f"an adapter cannot be named {name!r}: schema {MAIN_SCHEMA} holds the models' and file adapters' tables"
        )
    if registry is None:
        from featherbox.registry import default_registry

        registry = default_registry()
    cls = _adapter_class(registry, type_name)

    from featherbox.files.adapter import FileAdapter

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
        from featherbox.files.reader import FORMATS, guess_format

        if fmt is not None and fmt not in FORMATS:
            raise FeatherBoxError(f"unknown --format {fmt!r}; use one of: {', '.join(FORMATS)}")
        if path is not None and not path.strip():
            raise FeatherBoxError("--path must not be empty")
        fmt = fmt or (guess_format(path) if path else "csv")
        path = (path or f"{name}/*.{_extension(fmt)}").lstrip("/")
        config = {"base_path": base_path or DEFAULT_BASE_PATH} if type_name == "localfile" else None
        text = templates.file_adapter(name, type_name, cls.config_schema, path, fmt, config, description)
        written_tables = [f"{MAIN_SCHEMA}.{name}"]
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
        written_tables = [f"{name}.{t}" for t in tables] if tables else [f"{name}.<every table of the database>"]
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
    issues = validate(data, ADAPTER_SCHEMA, file, {})
    issues += validate(data, cls.config_schema, file, {}, schema_owner=f"the {type_name} adapter plugin")
    return issues


def _check_free(root: Path, target: Path, same: list[Path], what: str, kind: str, force: bool) -> None:
    others = [p for p in same if p.resolve() != target.resolve()]
    if others:
        raise FeatherBoxError(
            f"{what} already exists in {_rel(root, others[0])}; "
            f"edit that file, or remove it first with `fbox {kind} delete`"
        )
    if target.exists() and not force:
        raise FeatherBoxError(f"{_rel(root, target)} already exists; pass --force to overwrite it")


# --- models ---------------------------------------------------------------------------------

@dataclass
class NewModel:
    file: Path
    qualified: str


def parse_model_name(name: str) -> tuple[list[str], str]:
    """`folder/name`, `schema.name` or `name` -> (folders under models/, file stem)."""
    from featherbox.config.project import MAIN_SCHEMA

    text = (name or "").strip()
    for suffix in YAML_SUFFIXES:
        if text.endswith(suffix):
            text = text[: -len(suffix)]
    if text.startswith(f"{MODELS_DIR}/"):
        text = text[len(MODELS_DIR) + 1 :]
    if "/" in text or "\\" in text:
        parts = re.split(r"[/\\]", text)
        folders, stem = parts[:-1], parts[-1]
        if not all(folders):
            raise FeatherBoxError(f"invalid model name {name!r}: empty folder name; write it as folder/name")
    elif "." in text:
        schema, _, stem = text.partition(".")
        if "." in stem:
            raise FeatherBoxError(f"invalid model name {name!r}: write schema.name (one dot) or folder/name")
        folders = [] if schema.lower() == MAIN_SCHEMA else [schema]
    else:
        folders, stem = [], text
    for folder in folders:
        check_name(folder, "folder (schema) name")
    check_name(stem, "model name")
    if folders:
        check_name("_".join(folders), "schema name (folders joined with _)")
    return folders, stem


def _model_files(root: Path) -> dict[str, Path]:
    """qualified name (lowercase) -> file, as the loader names models."""
    from featherbox.config.project import MAIN_SCHEMA

    folder = root / MODELS_DIR
    found: dict[str, Path] = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.rglob("*")):
        if path.suffix not in YAML_SUFFIXES or not path.is_file():
            continue
        parts = path.relative_to(folder).parts
        if any(part.startswith(".") for part in parts):
            continue
        schema = "_".join(parts[:-1]) or MAIN_SCHEMA
        found.setdefault(f"{schema}.{path.stem}".lower(), path)
    return found


def new_model(
    root: Path,
    name: str,
    sql: str | None = None,
    max_age: str | None = None,
    description: str | None = None,
    force: bool = False,
    registry=None,
) -> NewModel:
    """Write models/<folders>/<name>.yml from the template."""
    from featherbox.config.project import MAIN_SCHEMA
    from featherbox.scaffold import templates

    folders, stem = parse_model_name(name)
    schema = "_".join(folders) or MAIN_SCHEMA
    qualified = f"{schema}.{stem}"
    if max_age is not None:
        from featherbox.config.durations import parse_duration

        try:
            parse_duration(max_age)
        except ValueError as exc:
            raise FeatherBoxError(f"invalid --max-age: {exc}") from None
    if sql is not None and not sql.strip():
        raise FeatherBoxError("--sql is empty; give a SELECT statement, or omit --sql for a placeholder")
    if sql is not None:
        from featherbox.graph.sql_refs import table_references

        try:
            table_references(sql)
        except ValueError as exc:
            raise FeatherBoxError(f"invalid --sql: {exc}") from None

    target = root / MODELS_DIR / Path(*folders) / f"{stem}.yml"
    existing = _model_files(root).get(qualified.lower())
    _check_free(root, target, [existing] if existing else [], f"model {qualified}", "model", force)
    if schema == MAIN_SCHEMA:
        _check_no_file_adapter(root, stem, registry)

    relative = target.relative_to(root).as_posix()
    text = templates.model_yml(relative, qualified, sql, max_age, description)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return NewModel(target, qualified)


def _check_no_file_adapter(root: Path, stem: str, registry) -> None:
    """A file adapter named `stem` already writes table main.<stem>."""
    import yaml

    for file in _same_name_files(root / ADAPTERS_DIR, stem):
        try:
            type_name = (yaml.safe_load(file.read_text(encoding="utf-8")) or {}).get("type")
        except (OSError, yaml.YAMLError, AttributeError):
            continue
        if registry is None:
            from featherbox.registry import default_registry

            registry = default_registry()
        cls = registry.adapters.get(type_name) if isinstance(type_name, str) else None
        if cls is not None and getattr(cls, "implemented", True):
            from featherbox.files.adapter import FileAdapter

            if issubclass(cls, FileAdapter):
                raise FeatherBoxError(
                    f"table main.{stem} is already written by adapter {file.stem} ({_rel(root, file)}); "
                    f"give the model another name or put it in a folder (e.g. staging/{stem})"
                )


# --- delete ---------------------------------------------------------------------------------

@dataclass
class Deleted:
    file: Path
    node: str
    tables: list[str]
    dependents: list[str]  # models that read it (directly or further down), kept with --force
    warnings: list[str] = field(default_factory=list)


def _graph_or_reason(workspace):
    """(graph, None) or (None, why the project or graph cannot be built)."""
    try:
        return workspace.graph, None
    except FeatherBoxError as exc:
        return None, str(exc)


def delete_adapter(workspace, name: str, force: bool = False) -> Deleted:
    from featherbox.graph.dag import downstream

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
        tables = list(graph.nodes[node].get("tables", []))
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


def delete_model(workspace, name: str, force: bool = False) -> Deleted:
    from featherbox.graph.dag import downstream

    root = workspace.root
    files = _model_files(root)
    qualified = _find_model(files, name, root)
    file = files[qualified]
    graph, reason = _graph_or_reason(workspace)
    node = None
    if graph is not None:
        node = next((n for n in graph if n.lower() == qualified), None)
    warnings: list[str] = []
    dependents: list[str] = []
    if node is not None:
        dependents = sorted(downstream(graph, node))
    elif not force:
        reason = reason or f"model {qualified} is not part of the project graph (see `fbox plan`)"
        raise FeatherBoxError(
            f"cannot tell which models read model {qualified}, because the project does not load:\n{reason}\n"
            "Fix that first, or pass --force to delete the model anyway"
        )
    else:
        warnings.append("the project does not load, so models that read this model were not checked")
    node = node or _spelled(file, root)
    if dependents and not force:
        raise FeatherBoxError(
            f"model {node} is read by {_count(len(dependents), 'model')}: {', '.join(dependents)}; "
            "change or delete them first, or pass --force to delete it anyway (they will fail until fixed)"
        )
    file.unlink()
    folder = file.parent
    while folder != root / MODELS_DIR and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
    return Deleted(file, node, [node], dependents, warnings)


def _spelled(file: Path, root: Path) -> str:
    from featherbox.config.project import MAIN_SCHEMA

    parts = file.relative_to(root / MODELS_DIR).parts
    return f"{'_'.join(parts[:-1]) or MAIN_SCHEMA}.{file.stem}"


def _find_model(files: dict[str, Path], name: str, root: Path) -> str:
    """The lowercase qualified name `name` means: schema.name, folder/name or a bare unique name."""
    text = name.strip()
    known = sorted(files)
    spelled = {q: _spelled(files[q], root) for q in known}
    if "/" in text or "\\" in text or "." in text:
        folders, stem = parse_model_name(text)
        from featherbox.config.project import MAIN_SCHEMA

        qualified = f"{'_'.join(folders) or MAIN_SCHEMA}.{stem}".lower()
        if qualified in files:
            return qualified
    else:
        matches = [q for q in known if q.split(".", 1)[1] == text.lower()]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            names = [spelled[q] for q in matches]
            raise FeatherBoxError(
                f"model name {name!r} is ambiguous: {', '.join(names)}; give the schema, e.g. {names[0]}"
            )
    names = [spelled[q] for q in known]
    close = difflib.get_close_matches(text, names + [n.split(".", 1)[1] for n in names], n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise FeatherBoxError(f"no model named {name!r} (models: {', '.join(names) or 'none'}){hint}")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"
