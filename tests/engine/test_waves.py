"""Models ready at the same time commit as one DuckLake transaction (a wave); a failing node rolls the
wave back and every node runs again on its own, so it takes no sibling down."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from featherbox.testing import write_project

from fboxcli import fbox, query, ran, registry_with, run_json

PROJECT = {
    "adapters/events.yml": """
        type: localfile
        config: {base_path: sample}
        path: events/*.csv
    """,
    "models/wide/a.yml": "sql: SELECT id, amount FROM events\n",
    "models/wide/b.yml": "sql: SELECT id, amount * 2 AS amount FROM events\n",
    "models/wide/c.yml": "sql: SELECT count(*) AS n FROM events\n",
    "models/wide/d.yml": "materialized: view\nsql: SELECT id FROM events WHERE amount > 5\n",
    "models/marts/ab.yml": "sql: SELECT a.id, a.amount + b.amount AS amount FROM wide.a JOIN wide.b USING (id)\n",
    "models/marts/cd.yml": "sql: SELECT n, (SELECT count(*) FROM wide.d) AS big FROM wide.c\n",
    "sample/events/one.csv": "id,amount\n1,10\n2,3\n3,7\n",
}


def _project(request, tmp_path: Path, files: dict) -> Path:
    files = dict(files)
    if request.param == "postgresql":
        database = request.getfixturevalue("pg")
        files["project.yml"] = "database:\n  type: postgresql\n" + database.config_yaml() + "\n"
    return write_project(tmp_path / "p", files)


def _run_snapshots(root: Path, run_id: str) -> list[dict]:
    return query(
        root,
        "SELECT commit_message AS message, commit_extra_info AS extra FROM lake.snapshots() "
        f"WHERE commit_message LIKE '%(run {run_id})' ORDER BY snapshot_id",
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request):
    return request


def test_ready_models_commit_together(backend, tmp_path):
    root = _project(backend, tmp_path, PROJECT)
    payload = run_json(root)
    assert set(ran(payload).values()) == {"completed"} and len(ran(payload)) == 7
    commits = _run_snapshots(root, payload["run_id"])
    messages = [c["message"] for c in commits]
    # one commit for the adapter and one for the six models: the marts read wide.* models written
    # earlier in the same transaction
    assert messages == [f"create events (run {payload['run_id']})", f"build 6 models (run {payload['run_id']})"]
    assert json.loads(commits[1]["extra"])["nodes"] == ["wide.a", "wide.b", "wide.c", "wide.d", "marts.ab", "marts.cd"]
    assert query(root, "SELECT * FROM marts.ab ORDER BY id") == [
        {"id": 1, "amount": 30}, {"id": 2, "amount": 9}, {"id": 3, "amount": 21},
    ]
    assert query(root, "SELECT * FROM marts.cd") == [{"n": 3, "big": 2}]


def test_a_failing_model_rolls_its_wave_back_and_fails_alone(backend, tmp_path):
    files = dict(PROJECT)
    # fails only when it runs (the cast of a text that is no number), not when it is planned
    files["models/wide/b.yml"] = "sql: SELECT id, CAST('x' || amount AS INTEGER) AS amount FROM events\n"
    root = _project(backend, tmp_path, files)
    payload = run_json(root, expect_ok=False)
    assert ran(payload) == {
        "events": "completed", "wide.a": "completed", "wide.b": "failed", "wide.c": "completed",
        "wide.d": "completed", "marts.ab": "skipped", "marts.cd": "completed",
    }
    failed = next(a for a in payload["actions"] if a["node"] == "wide.b")
    assert "Conversion Error" in failed["error"]
    tables = {r["name"] for r in query(root, "SELECT schema_name || '.' || table_name AS name FROM duckdb_tables() WHERE schema_name = 'wide'")}
    assert tables == {"wide.a", "wide.c"}  # wide.b published nothing
    logs = fbox("logs", payload["run_id"], project=root).stdout
    assert "rolled back at wide.b" in logs and "wide.b runs again on its own, the others in a new wave" in logs
    nodes = [json.loads(c["extra"]).get("nodes") for c in _run_snapshots(root, payload["run_id"])[1:]]
    assert nodes == [["wide.a", "wide.c", "wide.d", "marts.cd"]]  # the wave again, without wide.b and marts.ab

    # the next run builds only what is still to do
    (root / "models/wide/b.yml").write_text(PROJECT["models/wide/b.yml"])
    again = run_json(root)
    assert ran(again) == {"wide.b": "completed", "marts.ab": "completed"}


def test_an_incremental_model_waits_for_its_inputs_to_commit(backend, tmp_path):
    files = {
        **PROJECT,
        # reads the changes of wide.a between committed snapshots: never in the wave that writes wide.a
        "models/marts/by_day.yml": """
            materialized: delete+insert
            time_column: id
            sql: SELECT id, sum(amount) AS amount FROM wide.a GROUP BY id
        """,
        "models/marts/top.yml": "sql: SELECT max(amount) AS top FROM marts.by_day\n",
    }
    root = _project(backend, tmp_path, files)
    payload = run_json(root)
    nodes = [json.loads(c["extra"]).get("nodes") for c in _run_snapshots(root, payload["run_id"])[1:]]
    assert nodes == [
        ["wide.a", "wide.b", "wide.c", "wide.d", "marts.ab", "marts.cd"],
        ["marts.by_day", "marts.top"],
    ]
    (root / "sample/events/two.csv").write_text("id,amount\n4,100\n")
    again = run_json(root)
    by_day = next(a for a in again["actions"] if a["node"] == "marts.by_day")
    assert "recomputed" in by_day["message"]  # incremental, from the committed change of wide.a
    assert query(root, "SELECT * FROM marts.top") == [{"top": 100}]


def _schedule(actions, graph, serial=False):
    from featherbox.execute.schedule import Schedule

    return Schedule(actions, graph, serial)


def test_waves_respect_their_limit_and_run_one_at_a_time():
    import networkx as nx

    from featherbox.config.project import ModelSpec
    from featherbox.execute import schedule as module
    from featherbox.plan.planner import Action

    graph = nx.DiGraph()
    graph.add_node("events", kind="adapter", tables=["raw.events"])
    actions = [Action("events", "adapter", "create", "new adapter", "migrate")]
    for i in range(module.WAVE_LIMIT + 50):
        node = f"m.t{i:03d}"
        graph.add_node(node, kind="model", spec=ModelSpec(f"t{i:03d}", "m", Path("x.yml"), "SELECT 1", {}), resolved={})
        graph.add_edge("events", node)
        actions.append(Action(node, "model", "create", "new model", "migrate", upstream=["events"]))
    schedule = _schedule(actions, graph)
    assert [[a.node for a in g] for g in schedule.transactions(schedule.ready())] == [["events"]]
    schedule.finished(actions[:1])
    schedule.complete("events")
    first = schedule.transactions(schedule.ready())
    assert [len(g) for g in first] == [module.WAVE_LIMIT]
    assert schedule.transactions(schedule.ready()) == []  # one wave at a time
    schedule.finished(first[0])
    for action in first[0]:
        schedule.complete(action.node)
    assert [len(g) for g in schedule.transactions(schedule.ready())] == [50]


def _flaky_adapter(error: Exception, failures: int):
    """A throw-away adapter type whose first `failures` loads raise `error`."""
    from featherbox.extension import AdapterType, LoadResult

    class Flaky(AdapterType):
        type_name = "flaky"
        config_schema = {"type": "object"}
        calls = 0

        def output_tables(self):
            return ["flaky.numbers"]

        def load(self, ctx):
            type(self).calls += 1
            ctx.con.execute("CREATE SCHEMA IF NOT EXISTS flaky")
            ctx.con.execute("CREATE OR REPLACE TABLE flaky.numbers AS SELECT range AS n FROM range(3)")
            if type(self).calls <= failures:
                raise error
            return LoadResult({"flaky.numbers": 3})

    return Flaky


@pytest.mark.parametrize(
    "error, retried",
    [
        (duckdb.TransactionException("Failed to commit: another writer won"), True),  # a conflict: run again
        (duckdb.ConversionException("Transaction conflict in the data"), False),  # its words do not matter
    ],
)
def test_only_transaction_conflicts_are_retried(tmp_path, error, retried):
    from featherbox.workspace import Workspace

    flaky = _flaky_adapter(error, failures=1)
    registry = registry_with(flaky)
    root = write_project(tmp_path / "p", {"adapters/numbers.yml": "type: flaky\n"})
    logs = []
    _, result = Workspace(root, registry).run(on_event=lambda kind, action, outcome: logs.append(outcome and outcome.message))
    assert result.outcomes["numbers"].status == ("completed" if retried else "failed")
    assert flaky.calls == (2 if retried else 1)
    assert any("retrying (attempt 2)" in (m or "") for m in logs) == retried


@pytest.mark.parametrize("serial, waves", [(True, [["m.a", "m.ab", "m.b"]]), (False, [["m.a"], ["m.ab", "m.b"]])])
def test_with_one_writer_a_wave_waits_for_the_running_transactions(serial, waves):
    """SQLite's catalog takes one transaction at a time: a wave that started while an adapter loads
    would only wait for it, so it waits unformed and then takes every model ready by then."""
    import networkx as nx

    from featherbox.config.project import ModelSpec
    from featherbox.plan.planner import Action

    graph = nx.DiGraph()
    actions = []
    for adapter in ("one", "two"):
        graph.add_node(adapter, kind="adapter", tables=[f"raw.{adapter}"])
        actions.append(Action(adapter, "adapter", "update", "new data", "sync"))
    for name, inputs in (("a", ["one"]), ("b", ["two"]), ("ab", ["one", "two"])):
        graph.add_node(f"m.{name}", kind="model", spec=ModelSpec(name, "m", Path("x.yml"), "SELECT 1", {}), resolved={})
        for source in inputs:
            graph.add_edge(source, f"m.{name}")
        actions.append(Action(f"m.{name}", "model", "update", "upstream changed", "sync", upstream=inputs))
    schedule = _schedule(actions, graph, serial)
    started = schedule.transactions(schedule.ready())
    assert [[a.node for a in g] for g in started] == [["one"], ["two"]]
    formed = []
    for adapter in started:  # "one" commits first, then "two"
        schedule.finished(adapter)
        schedule.complete(adapter[0].node)
        formed += [[a.node for a in g] for g in schedule.transactions(schedule.ready())]
        if formed and not serial and len(formed) == 1:
            schedule.finished([schedule.actions[n] for n in formed[0]])
            for node in formed[0]:
                schedule.complete(node)
    assert formed == waves
