"""FeatherBox PostgreSQL plugin."""
