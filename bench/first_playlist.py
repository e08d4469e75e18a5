"""Time to first playlist: publisher's first keyframe on the wire → first playable media playlist.

A viewer who opens a stream the moment it goes live waits this long before a player has
anything to load. Each repetition is a fresh stream on one node: the PyAV publisher connects
(RTMP handshake, connect, publish accepted) and at once sends the pre-encoded source in real
time, starting with its keyframe; a poller asks for the media playlist every 10 ms (a live stream
with no part yet holds the request until its first part, so the answer is not late by the
polling interval). Measured: the first HTTP 200 whose playlist lists a part, minus the moment
the first keyframe's FLV tag went into the socket. Also shown: from the start of the RTMP
connect, i.e. what an encoder's "Start streaming" costs including the handshake and the
stream-key check.

    .venv/bin/python -m bench.first_playlist [--runs 3] [--reps 7] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import math

from bench import harness as h


async def one_stream(env: h.BenchEnv, node: h.NodeProcess, source: h.LoadedSource) -> dict[str, float]:
    name, key = await env.new_stream("fp")
    assert env.http is not None
    observer = h.PartObserver(env.http, f"{node.http}/live/{name}/source/index.m3u8")
    stop = asyncio.Event()
    # The poller runs before the publisher connects (404 until the stream exists), as a
    # viewer's player would that opened the page early.
    task = asyncio.ensure_future(observer.run(stop))
    await asyncio.sleep(0.05)
    publisher = env.pyav_publisher(f"{node.rtmp}/{key}", source, max_seconds=3.0)
    publisher.start()
    deadline = asyncio.get_running_loop().time() + 10
    while observer.first_playlist_at is None and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.002)
    stop.set()
    await task
    await publisher.stop()
    if publisher.error is not None:
        raise RuntimeError(f"publisher failed: {publisher.error!r}")
    if observer.first_playlist_at is None or publisher.first_keyframe_sent is None:
        return {"from_keyframe": math.nan, "from_connect": math.nan}
    assert publisher.connect_started is not None and publisher.connected_at is not None
    return {
        "from_keyframe": observer.first_playlist_at - publisher.first_keyframe_sent,
        "from_connect": observer.first_playlist_at - publisher.connect_started,
        "connect": publisher.connected_at - publisher.connect_started,
        "first_parts": len(observer.parts),
    }


async def one_run(source: h.LoadedSource, reps: int) -> dict[str, object]:
    async with h.BenchEnv("first-playlist") as env:
        node = await env.start_node()
        samples = []
        for rep in range(reps):
            sample = await one_stream(env, node, source)
            samples.append(sample)
            print(f"  rep {rep + 1}: first keyframe → playlist {h.ms(sample['from_keyframe'])}, "
                  f"connect start → playlist {h.ms(sample['from_connect'])} "
                  f"(RTMP connect+publish {h.ms(sample.get('connect', math.nan))})", flush=True)
            await asyncio.sleep(0.3)
        problems = env.stop_node(node)
    values = [s["from_keyframe"] for s in samples]
    connect = [s["from_connect"] for s in samples]
    return {
        "median": h.percentile(values, 50), "max": max(values), "min": min(values),
        "connect_median": h.percentile(connect, 50), "connect_max": max(connect),
        "samples": samples, "node_problems": problems,
    }


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh node per run (default 3)")
    parser.add_argument("--reps", type=int, default=7, help="fresh streams per run (default 7)")
    parser.add_argument("--json", help="write the figures here (for run_all)")
    args = parser.parse_args()
    m = h.machine()
    h.print_header("first playlist", m)
    spec = h.SourceSpec()
    source = h.load_source(h.ensure_source(spec), spec)
    print(f"source: {spec.label} ({source.bitrate_kbps:.0f} kb/s measured)")
    runs = []
    for run in range(args.runs):
        print(f"run {run + 1}/{args.runs}", flush=True)
        result = await one_run(source, args.reps)
        runs.append(result)
        print(f"  run {run + 1}: median {h.ms(result['median'])}, max {h.ms(result['max'])}; "
              f"from connect start median {h.ms(result['connect_median'])}", flush=True)
        for line in result["node_problems"]:
            print(f"  node log: {line}")
    figures = {
        "median": h.spread([r["median"] for r in runs]),
        "max": h.spread([r["max"] for r in runs]),
        "connect_median": h.spread([r["connect_median"] for r in runs]),
    }
    print(h.machine().line())
    print(f"first keyframe → first playable playlist: median {h.fmt_spread(figures['median'], ' ms', 1000)}"
          f", max {h.fmt_spread(figures['max'], ' ms', 1000)}; {args.reps} streams per run")
    print(f"RTMP connect start → first playable playlist: median "
          f"{h.fmt_spread(figures['connect_median'], ' ms', 1000)}")
    h.write_json(args.json, {"machine": m, "source": spec.label, "reps": args.reps,
                             "figures": figures, "runs": runs})
    return 0


if __name__ == "__main__":
    raise SystemExit(h.run(main))
