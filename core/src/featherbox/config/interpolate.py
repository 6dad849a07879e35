"""`$VAR` / `${VAR}` in config strings, from os.environ and the project's `.env` (`$$` is a literal `$`)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from featherbox.errors import ConfigIssue

DOTENV_NAME = ".env"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# `$$` | `${...}` | `${` never closed | `$NAME`; any other `$` (like `$1` in SQL) stays as it is
_REFERENCE = re.compile(r"\$(?:(?P<escape>\$)|\{(?P<braced>[^}]*)\}|(?P<open>\{)|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))")
_DOUBLE_QUOTE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


@dataclass
class Environment:
    """Where `$VAR`s come from. `used` collects every value substituted, `substituted` the values
    substituted into each field ((file, field path) -> values): a value is a secret only when the
    field it went into is a secret field (featherbox.secrets), not because it came from a variable."""

    values: Mapping[str, str]
    dotenv: Path | None = None
    used: set[str] = field(default_factory=set)
    substituted: dict[tuple[Path, str], list[str]] = field(default_factory=dict)


def project_environment(root: Path) -> tuple[Environment, list[ConfigIssue]]:
    """os.environ over the variables of `<root>/.env` (the environment wins)."""
    path = root / DOTENV_NAME
    dotenv, issues = read_dotenv(path) if path.is_file() else ({}, [])
    return Environment({**dotenv, **os.environ}, path), issues


def read_dotenv(path: Path) -> tuple[dict[str, str], list[ConfigIssue]]:
    """KEY=VALUE lines; `#` starts a comment; values may be quoted; `export ` prefixes are allowed."""
    values: dict[str, str] = {}
    issues: list[ConfigIssue] = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return values, [ConfigIssue(path, "", f"cannot read the file: {exc}")]
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, rest = line.partition("=")
        key = key.strip()
        if not sep or not _NAME.fullmatch(key):
            issues.append(ConfigIssue(path, key if sep else "", "expected a line like NAME=value", number))
            continue
        try:
            values[key] = _dotenv_value(rest.strip())
        except ValueError as exc:
            issues.append(ConfigIssue(path, key, str(exc), number))
    return values, issues


def _dotenv_value(text: str) -> str:
    if text[:1] in ("'", '"'):
        quote = text[0]
        out, i = [], 1
        while i < len(text):
            char = text[i]
            if quote == '"' and char == "\\" and i + 1 < len(text):
                out.append(_DOUBLE_QUOTE_ESCAPES.get(text[i + 1], "\\" + text[i + 1]))
                i += 2
                continue
            if char == quote:
                trailing = text[i + 1 :].strip()
                if trailing and not trailing.startswith("#"):
                    raise ValueError(f"unexpected text after the closing quote: {trailing!r}")
                return "".join(out)
            out.append(char)
            i += 1
        raise ValueError(f"the value opens a {quote} quote that is never closed")
    # an unquoted value ends at a ` #` comment; a `#` inside a word (like a password) is kept
    return re.split(r"\s+#", text, maxsplit=1)[0].rstrip()


def interpolate(data: Any, env: Environment, file: Path, lines: Mapping[str, int]) -> tuple[Any, list[ConfigIssue]]:
    """`data` with every string scalar substituted; keys are left alone."""
    issues: list[ConfigIssue] = []

    def walk(value: Any, path: str) -> Any:
        if isinstance(value, str):
            found: list[str] = []
            text = substitute(value, env, lambda message: issues.append(ConfigIssue(file, path, message, lines.get(path))), found)
            if found:
                env.substituted.setdefault((file, path), []).extend(found)
            return text
        if isinstance(value, dict):
            return {key: walk(item, f"{path}.{key}" if path else str(key)) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item, f"{path}[{index}]") for index, item in enumerate(value)]
        return value

    return walk(data, ""), issues


def substitute(text: str, env: Environment, report, found: list[str] | None = None) -> str:
    """`text` with its references replaced; each problem goes to `report(message)`, each value
    substituted to `found`."""
    if "$" not in text:
        return text

    def replace(match: re.Match) -> str:
        if match["escape"]:
            return "$"
        if match["open"]:
            report("`${` is never closed with `}`; write `$$` for a literal `$`")
            return match[0]
        name = match["braced"] if match["braced"] is not None else match["bare"]
        if not _NAME.fullmatch(name):
            report(f"`${{{name}}}` is not a valid variable name (letters, digits and _); write `$$` for a literal `$`")
            return match[0]
        if name not in env.values:
            where = f" or in {env.dotenv}" if env.dotenv else ""
            report(f"environment variable {name} is not set; set it in the environment{where}")
            return match[0]
        value = env.values[name]
        env.used.add(value)
        if found is not None:
            found.append(value)
        return value

    return _REFERENCE.sub(replace, text)
