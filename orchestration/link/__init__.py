"""Link: conformed records to the population registry, probabilistically (Splink on DuckDB)."""
