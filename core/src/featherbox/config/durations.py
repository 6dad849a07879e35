"""Durations written the short way in YAML: "30s", "10m", "1h30m", "2w"."""

from __future__ import annotations

import re
from datetime import timedelta

UNIT_SECONDS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_UNIT_ORDER = "wdhms"
_PART = re.compile(r"(\d+)([wdhms])")
EXAMPLES = "30s, 10m, 1h, 1d, 2w or combinations like 1h30m"


def parse_duration(text: str) -> timedelta:
    """Parse a compact duration; units must appear at most once and from largest to smallest."""
    if not isinstance(text, str):
        raise ValueError(f"expected a duration like {EXAMPLES}, got {text!r}")
    compact = text.strip().lower()
    parts = _PART.findall(compact)
    if not compact or "".join(n + u for n, u in parts) != compact:
        raise ValueError(f"{text!r} is not a duration; use {EXAMPLES}")
    units = [unit for _, unit in parts]
    if units != sorted(set(units), key=_UNIT_ORDER.index):
        raise ValueError(f"{text!r} is not a duration: give each unit once, largest first (e.g. 1h30m)")
    seconds = sum(int(number) * UNIT_SECONDS[unit] for number, unit in parts)
    if seconds <= 0:
        raise ValueError(f"{text!r} is not a duration: it must be longer than zero")
    return timedelta(seconds=seconds)


def format_duration(duration: timedelta) -> str:
    """The compact form of `duration`, whole seconds only: 5400s -> "1h30m"."""
    remaining = round(duration.total_seconds())
    sign = "-" if remaining < 0 else ""
    remaining = abs(remaining)
    if remaining == 0:
        return "0s"
    out = []
    for unit in _UNIT_ORDER:
        count, remaining = divmod(remaining, UNIT_SECONDS[unit])
        if count:
            out.append(f"{count}{unit}")
    return sign + "".join(out)
