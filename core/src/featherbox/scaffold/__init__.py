"""Create and delete project files: `fbox init` here, adapters and models in `adapters` and `models`.

The functions do the file work and raise FeatherBoxError for every user mistake; the commands
in `featherbox.cli.project_cmds` only print what happened.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from featherbox.errors import FeatherBoxError

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PROJECT_FILE = "project.yml"
ADAPTERS_DIR = "adapters"
MODELS_DIR = "models"
YAML_SUFFIXES = (".yml", ".yaml")


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
    from featherbox.errors import file_in_the_way

    blocker = file_in_the_way(str(root))
    if blocker:
        raise FeatherBoxError(f"cannot create a project in {root}: {blocker} is a file, not a directory")

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


def _same_name_files(folder: Path, stem: str, recursive: bool = False) -> list[Path]:
    if not folder.is_dir():
        return []
    files = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in files if p.is_file() and p.suffix in YAML_SUFFIXES and p.stem.lower() == stem.lower())


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


def _spelled(file: Path, root: Path) -> str:
    from featherbox.config.project import MAIN_SCHEMA

    parts = file.relative_to(root / MODELS_DIR).parts
    return f"{'_'.join(parts[:-1]) or MAIN_SCHEMA}.{file.stem}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


from featherbox.scaffold.adapters import delete_adapter, new_adapter  # noqa: E402  (they use the helpers above)
from featherbox.scaffold.models import delete_model, new_model  # noqa: E402
