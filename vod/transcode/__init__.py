"""Uploaded files → HLS VODs: probe, ladder, CMAF segments, audio rendition, poster, thumbnails
and storyboard, in a niced child process; the entry point is
:func:`vod.transcode.pipeline.transcode_video`. Nothing is imported here, so the child
(:mod:`vod.transcode.child`) loads only what it uses."""
