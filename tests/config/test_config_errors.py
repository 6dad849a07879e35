"""Bad project files: every problem is reported with its file, field and line, all at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from featherbox import secrets
from featherbox.config.loader import load_project
from featherbox.errors import ConfigError, ConfigIssue
from featherbox.extension import placeholder_adapter
from featherbox.registry import Registry
from featherbox.testing import write_project

from configfakes import FakeFileAdapter, fake_registry, file_adapter_schema


class FileAdapter(FakeFileAdapter):
    config_schema = file_adapter_schema(
        tables={
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string", "pattern": "^[a-z_]+$"}},
            },
        }
    )


class BrokenSchemaAdapter(FakeFileAdapter):
    type_name = "broken"
    config_schema = {"type": "not-a-json-type"}


def make_registry() -> Registry:
    registry = fake_registry(FileAdapter, BrokenSchemaAdapter, placeholder_adapter("s3", "fbox-s3"))
    registry.provided_by[("adapter", "s3")] = "fbox_s3"
    registry.report.distributions["fbox_s3"] = "fbox-s3"
    return registry


def load_errors(root: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_project(root, make_registry())
    return info.value


def issue(error: ConfigError, file: Path, field: str, line: int | None, *fragments: str) -> ConfigIssue:
    """The one issue for `file`/`field`; its line is `line`, its message holds `fragments`."""
    found = [i for i in error.issues if i.file == file and i.field == field]
    assert len(found) == 1, f"expected one issue for {file} {field!r} in:\n{error}"
    found_issue = found[0]
    assert found_issue.line == line, str(error)
    for fragment in fragments:
        assert fragment in found_issue.message, str(error)
    where = f"{file}:{line}" if line else str(file)
    expected = f"{where}: {field}:" if field else f"{where}:"
    assert expected in str(error)
    assert str(found_issue) in str(error)
    return found_issue


def bad(tmp_path: Path, name: str, text: str, project_yml: str = "# defaults\n") -> tuple[ConfigError, Path]:
    root = write_project(tmp_path, {"project.yml": project_yml, name: text})
    return load_errors(root), root / name


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    error, file = bad(tmp_path, "adapters/logs.yml", "type: localfile\npath: [a, b\nformat: csv\n")
    found = issue(error, file, "", 3, "invalid YAML")
    assert str(file) in str(error)
    assert found.line == 3


def test_non_mapping_document(tmp_path):
    error, file = bad(tmp_path, "models/m.yml", "- sql: select 1\n")
    issue(error, file, "", 1, "expected a mapping", "got a list")


def test_empty_adapter_file(tmp_path):
    error, file = bad(tmp_path, "adapters/logs.yml", "# nothing here\n")
    issue(error, file, "", 1, "empty")


def test_missing_project_yml_suggests_fbox_init(tmp_path):
    error = load_errors(tmp_path)
    issue(error, tmp_path.resolve() / "project.yml", "", None, "no project.yml", "fbox init")


def test_unknown_top_level_project_key(tmp_path):
    error = load_errors(write_project(tmp_path, {"project.yml": "storage:\n  type: local\n  path: d\nstorag: x\n"}))
    issue(error, tmp_path / "project.yml", "storag", 4, "unknown key 'storag'", "did you mean 'storage'")


def test_bad_timeout_string(tmp_path):
    error = load_errors(write_project(tmp_path, {"project.yml": "deployments:\n  timeout: 10 minutes\n"}))
    issue(error, tmp_path / "project.yml", "deployments.timeout", 2, "'10 minutes' is not a duration", "1h30m")


def test_timeout_given_as_a_number(tmp_path):
    error = load_errors(write_project(tmp_path, {"project.yml": "deployments:\n  timeout: 600\n"}))
    issue(error, tmp_path / "project.yml", "deployments.timeout", 2, "expected a duration like 30s")


def test_unknown_deployments_key(tmp_path):
    error = load_errors(write_project(tmp_path, {"project.yml": "deployments:\n  timout: 1h\n"}))
    issue(error, tmp_path / "project.yml", "deployments.timout", 2, "did you mean 'timeout'")


def test_unknown_storage_type(tmp_path):
    error = load_errors(write_project(tmp_path, {"project.yml": "\nstorage:\n  type: ftp\n"}))
    issue(error, tmp_path / "project.yml", "storage.type", 3, "unknown storage type 'ftp'", "install that plugin")
    assert "pip install" not in str(error)  # fbox-ftp is no distribution FeatherBox knows: it could be anyone's


def test_misspelt_storage_type_suggests_the_close_one_not_a_distribution(tmp_path):
    error = load_errors(write_project(tmp_path, {"project.yml": "storage:\n  type: s4\n"}))
    issue(error, tmp_path / "project.yml", "storage.type", 2, "unknown storage type 's4'; did you mean s3?")
    assert "fbox-s4" not in str(error)


def test_storage_schema_violation_from_plugin(tmp_path):
    error = load_errors(write_project(tmp_path, {"project.yml": "storage:\n  type: local\ndatabase:\n  type: sqlite\n  path: 3\n"}))
    issue(error, tmp_path / "project.yml", "storage", 1, "missing required key 'path'")
    issue(error, tmp_path / "project.yml", "database.path", 5, "'path' must be a string (got 3)")


def test_storage_without_type(tmp_path):
    error = load_errors(write_project(tmp_path, {"project.yml": "storage:\n  path: lake\n"}))
    issue(error, tmp_path / "project.yml", "storage", 1, "missing required key 'type'")


def test_unknown_adapter_type_names_the_package(tmp_path):
    error, file = bad(tmp_path, "adapters/logs.yml", "type: xyz\n")
    issue(error, file, "type", 1, "unknown type 'xyz'", "install that plugin")
    assert "fbox-xyz" not in str(error)


def test_placeholder_adapter_type_is_not_implemented_yet(tmp_path):
    error, file = bad(tmp_path, "adapters/bucket.yml", "description: raw files\ntype: s3\n")
    issue(error, file, "type", 2, "type: s3 is provided by fbox-s3, which does not implement it yet")


def test_missing_adapter_type(tmp_path):
    error, file = bad(tmp_path, "adapters/logs.yml", "path: logs\n")
    issue(error, file, "", None, "missing required key 'type'")


def test_adapter_type_must_be_a_string(tmp_path):
    error, file = bad(tmp_path, "adapters/logs.yml", "type: [localfile]\n")
    issue(error, file, "type", 1, "'type' must be a string (got a list)")


def test_adapter_config_must_be_a_mapping(tmp_path):
    error, file = bad(tmp_path, "adapters/logs.yml", "type: localfile\nconfig:\n  - a\n  - b\n")
    issue(error, file, "config", 2, "'config' must be a mapping (got a list)")


def test_type_schema_enum_violation(tmp_path):
    error, file = bad(tmp_path, "adapters/logs.yml", "type: localfile\npath: logs\nformat: xml\n")
    issue(error, file, "format", 3, "'format' must be one of: csv, json, parquet (got xml)")


def test_type_schema_unknown_key_with_line(tmp_path):
    error, file = bad(tmp_path, "adapters/logs.yml", "type: localfile\npth: logs\n")
    issue(error, file, "pth", 2, "unknown key 'pth'", "did you mean 'path'")


def test_type_schema_errors_inside_lists(tmp_path):
    text = "type: localfile\ntables:\n  - name: good\n  - name: Bad-Name\n  - other: 1\n"
    error, file = bad(tmp_path, "adapters/db.yml", text)
    issue(error, file, "tables[1].name", 4, "'name' must match the pattern ^[a-z_]+$", "Bad-Name")
    issue(error, file, "tables[2]", 5, "missing required key 'name'")


def test_broken_plugin_schema_is_an_issue_not_a_traceback(tmp_path):
    error, file = bad(tmp_path, "adapters/x.yml", "type: broken\n")
    issue(error, file, "", None, "the broken adapter plugin has an invalid config schema")


def test_duplicate_yaml_key(tmp_path):
    error, file = bad(tmp_path, "adapters/logs.yml", "type: localfile\npath: a\npath: b\n")
    issue(error, file, "path", 3, "appears twice", "line 2")


def test_unknown_model_key(tmp_path):
    error, file = bad(tmp_path, "models/m.yml", "sql: select 1\nmaterialised: view\n")
    issue(error, file, "materialised", 2, "unknown key 'materialised'", "did you mean 'materialized'")


def test_bad_materialized_value(tmp_path):
    error, file = bad(tmp_path, "models/m.yml", "sql: select 1\nmaterialized: incremental\n")
    issue(error, file, "materialized", 2, "must be one of: table, view")


def test_missing_sql(tmp_path):
    error, file = bad(tmp_path, "models/m.yml", "description: no sql\n")
    issue(error, file, "", None, "missing required key 'sql'")


@pytest.mark.parametrize("sql", ["''", "'   '", "|\n  \n"])
def test_empty_sql(tmp_path, sql):
    error, file = bad(tmp_path, "models/m.yml", f"sql: {sql}\n")
    issue(error, file, "sql", 1, "'sql' must not be empty")


def test_model_name_must_match_file_stem(tmp_path):
    error, file = bad(tmp_path, "models/staging/orders.yml", "sql: select 1\nname: order_items\n")
    issue(error, file, "name", 2, "name 'order_items' does not match the file name 'orders'")


def test_invalid_adapter_file_name(tmp_path):
    error, file = bad(tmp_path, "adapters/my-logs.yml", "type: localfile\n")
    issue(error, file, "name", None, "'my-logs'", "not a valid SQL identifier", "my_logs.yml")


def test_reserved_adapter_names(tmp_path):
    root = write_project(tmp_path, {"adapters/_fbox_runs.yml": "type: localfile\n"})
    error = load_errors(root)
    issue(error, root / "adapters/_fbox_runs.yml", "name", None, "reserved for FeatherBox")


def test_models_stay_out_of_the_adapters_schemas(tmp_path):
    root = write_project(
        tmp_path,
        {"models/raw/x.yml": "sql: select 1\n", "models/raw_app_db/users.yml": "sql: select 1\n",
         "models/rawish/ok.yml": "sql: select 1\n"},
    )
    error = load_errors(root)
    issue(error, root / "models/raw/x.yml", "schema", None, "cannot go into schema 'raw'", "rename the folder")
    issue(error, root / "models/raw_app_db/users.yml", "schema", None, "cannot go into schema 'raw_app_db'")
    assert "rawish" not in str(error)


def test_invalid_model_folder_and_file_names(tmp_path):
    root = write_project(
        tmp_path,
        {"models/my-dir/x.yml": "sql: select 1\n", "models/staging/1st.yml": "sql: select 1\n"},
    )
    error = load_errors(root)
    issue(error, root / "models/my-dir/x.yml", "schema", None, "folder 'my-dir'", "rename the folder", "my_dir")
    issue(error, root / "models/staging/1st.yml", "name", None, "'1st'", "do not start with a digit")


def test_missing_env_var_names_variable_file_field_and_line(tmp_path, monkeypatch):
    monkeypatch.delenv("FBOX_T_MISSING", raising=False)
    error, file = bad(tmp_path, "adapters/db.yml", "type: localfile\nconfig:\n  user: me\n  password: ${FBOX_T_MISSING}\n")
    issue(error, file, "config.password", 4, "FBOX_T_MISSING is not set", ".env")


def test_unclosed_variable_reference(tmp_path):
    error, file = bad(tmp_path, "models/m.yml", "sql: select '${OOPS'\n")
    issue(error, file, "sql", 1, "never closed", "$$")


def test_bad_dotenv_line(tmp_path):
    root = write_project(tmp_path, {".env": "GOOD=1\nthis is not an assignment\nQ=\"open\n"})
    error = load_errors(root)
    issue(error, root / ".env", "", 2, "NAME=value")
    issue(error, root / ".env", "Q", 3, "never closed")


def test_bad_max_age(tmp_path):
    error, file = bad(tmp_path, "models/m.yml", "sql: select 1\nmax_age: 3 days\n")
    issue(error, file, "max_age", 2, "'3 days' is not a duration")


def test_duplicate_qualified_model_names(tmp_path):
    root = write_project(
        tmp_path,
        {"models/a/b/x.yml": "sql: select 1\n", "models/a_b/x.yml": "sql: select 2\n"},
    )
    error = load_errors(root)
    found = issue(error, root / "models/a_b/x.yml", "name", None, "model a_b.x is defined twice")
    assert "models/a/b/x.yml" in found.message and "models/a_b/x.yml" in found.message


def test_model_names_differing_only_in_case_clash(tmp_path):
    root = write_project(tmp_path, {"models/Orders.yml": "sql: select 1\n", "models/orders.yml": "sql: select 2\n"})
    error = load_errors(root)
    issue(error, root / "models/orders.yml", "name", None, "defined twice", "models/Orders.yml")


def test_adapter_defined_in_yml_and_yaml(tmp_path):
    root = write_project(tmp_path, {"adapters/logs.yml": "type: localfile\n", "adapters/logs.yaml": "type: localfile\n"})
    error = load_errors(root)
    issue(error, root / "adapters/logs.yml", "name", None, "adapter 'logs' is defined twice", "logs.yaml")


def test_secrets_are_redacted_from_error_messages(tmp_path, monkeypatch):
    """A secret field's value is masked wherever it appears; a variable in another field is not."""
    secrets.clear()
    monkeypatch.setenv("FBOX_T_FORMAT", "hunter2-secret")
    monkeypatch.setenv("FBOX_T_PW", "hunter2-secret")
    error, file = bad(tmp_path, "adapters/logs.yml", "type: localfile\nformat: $FBOX_T_FORMAT\nconfig: {password: $FBOX_T_PW}\n")
    issue(error, file, "format", 2, "(got ***)")
    assert "hunter2-secret" not in str(error)
    secrets.clear()
    monkeypatch.setenv("FBOX_T_FORMAT", "xml")
    error, file = bad(tmp_path / "b", "adapters/logs.yml", "type: localfile\nformat: $FBOX_T_FORMAT\n")
    issue(error, file, "format", 2, "(got xml)")


