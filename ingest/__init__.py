"""Ingest: protocols that accept a publisher's stream (RTMP, WHIP) and feed the packager."""
