"""Ingest: landing files and the registry snapshot into raw DuckDB tables, with lineage."""
