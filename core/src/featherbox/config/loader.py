"""Read project.yml, adapters/*.yml and models/**/*.yml into a `Project`, reporting every problem at once."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any

import yaml

from featherbox import secrets
from featherbox.config.durations import parse_duration
from featherbox.config.interpolate import Environment, interpolate, project_environment
from featherbox.config.project import MAIN_SCHEMA, AdapterSpec, ModelSpec, Project
from featherbox.layout import is_adapter_lake_schema
from featherbox.config.schemas import ADAPTER_SCHEMA, MODEL_SCHEMA, PROJECT_SCHEMA, field_path, validate
from featherbox.errors import ConfigError, ConfigIssue, FeatherBoxError
from featherbox.registry import KNOWN_DISTRIBUTIONS, Registry, UnknownTypeError, first_party

PROJECT_FILE = "project.yml"
ADAPTERS_DIR = "adapters"
MODELS_DIR = "models"
YAML_SUFFIXES = (".yml", ".yaml")
DEFAULT_STORAGE = {"type": "local", "path": "data"}
DEFAULT_DATABASE = {"type": "sqlite", "path": ".fbox/catalog.sqlite"}

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RESERVED_PREFIX = "_fbox"  # FeatherBox's own schemas in the lake
RESERVED_SCHEMAS = frozenset({"information_schema", "pg_catalog", "temp", "system"})
_STR_TAG = "tag:yaml.org,2002:str"
_RECURSIVE = "an alias (*name) refers to the value"


def find_project_root(start: Path) -> Path:
    """The first folder from `start` upwards that holds a project.yml."""
    start = Path(start).expanduser().resolve()
    if start.is_file():
        start = start.parent
    for folder in (start, *start.parents):
        if (folder / PROJECT_FILE).is_file():
            return folder
    raise FeatherBoxError(
        f"no {PROJECT_FILE} found in {start} or any folder above it; "
        "run `fbox init` to create a project, or change to your project's folder"
    )


def load_project(root: Path, registry: Registry) -> Project:
    """The validated, interpolated project in `root`; raises ConfigError listing every problem found."""
    root = Path(root).expanduser().resolve()
    if not (root / PROJECT_FILE).is_file():
        raise ConfigError(
            [ConfigIssue(root / PROJECT_FILE, "", f"no {PROJECT_FILE} in {root}; run `fbox init` to create a project there")]
        )
    return _ProjectLoader(root, registry).load()


class _LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml: 5x faster than pure Python
    """SafeLoader that keeps dates as strings, so every value is plain JSON for the schemas."""


_LineLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_yaml(file: Path) -> tuple[Any, dict[str, int], list[ConfigIssue]]:
    """The document in `file`, the line of each field ("config.path" -> 12), and any problems."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, {}, [ConfigIssue(file, "", f"cannot read the file: {exc}")]
    loader = _LineLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}, []
        lines: dict[str, int] = {}
        issues: list[ConfigIssue] = []
        _record_lines(node, "", file, lines, issues, set())
        if any(issue.message.startswith(_RECURSIVE) for issue in issues):
            return None, lines, issues
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = ", ".join(part for part in (exc.context, exc.problem) if part) or "cannot parse"
        problem += _bracket_hint(text, exc)
        return None, {}, [ConfigIssue(file, "", f"invalid YAML: {problem}", mark.line + 1 if mark else None)]
    except yaml.YAMLError as exc:
        return None, {}, [ConfigIssue(file, "", f"invalid YAML: {exc}")]
    finally:
        loader.dispose()
    return data, lines, issues


_BRACKETED = re.compile(r"^\s*(?:-\s+)?([^\s:#'\"][^:#]*?):\s+(\[[^\]]*\]\S.*?)\s*(?:#.*)?$")


def _bracket_hint(text: str, exc: yaml.MarkedYAMLError) -> str:
    """A value such as `path: [YYYY]/[MM]/x.csv` starts a YAML list at `[`: say to quote it."""
    marks = {m.line for m in (exc.problem_mark, exc.context_mark) if m is not None}
    lines = text.splitlines()
    for line in sorted(marks):
        match = _BRACKETED.match(lines[line]) if line < len(lines) else None
        if match:
            key, value = match.groups()
            quoted = "'" + value.replace("'", "''") + "'"
            return f" — a value that starts with '[' is read as a YAML list; put {key}'s value in quotes: {key}: {quoted}"
    return ""


