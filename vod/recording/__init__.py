"""Live streams recorded to storage as they happen, becoming HLS VODs in the catalog at the end."""

from vod.recording.recorder import Recorder, StreamRecording

__all__ = ["Recorder", "StreamRecording"]
