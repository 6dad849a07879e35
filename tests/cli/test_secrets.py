"""What is masked as `***` and what is not, through the command line.

Only the values of secret fields are secrets (passwords, keys, tokens, a URL's password, fields a
plugin's `config_schema` marks `"secret": true`); a `$VAR` in any other field, a query result, a host,
a port or a path is printed as it is. An adapter file that is not a mapping is described, not echoed.
"""

from __future__ import annotations

import json
import os
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from featherbox.testing import write_project

from fboxcli import fbox as fbox_process
from test_error_corpus import fbox_main  # noqa: F401  (fixture)


@dataclass
class Done:
    returncode: int
    out: str  # stdout + stderr


@pytest.fixture
def fbox(fbox_main):
    """`fbox -C root ARGS` in this process through the console script's `main()` (its error handling
    included), starting like a new process (test_error_corpus.fbox_main); `out` is stdout + stderr."""

    def run(root: Path, *args: str, env: dict | None = None) -> Done:
        done = fbox_main(root, list(args), env or {})
        return Done(done.returncode, done.stdout + done.stderr)

    return run


def test_query_results_and_variables_in_ordinary_fields_are_printed_as_they_are(tmp_path, fbox):
    env = {"FBOX_T_PORT": "13306", "FBOX_T_REGION": "us-east-1", "FBOX_T_WHO": "alice"}
    root = write_project(tmp_path / "p", {
        "models/m.yml": "sql: SELECT $FBOX_T_PORT AS port, '$FBOX_T_REGION' AS region, '$FBOX_T_WHO' AS who\n",
    })
    assert fbox(root, "run", env=env).returncode == 0
    rows = [{"port": 13306, "region": "us-east-1", "who": "alice"}]
    done = fbox(root, "query", "SELECT * FROM main.m", "--json", env=env)
    assert json.loads(done.out) == rows
    done = fbox(root, "query", "SELECT 13306 AS port, 'us-east-1' AS region, 'alice' AS who", env=env)
    assert "13306" in done.out and "us-east-1" in done.out and "alice" in done.out and "***" not in done.out, done.out
    done = fbox(root, "query", "SELECT * FROM main.m", "--format", "csv", env=env)
    assert done.out.splitlines() == ["port,region,who", "13306,us-east-1,alice"]
    # and in what the commands report
    done = fbox(root, "status", "--json", env=env)
    assert "***" not in done.out, done.out


def test_query_results_are_not_redacted_even_when_they_equal_a_secret(tmp_path, fbox):
    """Data is printed as it is: a query result is never masked (the secret is kept out of the lake's
    own tables and settings instead, see tests/relational/test_catalog_secrets.py)."""
    root = write_project(tmp_path / "p", {
        "adapters/db.yml": "type: postgresql\nconfig:\n  dbname: app\n  password: $FBOX_T_PW\n",
    })
    done = fbox(root, "query", "SELECT 'hunter2-pw' AS word", "--json", env={"FBOX_T_PW": "hunter2-pw"})
    assert json.loads(done.out) == [{"word": "hunter2-pw"}], done.out


def test_hosts_ports_users_and_paths_in_errors_are_not_masked(tmp_path, fbox):
    # the user's name is also a folder of the project's path: masking it turned the path into .../***/...
    folder = tmp_path / "alice"
    env = {"FBOX_T_USER": "alice", "FBOX_T_PORT": "13306", "FBOX_T_FORMAT": "xml", "FBOX_T_PW": "it's-hunter2-pw"}
    root = write_project(folder / "p", {
        "adapters/app_db.yml": "type: sqlite\nconfig:\n  path: /srv/$FBOX_T_USER/app.sqlite\n  pth: 1\n",
        "adapters/logs.yml": "type: localfile\nconfig: {base_path: data}\npath: '*.csv'\nformat: $FBOX_T_FORMAT\n",
        "adapters/pg.yml": ("type: postgresql\nconfig:\n  host: 127.0.0.1\n  port: $FBOX_T_PORT\n  user: $FBOX_T_USER\n"
                            "  password: $FBOX_T_PW\n  dbname: app\n"),
    })
    done = fbox(root, "plan", env=env)
    assert done.returncode != 0
    assert f"{folder}/p/adapters/app_db.yml" in done.out, done.out
    assert "format: 'format' must be one of: csv, tsv, json, ndjson, parquet (got xml)" in done.out, done.out
    assert "***" not in done.out, done.out


