"""Values that must never be printed: the values of the project config's secret fields.

Which fields are secret (see docs/project.md#secrets):

- a field whose schema says `"secret": true` (the `config_schema` of an adapter, storage or database
  plugin marks its passwords, keys and tokens this way); `"secret": false` says a field is not one;
- in connection settings (an adapter's `config:`, project.yml's `storage:` and `database:`), a field
  with no mark whose name says it holds a credential: `password`, `secret`, `token`, `credentials`,
  `connection_string`, `key` or a name ending in `_password`, `_secret`, `_token`, `api_key`,
  `access_key`, `account_key`, `private_key`, ... (`is_secret_name`);
- the password of a URL in any string (`postgresql://user:PASSWORD@host/db`) and the value of a
  `password=` / `pwd=` pair in a connection string.

A secret field's value is a secret, and so is each `$VAR` value substituted into it. Nothing else is:
hosts, ports, paths, query results and the values of other variables are printed as they are.
`redact` masks a secret in every form it may be printed in: as written, quoted and escaped for SQL or
libpq, JSON or Python, URL-encoded and HTML-escaped.
"""

from __future__ import annotations

import html
import json
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus, unquote

MASK = "***"
MIN_LENGTH = 3  # shorter values would mask ordinary text
SECRET_KEYWORD = "secret"  # the JSON Schema annotation that marks (true) or unmarks (false) a field

_values: set[str] = set()
_forms: list[str] = []  # every encoded form of every registered value, longest first
_lock = threading.Lock()


# -- the registry ---------------------------------------------------------------------------------


def register(values: Iterable[str]) -> None:
    with _lock:
        new = {v for v in values if isinstance(v, str) and len(v) >= MIN_LENGTH} - _values
        if not new:
            return
        _values.update(new)
        forms = set(_forms)
        for value in new:
            forms.update(encoded_forms(value))
        _forms[:] = sorted(forms, key=len, reverse=True)


def registered() -> frozenset[str]:
    with _lock:
        return frozenset(_values)


def clear() -> None:
    """Forget every registered value (for tests)."""
    with _lock:
        _values.clear()
        _forms.clear()


def redact(text: str) -> str:
    """`text` with every form of every registered value replaced by "***"."""
    if not text:
        return text
    with _lock:
        forms = list(_forms)
    # longest first, so a secret containing another one (or an escaped form of one) is masked whole
    for form in forms:
        if form in text:
            text = text.replace(form, MASK)
    return text


def redact_values(value: Any) -> Any:
    """`value` (mappings, lists, scalars) with every string, keys included, passed through `redact`;
    other objects become their redacted text, so the result can be written as JSON."""
    if isinstance(value, dict):
        return {redact(str(k)): redact_values(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_values(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return redact(value) if isinstance(value, str) else value
    return redact(str(value))


def _escapes(value: str) -> set[str]:
    """`value` as SQL, libpq, MySQL, shell-ish and identifier quoting would put it between quotes."""
    backslashed = value.replace("\\", "\\\\")
    return {
        value,
        value.replace("'", "''"),  # SQL string literal
        value.replace('"', '""'),  # SQL identifier, CSV
        backslashed.replace("'", "\\'"),  # libpq 'value', MySQL
        value.replace("'", "\\'"),
        backslashed.replace('"', '\\"'),
        value.replace("'", "'\\''"),  # POSIX shell
    }


def _encodings(value: str) -> set[str]:
    """`value` as JSON, Python repr, a URL and HTML would print it."""
    forms = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1], repr(value)[1:-1]}
    for safe in ("", "/", "@:"):
        encoded = quote(value, safe=safe)
        forms.update({encoded, _lower_hex(encoded)})
    forms.add(quote_plus(value, safe=""))
    forms.update({html.escape(value), html.escape(value, quote=False), html.escape(value).replace("&#x27;", "&#39;")})
    return forms


def _lower_hex(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m[0].lower(), text)


def encoded_forms(value: str) -> set[str]:
    """Every text `value` may appear as in a message: escaped, then encoded (and both ways round)."""
    forms: set[str] = set()
    for escaped in _escapes(value):
        forms.update(_encodings(escaped))
    for encoded in _encodings(value):
        forms.update(_escapes(encoded))
    return {f for f in forms if len(f) >= MIN_LENGTH}


# -- which config values are secrets --------------------------------------------------------------

_SECRET_NAME = re.compile(
    r"(?:^|[_-])(?:password|passwd|passphrase|secret|secrets|token|credential|credentials)$"
    r"|^(?:key|pwd|connection[_-]?string|sas)$"
    r"|(?:^|[_-])(?:api|access|account|secret|private|master|encryption|signing|client|auth)[_-]?key$",
    re.IGNORECASE,
)
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
# scheme://user:PASSWORD@host inside a longer text (the user part may be empty)
_URL_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s/@:'\"]*:([^\s/@'\"]+)@")
# password=VALUE, pwd='VALUE' (libpq, ODBC, MySQL and Azure connection strings)
_PAIR_PASSWORD = re.compile(
    r"(?:^|[\s;,?&])(?:password|passwd|pwd|accountkey|sharedaccesssignature)\s*=\s*"
    r"(?:'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"|([^\s;,&]+))",
    re.IGNORECASE,
)


