"""Glass to glass: what a viewer of the watch page sees, in headless Chromium with hls.js.

A real-time copy publish (ffmpeg, no encoder) feeds the node; Debian's Chromium opens
``/watch/{stream}``, whose hls.js runs in low-latency mode and samples
``window.tributary.latencySamples`` (now − hls.js ``playingDate``) every 500 ms while playing.
The server anchors EXT-X-PROGRAM-DATE-TIME at the ingest wall clock, so a sample is "media
arrived at the node → that media on screen"; with the publisher on loopback that is
publisher-send → screen minus the publisher-side delay (well under a millisecond on
loopback; the time the encoder took to produce the frame is not in it — it is a copy).

The first ``--warmup`` seconds after playback starts are discarded (hls.js tunes in and
settles its live edge there). Stalls are ``waiting`` events on the video element after the
warm-up, with how long each lasted (until the next ``playing``).

    .venv/bin/python -m bench.glass_to_glass [--runs 2] [--seconds 60] [--warmup 10] [--json out.json]
    .venv/bin/python -m bench.glass_to_glass --sync-rate 1.5   # experiment: let hls.js catch up
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time

from bench import harness as h

# Media events do not bubble, but a capturing listener on the document sees them, so this
# catches events from the <video> element before the page's own script has even run.
_INIT_SCRIPT = """
window.__bench = {waiting: [], playing: [], errors: []};
document.addEventListener('waiting', () => window.__bench.waiting.push(performance.now()), true);
document.addEventListener('playing', () => window.__bench.playing.push(performance.now()), true);
window.addEventListener('error', (e) => window.__bench.errors.push(String(e.message)));
"""


def _sync_rate_script(rate: float) -> str:
    """Set hls.js's ``maxLiveSyncPlaybackRate`` before the page creates its player.

    The shipped page leaves it at hls.js's default (1: never speed up), so the latency a viewer
    gets is wherever the player tuned in. This hooks the assignment of ``window.Hls`` by the
    UMD bundle and changes the default config, to measure what catching up would give without
    touching the page.
    """
    return f"""
    (() => {{ let hls;
      Object.defineProperty(window, 'Hls', {{configurable: true, get: () => hls,
        set: (v) => {{ hls = v; v.DefaultConfig.maxLiveSyncPlaybackRate = {rate}; }} }}); }})();
    """


async def one_run(source_path: object, seconds: float, warmup: float,
                  sync_rate: float | None = None) -> dict[str, object]:
    from tests.support.browser import chromium  # Debian's chromium via Playwright, as the tests do

    async with h.BenchEnv("glass-to-glass") as env:
        node = await env.start_node()
        name, key = await env.new_stream("gg")
        publisher = env.ffmpeg_publisher(f"{node.rtmp}/{key}", source_path)  # type: ignore[arg-type]
        assert env.http is not None
        await h.wait_live(env.http, f"{node.http}/live/{name}/source/index.m3u8",
                          lambda: publisher.alive)
        async with chromium() as browser:
            page = await browser.new_page()
            page_errors: list[str] = []
            page.on("pageerror", lambda exc: page_errors.append(str(exc)))
            await page.add_init_script(_INIT_SCRIPT)
            if sync_rate is not None:
                await page.add_init_script(_sync_rate_script(sync_rate))
            opened = time.monotonic()
            await page.goto(f"{node.http}/watch/{name}")
            await page.wait_for_function(
                "() => document.querySelector('video').currentTime > 0", timeout=30_000)
            started = time.monotonic()
            start_perf = await page.evaluate("performance.now()")
            await asyncio.sleep(warmup)
            skip = await page.evaluate("window.tributary.latencySamples.length")
            warm_perf = await page.evaluate("performance.now()")
            media0 = await page.evaluate("document.querySelector('video').currentTime")
            wall0 = time.monotonic()
            await asyncio.sleep(seconds)
            state = await page.evaluate("""() => {
                const v = document.querySelector('video');
                const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : {};
                return {samples: window.tributary.latencySamples, fatal: window.tributary.fatalErrors,
                        bench: window.__bench, currentTime: v.currentTime, now: performance.now(),
                        dropped: q.droppedVideoFrames, decoded: q.totalVideoFrames,
                        hlsLatency: window.tributary.hls ? window.tributary.hls.latency : null,
                        buffered: v.buffered.length ? v.buffered.end(v.buffered.length - 1) - v.currentTime : null,
                        syncPosition: window.tributary.hls ? window.tributary.hls.liveSyncPosition - v.currentTime : null,
                        syncRate: window.tributary.hls ? window.tributary.hls.config.maxLiveSyncPlaybackRate : null,
                        targetLatency: window.tributary.hls ? window.tributary.hls.targetLatency : null};
            }""")
            wall1 = time.monotonic()
        samples = state["samples"][skip:]
        waits = [t for t in state["bench"]["waiting"] if t >= warm_perf]
        playing = sorted(state["bench"]["playing"])
        stall_seconds = []
        for t in waits:
            after = [p for p in playing if p >= t]
            stall_seconds.append(((after[0] if after else state["now"]) - t) / 1000)
        publisher.stop()  # before the node, so ffmpeg does not report a broken pipe
        problems = env.stop_node(node)
        publisher_errors = publisher.errors()
    return {
        "p50": h.percentile(samples, 50), "p95": h.percentile(samples, 95),
        "max": max(samples, default=math.nan), "min": min(samples, default=math.nan),
        "samples": len(samples), "stalls": len(waits), "stall_seconds": sum(stall_seconds),
        "stalls_during_warmup": len([t for t in state["bench"]["waiting"] if t < warm_perf]),
        "time_to_first_frame": started - opened,
        "playback_rate": (state["currentTime"] - media0) / (wall1 - wall0),
        "dropped_frames": state["dropped"], "decoded_frames": state["decoded"],
        "hls_latency_end": state["hlsLatency"], "hls_target_latency": state["targetLatency"],
        "max_live_sync_playback_rate": state["syncRate"],
        "forward_buffer_end": state["buffered"], "behind_live_sync_position": state["syncPosition"],
        "fatal_errors": state["fatal"], "page_errors": page_errors + state["bench"]["errors"],
        "warmup_perf_ms": warm_perf - start_perf,
        "node_problems": problems, "publisher_errors": publisher_errors,
    }


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="fresh node, stream and browser per run")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured playback after warm-up")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds of playback discarded")
    parser.add_argument("--sync-rate", type=float, default=None,
                        help="experiment: hls.js maxLiveSyncPlaybackRate (the page ships hls.js's 1)")
    parser.add_argument("--json", help="write the figures here (for run_all)")
    args = parser.parse_args()
    m = h.machine()
    h.print_header("glass to glass" + (f" (maxLiveSyncPlaybackRate {args.sync_rate:g})"
                                       if args.sync_rate else ""), m)
    spec = h.SourceSpec()
    source_path = h.ensure_source(spec)
    print(f"source: {spec.label}; {args.warmup:g} s warm-up + {args.seconds:g} s measured per run")
    runs = []
    for run in range(args.runs):
        print(f"run {run + 1}/{args.runs}", flush=True)
        r = await one_run(source_path, args.seconds, args.warmup, args.sync_rate)
        runs.append(r)
        print(f"  latency p50 {h.ms(r['p50'])} p95 {h.ms(r['p95'])} max {h.ms(r['max'])}"
              f" ({r['samples']} samples); stalls {r['stalls']} ({r['stall_seconds']:.2f} s)"
              f" [+{r['stalls_during_warmup']} during warm-up]; first frame after"
              f" {r['time_to_first_frame']:.2f} s; playback rate {r['playback_rate']:.3f};"
              f" dropped {r['dropped_frames']}/{r['decoded_frames']} frames;"
              f" hls.js latency {r['hls_latency_end']:.2f} s (target {r['hls_target_latency']:.2f} s,"
              f" maxLiveSyncPlaybackRate {r['max_live_sync_playback_rate']}); at the end"
              f" {r['forward_buffer_end']:.2f} s buffered ahead, playhead"
              f" {r['behind_live_sync_position']:.2f} s behind hls.js liveSyncPosition", flush=True)
        for line in r["fatal_errors"] + r["page_errors"] + r["node_problems"]:
            print(f"  ! {line}")
        if r["publisher_errors"]:
            print(f"  ! publisher: {r['publisher_errors'][:300]}")
    keys = ("p50", "p95", "max", "stalls", "stall_seconds", "time_to_first_frame")
    figures = {k: h.spread([float(r[k]) for r in runs]) for k in keys}
    print(h.machine().line())
    print(f"glass to glass (ingest → screen): p50 {h.fmt_spread(figures['p50'], ' ms', 1000)},"
          f" p95 {h.fmt_spread(figures['p95'], ' ms', 1000)}, max {h.fmt_spread(figures['max'], ' ms', 1000)}")
    print(f"stalls after warm-up: {h.fmt_spread(figures['stalls'])} per {args.seconds:g} s,"
          f" {h.fmt_spread(figures['stall_seconds'], ' s', digits=2)} stalled")
    h.write_json(args.json, {"machine": m, "source": spec.label, "seconds": args.seconds,
                             "warmup": args.warmup, "sync_rate": args.sync_rate,
                             "figures": figures, "runs": runs})
    return 0


if __name__ == "__main__":
    raise SystemExit(h.run(main))
