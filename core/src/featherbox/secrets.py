"""Values that must never be printed: everything the project config took from the environment."""

from __future__ import annotations

import threading
from collections.abc import Iterable

MASK = "***"
MIN_LENGTH = 3  # shorter values would mask ordinary text

_values: set[str] = set()
_lock = threading.Lock()


def register(values: Iterable[str]) -> None:
    with _lock:
        _values.update(v for v in values if isinstance(v, str) and len(v) >= MIN_LENGTH)


def registered() -> frozenset[str]:
    with _lock:
        return frozenset(_values)


def clear() -> None:
    """Forget every registered value (for tests)."""
    with _lock:
        _values.clear()


def redact(text: str) -> str:
    """`text` with every registered value replaced by "***"."""
    if not text:
        return text
    # longest first, so a secret containing another one is masked whole
    for value in sorted(registered(), key=len, reverse=True):
        if value in text:
            text = text.replace(value, MASK)
    return text
