"""The `fbox` command line, built by a factory over the plugin manager."""

from featherbox.cli.app import create_app, main

__all__ = ["create_app", "main"]
