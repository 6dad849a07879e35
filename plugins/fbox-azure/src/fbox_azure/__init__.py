"""FeatherBox Azure plugin."""
