"""Test data for the object-store tests."""

from __future__ import annotations

import gzip
from datetime import datetime


def hourly_name(t: datetime, prefix: str = "logs") -> str:
    return f"{prefix}/{t:%Y/%m/%d}/app_{t:%Y%m%dT%H}.csv.gz"


def csv_gz(rows: list[tuple]) -> bytes:
    text = "id,val\n" + "".join(f"{i},{v}\n" for i, v in rows)
    return gzip.compress(text.encode())


def rows_for(t: datetime, n: int = 3) -> list[tuple]:
    base = t.day * 1000 + t.hour * 10
    return [(base + k, f"v{t:%d%H}_{k}") for k in range(n)]
