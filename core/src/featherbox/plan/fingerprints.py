"""Fingerprints of what affects a node's data: whitespace, comments and descriptions do not count."""

from __future__ import annotations

import hashlib
import json

from featherbox.config.project import ModelSpec
from featherbox.extension import AdapterType

#: model keys that do not change what the model computes
MODEL_KEYS_IGNORED = {"description", "sql", "name", "max_age", "allow_empty"}


def _digest(payload) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def adapter_fingerprint(adapter: AdapterType) -> str:
    return _digest({"type": adapter.type_name, "config": adapter.data_config()})


def model_fingerprint(spec: ModelSpec, sql_fingerprint: str) -> str:
    """`sql_fingerprint`: the `ParsedQuery.fingerprint` of the model's SQL."""
    rest = {k: v for k, v in spec.raw.items() if k not in MODEL_KEYS_IGNORED}
    return _digest({"sql": sql_fingerprint, "options": rest})
