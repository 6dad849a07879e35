"""The files `fbox plugin new` writes: a third-party adapter distribution, ready to install and test.

`plugin_files(dist_name)` returns relative path -> text. The example adapter writes `rows` generated
rows into `raw.<adapter name>` (adapters' tables have their own schemas); its contract tests use `featherbox.testing.AdapterContract`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from featherbox.errors import FeatherBoxError

_NAME = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")


@dataclass(frozen=True)
class PluginNames:
    distribution: str  # fbox-demo
    package: str  # fbox_demo
    type_name: str  # demo
    class_name: str  # DemoAdapter


def plugin_names(name: str) -> PluginNames:
    """`fbox-demo` (or `demo`) -> the distribution, package, adapter type and class names."""
    text = name.strip().lower()
    if not _NAME.match(text):
        raise FeatherBoxError(
            f"plugin name {name!r} is not valid: use lowercase letters, digits and single dashes, "
            "starting with a letter, e.g. fbox-weather"
        )
    type_name = text.removeprefix("fbox-").removeprefix("fbox_").replace("-", "_")
    if not type_name or type_name == "fbox":
        raise FeatherBoxError(f"plugin name {name!r} needs a part after fbox-, e.g. fbox-weather")
    distribution = f"fbox-{type_name.replace('_', '-')}"
    package = distribution.replace("-", "_")
    class_name = "".join(part.capitalize() for part in type_name.split("_")) + "Adapter"
    return PluginNames(distribution, package, type_name, class_name)


PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{distribution}"
version = "0.1.0"
description = "FeatherBox adapter `type: {type_name}`"
readme = "README.md"
requires-python = ">=3.11"
dependencies = [
    # the FeatherBox this plugin was written and tested against; widen the pin once you have
    # run the contract tests on other versions
    "featherbox=={featherbox_version}",
]

[project.optional-dependencies]
test = ["pytest>=7"]

# How FeatherBox finds the plugin: the entry-point group `featherbox`. The name on the left is the
# plugin name (`fbox plugins`, FBOX_DISABLE_PLUGINS={type_name}); the value is the module with the hooks.
[project.entry-points.featherbox]
{type_name} = "{package}.plugin"

[tool.setuptools.packages.find]
where = ["src"]

[tool.pytest.ini_options]
testpaths = ["tests"]
"""

INIT = '''\
"""{distribution}: a FeatherBox adapter, `type: {type_name}`."""

__version__ = "0.1.0"
'''

PLUGIN = '''\
"""Entry point of {distribution}: what the plugin hands to FeatherBox."""

from featherbox.sdk import hookimpl


@hookimpl
def fbox_adapter_types():
    from {package}.adapter import {class_name}  # imported lazily: keeps `fbox --help` fast

    return [{class_name}]
'''

SCHEMA = '''\
"""The JSON Schema (draft 2020-12) of an `adapters/<name>.yml` file with `type: {type_name}`.

FeatherBox validates every adapter file against it and reports problems with file and line, e.g.
`adapters/x.yml:3: config.rows: 'rows' must be at least 1 (got 0)`. `additionalProperties: false`
turns typos into "unknown key; did you mean ..." errors. `fbox schema` writes it for editors.
"""

CONFIG_SCHEMA = {{
    "type": "object",
    "properties": {{
        "type": {{"const": "{type_name}"}},
        "description": {{"type": "string"}},
        "config": {{
            "type": "object",
            "properties": {{
                "rows": {{"type": "integer", "minimum": 1, "description": "how many rows to generate"}},
                "start": {{"type": "integer", "description": "the first id (default 1)"}},
            }},
            "required": ["rows"],
            "additionalProperties": False,
        }},
    }},
    "required": ["type", "config"],
    "additionalProperties": False,
}}
'''

ADAPTER = '''\
"""`type: {type_name}`: writes `config.rows` generated rows (id, label) into `raw.<adapter name>`.

Replace the body of `load` with reading your source. The engine calls, for each adapter file:
`output_tables()` when it builds the graph, `detect()` to ask whether the source has news since the
state the last load returned, and `load()` inside a transaction it commits together with that state.
"""

from __future__ import annotations

import json

from featherbox.sdk import (
    RAW_SCHEMA, AdapterTemplate, AdapterType, Detection, FeatherBoxError, LoadContext, LoadResult, adapter_table,
    quote_ident, quote_table,
)

from {package}.schema import CONFIG_SCHEMA


class {class_name}(AdapterType):
    type_name = "{type_name}"
    description = "generated rows (an example adapter: replace it with your source)"
    config_schema = CONFIG_SCHEMA
    #: what `fbox adapter new NAME --type {type_name}` takes: `--option rows=N`
    new_options = {{"rows": "how many rows to generate (default 10)"}}

    @classmethod
    def new_file(cls, name: str, options: dict[str, str], description: str | None = None) -> AdapterTemplate:
        """The commented adapters/NAME.yml that `fbox adapter new` writes (without this method: one
        made from the schema, with CHANGE_ME for each required config key)."""
        rows = options.get("rows", "10")
        if not rows.isdigit() or int(rows) < 1:
            raise FeatherBoxError(f"--option rows must be a whole number of at least 1, got {{rows!r}}")
        text = (
            "type: {type_name}\\n"
            f"description: {{json.dumps(description or 'Generated rows')}}\\n"
            "config:\\n"
            f"  rows: {{int(rows)}}   # how many rows to generate\\n"
            "  # start: 1   # the first id\\n"
        )
        # complete: the file loads as written, so `fbox adapter new` refuses it if it does not
        return AdapterTemplate(text, tables=[adapter_table(name)], complete=True)

    def output_tables(self) -> list[str]:
        return [adapter_table(self.name)]

    def detect(self, con, previous: dict | None) -> Detection:
        # A changed adapter file already reloads (the planner fingerprints the config), and nothing
        # outside the config can change here, so only the first load has work to do. A real source
        # compares what it finds now (files, a max(updated_at), a version) with `previous`.
        if previous is None:
            return Detection(True, "never loaded")
        return Detection(False)

    def load(self, ctx: LoadContext) -> LoadResult:
        rows = int(self.spec.config["rows"])
        start = int(self.spec.config.get("start", 1))
        table = adapter_table(self.name)
        ctx.con.execute(f"CREATE SCHEMA IF NOT EXISTS {{quote_ident(RAW_SCHEMA)}}")
        ctx.con.execute(
            f"CREATE OR REPLACE TABLE {{quote_table(table)}} AS "
            "SELECT (range + ?)::BIGINT AS id, 'row ' || (range + ?)::VARCHAR AS label FROM range(?)",
            [start, start, rows],
        )
        ctx.log(f"generated {{rows}} rows")
        return LoadResult(rows={{table: rows}}, state={{"rows": rows, "start": start}}, message=f"{{rows}} rows")
'''

