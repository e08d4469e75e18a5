"""Browser pages: the live watch page (more pages arrive with the catalog)."""
