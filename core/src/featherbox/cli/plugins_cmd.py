"""`fbox plugins`: what is installed, its version, and the types it provides."""

from __future__ import annotations

import typer

from featherbox.cli.output import echo, emit_json, table


def register(app: typer.Typer) -> None:
    app.command("plugins")(plugins)


def plugins(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """List installed plugins, their versions and the types they provide."""
    from featherbox import __version__

    registry = ctx.obj.registry
    report = registry.report
    names = sorted({plugin for plugin in registry.provided_by.values()} | set(report.loaded))
    builtins = [name for name in names if name.startswith("featherbox.")]
    names = [name for name in names if name not in builtins] + (["featherbox"] if builtins else [])
    entries = []
    for name in sorted(names):
        if name == "featherbox":  # the core's own plugin modules, one row
            provided: dict[str, list[str]] = {}
            for module in builtins:
                for kind, types in registry.types_of(module).items():
                    provided[kind] = sorted({*provided.get(kind, []), *types})
        else:
            provided = registry.types_of(name)
        not_implemented = [
            f"{kind} {name}"
            for kind, names in provided.items()
            for name in names
            if not getattr(registry.lookup(kind, name), "implemented", True)
        ]
        builtin = name == "featherbox"
        entries.append({
            "name": name,
            "distribution": "featherbox" if builtin else report.distributions.get(name, name),
            "version": __version__ if builtin else report.loaded.get(name, "?"),
            "types": provided,
            "status": f"not implemented yet: {', '.join(not_implemented)}" if not_implemented else "ok",
        })
    for name, error in sorted(report.failed.items()):
        entries.append({"name": name, "distribution": name, "version": None, "types": {}, "status": f"failed to load: {error}"})
    for name in sorted(report.disabled):
        entries.append({"name": name, "distribution": name, "version": None, "types": {}, "status": "disabled"})
    if as_json:
        emit_json({"plugins": entries})
        return
    rows = []
    for e in entries:
        types = "; ".join(f"{kind}: {', '.join(v)}" for kind, v in sorted(e["types"].items()))
        rows.append([e["distribution"], e["version"] or "-", types or "-", e["status"]])
    table(["plugin", "version", "provides", "status"], rows)
    if report.failed:
        echo("Some plugins failed to load; the rest work. Fix or uninstall them, or disable with FBOX_DISABLE_PLUGINS.", err=True)
