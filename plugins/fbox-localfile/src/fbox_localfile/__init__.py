"""FeatherBox localfile plugin."""
