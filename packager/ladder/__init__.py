"""The ABR ladder: encoded renditions of a live stream, decoded once and scaled per rung."""
