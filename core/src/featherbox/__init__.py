"""FeatherBox: ELT on DuckDB and DuckLake."""

__version__ = "0.1.0"
