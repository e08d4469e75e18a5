"""WHIP glass to glass: a browser publishes from /publish, hls.js plays /watch, both in Chromium.

The publisher page is the shipped one; only its camera is replaced (an init script overrides
``getUserMedia``): a canvas (``captureStream(30)``) redrawn every animation frame with the
current ``Date.now()`` as 44 black/white blocks, twice, and a WebAudio tone for the microphone.
The viewer page is the shipped watch page; a script samples the playing video through
``requestVideoFrameCallback``, at most every 200 ms: it draws the frame about to be shown into
a canvas, reads the block centres, and when both copies agree records
``display time − encoded time``. Both pages run in one browser on this machine, so they share
one clock: the figure is drawn on the publisher's canvas → shown by the viewer's ``<video>``,
including the browser's encoder, WebRTC, the node's decode and x264/AAC encode, packaging,
LL-HLS delivery, hls.js buffering and decode.

The watch page's own readout (now − EXT-X-PROGRAM-DATE-TIME, anchored at ingest arrival) is
printed next to it; the difference is the publisher side (canvas → WebRTC → node).

The node runs as its own process (its CPU, which includes the WebRTC decode and the ingest
encode, is printed). The canvas is 640x360, so the ladder adds no rungs. The first
``--warmup`` seconds of playback are discarded; each run uses a fresh node, stream and browser.

    .venv/bin/python -m bench.whip_glass_to_glass [--runs 3] [--seconds 30] [--warmup 10] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time
from typing import Any

from bench import harness as h

WIDTH, HEIGHT, COLUMNS, ROWS, BITS = 640, 360, 11, 8, 44

# Replaces the camera and microphone before the publish page's own script runs.
_CLOCK_CAMERA = f"""
(() => {{
  const W = {WIDTH}, H = {HEIGHT}, COLS = {COLUMNS}, ROWS = {ROWS}, BITS = {BITS};
  const canvas = document.createElement('canvas');
  canvas.width = W; canvas.height = H;
  const ctx = canvas.getContext('2d');
  const bw = W / COLS, bh = H / ROWS;
  function draw() {{
    const now = Date.now();
    ctx.fillStyle = '#808080';
    ctx.fillRect(0, 0, W, H);
    for (let cell = 0; cell < 2 * BITS; cell++) {{
      const on = Math.floor(now / 2 ** (cell % BITS)) % 2 === 1;
      ctx.fillStyle = on ? '#ffffff' : '#000000';
      ctx.fillRect((cell % COLS) * bw + 3, Math.floor(cell / COLS) * bh + 3, bw - 6, bh - 6);
    }}
    requestAnimationFrame(draw);
  }}
  draw();
  navigator.mediaDevices.getUserMedia = async () => {{
    const stream = canvas.captureStream(30);
    const audio = new AudioContext();
    const tone = audio.createOscillator();
    const sink = audio.createMediaStreamDestination();
    tone.connect(sink);
    tone.start();
    stream.addTrack(sink.stream.getAudioTracks()[0]);
    return stream;
  }};
}})();
"""

# Samples the viewer's <video>: display time (wall clock) − the time drawn into that frame.
_SAMPLER = f"""
(() => {{
  const COLS = {COLUMNS}, ROWS = {ROWS}, BITS = {BITS};
  const video = document.querySelector('video');
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', {{willReadFrequently: true}});
  const state = window.__g2g = {{samples: [], unreadable: 0}};
  let last = 0;
  function read() {{
    const w = canvas.width = video.videoWidth, h = canvas.height = video.videoHeight;
    ctx.drawImage(video, 0, 0, w, h);
    const pixels = ctx.getImageData(0, 0, w, h).data;
    const copies = [0, 0];
    for (let cell = 0; cell < 2 * BITS; cell++) {{
      const x = Math.floor(((cell % COLS) + 0.5) * w / COLS);
      const y = Math.floor((Math.floor(cell / COLS) + 0.5) * h / ROWS);
      const i = (y * w + x) * 4;
      const luma = 0.299 * pixels[i] + 0.587 * pixels[i + 1] + 0.114 * pixels[i + 2];
      if (luma > 128) copies[Math.floor(cell / BITS)] += 2 ** (cell % BITS);
    }}
    return copies[0] === copies[1] ? copies[0] : null;
  }}
  function onFrame(_now, metadata) {{
    const shown = Date.now() + (metadata.expectedDisplayTime - performance.now());
    if (shown - last >= 200 && video.videoWidth) {{
      last = shown;
      const drawn = read();
      if (drawn === null) state.unreadable++;
      else state.samples.push((shown - drawn) / 1000);
    }}
    video.requestVideoFrameCallback(onFrame);
  }}
  video.requestVideoFrameCallback(onFrame);
}})();
"""

_FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


async def one_run(seconds: float, warmup: float) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    from tests.support.browser import CHROMIUM_ARGS, chromium_path

    async with h.BenchEnv("whip-glass-to-glass") as env, async_playwright() as playwright:
        node = await env.start_node()
        name, key = await env.new_stream("wg")
        browser = await playwright.chromium.launch(
            executable_path=chromium_path(), args=[*CHROMIUM_ARGS, *_FAKE_MEDIA]
        )
        try:
            page_errors: list[str] = []
            publisher = await browser.new_page()
            publisher.on("pageerror", lambda exc: page_errors.append(f"publisher: {exc}"))
            await publisher.add_init_script(_CLOCK_CAMERA)
            await publisher.goto(f"{node.http}/publish")
            await publisher.fill("#key", key)
            await publisher.wait_for_selector("#start:not([disabled])", timeout=15_000)
            clicked = time.monotonic()
            await publisher.click("#start")
            await publisher.wait_for_function("window.tributary.phase === 'live'", timeout=30_000)
            connected = time.monotonic() - clicked
            codec = await publisher.evaluate("window.tributary.videoCodec")

            viewer = await browser.new_page()
            viewer.on("pageerror", lambda exc: page_errors.append(f"viewer: {exc}"))
            await viewer.goto(f"{node.http}/watch/{name}")
            await viewer.wait_for_function(
                "() => document.querySelector('video').currentTime > 0", timeout=30_000
            )
            first_frame = time.monotonic() - clicked
            await asyncio.sleep(warmup)
            await viewer.evaluate(_SAMPLER)
            skip = await viewer.evaluate("window.tributary.latencySamples.length")
            cpu0, wall0 = node.cpu_seconds(), time.monotonic()
            await asyncio.sleep(seconds)
            cpu1, wall1 = node.cpu_seconds(), time.monotonic()
            state = await viewer.evaluate("""() => ({
                g2g: window.__g2g, pdt: window.tributary.latencySamples,
                fatal: window.tributary.fatalErrors,
                dropped: document.querySelector('video').getVideoPlaybackQuality().droppedVideoFrames,
                decoded: document.querySelector('video').getVideoPlaybackQuality().totalVideoFrames})""")
            publisher_errors = await publisher.evaluate("window.tributary.errors")
            await publisher.click("#stop")
            await publisher.wait_for_function("window.tributary.phase === 'idle'", timeout=10_000)
        finally:
            await browser.close()
        problems = env.stop_node(node)
    samples = state["g2g"]["samples"]
    pdt = state["pdt"][skip:]
    return {
        "p50": h.percentile(samples, 50), "p95": h.percentile(samples, 95),
        "min": min(samples, default=math.nan), "max": max(samples, default=math.nan),
        "samples": len(samples), "unreadable": state["g2g"]["unreadable"],
        "ingest_to_screen_p50": h.percentile(pdt, 50), "ingest_to_screen_p95": h.percentile(pdt, 95),
        "time_to_connected": connected, "time_to_first_frame": first_frame, "video_codec": codec,
        "node_cpu_percent": 100 * (cpu1 - cpu0) / (wall1 - wall0),
        "dropped_frames": state["dropped"], "decoded_frames": state["decoded"],
        "fatal_errors": state["fatal"], "page_errors": page_errors + publisher_errors,
        "node_problems": problems,
    }


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh node, stream and browser per run")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured playback after warm-up")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds of playback discarded")
    parser.add_argument("--json", help="write the figures here (for run_all)")
    args = parser.parse_args()
    m = h.machine()
    h.print_header("WHIP glass to glass (browser publisher → hls.js viewer)", m)
    print(f"source: {WIDTH}x{HEIGHT} canvas at 30 fps drawing Date.now(), WebAudio tone; "
          f"{args.warmup:g} s warm-up + {args.seconds:g} s measured per run", flush=True)
    runs = []
    for run in range(args.runs):
        print(f"run {run + 1}/{args.runs}", flush=True)
        r = await one_run(args.seconds, args.warmup)
        runs.append(r)
        print(f"  glass to glass p50 {h.ms(r['p50'])} p95 {h.ms(r['p95'])} (min {h.ms(r['min'])},"
              f" max {h.ms(r['max'])}, {r['samples']} samples, {r['unreadable']} unreadable);"
              f" ingest → screen p50 {h.ms(r['ingest_to_screen_p50'])}; {r['video_codec']} from the browser;"
              f" connected {r['time_to_connected']:.2f} s and first frame on the viewer"
              f" {r['time_to_first_frame']:.2f} s after Start; node CPU"
              f" {r['node_cpu_percent']:.0f}% of a core; dropped {r['dropped_frames']}/{r['decoded_frames']}",
              flush=True)
        for line in r["fatal_errors"] + r["page_errors"] + r["node_problems"]:
            print(f"  ! {line}")
    keys = ("p50", "p95", "max", "ingest_to_screen_p50", "time_to_connected", "node_cpu_percent")
    figures = {k: h.spread([float(r[k]) for r in runs]) for k in keys}
    print(m.line())
    print(f"WHIP glass to glass (canvas → screen): p50 {h.fmt_spread(figures['p50'], ' ms', 1000)},"
          f" p95 {h.fmt_spread(figures['p95'], ' ms', 1000)},"
          f" max {h.fmt_spread(figures['max'], ' ms', 1000)}")
    print("ingest → screen (watch page readout):"
          f" p50 {h.fmt_spread(figures['ingest_to_screen_p50'], ' ms', 1000)};"
          f" Start → connected {h.fmt_spread(figures['time_to_connected'], ' s', digits=2)};"
          f" node CPU {h.fmt_spread(figures['node_cpu_percent'], '% of a core')} ({m.cores} cores)")
    h.write_json(args.json, {"machine": m, "seconds": args.seconds, "warmup": args.warmup,
                             "figures": figures, "runs": runs})
    return 0


if __name__ == "__main__":
    raise SystemExit(h.run(main))
