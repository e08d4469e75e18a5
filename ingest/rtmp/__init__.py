"""RTMP ingest: accepts OBS/ffmpeg publishers and feeds their H.264/AAC to a LiveInput."""

from ingest.rtmp.limits import RtmpLimits
from ingest.rtmp.server import RtmpServer

__all__ = ["RtmpLimits", "RtmpServer"]
