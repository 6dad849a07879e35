"""Printing for humans (rich on a terminal, plain lines otherwise) and for machines (--json).

Messages, logs and reports are redacted (every form of a secret field's value becomes `***`, see
featherbox.secrets); data is not: `fbox query` prints its result with `redact=False`."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer

from featherbox.secrets import redact as _redact, redact_values


def is_tty() -> bool:
    return sys.stdout.isatty()


def echo(text: str = "", err: bool = False) -> None:
    typer.echo(_redact(text), err=err)


def emit_json(payload: Any, redact: bool = True, sort_keys: bool = True) -> None:
    """JSON with secrets redacted inside string values (so the output stays valid JSON), unless
    `redact` is False (query results: data is printed as it is); `sort_keys` False keeps the
    order of each mapping (a query's columns)."""
    payload = redact_values(payload) if redact else payload
    typer.echo(json.dumps(payload, indent=2, sort_keys=sort_keys, default=str))


def table(headers: list[str], rows: list[list[Any]], title: str | None = None, redact: bool = True) -> None:
    """Aligned columns (a rich table on a terminal); cells are redacted unless `redact` is False."""
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    shown = _redact if redact else (lambda text: text)
    if is_tty():
        from rich.console import Console
        from rich.table import Table

        t = Table(title=title, show_lines=False)
        for h in headers:
            t.add_column(h)
        for row in cells:
            t.add_row(*[shown(c) for c in row])
        Console().print(t)
        return
    if title:
        echo(title)
    cells = [[shown(c) for c in row] for row in cells]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    typer.echo(shown("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()))
    for row in cells:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
