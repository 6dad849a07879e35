"""The dependency graph: which tables each model's SQL reads, and the order to build them in."""
