"""Fixtures shared by every test folder; command-line helpers live in `fboxcli`."""

from __future__ import annotations

import os

import pytest

from dbservers import my, pg  # noqa: F401  (fixtures: a fresh database per test)


@pytest.fixture
def ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")
