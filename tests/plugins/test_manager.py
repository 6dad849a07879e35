"""The plugin manager and registry, with throw-away plugins on fresh managers."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from featherbox.extension import AdapterType, IncrementalStrategy, LoadResult, MetadataBackend, StorageBackend
from featherbox.hookspecs import hookimpl
from featherbox.plugins import build_manager, new_manager
from featherbox.registry import DuplicateTypeError, UnknownTypeError, collect

from fboxcli import fbox


class DemoAdapter(AdapterType):
    type_name = "demo"
    config_schema = {"type": "object"}

    def output_tables(self):
        return [f"raw.{self.name}"]  # one table: raw.<adapter name> (featherbox.layout)

    def load(self, ctx):
        ctx.con.execute("CREATE SCHEMA IF NOT EXISTS raw")
        ctx.con.execute(f"CREATE OR REPLACE TABLE raw.{self.name} AS SELECT 42 AS answer")
        return LoadResult({f"raw.{self.name}": 1})


class DemoStrategy(IncrementalStrategy):
    name = "demo-strategy"
    kind = "files"


class DemoBackend(MetadataBackend):
    type_name = "demo-db"
    config_schema = {"type": "object"}

    def ducklake_catalog(self):
        return "demo.ducklake"

    def connect(self):
        raise NotImplementedError

    def run_lock(self):
        raise NotImplementedError


class DemoStorage(StorageBackend):
    type_name = "demo-storage"
    config_schema = {"type": "object"}

    def data_path(self):
        return "/tmp/demo/"


class DemoPlugin:
    @hookimpl
    def fbox_adapter_types(self):
        return [DemoAdapter]

    @hookimpl
    def fbox_incremental_strategies(self):
        return [DemoStrategy]

    @hookimpl
    def fbox_metadata_backends(self):
        return [DemoBackend]

    @hookimpl
    def fbox_storage_backends(self):
        return [DemoStorage]

    @hookimpl
    def fbox_register_commands(self, app: typer.Typer):
        @app.command("hello")
        def hello(name: str = "world"):
            """Say hello (from a plugin)."""
            typer.echo(f"hello {name}")


def test_throwaway_plugin_provides_every_kind_of_type():
    pm = new_manager()
    pm.register(DemoPlugin(), name="demo")
    pm.check_pending()
    registry = collect(pm)
    assert registry.get("adapter", "demo") is DemoAdapter
    assert registry.get("strategy", "demo-strategy") is DemoStrategy
    assert registry.get("database", "demo-db") is DemoBackend
    assert registry.get("storage", "demo-storage") is DemoStorage
    assert registry.types_of("demo") == {
        "adapter": ["demo"], "database": ["demo-db"], "storage": ["demo-storage"], "strategy": ["demo-strategy"],
    }


def test_plugin_commands_are_added_to_the_cli():
    from featherbox.cli.app import create_app

    pm = new_manager()
    pm.register(DemoPlugin(), name="demo")
    result = CliRunner().invoke(create_app(pm), ["hello", "--name", "plugins"])
    assert result.exit_code == 0, result.output
    assert "hello plugins" in result.output


def test_duplicate_type_names_are_rejected_naming_both_plugins():
    pm = new_manager()
    pm.register(DemoPlugin(), name="first")
    pm.register(DemoPlugin(), name="second")
    with pytest.raises(DuplicateTypeError) as error:
        collect(pm)
    assert "first" in str(error.value) and "second" in str(error.value) and "'demo'" in str(error.value)


def test_unknown_type_names_the_distribution_to_install():
    registry = collect(new_manager())
    with pytest.raises(UnknownTypeError, match="pip install fbox-s3"):
        registry.get("adapter", "s3")
    with pytest.raises(UnknownTypeError, match="did you mean postgresql.*pip install fbox-postgresql"):
        registry.get("database", "postgres")
    with pytest.raises(UnknownTypeError, match="did you mean s3.*pip install fbox-s3"):
        registry.get("storage", "s4")
    with pytest.raises(UnknownTypeError) as unknown:
        registry.get("adapter", "kafka")
    assert "pip install" not in str(unknown.value)  # only distributions FeatherBox knows are named


def test_installed_plugins_are_found_through_entry_points():
    pm, report = build_manager()
    for name in ("localfile", "sqlite"):
        assert name in report.loaded, report.failed
    registry = collect(pm, report)
    assert {"localfile", "sqlite"} <= set(registry.adapters)
    assert registry.get("database", "sqlite") and registry.get("storage", "local")


def test_disable_switch(monkeypatch):
    monkeypatch.setenv("FBOX_DISABLE_PLUGINS", "sqlite, s3")
    pm, report = build_manager()
    assert {"sqlite", "s3"} <= set(report.disabled)
    assert "sqlite" not in collect(pm, report).adapters


def _fake_distribution(site: Path, name: str, module_source: str) -> None:
    """An installed distribution: a module plus a .dist-info declaring a featherbox entry point."""
    module = f"fbox_{name.replace('-', '_')}_plugin"
    (site / f"{module}.py").write_text(textwrap.dedent(module_source))
    info = site / f"fbox_{name.replace('-', '_')}-0.0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: fbox-{name}\nVersion: 0.0.1\n")
    (info / "entry_points.txt").write_text(f"[featherbox]\n{name} = {module}\n")


def test_broken_plugin_is_reported_and_the_cli_still_works(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    _fake_distribution(site, "broken", "raise ImportError('missing SDK: nothing-here')\n")
    _fake_distribution(
        site,
        "toy",
        """
        from featherbox.hookspecs import hookimpl
        from featherbox.extension import placeholder_adapter

        @hookimpl
        def fbox_adapter_types():
            return [placeholder_adapter("toy", "fbox-toy")]
        """,
    )
    result = fbox("plugins", "--json", env={"PYTHONPATH": str(site)})
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)["plugins"]}
    assert "missing SDK: nothing-here" in plugins["broken"]["status"]
    assert plugins["toy"]["types"] == {"adapter": ["toy"]} and plugins["toy"]["version"] == "0.0.1"
    assert plugins["toy"]["status"] == "not implemented yet: adapter toy"
    assert plugins["localfile"]["status"] == "ok"
    assert fbox("--help", env={"PYTHONPATH": str(site)}).returncode == 0


def test_fbox_plugins_lists_versions_and_types():
    result = fbox("plugins", "--json")
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)["plugins"]}
    assert plugins["localfile"]["distribution"] == "fbox-localfile"
    assert plugins["localfile"]["version"] == "0.1.0"
    assert plugins["localfile"]["types"] == {"adapter": ["localfile"]}
    assert plugins["featherbox"]["types"]["storage"] == ["local"] and plugins["featherbox"]["types"]["database"] == ["sqlite"]
    assert plugins["sqlite"]["types"] == {"adapter": ["sqlite"]}
    assert {"filename", "content", "full", "column", "cdc"} <= set(plugins["featherbox"]["types"]["strategy"])
    table = fbox("plugins")
    assert "fbox-localfile" in table.stdout


def test_help_does_not_import_duckdb():
    import subprocess
    import sys

    code = "import sys; from featherbox.cli.app import create_app; create_app(); print('duckdb' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_plugin_with_a_misspelled_hook_is_reported_not_fatal(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    _fake_distribution(
        site,
        "typo",
        """
        from featherbox.hookspecs import hookimpl

        @hookimpl
        def fbox_adapter_type():
            return []
        """,
    )
    _fake_distribution(
        site,
        "badcommands",
        """
        from featherbox.hookspecs import hookimpl

        @hookimpl
        def fbox_register_commands(app):
            raise RuntimeError("cannot build my command")
        """,
    )
    result = fbox("plugins", "--json", env={"PYTHONPATH": str(site)})
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)["plugins"]}
    assert "fbox_adapter_type" in plugins["typo"]["status"] and "failed to load" in plugins["typo"]["status"]
    assert "badcommands" in result.stderr and "cannot build my command" in result.stderr
    assert plugins["localfile"]["status"] == "ok"
