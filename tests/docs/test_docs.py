"""The documentation site: it builds with `mkdocs build --strict`, its getting-started commands run, and
the generated reference covers every command of the CLI and every key of every schema."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from featherbox.testing import unavailable

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
BIN = Path(sys.executable).parent
SKIP_MARK = re.compile(r"<!--\s*docs-test:\s*skip\b[^>]*-->")
BLOCK = re.compile(r"^```(bash|shell)[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)


def _hook():
    spec = importlib.util.spec_from_file_location("fbox_docs_reference", DOCS / "build_hooks" / "reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated() -> dict[str, str]:
    return _hook().generate()


def test_site_builds_strict(tmp_path):
    missing = [name for name in ("mkdocs", "material", "pymdownx") if importlib.util.find_spec(name) is None]
    if missing:
        unavailable(f"not installed: {', '.join(missing)} (pip install -r requirements-dev.txt)")
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    for page in ("index.html", "architecture/index.html", "reference/cli/index.html",
                 "reference/project/index.html", "reference/plugins/index.html"):
        assert (site / page).is_file(), page
    assert '<pre class="mermaid">' in (site / "architecture" / "index.html").read_text()


def getting_started_blocks() -> list[tuple[str, bool]]:
    """Every ```bash / ```shell block of docs/index.md, with whether it is marked to be skipped."""
    text = (DOCS / "index.md").read_text()
    blocks = []
    for match in BLOCK.finditer(text):
        before = text[: match.start()].rstrip().rsplit("\n", 1)[-1]
        blocks.append((match.group(2), bool(SKIP_MARK.search(before))))
    return blocks


def test_getting_started_commands_run(tmp_path):
    blocks = getting_started_blocks()
    runnable = [code for code, skip in blocks if not skip]
    assert runnable, "docs/index.md has no runnable ```bash block"
    for code, skip in blocks:
        if skip:
            assert "pip install" in code or "venv" in code, f"only install steps may be skipped:\n{code}"
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("FBOX_PROJECT", None)
    outputs = []
    for code in runnable:
        script = code.replace(".venv/bin/", f"{BIN}/")
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env,
            capture_output=True, text=True, timeout=600,
        )
        assert result.returncode == 0, f"docs/index.md block failed ({result.returncode}):\n{code}\n{result.stdout}\n{result.stderr}"
        outputs.append(result.stdout)
    joined = "\n".join(outputs)
    assert "2024-01-01  61" in joined and "2024-01-02  64" in joined, joined
    assert "Nothing to do" in joined, joined


def test_cli_reference_has_every_command(generated):
    page = generated["reference/cli.md"]
    commands = _hook().cli_commands()
    assert len(commands) > 10
    for path, command, ctx in commands:
        anchor = path.replace(" ", "-")
        assert f"{{#{anchor}}}" in page, f"no section for `{path}`"
        for param in command.get_params(ctx):
            if param.name == "help" or getattr(param, "hidden", False):
                continue
            record = param.get_help_record(ctx)
            assert record and f"`{record[0]}`" in page, f"`{path}`: option {param.name} missing"
    for name in ("run", "plan", "status", "logs", "query", "graph", "schema", "adapter new", "model delete"):
        assert f"## fbox {name} " in page, name


def _property_names(schema) -> set[str]:
    """Every key named in `properties` anywhere in a JSON Schema."""
    names: set[str] = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "properties" and isinstance(value, dict):
                names.update(value)
            names |= _property_names(value)
    elif isinstance(schema, list):
        for item in schema:
            names |= _property_names(item)
    return names


def _mentions(page: str, name: str) -> bool:
    """`name` as a key in a code span: `name`, `a.name`, `a[].name`."""
    return re.search(r"`(?:[^`\n]*[.\]])?" + re.escape(name) + r"`", page) is not None


def test_config_reference_has_every_property(generated):
    from featherbox.config.schemas import ADAPTER_SCHEMA, MODEL_SCHEMA, PROJECT_SCHEMA
    from featherbox.registry import default_registry

    hook = _hook()
    cores = {"reference/project.md": PROJECT_SCHEMA, "reference/adapters.md": ADAPTER_SCHEMA,
             "reference/models.md": MODEL_SCHEMA}
    for page, schema in cores.items():
        names = _property_names(schema)
        assert names
        missing = sorted(n for n in names if not _mentions(generated[page], n))
        assert not missing, f"{page} does not mention {missing}"
    for kind, meanings in hook.CORE_MEANINGS.items():  # hand-written meanings only for keys that exist
        schema = {"project": PROJECT_SCHEMA, "adapter": ADAPTER_SCHEMA, "model": MODEL_SCHEMA}[kind]
        paths = {path for path, _, _ in hook.property_rows(schema)}
        assert set(meanings) <= paths, f"CORE_MEANINGS[{kind!r}] names keys the schema lacks: {set(meanings) - paths}"

    registry = default_registry()
    tables = {"adapter": registry.adapters, "storage": registry.storages, "database": registry.databases}
    checked = 0
    for kind, classes in tables.items():
        for name, cls in classes.items():
            plugin = registry.provided_by[(kind, name)]
            page = generated[f"reference/plugins/{plugin.replace('.', '-')}.md"]
            assert f"`type: {name}` {{#{kind}-{name}}}" in page, f"no section for {kind} {name}"
            section = page.split(f"{{#{kind}-{name}}}", 1)[1].split("\n## ", 1)[0]
            if cls.description:
                assert cls.description in section
            missing = sorted(n for n in _property_names(cls.config_schema) if not _mentions(section, n))
            assert not missing, f"{kind} {name}: the reference does not mention {missing}"
            index = generated["reference/adapters.md" if kind == "adapter" else "reference/project.md"]
            assert f"[`{name}`]" in index, f"{kind} {name} is not listed"
            checked += 1
    assert checked >= 3
    for name in registry.strategies:
        assert f"`{name}`" in generated["reference/strategies.md"]
