"""`featherbox.sdk`: every name a plugin builds on, exported from one module and documented; and the
scratch folder a load gets (`LoadContext.scratch_dir()`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import featherbox.sdk as sdk
from fboxcli import registry_with
from featherbox.extension import AdapterType, LoadResult
from featherbox.testing import write_project
from featherbox.workspace import Workspace

PLUGINS_DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def test_every_export_resolves_and_is_documented():
    section = PLUGINS_DOC.read_text().split("## The plugin SDK", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`([A-Za-z_]+)`", section))
    for name in sdk.__all__:
        assert getattr(sdk, name) is not None
        assert name in documented, f"featherbox.sdk.{name} is not in docs/plugins.md 'The plugin SDK'"
    with pytest.raises(AttributeError, match="featherbox.sdk has no 'Adaptor'"):
        sdk.Adaptor  # noqa: B018


class _Scratchy(AdapterType):
    """Writes a file in its scratch folder, then loads it; fails after that when `config.fail`."""

    type_name = "scratchy"
    config_schema = {"type": "object"}
    seen: list[Path] = []

    def output_tables(self):
        return ["raw.scratchy"]

    def load(self, ctx):
        folder = ctx.scratch_dir()
        type(self).seen.append(folder)
        (folder / "part.csv").write_text("n\n1\n2\n")
        ctx.con.execute("CREATE SCHEMA IF NOT EXISTS raw")
        ctx.con.execute(f"CREATE OR REPLACE TABLE raw.scratchy AS FROM read_csv('{folder / 'part.csv'}')")
        if self.spec.config.get("fail"):
            raise sdk.FeatherBoxError("scratchy: failed on purpose")
        return LoadResult({"raw.scratchy": 2})


@pytest.mark.parametrize("fail", [False, True])
def test_a_loads_scratch_folder_is_in_the_project_and_gone_after_the_load(tmp_path, fail):
    root = write_project(tmp_path / "p", {"adapters/s.yml": f"type: scratchy\nconfig: {{fail: {str(fail).lower()}}}\n"})
    _Scratchy.seen.clear()
    _, result = Workspace(root, registry_with(_Scratchy)).run()
    assert result.outcomes["s"].status == ("failed" if fail else "completed")
    [folder] = _Scratchy.seen
    assert folder.parent.parent.resolve() == (root / ".fbox" / "tmp").resolve()
    assert folder.name == "s"
    assert not folder.exists() and not (root / ".fbox" / "tmp").exists()
