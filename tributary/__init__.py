"""Tributary: live (RTMP → LL-HLS) and on-demand video streaming server.

This package holds what ties the parts together: settings, logging, embedded services, the
command line and the node that wires ingest → packager → origin.
"""
