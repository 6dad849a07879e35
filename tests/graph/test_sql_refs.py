import pytest

from featherbox.graph.sql_refs import normalized_fingerprint, table_references


def refs(sql):
    return table_references(sql)


def test_plain_and_qualified_names_are_lowercased():
    assert refs("SELECT * FROM Users") == {(None, "users")}
    assert refs("SELECT * FROM App_DB.Users") == {("app_db", "users")}


def test_catalog_qualified_name_keeps_schema_and_table():
    assert refs("SELECT * FROM lake.staging.orders") == {("staging", "orders")}


def test_join_chain():
    sql = """
        SELECT * FROM a
        JOIN s.b ON a.id = b.id
        LEFT JOIN c USING (id)
        CROSS JOIN d
    """
    assert refs(sql) == {(None, "a"), ("s", "b"), (None, "c"), (None, "d")}


def test_union_all_of_two_tables():
    assert refs("SELECT id FROM a UNION ALL SELECT id FROM b") == {(None, "a"), (None, "b")}


def test_intersect_and_except():
    sql = "SELECT id FROM a INTERSECT SELECT id FROM b EXCEPT SELECT id FROM c"
    assert refs(sql) == {(None, "a"), (None, "b"), (None, "c")}


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM a WHERE id IN (SELECT id FROM b)",
        "SELECT * FROM a WHERE EXISTS (SELECT 1 FROM b WHERE b.id = a.id)",
        "SELECT * FROM a WHERE x > (SELECT max(x) FROM b)",
        "SELECT a.*, (SELECT count(*) FROM b) AS n FROM a",
        "SELECT * FROM (SELECT * FROM (SELECT * FROM b)) JOIN a ON true",
        "SELECT * FROM a ORDER BY (SELECT min(x) FROM b)",
    ],
)
def test_subqueries_anywhere(sql):
    assert refs(sql) == {(None, "a"), (None, "b")}


def test_table_functions_are_not_tables():
    sql = "SELECT * FROM read_csv('x.csv') r, range(10) t, a"
    assert refs(sql) == {(None, "a")}


def test_subquery_inside_table_function_argument_is_seen():
    assert refs("SELECT * FROM range((SELECT max(n) FROM a))") == {(None, "a")}


def test_cte_name_is_not_a_dependency():
    sql = "WITH recent AS (SELECT * FROM orders) SELECT * FROM recent"
    assert refs(sql) == {(None, "orders")}


def test_cte_shadowing_a_real_table():
    # Inside its own body a (non-recursive) CTE named `users` reads the real table;
    # the outer query's `users` is the CTE.
    sql = "WITH users AS (SELECT * FROM users WHERE active) SELECT * FROM users"
    assert refs(sql) == {(None, "users")}
    sql = "WITH users AS (SELECT 1 AS id) SELECT * FROM users"
    assert refs(sql) == set()


def test_cte_shadowing_does_not_leak_out_of_its_scope():
    sql = """
        SELECT * FROM (WITH users AS (SELECT 1 AS id) SELECT * FROM users) x
        JOIN users ON users.id = x.id
    """
    assert refs(sql) == {(None, "users")}


def test_qualified_name_is_never_a_cte():
    sql = "WITH users AS (SELECT 1 AS id) SELECT * FROM users JOIN app.users u USING (id)"
    assert refs(sql) == {("app", "users")}


def test_cte_sees_only_ctes_defined_before_it():
    sql = "WITH a AS (SELECT * FROM b), b AS (SELECT 1 AS id) SELECT * FROM a, b"
    assert refs(sql) == {(None, "b")}
    sql = "WITH b AS (SELECT 1 AS id), a AS (SELECT * FROM b) SELECT * FROM a"
    assert refs(sql) == set()


def test_nested_cte():
    sql = """
        WITH outer_cte AS (
            WITH inner_cte AS (SELECT * FROM raw.events)
            SELECT * FROM inner_cte JOIN users USING (user_id)
        )
        SELECT * FROM outer_cte
        WHERE user_id NOT IN (SELECT user_id FROM inner_cte)
    """
    # `inner_cte` is out of scope in the outer query, so there it names a real table
    assert refs(sql) == {("raw", "events"), (None, "users"), (None, "inner_cte")}


def test_cte_body_inside_set_operation():
    sql = "WITH a AS (SELECT * FROM t) SELECT * FROM a UNION ALL SELECT * FROM b"
    assert refs(sql) == {(None, "t"), (None, "b")}


def test_recursive_cte():
    sql = """
        WITH RECURSIVE tree AS (
            SELECT id, parent_id FROM nodes WHERE parent_id IS NULL
            UNION ALL
            SELECT n.id, n.parent_id FROM nodes n JOIN tree ON n.parent_id = tree.id
        )
        SELECT * FROM tree
    """
    assert refs(sql) == {(None, "nodes")}


def test_from_first_syntax():
    assert refs("FROM a SELECT id") == {(None, "a")}


def test_parse_error_names_the_line():
    with pytest.raises(ValueError, match=r"line 3.*syntax error"):
        refs("SELECT *\nFROM a\nWHERE AND x")


def test_non_select_is_rejected():
    with pytest.raises(ValueError, match="single SELECT"):
        refs("DROP TABLE users")
    with pytest.raises(ValueError, match="single SELECT"):
        refs("INSERT INTO t SELECT 1")


def test_several_statements_are_rejected():
    with pytest.raises(ValueError, match="2 statements"):
        refs("SELECT 1; SELECT 2")


def test_empty_sql_is_rejected():
    with pytest.raises(ValueError, match="empty"):
        refs("  -- nothing here\n")


def test_importing_does_not_import_duckdb():
    import subprocess
    import sys

    code = (
        "import sys, featherbox.graph; "
        "before = 'duckdb' in sys.modules; "
        "import featherbox.graph.sql_refs; "
        "sys.exit(2 if before else 1 if 'duckdb' in sys.modules else 0)"
    )
    returncode = subprocess.run([sys.executable, "-c", code]).returncode
    if returncode == 2:
        pytest.skip("a parent package already imports duckdb")
    assert returncode == 0


BASE = "SELECT id, amount * 2 AS doubled FROM orders WHERE status = 'paid'"


def test_fingerprint_ignores_whitespace_and_comments():
    edited = """
        -- doubled amounts of paid orders
        SELECT id,
               amount * 2 AS doubled   /* inline */
        FROM   orders
        WHERE  status = 'paid'
    """
    assert normalized_fingerprint(edited) == normalized_fingerprint(BASE)


@pytest.mark.parametrize(
    "edited",
    [
        BASE.replace("'paid'", "'open'"),
        BASE.replace("* 2", "* 3"),
        BASE.replace("SELECT id,", "SELECT order_id,"),
        BASE.replace("doubled", "twice"),
        BASE.replace("FROM orders", "FROM sales.orders"),
    ],
)
def test_fingerprint_changes_with_any_real_edit(edited):
    assert normalized_fingerprint(edited) != normalized_fingerprint(BASE)


def test_fingerprint_is_a_sha256_hex_digest():
    fingerprint = normalized_fingerprint(BASE)
    assert len(fingerprint) == 64
    int(fingerprint, 16)
