"""File sources: path patterns, listing, update strategies and reading through DuckDB.

Any file-system plugin (local, S3, GCS, Azure) reuses this by subclassing `FileAdapter`.
"""
