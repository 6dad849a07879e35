"""`fbox init`, `fbox adapter new|delete`, `fbox model new|delete`: the files they write load, mistakes are refused."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from featherbox.cli.app import create_app
from featherbox.config.loader import load_project
from featherbox.errors import FeatherBoxError
from featherbox.registry import default_registry

FBOX = str(Path(sys.executable).parent / "fbox")


@pytest.fixture(scope="module")
def context():
    """The app's context: a test that adds a type adds it to this registry, not the process-wide one."""
    from featherbox.cli.context import AppContext

    return AppContext.default()


@pytest.fixture(scope="module")
def app(context):
    return create_app(context=context)


def invoke(app, *args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=True)


def ok(app, *args: str):
    result = invoke(app, *args)
    assert result.exit_code == 0 and result.exception is None, (result.output, result.exception)
    return result


def refused(app, *args: str) -> str:
    """The FeatherBoxError message of a command that must fail."""
    result = invoke(app, *args)
    assert isinstance(result.exception, FeatherBoxError), (result.output, result.exception)
    return str(result.exception)


def load(root: Path):
    return load_project(root, default_registry())


@pytest.fixture
def project(app, tmp_path) -> Path:
    root = tmp_path / "proj"
    ok(app, "init", str(root))
    return root


# --- init -----------------------------------------------------------------------------------

