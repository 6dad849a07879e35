"""The time FeatherBox judges ages by: read here, and only here.

`now()` is what `max_age` is measured against (the planner), when the no-op shortcut's digest runs out
(`state.summary`), the `built_at` recorded with a node's version (`state.versions`), when a column-mode
`reconcile` is due and the times it records (`tables.column_mode`), and the ages that `fbox status` and
`fbox graph` show.

`FBOX_NOW` sets it, **for tests**: an ISO 8601 time (`2026-01-01T12:00:00`; without an offset it is
UTC). A test that needs a model to be past its `max_age` moves this clock forward instead of sleeping,
so no test depends on how fast the machine is. Run ids, the run history's timestamps and log lines,
and lock holders keep the real time (the history orders runs by them).
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

from featherbox.errors import FeatherBoxError

NOW_ENV = "FBOX_NOW"


def now() -> datetime:
    """The current time (UTC, aware): `FBOX_NOW` when set, else the system clock."""
    value = os.environ.get(NOW_ENV, "").strip()
    if not value:
        return datetime.now(timezone.utc)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise FeatherBoxError(
            f"{NOW_ENV}={value!r} is not an ISO 8601 time (e.g. 2026-01-01T12:00:00); it sets FeatherBox's clock for tests"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)
