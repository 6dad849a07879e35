"""What `fbox run` and `fbox plan` tell a user: rows added next to the table's total, and drops first,
before anything runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

from featherbox.testing import write_project

from fboxcli import fbox, invoke, plan_json, run_json

PROJECT = {
    "adapters/events.yml": "type: localfile\nconfig: {base_path: sample}\npath: 'events/*.csv'\n",
    "models/staging/clean.yml": "sql: SELECT id, amount FROM events WHERE amount > 0\n",
    "models/staging/added.yml": "sql: SELECT id, amount FROM events\nmaterialized: append\n",
    "models/marts/total.yml": "sql: SELECT sum(amount) AS total FROM staging.clean\n",
    "sample/events/a.csv": "id,amount\n1,10\n2,-5\n3,7\n",
}


def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "p", PROJECT)


def run_text(root: Path, *args: str) -> str:
    result = fbox("run", "--threads", "1", *args, project=root)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def line_of(text: str, node: str) -> str:
    (line,) = [line for line in text.splitlines() if re.search(rf"\b(create|update|destroy) {re.escape(node)}:", line)]
    return line


def test_run_shows_rows_added_and_the_total(tmp_path):
    root = project(tmp_path)
    first = run_text(root)
    assert ": 3 rows, " in line_of(first, "events")  # new: only the total
    assert ": 2 rows, " in line_of(first, "staging.clean")

    (root / "sample/events/b.csv").write_text("id,amount\n4,100\n5,1\n")
    second = run_text(root)
    assert ": +2 rows, 5 in all, " in line_of(second, "events")  # a file adapter appends
    assert ": +2 rows, 5 in all, " in line_of(second, "staging.added")  # an incremental model too
    assert ": 4 rows (was 2), " in line_of(second, "staging.clean")  # a table model is rebuilt
    assert ": 1 row (was 1), " in line_of(second, "marts.total")

    (root / "sample/events/c.csv").write_text("id,amount\n6,-1\n")
    payload = run_json(root)
    actions = {a["node"]: a for a in payload["actions"]}
    assert actions["events"]["rows"] == 6  # `rows` stays the table's total
    assert actions["events"]["rows_before"] == 5 and actions["events"]["rows_change"] == 1
    assert actions["staging.clean"]["rows_before"] == 4 and actions["staging.clean"]["rows_change"] == 0

    out = run_text(root, "--full-refresh", "staging.added")
    assert ": 6 rows (was 6), " in line_of(out, "staging.added")  # rebuilt on request


def test_a_file_adapters_total_follows_changed_and_removed_files(tmp_path):
    """The total a file adapter reports is moved by the rows its statements delete and insert (no
    count of the table): it must stay the table's count when files change and vanish."""
    files = {**PROJECT, "adapters/events.yml": PROJECT["adapters/events.yml"] + "update_strategy: content\ndelete_missing: true\n",
             "sample/events/b.csv": "id,amount\n4,1\n5,2\n"}
    root = write_project(tmp_path / "p", files)
    run_text(root)

    def reported_and_counted() -> tuple[int, int]:
        (events,) = [a for a in run_json(root)["actions"] if a["node"] == "events"]
        counted = json.loads(invoke("query", "SELECT count(*) AS n FROM raw.events", "--format", "json", project=root))
        return events["rows"], counted[0]["n"]

    (root / "sample/events/a.csv").write_text("id,amount\n1,10\n")  # 3 rows -> 1
    (root / "sample/events/c.csv").write_text("id,amount\n6,1\n7,1\n8,1\n9,1\n")
    assert reported_and_counted() == (7, 7)  # -3 +1 +4
    (root / "sample/events/b.csv").unlink()
    (root / "sample/events/d.csv").write_text("id,amount\n10,1\n")
    assert reported_and_counted() == (6, 6)  # -2 +1
    (root / "sample/events/a.csv").write_text("id,amount\n1,10\n2,3\n")
    assert reported_and_counted() == (7, 7)  # -1 +2


def test_drops_are_shown_first_in_plan_and_run(tmp_path):
    root = project(tmp_path)
    run_text(root)
    (root / "models/staging/added.yml").unlink()
    (root / "sample/events/b.csv").write_text("id,amount\n4,100\n")

    plan = invoke("plan", project=root)
    lines = plan.splitlines()
    assert lines[0] == "Will drop 1 node that is no longer in the project, with its data:"
    assert lines[1] == "  model staging.added: staging.added (3 rows)"
    assert "fbox restore staging.added" in lines[2]
    table = lines[lines.index(next(line for line in lines if line.startswith("action"))):]
    assert not any("staging.added" in line for line in table)  # listed once, above the table
    assert [a["action"] for a in plan_json(root)["actions"] if a["node"] == "staging.added"] == ["destroy"]

    out = run_text(root)
    head = out.splitlines()
    assert head[0].startswith("Will drop 1 node") and head[1] == "  model staging.added: staging.added (3 rows)"
    assert head.index(next(line for line in head if line.startswith("Running "))) > 1
    dropped = line_of(out, "staging.added")
    assert "✓ destroy staging.added: dropped staging.added (3 rows)" in dropped
    assert "`fbox restore staging.added` brings it back" in dropped
    payload_plan = invoke("plan", project=root)
    assert payload_plan.strip() == "Nothing to do: every node is up to date."


def test_dropping_an_adapter_lists_its_tables(tmp_path):
    root = write_project(tmp_path / "p", {
        "adapters/events.yml": PROJECT["adapters/events.yml"],
        "adapters/more.yml": "type: localfile\nconfig: {base_path: sample}\npath: 'more/*.csv'\n",
        "sample/events/a.csv": "id\n1\n",
        "sample/more/a.csv": "k\n1\n2\n",
    })
    run_text(root)
    (root / "adapters/more.yml").unlink()
    out = run_text(root)
    assert out.splitlines()[1] == "  adapter more: raw.more (2 rows)"
    payload = run_json(root)
    assert payload["actions"] == []