def _record_lines(node: yaml.Node, path: str, file: Path, lines: dict, issues: list, stack: set[int]) -> None:
    if id(node) in stack:
        issues.append(ConfigIssue(file, path, f"{_RECURSIVE} that contains it", node.start_mark.line + 1))
        return
    stack.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.value == "<<":
                continue
            key, line = key_node.value, key_node.start_mark.line + 1
            child = field_path([key], path)
            key_node.tag = _STR_TAG  # `yes:` or `1:` is the key "yes" or "1", as the line map has it
            if key in seen:
                issues.append(ConfigIssue(file, child, f"key '{key}' appears twice (first on line {seen[key]})", line))
                continue
            seen[key] = lines[child] = line
            _record_lines(value_node, child, file, lines, issues, stack)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = f"{path}[{index}]"
            lines[child] = item.start_mark.line + 1
            _record_lines(item, child, file, lines, issues, stack)
    stack.discard(id(node))


def name_problem(name: str) -> str | None:
    """Why `name` cannot name a lake schema or table, or None."""
    if "/" in name or "\\" in name or ".." in name:
        return "must not contain path separators or '..'"
    if not _IDENTIFIER.fullmatch(name):
        return "is not a valid SQL identifier (use letters, digits and _, and do not start with a digit)"
    if name.lower().startswith(RESERVED_PREFIX):
        return f"starts with {RESERVED_PREFIX}, which is reserved for FeatherBox's own tables"
    if name.lower() in RESERVED_SCHEMAS:
        return "is a schema name DuckDB reserves"
    return None


def _suggested_name(name: str) -> str:
    suggestion = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_") or "name"
    if suggestion[0].isdigit():
        suggestion = f"_{suggestion}"
    if suggestion.lower().startswith(RESERVED_PREFIX) or suggestion.lower() in RESERVED_SCHEMAS:
        suggestion = f"my_{suggestion.lstrip('_')}"
    return suggestion


def what_it_is(value: Any) -> str:
    """What kind of YAML value `value` is ("a string", "a list of 3 items"), never what it holds."""
    if isinstance(value, list):
        return f"a list of {len(value)} item{'' if len(value) == 1 else 's'}"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a single value"


