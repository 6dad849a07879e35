"""Relational sources: what every database plugin shares (connections, column-based increments)."""
