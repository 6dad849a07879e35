"""`fbox schema` writes editor schemas that accept what the validator accepts and reject what it rejects."""

from __future__ import annotations

import json

import jsonschema
import yaml

from fboxcli import fbox


def validator(root, kind):
    schema = json.loads((root / ".fbox/schemas" / f"{kind}.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_init_writes_schemas_that_accept_the_example(tmp_path):
    root = tmp_path / "demo"
    fbox("init", str(root), "--example", check=True)
    files = {"project": [root / "project.yml"], "adapter": list((root / "adapters").glob("*.yml")),
             "model": list((root / "models").rglob("*.yml"))}
    for kind, paths in files.items():
        check = validator(root, kind)
        assert paths
        for path in paths:
            text = path.read_text()
            assert text.startswith("# yaml-language-server: $schema=")
            assert not list(check.iter_errors(yaml.safe_load(text) or {})), path


def test_schema_command_rejects_bad_documents(tmp_path):
    root = tmp_path / "p"
    fbox("init", str(root), check=True)
    (root / ".fbox/schemas/adapter.json").unlink()
    result = fbox("schema", project=root, check=True)
    assert "adapter.json" in result.stdout
    adapter = validator(root, "adapter")
    assert list(adapter.iter_errors({"type": "localfile", "path": "x", "format": "xml"}))
    assert list(adapter.iter_errors({"type": "nosuchtype"}))
    assert not list(adapter.iter_errors({"type": "sqlite", "config": {"path": "a.sqlite"}}))
    assert list(validator(root, "model").iter_errors({"sql": "SELECT 1", "max_age": "soon"}))
    assert list(validator(root, "project").iter_errors({"storage": {"type": "local", "pth": "x"}}))
    out = tmp_path / "elsewhere"
    fbox("schema", "--output", str(out), project=root, check=True)
    assert sorted(p.name for p in out.iterdir()) == ["adapter.json", "model.json", "project.json"]
