"""Ingest to part: every RTMP message sent → the moment the part holding it is fetchable over HTTP.

This is the server's share of live latency as a client sees it from outside: RTMP parsing,
timeline mapping, the mux thread, fragment cutting, the window and the blocking-reload
answer, plus the part duration itself (a part cannot be served before its last sample was
sent) and the packager's one-frame hold-back. The PyAV publisher logs when each FLV tag went
into the socket; a blocking-reload observer learns when each part entered the playlist; parts
are fetched and their tfdt/trun give each track's decode-time range, so every message maps to
its part exactly (video by millisecond × 90, audio by its 1024-sample frame).

Two figures: over all messages (a message early in a part waits for the rest of the part),
and over the message that completes each part (the last one sent that lands in it), which
isolates the server's own delay from the part duration.

    .venv/bin/python -m bench.ingest_to_part [--runs 3] [--seconds 35] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio

from bench import harness as h


async def one_run(source: h.LoadedSource, seconds: float) -> dict[str, object]:
    async with h.BenchEnv("ingest-to-part") as env:
        node = await env.start_node()
        name, key = await env.new_stream("ip")
        assert env.http is not None
        observer = h.PartObserver(env.http, f"{node.http}/live/{name}/source/index.m3u8")
        stop = asyncio.Event()
        task = asyncio.ensure_future(observer.run(stop))
        publisher = env.pyav_publisher(f"{node.rtmp}/{key}", source, max_seconds=seconds)
        cpu0, t0 = node.cpu_seconds(), asyncio.get_running_loop().time()
        publisher.start()
        await publisher.wait_connected()
        while publisher.running:
            await asyncio.sleep(0.2)
        cpu1, t1 = node.cpu_seconds(), asyncio.get_running_loop().time()
        await asyncio.sleep(1.0)  # the last parts flush when the publisher leaves
        stop.set()
        await task
        if publisher.error is not None:
            raise RuntimeError(f"publisher failed: {publisher.error!r}")
        result = h.ingest_to_part(publisher.sent, observer.parts)
        problems = env.stop_node(node)
    summary = result.summary()
    summary["node_cpu_pct"] = 100 * (cpu1 - cpu0) / (t1 - t0)
    summary["observer_errors"] = observer.errors[:10]
    summary["node_problems"] = problems
    summary["sent"] = len(publisher.sent)
    return summary


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh node and stream per run")
    parser.add_argument("--seconds", type=float, default=35.0, help="media seconds per run (≥ 30)")
    parser.add_argument("--json", help="write the figures here (for run_all)")
    args = parser.parse_args()
    m = h.machine()
    h.print_header("ingest to part", m)
    spec = h.SourceSpec()
    source = h.load_source(h.ensure_source(spec), spec)
    print(f"source: {spec.label}; {args.seconds:g} s per run")
    runs = []
    for run in range(args.runs):
        print(f"run {run + 1}/{args.runs}", flush=True)
        r = await one_run(source, args.seconds)
        runs.append(r)
        print(f"  all messages p50 {h.ms(r['msg_p50'])} p95 {h.ms(r['msg_p95'])} max {h.ms(r['msg_max'])}"
              f" | completing message p50 {h.ms(r['last_p50'])} p95 {h.ms(r['last_p95'])}"
              f" max {h.ms(r['last_max'])} | after the next part's first frame was sent p50"
              f" {h.ms(r['closing_p50'])} p95 {h.ms(r['closing_p95'])}", flush=True)
        print(f"  {r['messages']} messages in {r['parts']} parts ({r['media_seconds']:.1f} s media);"
              f" {r['parts_inexact']} parts arrived together with another (left out),"
              f" {r['unmapped_messages']} messages in no part, {r['video_start_mismatches']} parts"
              f" whose video start matched no sent frame; node CPU {r['node_cpu_pct']:.1f}% of a core")
        for line in r["observer_errors"] + r["node_problems"]:
            print(f"  ! {line}")
    keys = ("msg_p50", "msg_p95", "last_p50", "last_p95", "msg_max", "last_max", "closing_p50",
            "closing_p95", "node_cpu_pct")
    figures = {k: h.spread([r[k] for r in runs]) for k in keys}
    print(h.machine().line())
    print(f"ingest → part fetchable, all messages: p50 {h.fmt_spread(figures['msg_p50'], ' ms', 1000)},"
          f" p95 {h.fmt_spread(figures['msg_p95'], ' ms', 1000)}")
    print(f"ingest → part fetchable, completing message: p50 "
          f"{h.fmt_spread(figures['last_p50'], ' ms', 1000)}, p95 {h.fmt_spread(figures['last_p95'], ' ms', 1000)}")
    print(f"after the frame that closes the part was sent (next part's first video frame): p50 "
          f"{h.fmt_spread(figures['closing_p50'], ' ms', 1000)}, p95 "
          f"{h.fmt_spread(figures['closing_p95'], ' ms', 1000)}")
    print(f"node CPU for one 720p30 passthrough stream + one LL-HLS client: "
          f"{h.fmt_spread(figures['node_cpu_pct'], '%', digits=1)} of a core")
    h.write_json(args.json, {"machine": m, "source": spec.label, "seconds": args.seconds,
                             "figures": figures, "runs": runs})
    return 0


if __name__ == "__main__":
    raise SystemExit(h.run(main))