def test_all_problems_in_all_files_are_reported_together(tmp_path, monkeypatch):
    monkeypatch.delenv("FBOX_T_NOPE", raising=False)
    root = write_project(
        tmp_path,
        {
            "project.yml": "deployments:\n  timeout: soon\nextra: 1\n",
            "adapters/a.yml": "type: xyz\n",
            "adapters/b.yml": "type: localfile\nformat: $FBOX_T_NOPE\n",
            "adapters/c.yml": "type: [oops\n",
            "models/m.yml": "sql: ''\n",
            "models/n.yml": "sql: select 1\nmax_age: forever\n",
            "models/ok.yml": "sql: select 1\n",
        },
    )
    error = load_errors(root)
    issue(error, root / "project.yml", "deployments.timeout", 2, "not a duration")
    issue(error, root / "project.yml", "extra", 3, "unknown key 'extra'")
    issue(error, root / "adapters/a.yml", "type", 1, "unknown type 'xyz'")
    issue(error, root / "adapters/b.yml", "format", 2, "FBOX_T_NOPE is not set")
    issue(error, root / "adapters/c.yml", "", 2, "invalid YAML")
    issue(error, root / "models/m.yml", "sql", 1, "must not be empty")
    issue(error, root / "models/n.yml", "max_age", 2, "not a duration")
    assert len(error.issues) == 7
    assert str(error).startswith("7 problems in the project configuration:")


def test_two_documents_in_one_file(tmp_path):
    error, file = bad(tmp_path, "models/m.yml", "sql: select 1\n---\nsql: select 2\n")
    issue(error, file, "", 2, "expected a single document")


def test_recursive_alias(tmp_path):
    error, file = bad(tmp_path, "adapters/db.yml", "type: localfile\ntables: &t\n  - *t\n")
    issue(error, file, "tables[0]", 2, "refers to the value that contains it")
