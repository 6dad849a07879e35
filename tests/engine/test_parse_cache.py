"""Each model's SQL is parsed once per run, and `fbox run` keeps the results by content, so an
unchanged project plans without parsing."""

from __future__ import annotations

from featherbox.testing import write_project
from featherbox.workspace import QUERY_CACHE, Workspace

from fboxcli import run_json

FILES = {
    "adapters/events.yml": "type: localfile\nconfig: {base_path: sample}\npath: events/*.csv\n",
    "models/staging/a.yml": "sql: SELECT id FROM events\n",
    "models/staging/b.yml": "sql: SELECT id * 2 AS id FROM staging.a\n",
    "models/marts/c.yml": "sql: SELECT count(*) AS n FROM staging.b\n",
    "sample/events/one.csv": "id\n1\n2\n",
}


def test_an_unchanged_project_is_not_parsed_again(tmp_path):
    root = write_project(tmp_path / "p", FILES)
    first = Workspace(root)
    first.graph
    assert first.parser.added == 3  # one parse per query, in one call into DuckDB
    assert not (root / QUERY_CACHE).exists()  # only `fbox run` writes the cache
    run_json(root)
    assert (root / QUERY_CACHE).is_file()

    again = Workspace(root)
    assert set(again.graph.nodes) == {"events", "staging.a", "staging.b", "marts.c"}
    assert again.parser.added == 0

    (root / "models/staging/b.yml").write_text("sql: SELECT id * 3 AS id FROM staging.a\n")
    edited = Workspace(root)
    edited.graph
    assert edited.parser.added == 1
    payload = run_json(root)
    assert {a["node"] for a in payload["actions"]} == {"staging.b", "marts.c"}


def test_a_damaged_cache_is_ignored(tmp_path):
    root = write_project(tmp_path / "p", FILES)
    run_json(root)
    (root / QUERY_CACHE).write_text('{"parser": "something else", "queries": {}}')
    assert Workspace(root).parser.added == 0
    ws = Workspace(root)
    ws.graph
    assert ws.parser.added == 3
    (root / QUERY_CACHE).write_text("not json")
    ws = Workspace(root)
    assert set(ws.graph.nodes) == {"events", "staging.a", "staging.b", "marts.c"}
    assert ws.parser.added == 3


def test_a_query_that_does_not_parse_is_reported_from_the_cache_too(tmp_path):
    files = {**FILES, "models/marts/bad.yml": "sql: SELECT FROM WHERE\n"}
    root = write_project(tmp_path / "p", files)
    parser = Workspace(root).parser
    parsed = parser.parse("SELECT FROM WHERE")
    assert parsed.error and "does not parse" in parsed.error
    parser.save(root / QUERY_CACHE, ["SELECT FROM WHERE"])
    again = Workspace(root).parser
    assert again.parse("SELECT FROM WHERE") == parsed and again.added == 0
