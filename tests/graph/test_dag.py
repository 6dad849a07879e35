from pathlib import Path

import pytest

from featherbox.config.project import ModelSpec
from featherbox.errors import FeatherBoxError, GraphError
from featherbox.graph.dag import AdapterNode, ModelNode, build_graph, node_of, nodes_of, downstream, topological_order, upstream
from featherbox.graph.select import select_nodes

ADAPTERS = {"app_db": ["app_db.users", "app_db.orders"], "events": ["events.clicks"]}


def model(qualified, sql):
    schema, name = qualified.split(".")
    return ModelSpec(
        name=name, schema=schema, file=Path(f"models/{schema}/{name}.yml"), sql=sql, raw={}
    )


def models(*specs):
    return {spec.qualified: spec for spec in specs}


def graph_of(*specs, adapters=ADAPTERS):
    return build_graph(adapters, models(*specs))


@pytest.fixture
def graph():
    return graph_of(
        model("staging.users", "SELECT * FROM users"),
        model("staging.orders", "SELECT * FROM app_db.orders"),
        model("marts.user_orders", "SELECT * FROM staging.users JOIN staging.orders USING (id)"),
        model("marts.clicks", "SELECT * FROM clicks"),
        model("reports.summary", "SELECT * FROM user_orders, marts.clicks"),
    )


def test_nodes_are_typed(graph):
    assert node_of(graph, "app_db") == AdapterNode("app_db", ADAPTERS["app_db"])
    assert node_of(graph, "app_db").kind == "adapter"
    node = node_of(graph, "staging.users")
    assert isinstance(node, ModelNode) and node.kind == "model"
    assert node.spec.qualified == node.name == "staging.users" and node.tables == ["staging.users"]
    assert {n.name for n in nodes_of(graph)} == set(graph.nodes)


def test_unqualified_and_qualified_resolution(graph):
    assert node_of(graph, "staging.users").resolved == {"users": "app_db.users"}
    assert node_of(graph, "staging.orders").resolved == {"app_db.orders": "app_db.orders"}
    assert node_of(graph, "reports.summary").resolved == {
        "user_orders": "marts.user_orders",
        "marts.clicks": "marts.clicks",
    }
    assert set(graph.edges) == {
        ("app_db", "staging.users"),
        ("app_db", "staging.orders"),
        ("staging.users", "marts.user_orders"),
        ("staging.orders", "marts.user_orders"),
        ("events", "marts.clicks"),
        ("marts.user_orders", "reports.summary"),
        ("marts.clicks", "reports.summary"),
    }


def test_catalog_qualified_reference_resolves():
    g = graph_of(model("staging.users", "SELECT * FROM lake.app_db.users"))
    assert node_of(g, "staging.users").resolved == {"app_db.users": "app_db.users"}
    assert ("app_db", "staging.users") in g.edges


def test_cte_is_not_an_edge():
    g = graph_of(model("s.x", "WITH clicks AS (SELECT * FROM users) SELECT * FROM clicks"))
    assert set(g.predecessors("s.x")) == {"app_db"}


def test_upstream_downstream_and_order(graph):
    assert upstream(graph, "marts.user_orders") == {"app_db", "staging.users", "staging.orders"}
    assert downstream(graph, "staging.users") == {"marts.user_orders", "reports.summary"}
    assert downstream(graph, "reports.summary") == set()
    order = topological_order(graph)
    assert order == [
        "app_db",
        "events",
        "marts.clicks",
        "staging.orders",
        "staging.users",
        "marts.user_orders",
        "reports.summary",
    ]
    assert order == topological_order(graph)


def test_unknown_table_with_suggestion():
    with pytest.raises(GraphError) as info:
        graph_of(model("staging.x", "SELECT * FROM userz"))
    message = str(info.value)
    assert "unknown table 'userz' in model staging.x (models/staging/x.yml)" in message
    assert "did you mean app_db.users?" in message


def test_unknown_qualified_table_with_suggestion():
    expected = r"unknown table 'app_db.order'.*did you mean app_db.orders"
    with pytest.raises(GraphError, match=expected):
        graph_of(model("staging.x", "SELECT * FROM app_db.order"))


def test_unknown_table_without_anything_close():
    with pytest.raises(GraphError) as info:
        graph_of(model("staging.x", "SELECT * FROM zzzzzz"))
    assert "did you mean" not in str(info.value)


def test_ambiguous_table_lists_candidates():
    with pytest.raises(GraphError) as info:
        graph_of(
            model("staging.users", "SELECT * FROM app_db.users"),
            model("staging.x", "SELECT * FROM users"),
        )
    assert (
        "ambiguous table 'users' in model staging.x (models/staging/x.yml): "
        "could be app_db.users, staging.users; qualify it"
    ) in str(info.value)


def test_model_named_like_its_source_reads_the_source():
    g = graph_of(model("staging.users", "SELECT * FROM users"))
    assert node_of(g, "staging.users").resolved == {"users": "app_db.users"}


def test_cycle_error_gives_the_path():
    with pytest.raises(GraphError, match=r"cycle: a\.x -> b\.y -> a\.x"):
        graph_of(model("a.x", "SELECT * FROM b.y"), model("b.y", "SELECT * FROM x"))