def test_secret_fields_are_masked_in_every_form(tmp_path, fbox, monkeypatch):
    """A password (by its schema mark), in a `$VAR` and URL-encoded in a url, in a failed connection."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"FBOX_T_PW": "it's-hunter2-pw"}
    root = write_project(tmp_path / "p", {
        "adapters/a.yml": f"type: postgresql\nconfig:\n  url: postgresql://alice:it%27s-url-pw@127.0.0.1:{port}/app\n",
        "adapters/b.yml": f"type: postgresql\nconfig:\n  host: 127.0.0.1\n  port: {port}\n  password: Bearer $FBOX_T_PW\n  dbname: app\n",
    })
    from featherbox import secrets
    from featherbox.config.loader import load_project
    from featherbox.registry import default_registry

    secrets.clear()
    monkeypatch.setenv("FBOX_T_PW", env["FBOX_T_PW"])
    project = load_project(root, default_registry())
    assert {"it's-url-pw", "it%27s-url-pw", "Bearer it's-hunter2-pw", "it's-hunter2-pw"} <= project.secrets
    assert not {"alice", "127.0.0.1", str(port), "app"} & project.secrets
    assert secrets.redact("x='it\\'s-hunter2-pw' y=it%27s-hunter2-pw z=it''s-url-pw") == "x='***' y=*** z=***"
    secrets.clear()
    done = fbox(root, "run", env=env)
    assert done.returncode != 0 and str(port) in done.out and "alice" in done.out, done.out
    assert "hunter2" not in done.out and "url-pw" not in done.out, done.out


TOY_PLUGIN = '''
    from featherbox.errors import FeatherBoxError
    from featherbox.extension import AdapterType, Detection
    from featherbox.hookspecs import hookimpl


    class ToyAdapter(AdapterType):
        type_name = "toy"
        config_schema = {
            "type": "object",
            "properties": {
                "type": {"const": "toy"},
                "config": {
                    "type": "object",
                    "properties": {
                        "passage": {"type": "string", "secret": True},   # marked: a secret whatever its name
                        "token": {"type": "string", "secret": False},    # unmarked: not one despite its name
                        "api_token": {"type": "string"},                 # no mark: a secret by its name
                        "region": {"type": "string"},
                    },
                    "additionalProperties": False,
                },
            },
            "additionalProperties": False,
        }

        def output_tables(self):
            return ["main.toy"]

        def load(self, ctx):
            c = self.spec.config
            escaped = c["passage"].replace("\\\\", "\\\\\\\\").replace("'", "\\\\'")
            raise FeatherBoxError(
                f"toy: cannot reach passage='{escaped}' api_token={c['api_token']} token={c['token']} region={c['region']}"
            )


    @hookimpl
    def fbox_adapter_types():
        return [ToyAdapter]
'''


def test_a_plugin_marks_its_secret_fields_in_its_config_schema(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "fbox_toy_plugin.py").write_text(textwrap.dedent(TOY_PLUGIN))
    info = site / "fbox_toy-0.0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fbox-toy\nVersion: 0.0.1\n")
    (info / "entry_points.txt").write_text("[featherbox]\ntoy = fbox_toy_plugin\n")
    root = write_project(tmp_path / "p", {
        "adapters/t.yml": ("type: toy\nconfig:\n  passage: $FBOX_T_PASSAGE\n  token: anon-mode\n"
                           "  api_token: tok-$FBOX_T_API\n  region: $FBOX_T_REGION\n"),
    })
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
           "FBOX_T_PASSAGE": "it's-open-sesame", "FBOX_T_API": "xyz-api-123", "FBOX_T_REGION": "us-east-1"}
    result = fbox_process("run", project=root, env=env)
    out = result.stdout + result.stderr
    assert "toy: cannot reach" in out, out
    assert "passage='***'" in out and "api_token=***" in out, out
    assert "open-sesame" not in out and "xyz-api-123" not in out, out
    assert "token=anon-mode" in out and "region=us-east-1" in out, out


@pytest.mark.parametrize("content, kind", [
    ("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n", "a string"),
    ("- root:x:0:0\n- daemon:x:1:1\n- bin:x:2:2\n", "a list of 3 items"),
    ("- only-item-secret\n", "a list of 1 item"),
    ("31337\n", "a number"),
])
def test_an_adapter_file_that_is_not_a_mapping_is_described_not_echoed(tmp_path, fbox, content, kind):
    # e.g. adapters/app_db.yml a symlink to /etc/passwd: the error says what was found, not its text
    target = tmp_path / "outside" / "passwd"
    target.parent.mkdir()
    target.write_text(content)
    root = write_project(tmp_path / "p", {"models/m.yml": "sql: SELECT 1 AS x\n"})
    (root / "adapters").mkdir()
    (root / "adapters" / "app_db.yml").symlink_to(target)
    for command in ("plan", "run"):
        done = fbox(root, command)
        assert done.returncode != 0
        assert f"adapters/app_db.yml:1: expected a mapping of keys to values, got {kind}" in done.out, done.out
        for secret in ("root:x", "daemon", "bin:x", "only-item-secret", "31337"):
            assert secret not in done.out, done.out