TEST_CONTRACT = '''\
"""The FeatherBox adapter contract (featherbox.testing.AdapterContract) and a test of this adapter's own."""

from __future__ import annotations

import pytest

from featherbox.testing import AdapterContract
from {package}.adapter import {class_name}


class Test{class_name}Contract(AdapterContract):
    @pytest.fixture
    def adapter_type(self):
        return {class_name}

    @pytest.fixture
    def valid_config(self):
        return {{"type": "{type_name}", "config": {{"rows": 10}}}}

    # Sources that need files (a sample CSV, a SQLite database) provide them here:
    # @pytest.fixture
    # def project_files(self):
    #     return {{"sample/data.csv": "id,name\\n1,a\\n"}}

    # The increment test: change the source so the next run has more rows to load (a real source
    # adds a file or inserts rows; this example's rows come from its config).
    @pytest.fixture
    def add_rows(self):
        def more(root):
            path = root / "adapters" / f"{{self.adapter_name}}.yml"
            path.write_text(path.read_text().replace("rows: 10", "rows: 15"))

        return more

    # The failing-load test: make the next load fail (a corrupt file, a dropped table). Omitted here.
    # @pytest.fixture
    # def break_source(self):
    #     return lambda root: (root / "sample" / "bad.csv").write_text("id,name\\n1,a,extra\\n")

    def test_adapter_new_writes_a_file_the_schema_accepts(self, adapter_type):
        import jsonschema
        import yaml

        template = adapter_type.new_file("numbers", {{"rows": "5"}})
        document = yaml.safe_load(template.text)
        jsonschema.validate(document, adapter_type.config_schema)
        assert document["config"]["rows"] == 5 and template.tables == ["raw.numbers"]

    def test_writes_the_configured_rows(self, contract_project):
        self.run(contract_project)
        ws = self.workspace(contract_project)
        assert self.row_counts(ws, [f"raw.{{self.adapter_name}}"]) == {{f"raw.{{self.adapter_name}}": 10}}
'''

README = """\
# {distribution}

A [FeatherBox](https://pypi.org/project/featherbox/) plugin providing the adapter `type: {type_name}`.
Generated by `fbox plugin new {distribution}` for FeatherBox {featherbox_version}; the example adapter
writes `config.rows` generated rows into `raw.<adapter name>` — replace it with your source.

```text
{distribution}/
├── pyproject.toml                 # the `featherbox` entry point and the pinned featherbox version
├── src/{package}/
│   ├── plugin.py                  # the hooks: fbox_adapter_types()
│   ├── adapter.py                 # {class_name}: output_tables, detect, load, new_file
│   └── schema.py                  # the JSON Schema of an adapter file
└── tests/test_contract.py         # featherbox.testing.AdapterContract
```

## Install and check

```sh
pip install -e .          # next to featherbox
fbox plugins              # lists {distribution} with `adapter: {type_name}`
```

## Use

```sh
fbox adapter new numbers --type {type_name} --option rows=10   # writes adapters/numbers.yml
```

or write the file yourself:

```yaml
# adapters/numbers.yml
type: {type_name}
config:
  rows: 10
```

```sh
fbox run
fbox query "SELECT * FROM raw.numbers"
```

## Test

```sh
pip install -e '.[test]'
pytest
```

`tests/test_contract.py` runs FeatherBox's adapter contract: the schema is valid JSON Schema and
accepts the sample config, the type is registered through the entry point, a project with the adapter
runs end to end and its output tables have rows, a second run does nothing, and a broken config is
reported naming the adapter file. The plugin must be installed (`pip install -e .`) for the
entry-point test to find it.
"""


def plugin_files(name: str, featherbox_version: str) -> tuple[PluginNames, dict[str, str]]:
    names = plugin_names(name)
    values = {**vars(names), "featherbox_version": featherbox_version}
    package = names.package
    files = {
        "pyproject.toml": PYPROJECT,
        "README.md": README,
        f"src/{package}/__init__.py": INIT,
        f"src/{package}/plugin.py": PLUGIN,
        f"src/{package}/schema.py": SCHEMA,
        f"src/{package}/adapter.py": ADAPTER,
        "tests/test_contract.py": TEST_CONTRACT,
    }
    return names, {path: text.format(**values) for path, text in files.items()}
