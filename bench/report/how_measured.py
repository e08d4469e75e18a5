"""RESULTS.md's "How each figure is measured": what every benchmark times, from when to when,
and on what, in prose. The figures alone do not say whether "latency" starts at the publisher
or at the node, or which process a CPU share belongs to."""

HOW_MEASURED: list[str] = [
    "- The node runs as its own process (`python -m tributary serve origin`); its CPU is its"
    " own user+system time from `/proc` over the window, all threads included.",
    "- Publish send times are logged by a PyAV (libavformat RTMP) publisher at the moment"
    " each FLV tag is written to the socket; libavformat's interleaver holds each packet until"
    " the next is muxed, which the log accounts for.",
    "- A part's availability is the arrival of the blocking playlist reload"
    " (`_HLS_msn`/`_HLS_part`) that first lists it; messages map to parts by the decode-time"
    " ranges read from each part's `tfdt`/`trun`.",
    "- Glass to glass is the watch page's own `window.tributary.latencySamples`"
    " (now − hls.js `playingDate`). PROGRAM-DATE-TIME is the ingest wall clock, so this is"
    " media arriving at the node → on screen: publisher-send → screen minus the publisher-side"
    " delay, which on loopback is negligible. The page runs hls.js with its defaults"
    " (`maxLiveSyncPlaybackRate` 1: it never speeds up), so it keeps the distance from the"
    " live edge it tuned in at; the per-run table shows hls.js's own latency against its"
    " target (PART-HOLD-BACK) and how much media it had buffered ahead.",
    "- The node runs with its default ABR ladder (a 720p source gets 480p and 360p encoded)"
    " except in the passthrough capacity benchmark, which turns it off to price the"
    " passthrough path alone. `bench/ladder.py` prices the ladder: in process through the"
    " real `Transcoder` as fast as it goes, and on a node with N real-time publishers"
    " (healthy: nothing shed, every rendition's live edge ≤ 1.5 s and pace ≥ 0.95); a rung's"
    " extra latency pairs parts by MSN and video start (the renditions are aligned).",
    "- WHIP glass to glass: one Chromium publishes a canvas that draws `Date.now()` as a"
    " pixel pattern through the `/publish` page; the `/watch` page decodes the pattern of the"
    " frame on screen, so the figure is canvas → WebRTC → node encode → LL-HLS → screen.",
    "- Catalog API: requests from the benchmark process over loopback to a node process"
    " (`bench/catalog_api.py` has the data and query mix): search 300 requests one at a time"
    " (common, rare, two-word, phrase and typo queries, filters, the three sorts); trending"
    " 200 (first and second pages); a video page is the video, its channel and the viewer's"
    " reaction fetched concurrently, timed to the slowest, for 200 listed videos;"
    " `GET /api/v1/videos/{id}` throughput is `wrk` (1 thread, 64 connections, 10 s) or, without"
    " it, an aiohttp client with 64 requests in flight, over 1,000 listed videos.",
    "- Edge under LL-HLS load (`bench/edge_load.py`): Python viewers that behave like hls.js"
    " in low-latency mode (blocking playlist reload for the next part, the preload-hinted part"
    " requested as soon as each playlist arrives, delta playlists) against one edge process"
    " pinned to one core, then against Debian's nginx (proxy_cache, proxy_cache_lock, keyed"
    " on the path and the three Delivery Directives, one worker on the same core). A part's"
    " publication is when a probe's blocking reload held directly at the origin was answered;"
    " delivery is when a viewer had the part's last byte. Origin fetches are the edge's"
    " `tributary_edge_origin_fetches_total` and nginx's upstream-only access log, per part"
    " published in the window. nginx wakes requests waiting on `proxy_cache_lock` on a"
    " 500 ms timer, not when the fetch lands, which sets its latency.",
    "- Chat (`bench/chat_fanout.py`, with `bench/chat_clients.py` and `bench/socketio_client.py`"
    " as the load generator): two `serve chat` nodes sharing Redis and PostgreSQL, N clients in"
    " one live room split evenly between them, speaking Engine.IO 4 / Socket.IO 5 over WebSocket"
    " as a browser does (permessage-deflate offered, every ping answered). Fan-out: M signed-in"
    " senders at one message a second each (under the default limit); each message's text carries"
    " its send time (CLOCK_MONOTONIC), every client computes send → arrival. A step is healthy"
    " when every client joined and stayed, every message sent in the window reached every client"
    " within 3 s, p99 ≤ 100 ms and no send was refused; the ramp stops at the first unhealthy"
    " step after one bisection step. Held: nobody sends; a stage is held when every client"
    " joined, stayed connected and was pinged and answered during the hold (longer than the ping"
    " interval).",
    "- VOD transcode (`bench/vod_transcode.py`): generated sources with real motion, detail and"
    " grain (a pan over a texture, a rotating close-up, `testsrc2`; cached), transcoded with the"
    " default `TranscodeSettings()` by `vod.transcode.pipeline.transcode_video` on a real catalog"
    " and local storage (end to end: source copied to scratch, niced child, every output stored,"
    " catalog transaction), and by one Debian `ffmpeg` process making the same ladder from the same"
    " plan (`plan_transcode`): rungs, preset, B-frames, bitrates, VBV, GOP, keyframes forced every"
    " segment, scene-cut off, bilinear scaling in one thread, AAC with `aresample=async=1`, HLS fMP4"
    " segments with an audio group, poster, thumbnails and storyboard. PyAV opens x264 with sliced"
    " threads, so the *same settings* ffmpeg run passes `-thread_type slice`; the *default threading*"
    " run leaves ffmpeg's frame threads. Both at the transcode's niceness (+10); CPU includes the"
    " child processes. Ratios are Tributary's wall time over ffmpeg's.",
    "- VOD upload (`bench/vod_upload.py`): one random file through tuspy (8 MiB PATCHes) into a"
    " `serve origin` node (no job worker, so nothing transcodes), timed from the first PATCH to the"
    " video turning `processing` (received, fsynced, handed to storage); local storage on the same"
    " file system, or S3 on moto's server (its own process, loopback). Baselines in every run:"
    " `shutil.copyfile` of the same file on the same disk (to its return, and until fsynced), and"
    " for S3 aioboto3's managed `upload_file` and a part-at-a-time multipart upload to the same"
    " moto. Ratios are throughputs, Tributary ÷ baseline; measurements go in an order rotated from"
    " run to run, each starting with no dirty pages and the source file in the page cache.",
]
"""One bullet each, in the order RESULTS.md lists them."""
