"""`fbox model new` and `fbox model delete`."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from featherbox.errors import FeatherBoxError
from featherbox.scaffold import (
    MODELS_DIR, YAML_SUFFIXES,
    Deleted, _check_free, _count, _graph_or_reason, _spelled, check_name,
)


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
) -> NewModel:
    """Write models/<folders>/<name>.yml from the template."""
    from featherbox.config.project import MAIN_SCHEMA
    from featherbox.scaffold import templates

    folders, stem = parse_model_name(name)
    schema = "_".join(folders) or MAIN_SCHEMA
    qualified = f"{schema}.{stem}"
    from featherbox.layout import is_adapter_lake_schema

    if is_adapter_lake_schema(schema):
        raise FeatherBoxError(f"models cannot go into schema '{schema}': the schemas raw and raw_* hold the adapters' tables")
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

    relative = target.relative_to(root).as_posix()
    text = templates.model_yml(relative, qualified, sql, max_age, description)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return NewModel(target, qualified)


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
