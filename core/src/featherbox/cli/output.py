"""Printing for humans (rich on a terminal, plain lines otherwise) and for machines (--json)."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer

from featherbox.secrets import redact


def is_tty() -> bool:
    return sys.stdout.isatty()


def echo(text: str = "", err: bool = False) -> None:
    typer.echo(redact(text), err=err)


def emit_json(payload: Any) -> None:
    """JSON with secrets redacted inside string values, so the output stays valid JSON."""
    typer.echo(json.dumps(_redacted(payload), indent=2, sort_keys=True, default=str))


def _redacted(value: Any) -> Any:
    if isinstance(value, dict):
        return {redact(str(k)): _redacted(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redacted(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return redact(value) if isinstance(value, str) else value
    return redact(str(value))


def table(headers: list[str], rows: list[list[Any]], title: str | None = None) -> None:
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    if is_tty():
        from rich.console import Console
        from rich.table import Table

        t = Table(title=title, show_lines=False)
        for h in headers:
            t.add_column(h)
        for row in cells:
            t.add_row(*[redact(c) for c in row])
        Console().print(t)
        return
    if title:
        echo(title)
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    echo("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    for row in cells:
        echo("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
