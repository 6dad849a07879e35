"""The plugin manager: built-ins registered by name, entry points loaded one at a time."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache

import pluggy

from featherbox import hookspecs

ENTRY_POINT_GROUP = "featherbox"
DISABLE_ENV = "FBOX_DISABLE_PLUGINS"
BUILTIN_MODULES = ("featherbox.builtin.strategies", "featherbox.builtin.defaults")


@dataclass
class PluginReport:
    """What happened when plugins were loaded: what loaded, what failed and why."""

    loaded: dict[str, str] = field(default_factory=dict)  # plugin name -> distribution version
    distributions: dict[str, str] = field(default_factory=dict)  # plugin name -> distribution
    failed: dict[str, str] = field(default_factory=dict)  # plugin name -> error
    disabled: list[str] = field(default_factory=list)


def disabled_plugins() -> set[str]:
    return {name.strip() for name in os.environ.get(DISABLE_ENV, "").split(",") if name.strip()}


def new_manager() -> pluggy.PluginManager:
    """A manager with the hookspecs and nothing registered: for tests and embedding."""
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    return pm


def build_manager(load_entry_points: bool = True) -> tuple[pluggy.PluginManager, PluginReport]:
    import importlib

    pm = new_manager()
    report = PluginReport()
    disabled = disabled_plugins()
    for module_name in BUILTIN_MODULES:
        pm.register(importlib.import_module(module_name), name=module_name)
    if load_entry_points:
        load_entry_point_plugins(pm, report, disabled)
    check_pending(pm, report)
    return pm, report


def check_pending(pm: pluggy.PluginManager, report: PluginReport) -> None:
    """`pm.check_pending()`, unregistering (and reporting) each plugin with a hook no spec knows."""
    while True:
        try:
            pm.check_pending()
            return
        except pluggy.PluginValidationError as exc:
            name = pm.get_name(exc.plugin) or repr(exc.plugin)
            pm.unregister(exc.plugin)
            report.loaded.pop(name, None)
            report.failed[name] = f"PluginValidationError: {exc}"


def load_entry_point_plugins(pm: pluggy.PluginManager, report: PluginReport, disabled: set[str]) -> None:
    from importlib_metadata import entry_points

    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if ep.name in disabled:
            report.disabled.append(ep.name)
            continue
        if pm.has_plugin(ep.name):
            continue
        dist = ep.dist
        try:
            module = ep.load()
            pm.register(module, name=ep.name)
        except Exception as exc:  # a broken plugin is reported, never fatal (pluggy's validation errors too)
            report.failed[ep.name] = f"{type(exc).__name__}: {exc}"
            continue
        report.loaded[ep.name] = dist.version if dist else "?"
        report.distributions[ep.name] = dist.name if dist else ep.value


@lru_cache(maxsize=1)
def default_manager() -> tuple[pluggy.PluginManager, PluginReport]:
    """The process-wide manager: built-ins plus every installed plugin that is not disabled."""
    return build_manager()
