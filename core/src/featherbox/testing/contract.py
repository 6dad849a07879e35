"""`AdapterContract`: the tests every adapter type must pass (docs/plugins.md, "The adapter contract suite")."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from .project import write_project


class AdapterContract:
    """Tests every adapter type must pass. Subclass it in a test module (name the subclass `Test...`)
    and provide the fixtures below; pytest then runs each `test_*` method against your adapter.

    Required fixtures:

    - `adapter_type`: the `AdapterType` subclass under test;
    - `valid_config`: an adapter document (the dict an `adapters/<name>.yml` holds) that loads rows.

    Optional fixtures:

    - `project_files`: extra files (relative path -> text or bytes) the source needs, e.g. a sample
      CSV or a SQLite database, written into the project directory; default none;
    - `project_yml`: the `project.yml` text; default empty (local storage, SQLite database);
    - `adapter_env`: environment variables the documents' `$VAR`s need; default none;
    - `broken_config`: a document the adapter's schema must reject; default `valid_config` with
      `config:` replaced by `{"fbox_contract_not_an_option": true}` (override it if your schema
      accepts that, i.e. has no required `config` keys and allows unknown ones);
    - `add_rows`: a function `add_rows(project_dir)` that adds rows to the source, for the increment
      tests (a new file, new rows in a table); without it those tests are skipped;
    - `break_source`: a function `break_source(project_dir)` that adds data the next load must fail
      on (a corrupt file, a table the adapter cannot read); without it that test is skipped.

    The adapter file is `adapters/<adapter_name>.yml` (`adapter_name = "contract"` by default).
    """

    adapter_name = "contract"

    # -- fixtures a subclass provides ---------------------------------------------------------

    @pytest.fixture
    def adapter_type(self):
        pytest.fail(f"{type(self).__name__} must define the fixture `adapter_type` (the AdapterType subclass)")

    @pytest.fixture
    def valid_config(self):
        pytest.fail(f"{type(self).__name__} must define the fixture `valid_config` (an adapter document as a dict)")

    @pytest.fixture
    def project_files(self) -> dict:
        return {}

    @pytest.fixture
    def project_yml(self) -> str:
        return ""

    @pytest.fixture
    def adapter_env(self) -> dict:
        return {}

    @pytest.fixture
    def broken_config(self, valid_config) -> dict:
        return {**valid_config, "config": {"fbox_contract_not_an_option": True}}

    @pytest.fixture
    def add_rows(self):
        return None

    @pytest.fixture
    def break_source(self):
        return None

    # -- helpers --------------------------------------------------------------------------------

    @pytest.fixture
    def contract_project(self, tmp_path, monkeypatch, valid_config, project_files, project_yml, adapter_env) -> Path:
        """The project directory: `project.yml`, the adapter file and `project_files`."""
        import yaml

        for key, value in adapter_env.items():
            monkeypatch.setenv(key, str(value))
        root = tmp_path / "contract-project"
        write_project(root, {"project.yml": project_yml})
        for rel, content in project_files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(textwrap.dedent(content))
        (root / "adapters").mkdir(exist_ok=True)
        (root / "adapters" / f"{self.adapter_name}.yml").write_text(yaml.safe_dump(valid_config, sort_keys=False))
        return root

    @staticmethod
    def workspace(root: Path):
        from featherbox.workspace import Workspace

        return Workspace(root)

    @staticmethod
    def row_counts(ws, tables: list[str]) -> dict[str, int]:
        """Rows in each lake table (`schema.table`); a missing table is reported by the query's error."""
        from featherbox.sql import quote_table

        con = ws.open_lake(for_writing=False)
        try:
            return {t: con.execute(f"SELECT count(*) FROM {quote_table(t)}").fetchone()[0] for t in tables}
        finally:
            con.close()

    def run(self, root: Path, **kwargs):
        """`fbox run` in process: returns (plan, result) and fails the test with every node's error."""
        from featherbox.workspace import RunOptions

        plan, result = self.workspace(root).run(RunOptions(**kwargs))
        if not result.ok:
            errors = "\n".join(f"  {node}: {o.status}: {o.error}" for node, o in result.outcomes.items() if o.status != "completed")
            pytest.fail(f"the run failed:\n{errors}")
        return plan, result

    # -- the contract -----------------------------------------------------------------------------

    def test_config_schema_is_valid_and_accepts_valid_config(self, adapter_type, valid_config, adapter_env):
        import os

        import jsonschema

        from featherbox.config.interpolate import Environment, interpolate

        # the schema sees the document as the loader does: with its `$VAR`s substituted
        valid_config, missing = interpolate(
            valid_config, Environment({**os.environ, **{k: str(v) for k, v in adapter_env.items()}}), Path("<valid_config>"), {}
        )
        assert not missing, "valid_config uses variables adapter_env does not set: " + "; ".join(map(str, missing))
        schema = adapter_type.config_schema
        assert isinstance(schema, dict), f"{adapter_type.__name__}.config_schema must be a dict"
        validator_cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        validator_cls.check_schema(schema)
        errors = sorted(validator_cls(schema).iter_errors(valid_config), key=str)
        assert not errors, "valid_config is rejected by config_schema:\n" + "\n".join(f"  {e.message}" for e in errors)
        assert valid_config.get("type") == adapter_type.type_name, "valid_config's `type:` must be the adapter's type_name"

    def test_type_is_registered_through_an_entry_point(self, adapter_type):
        from featherbox.plugins import build_manager
        from featherbox.registry import collect

        pm, report = build_manager()
        registry = collect(pm, report)
        name = adapter_type.type_name
        assert name in registry.adapters, (
            f"no installed plugin provides adapter type {name!r} (installed: {', '.join(sorted(registry.adapters))}; "
            f"failed plugins: {report.failed or 'none'}); is the package installed with a `featherbox` entry point?"
        )
        found = registry.adapters[name]
        assert found.__module__ == adapter_type.__module__ and found.__qualname__ == adapter_type.__qualname__, (
            f"adapter type {name!r} is provided by {found.__module__}.{found.__qualname__}, not {adapter_type.__module__}.{adapter_type.__qualname__}"
        )
        plugin = registry.provided_by[("adapter", name)]
        assert plugin in report.loaded, f"{name!r} comes from {plugin!r}, which was not loaded from an entry point"
        assert adapter_type.implemented, f"{name!r} is marked implemented = False"

    def test_runs_end_to_end_and_writes_its_output_tables(self, contract_project):
        ws = self.workspace(contract_project)
        adapter = ws.backends.adapters[self.adapter_name]
        tables = adapter.output_tables()
        assert tables, "output_tables() returned no table"
        for table in tables:
            assert table.count(".") == 1, f"output table {table!r} is not `schema.table`"
        plan, result = self.run(contract_project)
        assert self.adapter_name in {a.node for a in plan.actions}, "the first run did not load the adapter"
        counts = self.row_counts(self.workspace(contract_project), tables)
        empty = [t for t, n in counts.items() if not n]
        assert not empty, f"output tables without rows after the first run: {', '.join(empty)}"

    def test_second_run_is_a_no_op(self, contract_project):
        self.run(contract_project)
        ws = self.workspace(contract_project)
        tables = ws.backends.adapters[self.adapter_name].output_tables()
        before = self.row_counts(ws, tables)
        plan, _ = self.run(contract_project)
        assert plan.empty, "a second run with an unchanged source did work: " + ", ".join(
            f"{a.action} {a.node} ({a.reason})" for a in plan.actions
        )
        assert self.row_counts(self.workspace(contract_project), tables) == before

    def test_source_signature_is_stable_while_the_source_is(self, contract_project):
        self.run(contract_project)
        first = self.workspace(contract_project).backends.adapters[self.adapter_name].source_signature()
        assert first is None or isinstance(first, str), f"source_signature() returned {type(first).__name__}, not str or None"
        second = self.workspace(contract_project).backends.adapters[self.adapter_name].source_signature()
        assert first == second, "source_signature() changed while the source did not: every run would plan"

    def test_broken_config_is_reported_naming_the_adapter_file(self, contract_project, broken_config):
        import yaml

        from featherbox.errors import FeatherBoxError

        file = contract_project / "adapters" / f"{self.adapter_name}.yml"
        file.write_text(yaml.safe_dump(broken_config, sort_keys=False))
        with pytest.raises(FeatherBoxError) as error:
            self.workspace(contract_project).graph
        assert str(file) in str(error.value), f"the error does not name {file}:\n{error.value}"

    def test_an_increment_loads_the_new_rows_once(self, contract_project, add_rows):
        if add_rows is None:
            pytest.skip(f"{type(self).__name__} gives no `add_rows` fixture")
        self.run(contract_project)
        tables = self.workspace(contract_project).backends.adapters[self.adapter_name].output_tables()
        before = sum(self.row_counts(self.workspace(contract_project), tables).values())
        add_rows(contract_project)
        plan, _ = self.run(contract_project)
        assert self.adapter_name in {a.node for a in plan.actions}, "the run after add_rows did not load the adapter"
        after = sum(self.row_counts(self.workspace(contract_project), tables).values())
        assert after > before, f"the increment added no rows ({before} before, {after} after)"
        plan, _ = self.run(contract_project)
        assert plan.empty, "the run after the increment did work again: " + ", ".join(f"{a.action} {a.node}" for a in plan.actions)

    def test_a_failing_load_commits_nothing(self, contract_project, add_rows, break_source):
        if break_source is None:
            pytest.skip(f"{type(self).__name__} gives no `break_source` fixture")
        from featherbox.workspace import RunOptions

        self.run(contract_project)
        tables = self.workspace(contract_project).backends.adapters[self.adapter_name].output_tables()
        before = self.row_counts(self.workspace(contract_project), tables)
        if add_rows is not None:
            add_rows(contract_project)  # good rows in the same load must not land either
        break_source(contract_project)
        _, result = self.workspace(contract_project).run(RunOptions())
        outcome = result.outcomes.get(self.adapter_name)
        assert outcome is not None and outcome.status == "failed", f"the load did not fail: {outcome}"
        assert outcome.error, "the failed load gave no error"
        assert self.row_counts(self.workspace(contract_project), tables) == before, "a failed load changed the tables"
        ws = self.workspace(contract_project)
        con = ws.open_lake(for_writing=False)
        try:
            plan, _ = ws.plan(con)
        finally:
            con.close()
        assert self.adapter_name in {a.node for a in plan.actions}, "after a failed load the adapter is not planned again"

    def test_a_killed_load_loses_and_duplicates_nothing(self, contract_project, tmp_path):
        """The first `fbox run` is SIGKILLed after the adapter's `load` returned, before its transaction
        commits; the next run must end with the same tables as a copy of the project never killed."""
        import os
        import shutil
        import signal
        import subprocess
        import sys
        import time

        reference = tmp_path / "reference"
        shutil.copytree(contract_project, reference)
        mark = tmp_path / "loaded.mark"
        cls = type(self.workspace(contract_project).backends.adapters[self.adapter_name])
        code = (
            "import importlib, sys, time\n"
            f"cls = importlib.import_module({cls.__module__!r})\n"
            f"for part in {cls.__qualname__!r}.split('.'): cls = getattr(cls, part)\n"
            "original = cls.load\n"
            "def load(self, ctx):\n"
            "    result = original(self, ctx)\n"
            f"    open({str(mark)!r}, 'w').close()\n"
            "    time.sleep(300)\n"
            "    return result\n"
            "cls.load = load\n"
            f"sys.argv = ['fbox', '-C', {str(contract_project)!r}, 'run']\n"
            "from featherbox.cli.app import main\n"
            "main()\n"
        )
        process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            waited = 0.0
            while not mark.exists():
                if process.poll() is not None:
                    pytest.fail(f"`fbox run` ended before the load returned:\n{process.stdout.read().decode(errors='replace')}")
                if waited > 240:
                    pytest.fail("the load did not return within 240 s")
                time.sleep(0.05)
                waited += 0.05
            os.kill(process.pid, signal.SIGKILL)
        finally:
            process.kill()
            process.wait()
        self.run(contract_project)
        self.run(reference)
        tables = self.workspace(contract_project).backends.adapters[self.adapter_name].output_tables()
        assert self.row_counts(self.workspace(contract_project), tables) == self.row_counts(self.workspace(reference), tables)
        plan, _ = self.run(contract_project)
        assert plan.empty, "the run after the recovery did work again"
