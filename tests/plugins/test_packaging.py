"""Every plugin distribution pins the core and declares its entry point; every hook is tested and documented."""

from __future__ import annotations

import inspect
import tomllib
from pathlib import Path

import pytest

from featherbox import __version__, hookspecs
from featherbox.plugins import ENTRY_POINT_GROUP

REPO = Path(__file__).resolve().parents[2]
PLUGIN_DIRS = sorted(p for p in (REPO / "plugins").iterdir() if (p / "pyproject.toml").exists())


def test_all_first_party_plugins_are_present():
    names = {p.name for p in PLUGIN_DIRS}
    assert {"fbox-localfile", "fbox-s3", "fbox-gcs", "fbox-azure", "fbox-sqlite", "fbox-mysql", "fbox-postgresql"} <= names


@pytest.mark.parametrize("plugin_dir", PLUGIN_DIRS, ids=lambda p: p.name)
def test_plugin_pins_core_and_declares_entry_point(plugin_dir: Path):
    meta = tomllib.loads((plugin_dir / "pyproject.toml").read_text())["project"]
    assert f"featherbox=={__version__}" in meta["dependencies"], "a plugin pins the exact core version it was built for"
    entry_points = meta["entry-points"][ENTRY_POINT_GROUP]
    short = plugin_dir.name.removeprefix("fbox-")
    assert entry_points == {short: f"fbox_{short}.plugin"}
    module = plugin_dir / "src" / f"fbox_{short}" / "plugin.py"
    assert module.exists()
    code_lines = [l for l in module.read_text().splitlines() if l.strip() and not l.strip().startswith(("#", '"""'))]
    assert len(code_lines) <= 25, "the entry module stays a handful of @hookimpl functions"


def hook_names() -> list[str]:
    return [name for name, obj in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("fbox_")]


def test_hookspecs_are_typed_and_documented():
    assert hook_names()
    for name in hook_names():
        function = getattr(hookspecs, name)
        assert function.__doc__ and len(function.__doc__.strip()) > 40, f"{name} needs a docstring"
        assert "return" in inspect.signature(function).__str__() or function.__annotations__.get("return"), name


@pytest.mark.parametrize("name", hook_names())
def test_every_hook_is_documented_and_tested(name: str):
    docs = (REPO / "docs" / "plugins.md").read_text()
    assert f"`{name}" in docs, f"docs/plugins.md must document {name}"
    signature = f"{name}{inspect.signature(getattr(hookspecs, name))}"
    assert signature.replace(" ", "") in docs.replace(" ", ""), f"docs/plugins.md must show the exact signature {signature}"
    tests = "\n".join(p.read_text() for p in (REPO / "tests").rglob("test_*.py") if p.name != "test_packaging.py")
    assert f"def {name}(" in tests, f"a test implements {name} in a throw-away plugin"


def test_first_party_config_schemas_are_valid_json_schemas():
    """The loader checks only third-party schemas against the metaschema at run time; these are checked here."""
    import jsonschema

    from featherbox.config.schemas import ADAPTER_SCHEMA, MODEL_SCHEMA, PROJECT_SCHEMA
    from featherbox.registry import default_registry, first_party

    registry = default_registry()
    classes = [*registry.adapters.values(), *registry.databases.values(), *registry.storages.values()]
    ours = [cls for cls in classes if first_party(cls)]
    assert len(ours) >= 9, f"first-party types not found: {[c.__module__ for c in classes]}"
    for schema in (ADAPTER_SCHEMA, MODEL_SCHEMA, PROJECT_SCHEMA, *(cls.config_schema for cls in ours)):
        jsonschema.Draft202012Validator.check_schema(schema)
