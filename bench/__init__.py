"""Tributary's performance benchmarks: see bench/README.md for the commands."""
