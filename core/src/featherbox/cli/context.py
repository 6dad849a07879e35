"""The one context of an `fbox` invocation: the plugin manager and its registry (built once, by
`create_app`), and the options every command shares. The root callback puts it on `ctx.obj`; every
command takes `ctx: typer.Context` and reads it there."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pluggy

    from featherbox.plugins import PluginReport
    from featherbox.registry import Registry
    from featherbox.workspace import Workspace


class AppContext:
    def __init__(self, pm: pluggy.PluginManager, report: PluginReport | None = None, registry: Registry | None = None):
        self.pm = pm
        self._report = report
        self._registry = registry
        self.project_dir: Path | None = None  # -C / FBOX_PROJECT
        self.debug = False  # --debug / FBOX_DEBUG

    @classmethod
    def default(cls) -> AppContext:
        """The installed plugins."""
        from featherbox.plugins import default_manager

        pm, report = default_manager()
        return cls(pm, report)

    @property
    def registry(self) -> Registry:
        """The types `pm`'s plugins provide, collected on first use (`fbox --help` needs none)."""
        if self._registry is None:
            from featherbox.plugins import PluginReport
            from featherbox.registry import collect

            self._registry = collect(self.pm, self._report or PluginReport())
        return self._registry

    def workspace(self) -> Workspace:
        from featherbox.workspace import Workspace

        return Workspace(self.project_dir, registry=self.registry)

    def base_dir(self) -> Path:
        """-C's directory, or the current one."""
        return Path(self.project_dir or Path.cwd()).expanduser().resolve()
