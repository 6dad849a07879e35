"""`fbox query`: SQL against the lake."""

from __future__ import annotations

import typer

from featherbox.cli.output import echo, emit_json, table


def register(app: typer.Typer) -> None:
    app.command("query")(query)


def query(
    sql: str = typer.Argument(..., help="The SQL to run; tables are `schema.table` as in models."),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json."),
    as_json: bool = typer.Option(False, "--json", help="Same as --format json."),
    limit: int = typer.Option(1000, "--limit", help="At most this many rows in table format (0: all)."),
) -> None:
    """Run SQL against the project's DuckLake and print the result."""
    import duckdb

    from featherbox.cli.app import workspace
    from featherbox.errors import FeatherBoxError

    fmt = "json" if as_json else fmt
    if fmt not in ("table", "csv", "json"):
        raise FeatherBoxError(f"--format must be table, csv or json, not {fmt!r}")
    ws = workspace()
    con = ws.open_lake()
    try:
        schemas = [r[0] for r in con.execute(
            "SELECT schema_name FROM duckdb_schemas() WHERE database_name = 'lake' AND schema_name NOT LIKE '\\_fbox%' ESCAPE '\\'"
        ).fetchall()]
        con.execute("SET search_path = " + "'" + ",".join(f"lake.{s}" for s in ["main", *[s for s in schemas if s != "main"]]) + "'")
        try:
            cursor = con.execute(sql)
        except duckdb.Error as exc:
            raise FeatherBoxError(f"query failed: {exc}") from exc
        if cursor.description is None:
            echo("OK")
            return
        headers = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    finally:
        con.close()
    if fmt == "json":
        emit_json([dict(zip(headers, row)) for row in rows], redact=False)  # data is printed as it is
    elif fmt == "csv":
        import csv
        import sys

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows(rows)
    else:
        shown = rows if not limit else rows[:limit]
        table(headers, [list(r) for r in shown], redact=False)
        if len(shown) < len(rows):
            echo(f"({len(rows)} rows, {len(shown)} shown; --limit 0 for all)")
