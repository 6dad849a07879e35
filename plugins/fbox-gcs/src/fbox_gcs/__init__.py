"""FeatherBox GCS plugin."""