class _ProjectLoader:
    """One load of one project: keeps reading after a problem and collects them all in `issues`."""

    def __init__(self, root: Path, registry: Registry):
        self.root = root
        self.registry = registry
        env, env_issues = project_environment(root)
        self.env: Environment = env
        self.issues: list[ConfigIssue] = list(env_issues)
        self.secrets: set[str] = set()  # the values of secret fields (featherbox.secrets)

    def load(self) -> Project:
        settings = self.project_settings()
        adapters = self.adapters()
        models = self.models()
        found = frozenset(self.secrets)
        secrets.register(found)
        if self.issues or settings is None:
            raise ConfigError([dataclasses.replace(i, message=secrets.redact(i.message)) for i in self.issues])
        storage, database, timeout = settings
        return Project(self.root, storage, database, timeout, adapters, models, found)

    def find_secrets(self, data: Any, file: Path, schema: dict | None = None, names_in: str | None = None, path: str = "") -> None:
        """Note the values of `data`'s secret fields (read with `schema`) as secrets."""
        substituted = {field: values for (where, field), values in self.env.substituted.items() if where == file}
        self.secrets |= secrets.secret_values(data, schema, names_in, substituted, path)

    def document(self, file: Path, allow_empty: bool = False) -> tuple[dict | None, dict[str, int]]:
        """The interpolated mapping in `file`, or None when it cannot be read as one."""
        data, lines, issues = read_yaml(file)
        self.issues.extend(issues)
        if issues and data is None:
            return None, lines
        if data is None:
            if allow_empty:
                return {}, lines
            self.issues.append(ConfigIssue(file, "", "the file is empty; expected a mapping of keys to values", 1))
            return None, lines
        if not isinstance(data, dict):
            self.issues.append(ConfigIssue(file, "", f"expected a mapping of keys to values, got {what_it_is(data)}", 1))
            return None, lines
        data, missing = interpolate(data, self.env, file, lines)
        self.issues.extend(missing)
        return data, lines

    # project.yml

    def project_settings(self) -> tuple[dict, dict, Any] | None:
        file = self.root / PROJECT_FILE
        data, lines = self.document(file, allow_empty=True)
        if data is None:
            return None
        self.add_new(validate(data, PROJECT_SCHEMA, file, lines))
        storage = self.backend_section(data, "storage", DEFAULT_STORAGE, file, lines)
        database = self.backend_section(data, "database", DEFAULT_DATABASE, file, lines)
        if storage and storage["type"] == "local":
            self.resolve_path(storage)
        if database and isinstance(database.get("path"), str) and "://" not in database["path"]:
            self.resolve_path(database)
        timeout = None
        deployments = data.get("deployments")
        if isinstance(deployments, dict) and "timeout" in deployments and not self.reported(file, "deployments.timeout"):
            timeout = self.duration(deployments["timeout"], file, "deployments.timeout", lines)
        return storage or {}, database or {}, timeout

    def backend_section(self, data: dict, kind: str, default: dict, file: Path, lines: dict) -> dict | None:
        """The `storage:` or `database:` mapping, checked by its plugin's schema."""
        section = data.get(kind, default)
        if not isinstance(section, dict):
            return None
        if not isinstance(section.get("type"), str) or self.reported(file, f"{kind}.type"):
            self.find_secrets(section, file, names_in="", path=kind)
            return None
        type_name = section["type"]
        cls = self.lookup(kind, type_name, file, f"{kind}.type", lines)
        self.find_secrets(section, file, getattr(cls, "config_schema", None), names_in="", path=kind)
        if cls is None:
            return None
        owner = f"the {type_name} {kind} plugin"
        self.add_new(validate(section, cls.config_schema, file, lines, prefix=kind, schema_owner=owner, check_schema=not first_party(cls)))
        return dict(section)

    def reported(self, file: Path, field: str) -> bool:
        return any(issue.file == file and issue.field == field for issue in self.issues)

    def add_new(self, issues: list[ConfigIssue]) -> None:
        """Add `issues` except those on a field that already has one (an unset variable, a core schema error)."""
        known = {(issue.file, issue.field) for issue in self.issues}
        self.issues.extend(issue for issue in issues if (issue.file, issue.field) not in known)

    def resolve_path(self, section: dict) -> None:
        value = section.get("path")
        if isinstance(value, str) and value:
            path = Path(value).expanduser()
            section["path"] = os.path.normpath(path if path.is_absolute() else self.root / path)

    def lookup(self, kind: str, type_name: str, file: Path, field: str, lines: dict):
        """The registered class for `type_name`, or None after reporting why it cannot be used."""
        try:
            cls = self.registry.get(kind, type_name)
        except UnknownTypeError as exc:
            self.issues.append(ConfigIssue(file, field, str(exc), lines.get(field)))
            return None
        if not getattr(cls, "implemented", True):
            plugin = self.registry.provided_by.get((kind, type_name))
            distribution = self.registry.report.distributions.get(plugin) if plugin else None
            distribution = distribution or KNOWN_DISTRIBUTIONS.get(type_name, f"fbox-{type_name}")
            message = f"type: {type_name} is provided by {distribution}, which does not implement it yet"
            self.issues.append(ConfigIssue(file, field, message, lines.get(field)))
        return cls

    def duration(self, value: Any, file: Path, field: str, lines: dict):
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.issues.append(ConfigIssue(file, field, str(exc), lines.get(field)))
            return None

    def name_ok(self, file: Path, name: str, what: str, field: str, rename: str) -> bool:
        """Report `name` (an adapter or model name from a file name, or a schema from folders) if unusable."""
        problem = name_problem(name)
        if problem:
            suggestion = _suggested_name(name)
            hint = f"rename the {rename} (e.g. to {suggestion + file.suffix if rename == 'file' else suggestion})"
            origin = "" if what == "folder" else f" (from the {rename} name{'s' if rename == 'folder' else ''})"
            self.issues.append(ConfigIssue(file, field, f"{what} '{name}'{origin} {problem}; {hint}"))
        return problem is None

    def relative(self, file: Path) -> str:
        return str(file.relative_to(self.root)) if file.is_relative_to(self.root) else str(file)

    # adapters/*.yml

    def adapters(self) -> dict[str, AdapterSpec]:
        folder = self.root / ADAPTERS_DIR
        if not folder.is_dir():
            return {}
        files = sorted(p for p in folder.iterdir() if p.suffix in YAML_SUFFIXES and p.is_file())
        adapters: dict[str, AdapterSpec] = {}
        seen: dict[str, Path] = {}
        for file in files:
            name = file.stem
            named = self.name_ok(file, name, "adapter name", "name", "file")
            if named and name.lower() in seen:
                other = self.relative(seen[name.lower()])
                self.issues.append(ConfigIssue(file, "name", f"adapter '{name}' is defined twice: {other} and {self.relative(file)}; keep one"))
                named = False
            seen.setdefault(name.lower(), file)
            spec = self.adapter(file, name)
            if spec and named:
                adapters[name] = spec
        return adapters

    def adapter(self, file: Path, name: str) -> AdapterSpec | None:
        data, lines = self.document(file)
        if data is None:
            return None
        if "config" in data and data["config"] is None:
            data["config"] = {}  # `config:` with nothing under it (every setting commented out) is empty
        start = len(self.issues)
        self.add_new(validate(data, ADAPTER_SCHEMA, file, lines))
        type_name = data.get("type")
        cls = None
        if isinstance(type_name, str) and type_name and not self.reported(file, "type"):
            cls = self.lookup("adapter", type_name, file, "type", lines)
        self.find_secrets(data, file, getattr(cls, "config_schema", None), names_in="config")
        strategy_issues = self.strategy_issues(cls, data, file, lines) if cls is not None else []
        # an unknown strategy alone: the schema's words about its settings would miss the point
        self.add_new(strategy_issues)
        if cls is not None and not strategy_issues:
            owner = f"the {type_name} adapter plugin"
            self.add_new(validate(data, cls.config_schema, file, lines, schema_owner=owner, check_schema=not first_party(cls)))
            if len(self.issues) == start:
                self.add_new(self.adapter_issues(cls, data, file, lines, owner))
        if len(self.issues) > start:
            return None
        return AdapterSpec(
            name=name,
            type=type_name,
            file=file,
            raw=data,
            config=data.get("config") or {},
            description=data.get("description"),
            lines=lines,
        )

    def adapter_issues(self, cls, data: dict, file: Path, lines: dict, owner: str) -> list[ConfigIssue]:
        """What the adapter type finds wrong beyond its schema (`AdapterType.config_issues`)."""
        try:
            found = list(cls.config_issues(data))
        except Exception as exc:  # a plugin's check must not turn into a traceback
            return [ConfigIssue(file, "", f"cannot check this: {owner}'s config check failed ({type(exc).__name__}: {exc})")]
        return [ConfigIssue(file, field, message, lines.get(field)) for field, message in found]

    def strategy_issues(self, cls, data: dict, file: Path, lines: dict) -> list[ConfigIssue]:
        """The incremental strategies the adapter file selects (`AdapterType.chosen_strategies`) that
        the project's registry has none of, of the kind the adapter needs."""
        issues = []
        for field, kind, name in cls.chosen_strategies(data):
            try:
                self.registry.strategy(kind, name)
            except UnknownTypeError as exc:
                issues.append(ConfigIssue(file, field, str(exc), lines.get(field)))
        return issues

    # models/**/*.yml

    def models(self) -> dict[str, ModelSpec]:
        folder = self.root / MODELS_DIR
        if not folder.is_dir():
            return {}
        files = sorted(
            p
            for p in folder.rglob("*")
            if p.suffix in YAML_SUFFIXES
            and p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        )
        models: dict[str, ModelSpec] = {}
        seen: dict[str, Path] = {}
        for file in files:
            folders = file.relative_to(folder).parts[:-1]
            named = all([self.name_ok(file, part, "folder", "schema", "folder") for part in folders])
            schema = "_".join(folders) or MAIN_SCHEMA
            if named and folders:
                named = self.name_ok(file, schema, "schema name", "schema", "folder")
            if named and is_adapter_lake_schema(schema):
                self.issues.append(ConfigIssue(file, "schema", (
                    f"models cannot go into schema '{schema}': the schemas raw and raw_* hold the adapters' tables; "
                    "rename the folder")))
                named = False
            named = self.name_ok(file, file.stem, "model name", "name", "file") and named
            qualified = f"{schema}.{file.stem}"
            if named and qualified.lower() in seen:
                other = self.relative(seen[qualified.lower()])
                message = (
                    f"model {qualified} is defined twice: {other} and {self.relative(file)} "
                    "(nested folders are joined with _ into one schema); rename one of them"
                )
                self.issues.append(ConfigIssue(file, "name", message))
                named = False
            seen.setdefault(qualified.lower(), file)
            spec = self.model(file, schema)
            if spec and named:
                models[qualified] = spec
        return models

    def model(self, file: Path, schema: str) -> ModelSpec | None:
        data, lines = self.document(file)
        if data is None:
            return None
        start = len(self.issues)
        self.find_secrets(data, file)  # only credentials written into a URL or connection string
        self.add_new(validate(data, MODEL_SCHEMA, file, lines))
        name = data.get("name", file.stem)
        if isinstance(name, str) and name != file.stem and not self.reported(file, "name"):
            message = f"name '{name}' does not match the file name '{file.stem}'; a model is named after its file, so rename the file or drop `name:`"
            self.issues.append(ConfigIssue(file, "name", message, lines.get("name")))
        sql = data.get("sql")
        if isinstance(sql, str) and sql and not sql.strip() and not self.reported(file, "sql"):
            self.issues.append(ConfigIssue(file, "sql", "'sql' must not be empty", lines.get("sql")))
        max_age = None
        if "max_age" in data and not self.reported(file, "max_age"):
            max_age = self.duration(data["max_age"], file, "max_age", lines)
        if len(self.issues) > start:
            return None
        raw = {**data, "materialized": data.get("materialized", "table")}
        return ModelSpec(
            name=file.stem,
            schema=schema,
            file=file,
            sql=sql,
            raw=raw,
            max_age=max_age,
            description=data.get("description"),
            lines=lines,
        )
