"""FeatherBox S3 plugin."""