def is_secret_name(name: str) -> bool:
    """Does a field called `name` hold a credential (when its schema does not say)?"""
    return bool(_SECRET_NAME.search(str(name)))


def embedded_credentials(text: str) -> set[str]:
    """Passwords written inside `text`: a URL's (as written and decoded) and `password=` pairs."""
    found: set[str] = set()
    if not isinstance(text, str) or ("://" not in text and "=" not in text):
        return found
    stripped = text.strip()
    if _URL.match(stripped) and not any(c.isspace() for c in stripped):
        netloc = stripped.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
        userinfo, at, _ = netloc.rpartition("@")
        if at and ":" in userinfo:
            password = userinfo.split(":", 1)[1]
            found.update({password, unquote(password)})
    for match in _URL_PASSWORD.finditer(text):
        found.update({match[1], unquote(match[1])})
    for match in _PAIR_PASSWORD.finditer(text):
        quoted = match[1] if match[1] is not None else match[2]
        if quoted is not None:
            found.update({quoted, re.sub(r"\\(.)", r"\1", quoted)})
        else:
            found.add(match[3])
    return found


def secret_values(
    data: Any,
    schema: Mapping | None = None,
    names_in: str | None = None,
    substituted: Mapping[str, Iterable[str]] | None = None,
    path: str = "",
) -> set[str]:
    """The secrets in `data`, the document (or the section of a document at `path`) `schema` checks.

    `names_in`: where unmarked fields named like credentials count as secret: `""` everywhere in
    `data` (project.yml's `storage:` and `database:`), `"config"` under its `config:` key (adapters),
    None nowhere. `substituted`: field path -> the `$VAR` values substituted into that field; those of
    a secret field are secrets too, so `token: Bearer $TOKEN` masks the token wherever it appears.
    """
    found: set[str] = set()
    substituted = substituted or {}
    root = schema if isinstance(schema, Mapping) else None

    def add(value: Any, at: str) -> None:
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            found.add(str(value))
        elif isinstance(value, Mapping):
            for key, item in value.items():
                add(item, f"{at}.{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                add(item, f"{at}[{index}]")
        found.update(substituted.get(at, ()))

    def walk(value: Any, schemas: list[Mapping], at: str, names: bool, depth: int) -> None:
        if isinstance(value, str):
            found.update(embedded_credentials(value))
        elif isinstance(value, Mapping):
            for key, item in value.items():
                subs = _subschemas(schemas, str(key), root)
                child = f"{at}.{key}" if at else str(key)
                mark = _mark(subs)
                named = names and is_secret_name(key) and not isinstance(item, (Mapping, list))
                if mark is True or (mark is None and named):
                    add(item, child)
                    continue
                walk(item, subs, child, names or (depth == 0 and names_in == key), depth + 1)
        elif isinstance(value, list):
            subs = _item_schemas(schemas, root)
            for index, item in enumerate(value):
                walk(item, subs, f"{at}[{index}]", names, depth + 1)

    try:
        walk(data, [root] if root is not None else [], path, names_in == "", 0)
    except Exception:  # a malformed plugin schema (reported by the validation): go by the field names
        if root is None:
            raise
        return secret_values(data, None, names_in, substituted, path)
    return {v for v in found if v}


def _mark(schemas: list[Mapping]) -> bool | None:
    marks = {s.get(SECRET_KEYWORD) for s in schemas if isinstance(s.get(SECRET_KEYWORD), bool)}
    if True in marks:
        return True
    return False if marks else None


def _expand(schema: Any, root: Mapping | None, depth: int = 0) -> list[Mapping]:
    """`schema` and every subschema that applies to the same value (combinators, conditionals, $ref)."""
    if not isinstance(schema, Mapping) or depth > 20:
        return []
    out = [schema]
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/") and root is not None:
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(target, Mapping) else None
        out.extend(_expand(target, root, depth + 1))
    for key in ("allOf", "anyOf", "oneOf"):
        for variant in schema.get(key) or []:
            out.extend(_expand(variant, root, depth + 1))
    for key in ("then", "else"):
        out.extend(_expand(schema.get(key), root, depth + 1))
    for dependent in (schema.get("dependentSchemas") or {}).values():
        out.extend(_expand(dependent, root, depth + 1))
    return out


def _subschemas(schemas: list[Mapping], key: str, root: Mapping | None) -> list[Mapping]:
    found: list[Mapping] = []
    for schema in schemas:
        for s in _expand(schema, root):
            properties = s.get("properties")
            if isinstance(properties, Mapping) and key in properties:
                found.extend(_expand(properties[key], root))
                continue
            for pattern, sub in (s.get("patternProperties") or {}).items():
                try:
                    if re.search(pattern, key):
                        found.extend(_expand(sub, root))
                except re.error:
                    pass
            if isinstance(s.get("additionalProperties"), Mapping):
                found.extend(_expand(s["additionalProperties"], root))
    return found


def _item_schemas(schemas: list[Mapping], root: Mapping | None) -> list[Mapping]:
    found: list[Mapping] = []
    for schema in schemas:
        for s in _expand(schema, root):
            if isinstance(s.get("items"), Mapping):
                found.extend(_expand(s["items"], root))
            for sub in s.get("prefixItems") or []:
                found.extend(_expand(sub, root))
    return found
