"""Plugins that ship inside the core: they use the same hooks as any third-party plugin."""
