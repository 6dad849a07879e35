"""Sample data for file-source tests: hourly gzip CSV files named by time, as the object-store plugins'
contract tests and the core's own object-store tests put them (`HOURLY` is the adapter `path:` pattern
that matches `hourly_name` under the prefix `logs`)."""

from __future__ import annotations

import gzip
from datetime import datetime

HOURLY = "[YYYY]/[MM]/[DD]/app_[YYYY][MM][DD]T[HH].csv.gz"


def hourly_name(t: datetime, prefix: str = "logs") -> str:
    """`logs/2024/01/01/app_20240101T00.csv.gz` for 2024-01-01 00:00."""
    return f"{prefix}/{t:%Y/%m/%d}/app_{t:%Y%m%dT%H}.csv.gz"


def csv_gz(rows: list[tuple]) -> bytes:
    """A gzip CSV with the header `id,val` and `rows` (id, val)."""
    text = "id,val\n" + "".join(f"{i},{v}\n" for i, v in rows)
    return gzip.compress(text.encode())


def rows_for(t: datetime, n: int = 3) -> list[tuple]:
    """`n` rows with ids unique to the hour `t`."""
    base = t.day * 1000 + t.hour * 10
    return [(base + k, f"v{t:%d%H}_{k}") for k in range(n)]


def hourly_files(hours: list[datetime], prefix: str = "logs") -> dict[str, bytes]:
    """One gzip CSV per hour: name -> content."""
    return {hourly_name(t, prefix): csv_gz(rows_for(t)) for t in hours}


def truncated_gzip(t: datetime, prefix: str = "logs") -> tuple[str, bytes]:
    """The file of the hour `t` cut in half: a load that reads it must fail."""
    data = csv_gz(rows_for(t))
    return hourly_name(t, prefix), data[: len(data) // 2]
