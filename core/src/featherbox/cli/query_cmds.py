"""`fbox query`: SQL against the lake."""

from __future__ import annotations

import typer

from featherbox.cli.output import echo, emit_json, table


def register(app: typer.Typer) -> None:
    app.command("query")(query)


#: statement types that return rows; in csv/json output only the last statement's rows are printed,
#: so such a statement anywhere before it is refused (its rows would be lost)
_QUERIES = ("SELECT", "EXPLAIN", "PRAGMA", "CALL", "EXECUTE", "RELATION")


def query(
    ctx: typer.Context,
    sql: str = typer.Argument(..., help="The SQL to run; tables are `schema.table` as in models. Several statements run in order."),
    fmt: str = typer.Option("table", "--format", "-f", help="table (each statement's result), csv or json (one result)."),
    as_json: bool = typer.Option(False, "--json", help="Same as --format json."),
    limit: int = typer.Option(1000, "--limit", help="At most this many rows in table format (0: all)."),
) -> None:
    """Run SQL against the project's DuckLake and print the result."""
    import duckdb

    from featherbox.errors import FeatherBoxError
    from featherbox.execute.lake import NO_LAKE_DATA_PATH
    from featherbox.sql import metadata_prefix

    fmt = "json" if as_json else fmt
    if fmt not in ("table", "csv", "json"):
        raise FeatherBoxError(f"--format must be table, csv or json, not {fmt!r}")
    ws = ctx.obj.workspace()
    con = ws.open_lake(for_writing=False, read_only=False)  # the SQL may write; a project that never ran gets no catalog
    no_lake = " (this project has no lake yet: `fbox run` creates it)" if ws.lake_missing else ""
    results = []
    try:
        schemas = [r[0] for r in con.execute(
            "SELECT schema_name FROM duckdb_schemas() WHERE database_name = 'lake' AND schema_name NOT LIKE '\\_fbox%' ESCAPE '\\'"
        ).fetchall()]
        con.execute("SET search_path = " + "'" + ",".join(f"lake.{s}" for s in ["main", *[s for s in schemas if s != "main"]]) + "'")
        try:
            statements = con.extract_statements(sql)
        except duckdb.Error as exc:
            raise FeatherBoxError(f"query failed: {exc}") from exc
        if not statements:
            raise FeatherBoxError("the SQL holds no statement")
        if fmt != "table":
            earlier = [n for n, statement in enumerate(statements[:-1], 1) if statement.type.name in _QUERIES]
            if earlier:
                which = ", ".join(map(str, earlier))
                raise FeatherBoxError(
                    f"--format {fmt} prints the result of one statement, the last, but statement{'s' if len(earlier) > 1 else ''} "
                    f"{which} of {len(statements)} also return{'' if len(earlier) > 1 else 's'} rows; run them as separate "
                    "`fbox query` calls, or use --format table, which shows each statement's result (nothing was run)"
                )
        for n, statement in enumerate(statements, 1):
            where = f" (statement {n} of {len(statements)})" if len(statements) > 1 else ""
            try:
                cursor = con.execute(statement)
            except duckdb.Error as exc:
                if ws.lake_missing and NO_LAKE_DATA_PATH in str(exc):  # it tried to write data files
                    raise FeatherBoxError(
                        f"query failed{where}: this project has no lake yet, so nothing can be written into it; `fbox run` creates it"
                    ) from None
                raise FeatherBoxError(f"query failed{where}: {exc}{no_lake}{_moved_hint(con, str(exc))}") from exc
            headers = [d[0] for d in cursor.description] if cursor.description else []
            results.append((statement, headers, cursor.fetchall() if headers else []))
        if ws.lake_missing and con.execute(
            f"SELECT max(snapshot_id) FROM {metadata_prefix(ws.backends.database)}.ducklake_snapshot"
        ).fetchone()[0]:
            raise FeatherBoxError(
                "this project has no lake yet, so what the SQL wrote into it was not kept; `fbox run` creates the lake"
            )
    finally:
        con.close()
    if fmt == "json":
        _statement, headers, rows = results[-1]
        emit_json([dict(zip(headers, row)) for row in rows], redact=False, sort_keys=False)  # data as it is, columns in order
    elif fmt == "csv":
        import csv
        import sys

        _statement, headers, rows = results[-1]
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows(rows)
    else:
        for n, (statement, headers, rows) in enumerate(results, 1):
            if len(results) > 1:
                text = " ".join(statement.query.split())
                echo(("" if n == 1 else "\n") + f"-- {n}: {text if len(text) <= 72 else text[:69] + '...'}")
            _print_table(statement, headers, rows, limit)


def _print_table(statement, headers: list[str], rows: list, limit: int) -> None:
    """A statement's rows; a statement that only reports success (SET, CREATE, INSERT) prints OK."""
    if not headers or (statement.type.name not in _QUERIES and headers in (["Success"], ["Count"])):
        count = rows[0][0] if headers == ["Count"] and rows else None
        echo("OK" if count is None else f"OK ({count} row{'' if count == 1 else 's'})")
        return
    shown = rows if not limit else rows[:limit]
    table(headers, [list(r) for r in shown], redact=False)
    if len(shown) < len(rows):
        echo(f"({len(rows)} rows, {len(shown)} shown; --limit 0 for all)")


def _moved_hint(con, error: str) -> str:
    """For a table missing under an adapter's old name (`app_db.users`, `main.app_logs`): where
    adapters' tables are now (featherbox.layout)."""
    import re

    import duckdb

    from featherbox.sql import quote_table
    from featherbox.layout import current_name

    found = re.search(r'Table with name "?([A-Za-z_][\w]*)\.([^"\s]+?)"? does not exist', error)
    if found is None:
        found = re.search(r'Table with name "?([^"\s.]+)"? does not exist', error)
        schema, table = ("main", found.group(1)) if found else (None, None)
    else:
        schema, table = found.groups()
    if schema is None:
        return ""
    moved = current_name(schema, table)
    try:
        con.execute(f"SELECT 1 FROM lake.{quote_table(moved)} LIMIT 0")
    except duckdb.Error:
        return ""
    return f"\n(adapters' tables are in their own schemas: the adapter's table is {moved})"