def test_self_reference_is_refused():
    with pytest.raises(GraphError, match=r"model a\.x reads itself \('a\.x'\)"):
        graph_of(model("a.x", "SELECT * FROM a.x"))
    with pytest.raises(GraphError, match=r"cycle: a\.x -> a\.x"):
        graph_of(model("a.x", "SELECT * FROM x"))


def test_a_model_named_like_the_source_table_it_cleans():
    """The spec's tree: adapter app_db (tables users, orders) and models/app_db/users.yml, orders.yml."""
    adapters = {"app_db": ["raw_app_db.users", "raw_app_db.orders"]}
    models = {
        "app_db.users": model("app_db.users", "SELECT id, lower(email) AS email FROM users"),
        "app_db.orders": model("app_db.orders", "SELECT * FROM raw_app_db.orders WHERE amount > 0"),
        "marts.spend": model("marts.spend", "SELECT u.email, sum(o.amount) FROM app_db.users u JOIN app_db.orders o USING (id) GROUP BY 1"),
    }
    g = build_graph(adapters, models)
    assert node_of(g, "app_db.users").resolved == {"users": "raw_app_db.users"}
    assert sorted(g.predecessors("marts.spend")) == ["app_db.orders", "app_db.users"]
    with pytest.raises(GraphError) as info:  # the adapter's table by the model's own name
        build_graph(adapters, {"app_db.users": model("app_db.users", "SELECT * FROM app_db.users")})
    assert "reads itself ('app_db.users')" in str(info.value) and "write raw_app_db.users" in str(info.value)
    assert "cycle" not in str(info.value)


def test_an_adapter_table_by_its_layout_1_name_says_where_it_is_now():
    adapters = {"app_db": ["raw_app_db.users"], "app_logs": ["raw.app_logs"]}
    with pytest.raises(GraphError) as info:
        build_graph(adapters, {"m.x": model("m.x", "SELECT * FROM app_db.users, main.app_logs")})
    assert "'app_db.users'" in str(info.value) and "write raw_app_db.users" in str(info.value)
    assert "'main.app_logs'" in str(info.value) and "write raw.app_logs" in str(info.value)


def test_parse_error_names_model_and_file():
    with pytest.raises(GraphError) as info:
        graph_of(model("a.x", "SELECT * FROM\nWHERE"))
    message = str(info.value)
    assert "model a.x (models/a/x.yml)" in message
    assert "syntax error" in message


def test_all_problems_reported_together():
    with pytest.raises(GraphError) as info:
        graph_of(
            model("a.bad", "SELEC 1"),
            model("a.unknown", "SELECT * FROM nope"),
            model("a.drop", "DROP TABLE users"),
            model("b.p", "SELECT * FROM b.q"),
            model("b.q", "SELECT * FROM b.p"),
        )
    lines = str(info.value).splitlines()
    assert lines[0] == "4 problems in the model graph:"
    body = "\n".join(lines[1:])
    assert "model a.bad" in body and "syntax error" in body
    assert "unknown table 'nope' in model a.unknown" in body
    assert "model a.drop" in body and "single SELECT" in body
    assert "cycle: b.p -> b.q -> b.p" in body
    assert len(lines) == 5


def test_table_produced_twice_is_an_error():
    with pytest.raises(GraphError, match="app_db.users is produced by more than one of"):
        graph_of(model("app_db.users", "SELECT 1"))


def test_selectors(graph):
    assert select_nodes(graph, []) == set(graph.nodes)
    assert select_nodes(graph, ["user_orders"]) == {"marts.user_orders"}
    assert select_nodes(graph, ["+marts.user_orders"]) == {
        "marts.user_orders",
        "staging.users",
        "staging.orders",
        "app_db",
    }
    assert select_nodes(graph, ["staging.users+"]) == {
        "staging.users",
        "marts.user_orders",
        "reports.summary",
    }
    assert select_nodes(graph, ["+clicks+"]) == {"events", "marts.clicks", "reports.summary"}
    assert select_nodes(graph, ["events+", "staging.orders"]) == {
        "events",
        "marts.clicks",
        "reports.summary",
        "staging.orders",
    }


def test_adapter_selector(graph):
    assert select_nodes(graph, ["app_db"]) == {"app_db"}


def test_ambiguous_bare_selector():
    g = graph_of(
        model("staging.orders", "SELECT * FROM app_db.orders"),
        model("marts.orders", "SELECT * FROM staging.orders"),
    )
    with pytest.raises(FeatherBoxError, match="ambiguous: could be marts.orders, staging.orders"):
        select_nodes(g, ["orders"])
    assert select_nodes(g, ["marts.orders"]) == {"marts.orders"}


def test_unknown_selector_suggests(graph):
    expected = "no adapter or model named 'user_order'.*did you mean .*user_orders"
    with pytest.raises(FeatherBoxError, match=expected):
        select_nodes(graph, ["user_order+"])


def test_empty_selector_is_rejected(graph):
    with pytest.raises(FeatherBoxError, match="empty selector"):
        select_nodes(graph, ["+"])
