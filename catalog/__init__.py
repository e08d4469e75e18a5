"""Catalog: the platform's memory in PostgreSQL (live streams and keys today)."""
