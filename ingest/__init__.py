"""Ingest: protocols that accept a publisher's stream (RTMP now, WHIP later)."""
