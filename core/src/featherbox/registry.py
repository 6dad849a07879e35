"""Collects what the plugins hand over and answers "which class handles `type: x`?"."""

from __future__ import annotations

from dataclasses import dataclass, field

import pluggy

from featherbox.errors import FeatherBoxError
from featherbox.extension import AdapterType, IncrementalStrategy, MetadataBackend, StorageBackend
from featherbox.plugins import PluginReport

#: first-party distributions, so an unknown type can name what to install
KNOWN_DISTRIBUTIONS = {
    "localfile": "fbox-localfile",
    "local": "fbox-localfile",
    "s3": "fbox-s3",
    "gcs": "fbox-gcs",
    "azure": "fbox-azure",
    "sqlite": "fbox-sqlite",
    "mysql": "fbox-mysql",
    "mariadb": "fbox-mysql",
    "postgresql": "fbox-postgresql",
    "postgres": "fbox-postgresql",
}

#: top-level modules of the core and the first-party plugins, whose schemas are tested with them
FIRST_PARTY_MODULES = {"featherbox", *(dist.replace("-", "_") for dist in KNOWN_DISTRIBUTIONS.values())}


def first_party(cls: type) -> bool:
    return cls.__module__.split(".")[0] in FIRST_PARTY_MODULES


KINDS = {
    "adapter": ("fbox_adapter_types", "type_name"),
    "strategy": ("fbox_incremental_strategies", "name"),
    "database": ("fbox_metadata_backends", "type_name"),
    "storage": ("fbox_storage_backends", "type_name"),
}


class DuplicateTypeError(FeatherBoxError):
    pass


class UnknownTypeError(FeatherBoxError):
    pass


def install_hint(type_name: str) -> str:
    dist = KNOWN_DISTRIBUTIONS.get(type_name, f"fbox-{type_name}")
    return f"pip install {dist}"


@dataclass
class Registry:
    adapters: dict[str, type[AdapterType]] = field(default_factory=dict)
    strategies: dict[str, type[IncrementalStrategy]] = field(default_factory=dict)
    databases: dict[str, type[MetadataBackend]] = field(default_factory=dict)
    storages: dict[str, type[StorageBackend]] = field(default_factory=dict)
    provided_by: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, name) -> plugin
    report: PluginReport = field(default_factory=PluginReport)
    pm: pluggy.PluginManager | None = None

    def _table(self, kind: str) -> dict:
        return {"adapter": self.adapters, "strategy": self.strategies, "database": self.databases, "storage": self.storages}[kind]

    def get(self, kind: str, name: str, where: str = ""):
        table = self._table(kind)
        if name not in table:
            known = ", ".join(sorted(table)) or "none"
            label = {"adapter": "type", "strategy": "strategy", "database": "database type", "storage": "storage type"}[kind]
            raise UnknownTypeError(
                f"{where + ': ' if where else ''}unknown {label} {name!r} (installed: {known}); "
                f"to use it, run `{install_hint(name)}`"
            )
        return table[name]

    def lookup(self, kind: str, name: str):
        return self._table(kind)[name]

    def types_of(self, plugin_name: str) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for (kind, name), plugin in sorted(self.provided_by.items()):
            if plugin == plugin_name:
                out.setdefault(kind, []).append(name)
        return out


def collect(pm: pluggy.PluginManager, report: PluginReport | None = None) -> Registry:
    """Ask every registered plugin for its classes; two plugins claiming one name is an error."""
    registry = Registry(report=report or PluginReport(), pm=pm)
    for kind, (hook_name, attr) in KINDS.items():
        table = registry._table(kind)
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            try:
                classes = impl.function() or []
            except Exception as exc:
                registry.report.failed[impl.plugin_name] = f"{hook_name}: {type(exc).__name__}: {exc}"
                continue
            for cls in classes:
                name = getattr(cls, attr)
                if name in table:
                    other = registry.provided_by[(kind, name)]
                    raise DuplicateTypeError(
                        f"{kind} type {name!r} is provided by two plugins: {other} and {impl.plugin_name}; "
                        f"uninstall one or disable it with FBOX_DISABLE_PLUGINS={impl.plugin_name}"
                    )
                table[name] = cls
                registry.provided_by[(kind, name)] = impl.plugin_name
    return registry


_default: Registry | None = None


def default_registry() -> Registry:
    global _default
    if _default is None:
        from featherbox.plugins import default_manager

        pm, report = default_manager()
        _default = collect(pm, report)
    return _default
