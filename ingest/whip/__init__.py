"""WHIP ingest (RFC 9725): WebRTC publishers (browsers, OBS 30+) into the same LiveInput as RTMP.

aiortc terminates ICE/DTLS/SRTP and decodes; the node re-encodes to H.264 + AAC, because the
packager (and the ABR ladder behind it) takes the H.264/AAC an RTMP publisher sends:

* :mod:`~ingest.whip.routes` — the HTTP resources and CORS;
* :mod:`~ingest.whip.server` — admission (capacity, offer, key), the session table, shutdown;
* :mod:`~ingest.whip.offer` — what an acceptable SDP offer is;
* :mod:`~ingest.whip.trickle` — trickle ICE fragments (PATCH);
* :mod:`~ingest.whip.session` — one publish: peer connection, readers, watchdog, lifetime;
* :mod:`~ingest.whip.av_clock` and :mod:`~ingest.whip.sender_reports` — audio and video on one
  clock (arrival anchors, then RTCP sender reports);
* :mod:`~ingest.whip.encode_worker`, :mod:`~ingest.whip.video_encoder`,
  :mod:`~ingest.aac_encoder` — the per-session encode thread (libx264, AAC).
"""
