"""On-demand video: storage, and live recordings that become videos (uploads come later)."""
