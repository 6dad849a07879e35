"""featherbox.secrets: which config values are secrets, and every form of one is masked."""

from __future__ import annotations

import json
import re
from urllib.parse import quote, quote_plus

import pytest

from featherbox import secrets


@pytest.fixture(autouse=True)
def _empty_registry():
    secrets.clear()
    yield
    secrets.clear()


def test_every_encoded_form_of_a_secret_is_masked():
    value = "it's a \"pw\"\\x&y"
    secrets.register([value])
    printed = [
        value,
        value.replace("'", "''"),  # SQL literal
        value.replace("\\", "\\\\").replace("'", "\\'"),  # libpq / MySQL
        json.dumps(value)[1:-1],
        repr(value)[1:-1],
        quote(value, safe=""),
        re.sub(r"%[0-9A-F]{2}", lambda m: m[0].lower(), quote(value, safe="")),
        quote_plus(value),
        "it&#x27;s a &quot;pw&quot;\\x&amp;y",  # HTML
    ]
    for text in printed:
        assert secrets.redact(f"<{text}>") == "<***>", text
    assert secrets.registered() == frozenset({value})


def test_names_that_hold_credentials():
    for name in ("password", "db_password", "PASSWORD", "secret", "client_secret", "token", "sas_token",
                 "api_key", "apikey", "access_key", "secret_key", "account_key", "private_key", "key",
                 "connection_string", "credentials"):
        assert secrets.is_secret_name(name), name
    for name in ("host", "port", "user", "region", "path", "base_path", "primary_key", "unique_key",
                 "sort_key", "token_file", "password_file", "keyspace", "tables"):
        assert not secrets.is_secret_name(name), name


def test_credentials_written_into_urls_and_connection_strings():
    assert secrets.embedded_credentials("postgresql://bob:it%27s@db:5432/app") == {"it%27s", "it's"}
    assert secrets.embedded_credentials("SELECT * FROM read_csv('https://bob:pw-123@host/x.csv')") == {"pw-123"}
    assert secrets.embedded_credentials("host=db password='it\\'s' user=bob") == {"it\\'s", "it's"}
    assert secrets.embedded_credentials("AccountName=a;AccountKey=abc/12==;EndpointSuffix=x") == {"abc/12=="}
    assert secrets.embedded_credentials("postgresql://bob@db/app") == set()
    assert secrets.embedded_credentials("us-east-1") == set()


def test_schema_marks_decide_and_names_fill_in():
    schema = {
        "type": "object",
        "$defs": {"hidden": {"type": "string", "secret": True}},
        "properties": {
            "type": {"const": "x"},
            "config": {
                "type": "object",
                "properties": {
                    "passage": {"$ref": "#/$defs/hidden"},
                    "token": {"type": "string", "secret": False},
                    "nested": {"type": "array", "items": {"type": "object", "properties": {"pin": {"secret": True}}}},
                },
                "anyOf": [{"properties": {"either": {"type": "string", "secret": True}}}],
            },
            "path": {"type": "string"},
        },
    }
    data = {
        "type": "x",
        "path": "/home/alice/data",
        "config": {"passage": "p-1", "token": "anon", "either": "e-1", "api_key": "k-1", "region": "us-east-1",
                   "nested": [{"pin": 1234}], "url": "https://bob:u-1@host/"},
    }
    found = secrets.secret_values(data, schema, names_in="config", substituted={"config.passage": ["v-1"]})
    assert found == {"p-1", "v-1", "e-1", "k-1", "1234", "u-1"}
    # no schema: names only, and only where asked
    assert secrets.secret_values({"password": "pw-1", "host": "h"}, None, names_in="") == {"pw-1"}
    assert secrets.secret_values({"password": "pw-1"}, None, names_in=None) == set()
    # a malformed plugin schema falls back to the names
    assert secrets.secret_values({"config": {"password": "pw-1"}}, {"properties": 3}, names_in="config") == {"pw-1"}
