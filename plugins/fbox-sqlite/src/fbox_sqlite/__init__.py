"""FeatherBox sqlite plugin."""
