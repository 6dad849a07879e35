"""Collects what the plugins hand over and answers "which class handles `type: x`?"."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

import pluggy

from featherbox.errors import FeatherBoxError
from featherbox.extension import AdapterType, IncrementalStrategy, MetadataBackend, StorageBackend
from featherbox.plugins import PluginReport

#: first-party distributions, so an unknown type can name what to install
KNOWN_DISTRIBUTIONS = {
    "localfile": "fbox-localfile",
    "s3": "fbox-s3",
    "gcs": "fbox-gcs",
    "azure": "fbox-azure",
    "sqlite": "fbox-sqlite",
    "mysql": "fbox-mysql",
    "mariadb": "fbox-mysql",
    "postgresql": "fbox-postgresql",
    "postgres": "fbox-postgresql",
}

#: the type names the first-party distributions provide, by kind, so an unknown type can be
#: matched against what could be installed as well as against what is
KNOWN_TYPES = {
    "adapter": ("localfile", "s3", "gcs", "azure", "sqlite", "mysql", "postgresql"),
    "storage": ("local", "s3", "gcs", "azure"),
    "database": ("sqlite", "mysql", "postgresql"),
    "strategy": ("filename", "content", "full", "column", "cdc"),
}

#: names people write for a type under another name
ALIASES = {"mariadb": "mysql", "postgres": "postgresql", "pg": "postgresql", "file": "localfile", "gs": "gcs"}

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


def install_hint(kind: str, type_name: str) -> str | None:
    """`pip install <distribution>` for a `kind` type a first-party distribution provides, else None:
    a distribution named after whatever was typed (`fbox-s4`) could be anyone's (typosquatting)."""
    if type_name in KNOWN_TYPES.get(kind, ()) and type_name in KNOWN_DISTRIBUTIONS:
        return f"pip install {KNOWN_DISTRIBUTIONS[type_name]}"
    return None


def close_name(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate `name` is most likely a misspelling of: one edit away (`s4` for `s3`), or
    much alike (`colummn` for `column`, `localfile` for `local`)."""
    candidates = list(dict.fromkeys(candidates))
    lowered = str(name).lower()
    alias = ALIASES.get(lowered)
    if alias in candidates:
        return alias
    near = [c for c in candidates if _one_edit_apart(lowered, c.lower())]
    if near:
        return near[0]
    close = difflib.get_close_matches(lowered, candidates, n=1, cutoff=0.7)
    return close[0] if close else None


def _one_edit_apart(a: str, b: str) -> bool:
    """One letter replaced, inserted, removed, or two neighbours swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def unknown_type_message(kind: str, name: str, installed: Iterable[str], where: str = "") -> str:
    """Why `name` is no `kind` type: the installed or first-party type it is close to, what is
    installed, and a distribution to install only when FeatherBox knows it provides that type."""
    label = {"adapter": "type", "strategy": "strategy", "database": "database type", "storage": "storage type"}[kind]
    installed = sorted(installed)
    message = f"{where + ': ' if where else ''}unknown {label} {name!r}"
    close = None if name in KNOWN_TYPES.get(kind, ()) else close_name(name, [*installed, *KNOWN_TYPES.get(kind, ())])
    if close:
        message += f"; did you mean {close}?"
    message += f" (installed: {', '.join(installed) or 'none'})"
    wanted = close or name
    hint = install_hint(kind, wanted) if wanted not in installed else None
    if hint:
        message += f"; to use {'it' if wanted == name else wanted}, run `{hint}`"
    elif not close:
        message += "; if a third-party plugin provides it, install that plugin (`fbox plugins` lists the installed ones)"
    return message


def unknown_strategy_message(kind: str, name: str, installed: Iterable[str], where: str = "") -> str:
    """Why `name` is no `kind` strategy: a close name, and the installed strategies of that kind."""
    installed = sorted(installed)
    message = f"{where + ': ' if where else ''}unknown {kind} strategy {name!r}"
    close = close_name(name, installed)
    if close:
        message += f"; did you mean {close!r}?"
    message += f" (installed {kind} strategies: {', '.join(installed) or 'none'})"
    if not close:
        message += "; if a third-party plugin provides it, install that plugin (`fbox plugins` lists the installed ones)"
    return message


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
            raise UnknownTypeError(unknown_type_message(kind, name, table, where))
        return table[name]

    def strategies_of(self, kind: str) -> dict[str, type[IncrementalStrategy]]:
        """The registered strategies of `kind` (`file` or `database`)."""
        return {name: cls for name, cls in self.strategies.items() if getattr(cls, "kind", None) == kind}

    def strategy(self, kind: str, name: str, where: str = "") -> type[IncrementalStrategy]:
        """The `kind` strategy called `name`; UnknownTypeError naming `where` and the installed ones."""
        installed = self.strategies_of(kind)
        if name not in installed:
            raise UnknownTypeError(unknown_strategy_message(kind, name, installed, where))
        return installed[name]

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


def strategy_for(adapter: AdapterType, kind: str, name: str, field: str) -> type[IncrementalStrategy]:
    """The `kind` strategy `name` an adapter's `field` selects, from the registry the adapter was made
    with (`AdapterType.registry`); an UnknownTypeError naming the adapter file, `field` and the
    installed strategies of that kind when there is none."""
    registry = adapter.registry if adapter.registry is not None else default_registry()
    return registry.strategy(kind, name, f"{adapter.spec.file}: {field}")


_default: Registry | None = None


def default_registry() -> Registry:
    global _default
    if _default is None:
        from featherbox.plugins import default_manager

        pm, report = default_manager()
        _default = collect(pm, report)
    return _default
