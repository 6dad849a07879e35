"""FeatherBox MySQL plugin."""