def test_init_creates_a_project_load_project_accepts(app, tmp_path):
    root = tmp_path / "new"
    result = ok(app, "init", str(root))
    assert "Next steps" in result.output

    project = load(root)
    assert project.adapters == {} and project.models == {}
    assert project.storage == {"type": "local", "path": str(root / "data")}
    assert project.database == {"type": "sqlite", "path": str(root / ".fbox" / "catalog.sqlite")}
    assert project.timeout.total_seconds() == 600
    assert (root / "adapters" / ".gitkeep").is_file() and (root / "models" / ".gitkeep").is_file()
    assert {"data/", ".fbox/", ".env"} <= set((root / ".gitignore").read_text().splitlines())
    first = (root / "project.yml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=.fbox/schemas/project.json"


def test_init_defaults_to_the_project_option_directory(app, tmp_path):
    ok(app, "-C", str(tmp_path), "init")
    assert (tmp_path / "project.yml").is_file()


def test_init_refuses_to_overwrite_unless_forced(app, tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    (root / "project.yml").write_text("deployments:\n  timeout: 1h\n")
    (root / ".gitignore").write_text("node_modules/\n.env\n")

    message = refused(app, "init", str(root))
    assert "already has a project.yml" in message and "--force" in message
    assert (root / "project.yml").read_text() == "deployments:\n  timeout: 1h\n"

    ok(app, "init", str(root), "--force")
    assert load(root).timeout.total_seconds() == 600
    lines = (root / ".gitignore").read_text().splitlines()
    assert lines[:2] == ["node_modules/", ".env"]  # kept, and .env not added twice
    assert lines.count(".env") == 1 and "data/" in lines and ".fbox/" in lines


def test_init_refuses_a_file_as_directory(app, tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    assert "not a directory" in refused(app, "init", str(target))


def test_init_example_refuses_to_overwrite_example_files(app, tmp_path):
    root = tmp_path / "p"
    (root / "adapters").mkdir(parents=True)
    (root / "adapters" / "app_logs.yml").write_text("mine")
    message = refused(app, "init", str(root), "--example")
    assert "adapters/app_logs.yml" in message and "--force" in message
    assert (root / "adapters" / "app_logs.yml").read_text() == "mine"
    assert not (root / "project.yml").exists()


# --- adapter new ----------------------------------------------------------------------------

def test_adapter_new_localfile_is_valid(app, project):
    ok(app, "-C", str(project), "adapter", "new", "logs", "--type", "localfile")
    ok(
        app, "-C", str(project), "adapter", "new", "events", "--type", "localfile",
        "--path", "[YYYY]/[MM]/events_[DD].json.gz", "--base-path", "incoming/events",
    )
    ok(app, "-C", str(project), "adapter", "new", "facts", "--type", "localfile", "--path", "facts/*.dat", "--format", "parquet")

    adapters = load(project).adapters
    assert adapters["logs"].raw["path"] == "logs/*.csv"
    assert adapters["logs"].raw["format"] == {"type": "csv", "header": True}
    events = adapters["events"]
    assert events.type == "localfile"
    assert events.raw["path"] == "[YYYY]/[MM]/events_[DD].json.gz"
    assert events.raw["format"] == {"type": "json"}  # guessed from the path
    assert events.config == {"base_path": "incoming/events"}
    assert adapters["facts"].raw["format"] == {"type": "parquet"}
    text = (project / "adapters" / "events.yml").read_text()
    assert text.startswith("# yaml-language-server: $schema=../.fbox/schemas/adapter.json\n")


def test_adapter_new_sqlite_is_valid(app, project):
    ok(app, "-C", str(project), "adapter", "new", "crm", "--type", "sqlite", "--db-path", "dbs/crm.sqlite", "--tables", "users, orders")
    ok(app, "-C", str(project), "adapter", "new", "shop", "--type", "sqlite")

    adapters = load(project).adapters
    assert adapters["crm"].config == {"path": "dbs/crm.sqlite"}
    assert adapters["crm"].raw["tables"] == ["users", "orders"]
    assert "tables" not in adapters["shop"].raw  # every table
    assert adapters["shop"].config == {"path": "sources/shop.sqlite"}


def test_adapter_new_unknown_type_names_no_guessed_distribution(app, project):
    message = refused(app, "-C", str(project), "adapter", "new", "stream", "--type", "kafka")
    assert "unknown type 'kafka'" in message and "pip install" not in message
    message = refused(app, "-C", str(project), "adapter", "new", "stream", "--type", "sqllite")
    assert "did you mean sqlite?" in message
    assert not (project / "adapters" / "stream.yml").exists()


#: a commented-out setting: `# key: value` (any indentation, `#` then one space); prose comments
#: do not start with a bare key and a colon
_COMMENTED_SETTING = re.compile(r"^(\s*)# ?(\s*[A-Za-z_][A-Za-z0-9_]*:(?:\s.*)?)$")


def uncommented(text: str) -> str:
    """`text` with every commented-out setting of a template uncommented."""
    return "\n".join(_COMMENTED_SETTING.sub(r"\1\2", line) for line in text.splitlines()) + "\n"


def test_every_adapter_template_loads_as_written_and_with_every_setting_uncommented(app, project):
    """`fbox adapter new` of each installed type writes a file that loads, and still loads once
    every commented-out setting in it is uncommented (each is written with a value its schema accepts)."""
    registry = default_registry()
    types = sorted(name for name, cls in registry.adapters.items() if getattr(cls, "implemented", True))
    assert {"localfile", "sqlite", "mysql", "postgresql", "s3", "gcs", "azure"} <= set(types)
    for type_name in types:
        ok(app, "-C", str(project), "adapter", "new", f"t_{type_name}", "--type", type_name)
    ok(app, "-C", str(project), "model", "new", "staging/m")
    load_project(project, registry)  # as written
    files = [*(project / "adapters").glob("t_*.yml"), project / "models" / "staging" / "m.yml"]
    for file in files:
        text = file.read_text()
        opened = uncommented(text)
        assert opened != text or file.stem == "t_sqlite" and "tables:" in text, f"{file.name}: nothing to uncomment?\n{text}"
        file.write_text(opened)
    try:
        load_project(project, registry)
    except Exception as exc:  # which file and which setting, with the uncommented text
        shown = "\n\n".join(f"--- {f.name}\n{f.read_text()}" for f in files)
        raise AssertionError(f"an uncommented template does not load:\n{exc}\n\n{shown}") from None
    mysql = yaml.safe_load((project / "adapters" / "t_mysql.yml").read_text())
    assert mysql["config"]["url"].startswith("mysql://") and mysql["incremental"] == {"type": "column", "column": "updated_at"}


def test_adapter_config_with_every_setting_commented_out_is_empty(project):
    """`config:` with nothing under it (the generic template of a type without required settings)."""
    (project / "adapters" / "logs.yml").write_text("type: localfile\nconfig:\n  # base_path: .\npath: '*.csv'\n")
    assert load_project(project, default_registry()).adapters["logs"].config == {}


def test_adapter_new_refuses_types_not_implemented_yet(app, context, project, monkeypatch):
    from featherbox.extension import placeholder_adapter

    registry = context.registry
    monkeypatch.setitem(registry.adapters, "ftp", placeholder_adapter("ftp", "fbox-ftp"))
    message = refused(app, "-C", str(project), "adapter", "new", "remote", "--type", "ftp")
    assert message.startswith("type: ftp is provided by fbox-ftp, which does not implement it yet")
    assert "localfile" in message and "sqlite" in message  # what can be used instead
    assert not (project / "adapters" / "remote.yml").exists()


def test_adapter_new_placeholder_plugins_of_the_repository(app, project):
    """Types a first-party plugin only announces are refused; implemented ones get a template."""
    registry = default_registry()
    for type_name, cls in sorted(registry.adapters.items()):
        if type_name in ("localfile", "sqlite"):
            continue
        name = f"src_{type_name}"
        if not getattr(cls, "implemented", True):
            assert "does not implement it yet" in refused(app, "-C", str(project), "adapter", "new", name, "--type", type_name)
        else:
            ok(app, "-C", str(project), "adapter", "new", name, "--type", type_name)
            text = (project / "adapters" / f"{name}.yml").read_text()
            assert text.startswith("# yaml-language-server: $schema=../.fbox/schemas/adapter.json\n")
            assert yaml.safe_load(text)["type"] == type_name


def test_adapter_new_for_another_file_type_takes_path_and_format(app, project):
    from featherbox.file_sources.adapter import FileAdapter

    cls = default_registry().adapters.get("s3")
    if cls is None or not getattr(cls, "implemented", True) or not issubclass(cls, FileAdapter):
        pytest.skip("no implemented s3 file adapter installed")
    result = ok(app, "-C", str(project), "adapter", "new", "raw", "--type", "s3", "--path", "raw/[YYYY]/*.parquet")
    assert "CHANGE_ME" in result.output  # the required bucket is to be filled in
    data = yaml.safe_load((project / "adapters" / "raw.yml").read_text())
    assert data["config"]["bucket"] == "CHANGE_ME"
    assert data["path"] == "raw/[YYYY]/*.parquet" and data["format"] == {"type": "parquet"}
    assert load(project).adapters["raw"].type == "s3"
    assert "--base-path" in refused(app, "-C", str(project), "adapter", "new", "r2", "--type", "s3", "--base-path", "x")


def test_adapter_new_generic_template_for_other_implemented_types(app, context, project, monkeypatch):
    from featherbox.extension import AdapterType

    class Api(AdapterType):
        type_name = "api"
        config_schema = {
            "type": "object",
            "properties": {
                "type": {},
                "description": {},
                "config": {
                    "type": "object",
                    "properties": {
                        "url": {"type": "string", "description": "endpoint to call"},
                        "token": {"type": "string", "description": "API token"},
                    },
                    "required": ["url"],
                },
            },
            "additionalProperties": False,
        }

        def output_tables(self):
            return []

        def load(self, ctx):
            raise NotImplementedError

    class Queue(Api):
        type_name = "queue"
        config_schema = {"type": "object", "properties": {"type": {}, "config": {"type": "object"}}}

    registry = context.registry
    monkeypatch.setitem(registry.adapters, "api", Api)
    monkeypatch.setitem(registry.adapters, "queue", Queue)

    result = ok(app, "-C", str(project), "adapter", "new", "weather", "--type", "api")
    assert "config.url: replace CHANGE_ME" in result.output
    text = (project / "adapters" / "weather.yml").read_text()
    assert "url: CHANGE_ME   # required: endpoint to call" in text and "# token: CHANGE_ME   # API token" in text
    assert yaml.safe_load(text)["config"] == {"url": "CHANGE_ME"}

    ok(app, "-C", str(project), "adapter", "new", "jobs", "--type", "queue")
    text = (project / "adapters" / "jobs.yml").read_text()
    assert "config: {}" in text

    adapters = load_project(project, registry).adapters
    assert adapters["weather"].type == "api" and adapters["jobs"].type == "queue"
    message = refused(app, "-C", str(project), "adapter", "new", "w2", "--type", "api", "--tables", "a")
    assert "--tables" in message and "sqlite" in message
    assert "--path" in refused(app, "-C", str(project), "adapter", "new", "w3", "--type", "api", "--path", "x.csv")


@pytest.mark.parametrize("name", ["1logs", "my-logs", "logs.v2", "_fbox_logs", "a/b"])
def test_adapter_new_rejects_bad_names(app, project, name):
    message = refused(app, "-C", str(project), "adapter", "new", name, "--type", "localfile")
    assert repr(name) in message
    assert list((project / "adapters").glob("*.yml")) == []


def test_adapter_new_rejects_options_of_other_types_and_bad_values(app, project):
    assert "--path" in refused(app, "-C", str(project), "adapter", "new", "a", "--type", "sqlite", "--path", "x.csv")
    assert "--db-path" in refused(app, "-C", str(project), "adapter", "new", "a", "--type", "localfile", "--db-path", "x")
    assert "xml" in refused(app, "-C", str(project), "adapter", "new", "a", "--type", "localfile", "--format", "xml")
    assert "bad-table" in refused(app, "-C", str(project), "adapter", "new", "a", "--type", "sqlite", "--tables", "ok,bad-table")


def test_adapter_new_names_the_installed_types_that_take_a_refused_option(app, project):
    """Which types take an option comes from the registry (`AdapterType.new_options`), not from the command."""
    message = refused(app, "-C", str(project), "adapter", "new", "a", "--type", "sqlite", "--path", "x.csv", "--format", "csv")
    assert message.startswith("options --path and --format (for azure, gcs, localfile and s3 adapters) cannot be used with --type sqlite")
    assert message.endswith("--type sqlite takes: --db-path, --tables")
    message = refused(app, "-C", str(project), "adapter", "new", "a", "--type", "postgresql", "--tables", "users")
    assert message == "option --tables (for sqlite adapters) cannot be used with --type postgresql; --type postgresql takes no options"
    message = refused(app, "-C", str(project), "adapter", "new", "a", "--type", "sqlite", "--option", "db_path=x")
    assert "--option db_path (no installed adapter type takes it; did you mean --db-path?)" in message
    assert list((project / "adapters").glob("*.yml")) == []


def test_adapter_new_option_flags_are_options_like_any_other(app, project):
    """`--db-path x` and `--option db-path=x` are the same option; --option needs NAME=VALUE, once per name."""
    ok(app, "-C", str(project), "adapter", "new", "crm", "--type", "sqlite", "--option", "db-path=dbs/crm.sqlite",
       "--option", "tables=users,orders")
    adapters = load(project).adapters
    assert adapters["crm"].config == {"path": "dbs/crm.sqlite"} and adapters["crm"].raw["tables"] == ["users", "orders"]
    assert "NAME=VALUE" in refused(app, "-C", str(project), "adapter", "new", "a", "--type", "sqlite", "--option", "db-path")
    message = refused(app, "-C", str(project), "adapter", "new", "a", "--type", "sqlite", "--db-path", "x", "--option", "db-path=y")
    assert "given twice" in message


def test_every_option_flag_of_the_command_is_an_option_name():
    from featherbox.cli.app import create_app
    from featherbox.scaffold.adapters import OPTION_FLAGS

    import typer.main

    command = typer.main.get_command(create_app()).commands["adapter"].commands["new"]
    flags = {opt.removeprefix("--") for param in command.params for opt in param.opts if opt.startswith("--")}
    assert set(OPTION_FLAGS) <= flags


def test_a_third_party_type_takes_its_own_option_and_writes_its_own_template(project):
    """A throw-away plugin on a fresh plugin manager: its type declares `--option city=...` and writes
    its own file; the command needs no change for it, and other types refuse its option naming it."""
    from fboxcli import registry_with

    from featherbox.cli.context import AppContext
    from featherbox.extension import AdapterTemplate, AdapterType

    class Weather(AdapterType):
        type_name = "weather"
        config_schema = {
            "type": "object",
            "properties": {
                "type": {"const": "weather"},
                "description": {"type": "string"},
                "config": {
                    "type": "object",
                    "properties": {"city": {"type": "string", "minLength": 1}},
                    "required": ["city"],
                    "additionalProperties": False,
                },
            },
            "required": ["type", "config"],
            "additionalProperties": False,
        }
        new_options = {"city": "the city to fetch the weather of"}

        @classmethod
        def new_file(cls, name, options, description=None):
            city = options.get("city", "Paris")
            text = f"type: weather\ndescription: {description or 'the weather'}\nconfig:\n  city: '{city}'\n"
            return AdapterTemplate(text, [f"raw.{name}"], complete=True, warnings=["add an API key to .env"])

        def output_tables(self):
            return [f"raw.{self.name}"]

        def load(self, ctx):
            raise NotImplementedError

    class Broken(Weather):
        type_name = "broken"

        @classmethod
        def new_file(cls, name, options, description=None):
            return AdapterTemplate("type: [broken\n") if options.get("city") else "type: broken\n"

    registry = registry_with(Weather, Broken)
    app = create_app(context=AppContext(registry.pm, registry.report, registry))

    result = ok(app, "-C", str(project), "adapter", "new", "sky", "--type", "weather", "--option", "city=Osaka")
    assert "writes: raw.sky" in result.output and "to fill in: add an API key to .env" in result.output
    assert load_project(project, registry).adapters["sky"].config == {"city": "Osaka"}
    ok(app, "-C", str(project), "adapter", "new", "sky2", "--type", "weather", "--description", "Paris weather")
    assert yaml.safe_load((project / "adapters" / "sky2.yml").read_text())["description"] == "Paris weather"

    # a complete template that does not pass the type's schema is not written
    message = refused(app, "-C", str(project), "adapter", "new", "sky3", "--type", "weather", "--option", "city=")
    assert "would not be valid" in message and "config.city" in message
    assert not (project / "adapters" / "sky3.yml").exists()

    message = refused(app, "-C", str(project), "adapter", "new", "logs", "--type", "localfile", "--option", "city=Osaka")
    assert message.startswith("option --option city (for broken and weather adapters) cannot be used with --type localfile")
    message = refused(app, "-C", str(project), "adapter", "new", "sky4", "--type", "weather", "--db-path", "x.sqlite")
    assert message == "option --db-path (for sqlite adapters) cannot be used with --type weather; --type weather takes: --option city"

    # a plugin's mistakes are its own, named
    assert "Broken.new_file returned str" in refused(app, "-C", str(project), "adapter", "new", "b1", "--type", "broken")
    message = refused(app, "-C", str(project), "adapter", "new", "b2", "--type", "broken", "--option", "city=x")
    assert message.startswith("the broken adapter plugin wrote a template that is not YAML (Broken.new_file)")


def test_adapter_new_refuses_to_overwrite_unless_forced(app, project):
    ok(app, "-C", str(project), "adapter", "new", "logs", "--type", "localfile")
    message = refused(app, "-C", str(project), "adapter", "new", "logs", "--type", "sqlite")
    assert "adapters/logs.yml already exists" in message and "--force" in message
    assert load(project).adapters["logs"].type == "localfile"
    ok(app, "-C", str(project), "adapter", "new", "logs", "--type", "sqlite", "--force")
    assert load(project).adapters["logs"].type == "sqlite"


def test_adapter_new_refuses_a_differently_spelled_existing_file(app, project):
    (project / "adapters" / "Logs.yaml").write_text("type: localfile\npath: x.csv\n")
    message = refused(app, "-C", str(project), "adapter", "new", "logs", "--type", "localfile", "--force")
    assert "Logs.yaml" in message


def test_adapter_new_outside_a_project(app, tmp_path):
    assert "fbox init" in refused(app, "-C", str(tmp_path), "adapter", "new", "x", "--type", "localfile")


# --- model new ------------------------------------------------------------------------------

def test_model_new_in_a_folder_is_schema_qualified(app, project):
    ok(app, "-C", str(project), "model", "new", "staging/orders")
    ok(app, "-C", str(project), "model", "new", "reports.top", "--sql", "SELECT 2 AS n\nUNION ALL SELECT 3", "--max-age", "6h")
    ok(app, "-C", str(project), "model", "new", "totals")
    ok(app, "-C", str(project), "model", "new", "main.other")

    models = load(project).models
    assert sorted(models) == ["main.other", "main.totals", "reports.top", "staging.orders"]
    assert models["staging.orders"].file == project / "models" / "staging" / "orders.yml"
    assert "SELECT 1 AS id" in models["staging.orders"].sql
    assert models["reports.top"].file == project / "models" / "reports" / "top.yml"
    assert models["reports.top"].sql.strip() == "SELECT 2 AS n\nUNION ALL SELECT 3"
    assert models["reports.top"].max_age.total_seconds() == 6 * 3600
    assert models["main.totals"].file == project / "models" / "totals.yml"
    assert models["main.other"].file == project / "models" / "other.yml"
    first = (project / "models" / "staging" / "orders.yml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../../.fbox/schemas/model.json"
    assert (project / "models" / "totals.yml").read_text().startswith(
        "# yaml-language-server: $schema=../.fbox/schemas/model.json\n"
    )


def test_model_new_keeps_awkward_sql_intact(app, project):
    sql = "  SELECT 'a: b' AS x,\n\t'#not a comment' AS y  \n"
    ok(app, "-C", str(project), "model", "new", "odd", "--sql", sql)
    assert load(project).models["main.odd"].sql.split() == sql.split()
    data = yaml.safe_load((project / "models" / "odd.yml").read_text())
    assert "'a: b'" in data["sql"]


@pytest.mark.parametrize("name", ["bad-name", "a.b.c", "2x", "staging/9x", "_fbox_x", "staging//x"])
def test_model_new_rejects_bad_names(app, project, name):
    message = refused(app, "-C", str(project), "model", "new", name)
    assert "invalid" in message
    assert not any((project / "models").rglob("*.yml"))


def test_model_new_rejects_bad_max_age_and_sql(app, project):
    assert "--max-age" in refused(app, "-C", str(project), "model", "new", "x", "--max-age", "6x")
    assert "--sql" in refused(app, "-C", str(project), "model", "new", "x", "--sql", "DELETE FROM t")


def test_model_new_refuses_to_overwrite_unless_forced(app, project):
    ok(app, "-C", str(project), "model", "new", "staging/orders")
    message = refused(app, "-C", str(project), "model", "new", "staging.orders", "--sql", "SELECT 5 AS five")
    assert "already exists" in message and "--force" in message
    ok(app, "-C", str(project), "model", "new", "staging.orders", "--sql", "SELECT 5 AS five", "--force")
    assert load(project).models["staging.orders"].sql.strip() == "SELECT 5 AS five"


def test_a_model_may_share_its_name_with_an_adapter(app, project):
    """Adapters' tables have their own schemas (raw, raw_<adapter>): main.events is free for a model."""
    ok(app, "-C", str(project), "adapter", "new", "events", "--type", "localfile")
    ok(app, "-C", str(project), "model", "new", "events", "--sql", "SELECT 1 AS one")
    message = refused(app, "-C", str(project), "model", "new", "raw/events")
    assert "cannot go into schema 'raw'" in message


# --- delete ---------------------------------------------------------------------------------

@pytest.fixture
def graph_project(app, project) -> Path:
    """events (file adapter) -> staging.clean -> marts.total; crm (sqlite) -> marts.customers."""
    c = ("-C", str(project))
    ok(app, *c, "adapter", "new", "events", "--type", "localfile", "--path", "events/*.csv")
    ok(app, *c, "adapter", "new", "crm", "--type", "sqlite", "--tables", "customers")
    ok(app, *c, "adapter", "new", "unused", "--type", "localfile")
    ok(app, *c, "model", "new", "staging/clean", "--sql", "SELECT * FROM events WHERE amount > 0")
    ok(app, *c, "model", "new", "marts/total", "--sql", "SELECT sum(amount) AS total FROM staging.clean")
    ok(app, *c, "model", "new", "marts/customers", "--sql", "SELECT count(*) AS n FROM raw_crm.customers")
    ok(app, *c, "model", "new", "other/clean", "--sql", "SELECT 1 AS one")
    return project


def test_adapter_delete_refuses_with_dependents_and_names_them(app, graph_project):
    message = refused(app, "-C", str(graph_project), "adapter", "delete", "events")
    assert "staging.clean" in message and "marts.total" in message and "--force" in message
    assert "marts.customers" not in message
    assert (graph_project / "adapters" / "events.yml").exists()

    result = ok(app, "-C", str(graph_project), "adapter", "delete", "events", "--force")
    assert not (graph_project / "adapters" / "events.yml").exists()
    assert "next `fbox run` drops" in result.output and "raw.events" in result.output


def test_adapter_delete_without_dependents(app, graph_project):
    result = ok(app, "-C", str(graph_project), "adapter", "delete", "unused")
    assert "drops its tables (raw.unused)" in result.output
    assert "unused" not in load(graph_project).adapters


def test_adapter_delete_unknown_lists_known_adapters(app, graph_project):
    message = refused(app, "-C", str(graph_project), "adapter", "delete", "evnts")
    assert "no adapter named 'evnts'" in message
    assert "crm, events, unused" in message and "did you mean events" in message


def test_adapter_delete_of_a_broken_project_needs_force(app, graph_project):
    (graph_project / "models" / "marts" / "total.yml").write_text("sql: SELECT * FROM nowhere\n")
    message = refused(app, "-C", str(graph_project), "adapter", "delete", "unused")
    assert "nowhere" in message and "--force" in message
    ok(app, "-C", str(graph_project), "adapter", "delete", "unused", "--force")
    assert not (graph_project / "adapters" / "unused.yml").exists()


def test_model_delete_refuses_with_dependents_and_names_them(app, graph_project):
    message = refused(app, "-C", str(graph_project), "model", "delete", "staging.clean")
    assert "marts.total" in message and "--force" in message
    result = ok(app, "-C", str(graph_project), "model", "delete", "staging/clean", "--force")
    assert "staging.clean" in result.output
    assert not (graph_project / "models" / "staging").exists()  # the emptied folder goes too


def test_model_delete_by_bare_name(app, graph_project):
    ok(app, "-C", str(graph_project), "model", "delete", "total")
    assert "marts.total" not in load(graph_project).models
    assert (graph_project / "models" / "marts" / "customers.yml").exists()


def test_model_delete_ambiguous_or_unknown_name(app, graph_project):
    message = refused(app, "-C", str(graph_project), "model", "delete", "clean")
    assert "ambiguous" in message and "other.clean" in message and "staging.clean" in message
    message = refused(app, "-C", str(graph_project), "model", "delete", "marts.totl")
    assert "no model named 'marts.totl'" in message and "marts.total" in message


# --- the installed command ------------------------------------------------------------------

def test_console_script_prints_errors_without_traceback(tmp_path):
    subprocess.run([FBOX, "init", str(tmp_path)], check=True, capture_output=True)
    command = [FBOX, "-C", str(tmp_path), "adapter", "new", "stream", "--type", "kafka"]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: unknown type 'kafka'") and "fbox-kafka" not in result.stderr
    assert "Traceback" not in result.stderr


def test_command_modules_import_nothing_heavy():
    code = (
        "import sys, typer\n"
        "from featherbox.cli import project_cmds\n"
        "project_cmds.register(typer.Typer())\n"
        "heavy = [m for m in ('duckdb', 'featherbox.scaffold', 'yaml', 'jsonschema') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
