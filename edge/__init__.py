"""Edge nodes: caching HTTP proxies in front of origins (issue 5; the cache core so far)."""
