"""The no-op shortcut: decide "nothing to do" without opening the lake.

After a run that took every node to its current version, the run history keeps one digest of the
project's config and of every source's cheap signature (`AdapterType.source_signature`), and the
time when the first `max_age` runs out. The next `fbox run` whose digest is the same, before that
time, has nothing to do and says so without loading DuckLake. Every run clears the digest before it
touches the lake, so a failed or killed run never leaves one behind.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone

import featherbox
from featherbox import clock
from featherbox.layout import LAYOUT_VERSION


def project_digest(project, adapters: dict) -> str | None:
    """The digest of the config (`$VAR`s substituted) and the sources now; None when a source has no
    cheap signature."""
    sources = {}
    for name, adapter in sorted(adapters.items()):
        try:
            signature = adapter.source_signature()
        except Exception:  # the run itself reports what is wrong with the source
            signature = None
        if signature is None:
            return None
        sources[name] = [adapter.type_name, adapter.spec.raw, signature]
    # every key counts here, `max_age` and the SQL text included: a mere whitespace edit only costs
    # one run that plans, finds nothing to do and stores the new digest
    models = {name: spec.raw for name, spec in sorted(project.models.items())}
    payload = {
        "featherbox": featherbox.__version__,
        "layout": LAYOUT_VERSION,  # a lake in an older layout is moved by the next run that plans
        "database": project.database,
        "storage": project.storage,
        "adapters": sources,
        "models": models,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def valid_until(project, versions: dict) -> str | None:
    """When the first model with `max_age` is due again (ISO, UTC); None when none has one."""
    due = []
    for name, spec in project.models.items():
        version = versions.get(name)
        if spec.max_age and version is not None and version.built_at is not None:
            due.append(version.built_at + spec.max_age)
    return min(due).astimezone(timezone.utc).isoformat() if due else None


def still_valid(until: str | None, now: datetime | None = None) -> bool:
    if until is None:
        return True
    now = now or clock.now()
    return now < datetime.fromisoformat(until) - timedelta(seconds=1)
