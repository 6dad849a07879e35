"""Valid projects: defaults, paths, interpolation, secrets, model schemas, durations."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from featherbox import secrets
from featherbox.config.durations import format_duration, parse_duration
from featherbox.config.interpolate import read_dotenv
from featherbox.config.loader import find_project_root, load_project
from featherbox.errors import FeatherBoxError
from featherbox.testing import write_project

from configfakes import FakeFileAdapter, fake_registry, file_adapter_schema


class FileAdapter(FakeFileAdapter):
    config_schema = file_adapter_schema(range={"type": "object"})


def make_registry():
    return fake_registry(FileAdapter)


def load(root: Path):
    return load_project(root, make_registry())


def test_empty_project_gets_default_storage_and_database(tmp_path):
    project = load(write_project(tmp_path, {}))
    assert project.root == tmp_path.resolve()
    assert project.storage == {"type": "local", "path": str(tmp_path.resolve() / "data")}
    assert project.database == {"type": "sqlite", "path": str(tmp_path.resolve() / ".fbox" / "catalog.sqlite")}
    assert project.timeout is None
    assert project.adapters == {} and project.models == {}


def test_relative_paths_resolve_against_the_project_not_the_cwd(tmp_path, monkeypatch):
    root = write_project(
        tmp_path / "proj",
        {
            "project.yml": """
                storage:
                  type: local
                  path: ../lake
                database:
                  type: sqlite
                  path: state/catalog.sqlite
                deployments:
                  timeout: 1h30m
            """
        },
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    project = load(root)
    assert project.storage["path"] == str(tmp_path.resolve() / "lake")
    assert project.database["path"] == str(root.resolve() / "state" / "catalog.sqlite")
    assert project.timeout == timedelta(hours=1, minutes=30)


def test_absolute_storage_path_is_kept(tmp_path):
    lake = tmp_path / "somewhere" / "lake"
    root = write_project(tmp_path / "p", {"project.yml": f"storage:\n  type: local\n  path: {lake}\n"})
    assert load(root).storage["path"] == str(lake)


def test_adapters_are_read_from_yml_and_yaml_files_directly_in_adapters(tmp_path):
    root = write_project(
        tmp_path,
        {
            "adapters/logs.yml": """
                type: localfile
                description: web logs
                path: logs/*.csv
                format: csv
                range:
                  since: 2024-01-01
                config:
                  delimiter: ";"
                  yes: 1
            """,
            "adapters/events.yaml": "type: localfile\npath: events\n",
            "adapters/notes.txt": "not an adapter",
            "adapters/sub/ignored.yml": "type: nothing_registered\n",
        },
    )
    project = load(root)
    assert sorted(project.adapters) == ["events", "logs"]
    logs = project.adapters["logs"]
    assert logs.type == "localfile"
    assert logs.description == "web logs"
    assert logs.config == {"delimiter": ";", "yes": 1}  # keys are always text
    assert logs.raw["range"] == {"since": "2024-01-01"}  # dates stay text
    assert logs.file == root / "adapters" / "logs.yml"
    assert logs.lines["type"] == 2 and logs.lines["range.since"] == 7 and logs.lines["config.delimiter"] == 9
    assert project.adapters["events"].config == {}


def test_model_folders_map_to_schemas(tmp_path):
    root = write_project(
        tmp_path,
        {
            "models/top.yml": "sql: select 1\n",
            "models/staging/clean.yml": "sql: select 2\nmaterialized: view\n",
            "models/a/b/deep.yaml": "name: deep\nsql: select 3\nmax_age: 1d\ndescription: nested\n",
            "models/.hidden/skip.yml": "not: [valid",
        },
    )
    models = load(root).models
    assert sorted(models) == ["a_b.deep", "main.top", "staging.clean"]
    assert models["main.top"].schema == "main" and models["main.top"].raw["materialized"] == "table"
    assert models["staging.clean"].raw["materialized"] == "view"
    deep = models["a_b.deep"]
    assert (deep.schema, deep.name, deep.qualified) == ("a_b", "deep", "a_b.deep")
    assert deep.max_age == timedelta(days=1)
    assert deep.description == "nested"
    assert deep.sql == "select 3"
    assert deep.lines == {"name": 1, "sql": 2, "max_age": 3, "description": 4}


def test_dotenv_variables_are_substituted(tmp_path, monkeypatch):
    monkeypatch.delenv("FBOX_T_DIR", raising=False)
    monkeypatch.delenv("FBOX_T_FMT", raising=False)
    root = write_project(
        tmp_path,
        {
            ".env": "# comment\nFBOX_T_DIR=incoming/logs\nexport FBOX_T_FMT='parquet'\n",
            "adapters/logs.yml": "type: localfile\npath: ${FBOX_T_DIR}/*.x\nformat: $FBOX_T_FMT\n",
        },
    )
    raw = load(root).adapters["logs"].raw
    assert raw["path"] == "incoming/logs/*.x"
    assert raw["format"] == "parquet"


def test_environment_wins_over_dotenv(tmp_path, monkeypatch):
    monkeypatch.setenv("FBOX_T_FMT", "json")
    root = write_project(
        tmp_path,
        {".env": "FBOX_T_FMT=csv\n", "adapters/logs.yml": "type: localfile\nformat: $FBOX_T_FMT\n"},
    )
    assert load(root).adapters["logs"].raw["format"] == "json"


def test_double_dollar_is_a_literal_dollar_and_sql_parameters_are_kept(tmp_path):
    root = write_project(tmp_path, {"models/m.yml": "sql: select '$$HOME', $1 as p, '$$$$' as q\n"})
    assert load(root).models["main.m"].sql == "select '$HOME', $1 as p, '$$' as q"


def test_secret_fields_and_their_variables_are_secrets_and_get_redacted(tmp_path, monkeypatch):
    secrets.clear()
    monkeypatch.setenv("FBOX_T_TOKEN", "s3cr3t-token")
    monkeypatch.setenv("FBOX_T_FMT", "json")
    root = write_project(tmp_path, {"adapters/api.yml": "type: localfile\nformat: $FBOX_T_FMT\nconfig:\n  token: Bearer $FBOX_T_TOKEN\n"})
    project = load(root)
    assert project.adapters["api"].config["token"] == "Bearer s3cr3t-token"
    # the field's value and the variable substituted into it; not the variable of the `format` field
    assert project.secrets == frozenset({"Bearer s3cr3t-token", "s3cr3t-token"})
    assert secrets.redact("sending s3cr3t-token to the api as json") == "sending *** to the api as json"


def test_secrets_registry():
    secrets.clear()
    secrets.register(["ab", "password", "password123"])
    assert secrets.registered() == frozenset({"password", "password123"})
    assert secrets.redact("ab password123 password") == "ab *** ***"
    assert secrets.redact("") == ""
    secrets.clear()
    assert secrets.redact("password") == "password"


def test_read_dotenv_quotes_comments_and_escapes(tmp_path):
    path = tmp_path / ".env"
    path.write_text(
        'A=plain # trailing comment\nB="double # kept"\nC=\'single $x\'\nD="line\\nbreak"\nE=pass#word\n\n# c\nF=\n'
    )
    values, issues = read_dotenv(path)
    assert issues == []
    assert values == {"A": "plain", "B": "double # kept", "C": "single $x", "D": "line\nbreak", "E": "pass#word", "F": ""}


def test_find_project_root_walks_up(tmp_path):
    root = write_project(tmp_path / "proj", {"models/staging/m.yml": "sql: select 1\n"})
    assert find_project_root(root / "models" / "staging") == root.resolve()
    assert find_project_root(root / "models" / "staging" / "m.yml") == root.resolve()


def test_find_project_root_suggests_fbox_init(tmp_path):
    with pytest.raises(FeatherBoxError, match="fbox init"):
        find_project_root(tmp_path)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("30s", timedelta(seconds=30)),
        ("10m", timedelta(minutes=10)),
        ("1h", timedelta(hours=1)),
        ("1d", timedelta(days=1)),
        ("2w", timedelta(weeks=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
    ],
)
def test_parse_and_format_duration(text, expected):
    assert parse_duration(text) == expected
    assert format_duration(expected) == text


@pytest.mark.parametrize("text", ["", "10", "ten minutes", "1x", "30m1h", "1h1h", "0s", "-5m", None, 600])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_format_duration_edge_cases():
    assert format_duration(timedelta(0)) == "0s"
    assert format_duration(timedelta(days=7)) == "1w"
    assert format_duration(timedelta(seconds=90)) == "1m30s"
