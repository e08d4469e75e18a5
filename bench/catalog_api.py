"""Catalog API with 100,000 videos and 1,000,000 views: search, trending, a video page, and
``GET /api/v1/videos/{id}`` throughput on one node process.

A scratch database on the benchmark's PostgreSQL (``DATABASE_URL``'s server, or an embedded one
started here) is migrated and loaded once with asyncpg's COPY (``copy_records_to_table``):
2,000 users, 1,000 channels, the videos (80 % public, 10 % unlisted, 10 % private; 95 % ready;
published over two years, recent ones more often), the views (one million distinct
viewer-hours over 30 days, skewed towards popular videos and recent hours, ``view_count`` equal
to them) and 100,000 reactions. Titles, tags and descriptions are drawn with a Zipf law from a
vocabulary of a few real words and thousands of made-up ones, so queries range from common to
rare. Then, per run, a fresh node process (``python -m tributary serve origin``) serves it and
is measured from this process over loopback:

- search: 300 requests, one at a time, over varied queries (common, rare, two words, phrases,
  typos) with filters (duration, upload date, category) and the three sorts; ``type`` is the
  default, ``all``, with nothing live (the live block costs no query then);
- trending: 200 requests (first pages and second pages);
- a video page: the calls a watch page makes, concurrently as a browser would (the video, its
  channel, the viewer's reaction), for 200 listed videos: page latency = the slowest of the three;
- ``GET /api/v1/videos/{id}`` requests per second: ``wrk`` (Debian package) with 1 thread and 64
  connections for 10 s over 1,000 listed videos, or, without wrk, an aiohttp client with 64
  requests in flight. Both share the machine with the node: on 2 cores the load generator takes
  most of one.

The query plans of a search (exact and typo) on this data are printed once, with the indexes
they use, and so is the time a full trending refresh takes.

    .venv/bin/python -m bench.catalog_api [--runs 3] [--videos 100000] [--views 1000000] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import secrets
import shutil
import subprocess
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg

from bench import harness as h
from catalog.migrations_runner import apply_migrations
from catalog.search import SearchFilters, SearchSort, VideoSearch
from catalog.trending import HotScores

SEED = 3
USERS = 2_000
CHANNELS = 1_000
REACTIONS = 100_000
STOP_WORDS = ["the", "a", "and", "of", "to", "in", "for", "with", "on", "my", "how", "is", "this",
              "your", "from"]
REAL_WORDS = ["music", "live", "tutorial", "review", "cooking", "travel", "gaming", "news",
              "guitar", "recipe", "football", "podcast", "concert", "river", "mountain", "drone",
              "python", "tributary", "highlights", "interview"]
CATEGORIES = ["music", "gaming", "education", "news", "sports", "travel", "food", "film",
              "science", "comedy", "howto", "tech", "pets", "autos", "nonprofit"]
SEARCH_REQUESTS = 300
TRENDING_REQUESTS = 200
PAGE_VIEWS = 200
RPS_SECONDS = 10
RPS_CONNECTIONS = 64


# ------------------------------------------------------------------------------------ the data


def vocabulary(rng: random.Random, size: int = 6_000) -> list[str]:
    """Words by rank: English stop words at the head of the Zipf law (the search drops them),
    the real words spread over ranks 30-600 (the commonest appears in about 10 % of
    descriptions), made-up pronounceable words everywhere else."""
    consonants, vowels = "bcdfghjklmnprstvz", "aeiou"
    made_up: set[str] = set()
    while len(made_up) < size - len(STOP_WORDS) - len(REAL_WORDS):
        made_up.add("".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.randint(2, 4))))
    words = sorted(made_up)
    rng.shuffle(words)
    for rank, word in zip(range(30, 630, 30), REAL_WORDS, strict=True):
        words.insert(rank - len(STOP_WORDS), word)
    return STOP_WORDS + words


class Zipf:
    """Draws items with probability ∝ 1 / rank^s."""

    def __init__(self, items: list[Any], rng: random.Random, s: float = 1.0) -> None:
        self.items = items
        self._rng = rng
        total, self._cumulative = 0.0, []
        for rank in range(1, len(items) + 1):
            total += 1 / rank**s
            self._cumulative.append(total)

    def draw(self, k: int) -> list[Any]:
        return self._rng.choices(self.items, cum_weights=self._cumulative, k=k)


@dataclass
class Catalog:
    listed: list[tuple[str, str]]  # (public id, channel handle) of public, ready videos
    words: list[str]
    load_seconds: float
    refresh_seconds: float
    plans: dict[str, str]


def _recent(rng: random.Random, now: datetime, span: timedelta) -> datetime:
    """A moment within ``span`` before ``now``, recent ones more likely (squared uniform)."""
    return now - span * rng.random() ** 2


async def load(url: str, n_videos: int, n_views: int) -> Catalog:
    rng = random.Random(SEED)
    started = time.monotonic()
    conn = await asyncpg.connect(url)
    try:
        await apply_migrations(conn)
        # COPY is binary; citext's binary form is text's.
        await conn.set_builtin_type_codec("citext", schema="public", codec_name="text")
        now = datetime.now(UTC)
        await conn.copy_records_to_table(
            "users", columns=["email", "username", "display_name", "password_hash", "role"],
            records=[(f"user{i}@bench.example", f"user{i}", f"User {i}", "-",
                      "creator" if i < CHANNELS else "viewer") for i in range(USERS)])
        user_ids = [r["id"] for r in await conn.fetch("SELECT id FROM users ORDER BY id")]
        await conn.copy_records_to_table(
            "channels", columns=["owner_id", "handle", "title"],
            records=[(user_ids[i], f"channel{i}", f"Channel {i}") for i in range(CHANNELS)])
        channels = [(r["id"], r["handle"]) for r in await conn.fetch("SELECT id, handle FROM channels ORDER BY id")]

        words = vocabulary(rng)
        zipf_words = Zipf(words, rng)
        popularity = Zipf(list(range(n_videos)), rng, s=0.8)
        view_videos = Counter(popularity.draw(n_views))
        likes = Counter(popularity.draw(REACTIONS))
        videos = []
        for i in range(n_videos):
            privacy = rng.choices(["public", "unlisted", "private"], weights=[8, 1, 1])[0]
            status = rng.choices(["ready", "processing", "uploading"], weights=[95, 3, 2])[0]
            created = _recent(rng, now, timedelta(days=730))
            published = created + timedelta(minutes=10) if status == "ready" and privacy != "private" else None
            videos.append((
                secrets.token_urlsafe(8), channels[rng.randrange(CHANNELS)][0],
                " ".join(zipf_words.draw(rng.randint(3, 8))).capitalize(),
                " ".join(zipf_words.draw(rng.randint(15, 40))),
                zipf_words.draw(rng.randint(0, 5)), rng.choice(CATEGORIES), "en", privacy, status,
                float(rng.randint(10, 7200)), view_videos[i], 0, 0, rng.randint(0, 50),
                created, created, published,
            ))
        await conn.copy_records_to_table(
            "videos", records=videos,
            columns=["public_id", "channel_id", "title", "description", "tags", "category", "language",
                     "privacy", "status", "duration_seconds", "view_count", "like_count", "dislike_count",
                     "comment_count", "created_at", "updated_at", "published_at"])
        video_ids = [r["id"] for r in await conn.fetch("SELECT id FROM videos ORDER BY id")]

        hour = now.replace(minute=0, second=0, microsecond=0)
        views = [(video_ids[video], secrets.token_bytes(16), hour - timedelta(hours=int(720 * rng.random() ** 2)))
                 for video, count in view_videos.items() for _ in range(count)]
        await conn.copy_records_to_table("video_views", columns=["video_id", "viewer", "hour"], records=views)

        reactions = {}
        for video in likes:
            for user in rng.sample(user_ids, min(likes[video], USERS)):
                reactions[(video_ids[video], user)] = (
                    rng.choices(["like", "dislike"], weights=[9, 1])[0], _recent(rng, now, timedelta(days=30)))
        await conn.copy_records_to_table(
            "video_reactions", columns=["video_id", "user_id", "kind", "created_at"],
            records=[(v, u, kind, at) for (v, u), (kind, at) in reactions.items()])
        await conn.execute("""
            UPDATE videos v SET like_count = r.likes, dislike_count = r.dislikes
            FROM (SELECT video_id, count(*) FILTER (WHERE kind = 'like') AS likes,
                         count(*) FILTER (WHERE kind = 'dislike') AS dislikes
                  FROM video_reactions GROUP BY video_id) r
            WHERE r.video_id = v.id""")
        await conn.execute("VACUUM ANALYZE")
        load_seconds = time.monotonic() - started
        listed = [(r["public_id"], r["handle"]) for r in await conn.fetch(
            """SELECT v.public_id, c.handle FROM videos v JOIN channels c ON c.id = v.channel_id
               WHERE v.privacy = 'public' AND v.status = 'ready'""")]
    finally:
        await conn.close()

    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    try:
        t0 = time.monotonic()
        await HotScores(pool).refresh()
        refresh_seconds = time.monotonic() - t0
        search = VideoSearch(pool)
        plans = {
            f"{label} ({sort.value})": await search.plan(q, SearchFilters(), sort=sort, typo=typo)
            for label, q, typo in (("exact 'tributary'", "tributary", False), ("typo 'tributray'", "tributray", True))
            for sort in (SearchSort.RELEVANCE, SearchSort.VIEWS)
        }
    finally:
        await pool.close()
    return Catalog(listed, words, load_seconds, refresh_seconds, plans)


def plan_summary(plan: str) -> str:
    scans = re.findall(r"((?:Bitmap Index|Index Only|Index|Seq) Scan(?: using| on) \w+(?: on \w+)?)", plan)
    return "; ".join(dict.fromkeys(scans))


# ------------------------------------------------------------------------------------ the queries


def typo(word: str, rng: random.Random) -> str:
    """Two neighbouring letters swapped (inside the word)."""
    i = rng.randrange(1, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def search_queries(words: list[str], rng: random.Random) -> list[dict[str, str]]:
    common, middle, rare = REAL_WORDS, words[1000:2000], words[4000:]
    queries: list[dict[str, str]] = []
    for word in common[:8]:
        queries.append({"q": word})
    for _ in range(6):
        queries.append({"q": rng.choice(middle)})
        queries.append({"q": rng.choice(rare)})
        queries.append({"q": f"{rng.choice(common)} {rng.choice(middle)}"})
        queries.append({"q": f'"{rng.choice(common)} {rng.choice(common)}"'})
        queries.append({"q": typo(rng.choice(common + middle[:50]), rng)})
    queries.append({"q": "tributray"})
    filters = [{"min_duration": "600"}, {"max_duration": "300"}, {"uploaded": "week"},
               {"uploaded": "year"}, {"category": "music"}, {"min_duration": "60", "max_duration": "1200"}]
    for extra in filters:
        queries.append({"q": rng.choice(common), **extra})
        queries.append({"q": rng.choice(middle), **extra})
    for sort in ("date", "views"):
        for word in common[:4] + [rng.choice(middle) for _ in range(2)]:
            queries.append({"q": word, "sort": sort})
    return queries


# ------------------------------------------------------------------------------------ measuring


async def timed(http: aiohttp.ClientSession, url: str, **kw: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    async with http.get(url, **kw) as resp:
        body = await resp.json()
        if resp.status != 200:
            raise RuntimeError(f"GET {url} → {resp.status}: {body}")
    return time.perf_counter() - t0, body


def latencies(samples: list[float]) -> dict[str, float]:
    return {"p50": h.percentile(samples, 50), "p95": h.percentile(samples, 95), "n": len(samples)}


async def measure_search(http: aiohttp.ClientSession, api: str, queries: list[dict[str, str]],
                         rng: random.Random) -> dict[str, float]:
    plan = [rng.choice(queries) for _ in range(SEARCH_REQUESTS)]
    timings = [((await timed(http, f"{api}/search", params=params))[0], params) for params in plan]
    slowest = sorted(timings, key=lambda t: t[0], reverse=True)[:3]
    print("  slowest searches: " + ", ".join(f"{h.ms(took)} {params}" for took, params in slowest))
    return latencies([took for took, _ in timings])


async def measure_trending(http: aiohttp.ClientSession, api: str) -> dict[str, float]:
    samples = []
    for _ in range(TRENDING_REQUESTS // 2):
        took, first = await timed(http, f"{api}/trending", params={"limit": "20"})
        samples.append(took)
        took, _ = await timed(http, f"{api}/trending", params={"limit": "20", "cursor": first["next_cursor"]})
        samples.append(took)
    return latencies(samples)


async def measure_video_page(http: aiohttp.ClientSession, api: str, listed: list[tuple[str, str]],
                             token: str, rng: random.Random) -> dict[str, float]:
    auth = {"Authorization": f"Bearer {token}"}
    samples = []
    for video_id, handle in rng.sample(listed, PAGE_VIEWS):
        t0 = time.perf_counter()
        await asyncio.gather(
            timed(http, f"{api}/videos/{video_id}"),
            timed(http, f"{api}/channels/{handle}"),
            timed(http, f"{api}/videos/{video_id}/reaction", headers=auth),
        )
        samples.append(time.perf_counter() - t0)
    return latencies(samples)


_WRK_SCRIPT = """
local ids = {%s}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/api/v1/videos/" .. ids[(n %% #ids) + 1])
end
"""


def wrk_rps(base: str, ids: list[str], workdir: Path) -> float:
    script = workdir / "videos.lua"
    script.write_text(_WRK_SCRIPT % ", ".join(f'"{i}"' for i in ids))
    out = subprocess.run(
        ["wrk", "-t1", f"-c{RPS_CONNECTIONS}", f"-d{RPS_SECONDS}s", "-s", str(script), base],
        capture_output=True, text=True, timeout=RPS_SECONDS + 30, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"wrk saw {errors[1]} failed requests:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])


async def aiohttp_rps(http: aiohttp.ClientSession, api: str, ids: list[str]) -> float:
    done = 0
    deadline = time.monotonic() + RPS_SECONDS

    async def worker(offset: int) -> None:
        nonlocal done
        n = offset
        while time.monotonic() < deadline:
            async with http.get(f"{api}/videos/{ids[n % len(ids)]}") as resp:
                await resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"GET /videos → {resp.status}")
            done += 1
            n += RPS_CONNECTIONS

    t0 = time.monotonic()
    await asyncio.gather(*[worker(i) for i in range(RPS_CONNECTIONS)])
    return done / (time.monotonic() - t0)


async def one_run(env: h.BenchEnv, url: str, catalog: Catalog, rng: random.Random) -> dict[str, Any]:
    assert env.services is not None and env.http is not None
    node = h.NodeProcess(h.ServiceUrls(url, env.services.redis_url), env.tmp / f"node-{uuid.uuid4().hex[:6]}")
    try:
        await node.wait_ready(env.http)
        api = f"{node.http}/api/v1"
        http = env.http
        tag = uuid.uuid4().hex[:10]
        async with http.post(f"{api}/auth/register", json={
                "email": f"b{tag}@bench.example", "username": f"b{tag}", "display_name": "Bench",
                "password": "benchmark password"}) as resp:
            token = (await resp.json())["tokens"]["access_token"]
        queries = search_queries(catalog.words, rng)
        for params in queries[:20]:  # warm-up: connections, prepared statements, caches
            await timed(http, f"{api}/search", params=params)
        await timed(http, f"{api}/trending")
        result: dict[str, Any] = {
            "search": await measure_search(http, api, queries, rng),
            "trending": await measure_trending(http, api),
            "video_page": await measure_video_page(http, api, catalog.listed, token, rng),
        }
        ids = [video_id for video_id, _ in rng.sample(catalog.listed, 1000)]
        if shutil.which("wrk"):
            result["rps"], result["rps_tool"] = await asyncio.to_thread(wrk_rps, node.http, ids, env.tmp), "wrk"
        else:
            result["rps"], result["rps_tool"] = await aiohttp_rps(http, api, ids), "aiohttp"
        result["node_cpu_seconds"] = node.cpu_seconds()
    finally:
        node.stop()
    result["node_problems"] = node.problems()
    return result


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh node per run, same data (default 3)")
    parser.add_argument("--videos", type=int, default=100_000)
    parser.add_argument("--views", type=int, default=1_000_000)
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    m = h.machine()
    h.print_header("catalog API", m)
    rng = random.Random(SEED)
    async with h.BenchEnv("catalog") as env:
        assert env.services is not None
        name = f"tributary_bench_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(env.services.database_url)
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            url = _with_database(env.services.database_url, name)
            print(f"loading {args.videos:,} videos and {args.views:,} views …", flush=True)
            catalog = await load(url, args.videos, args.views)
            print(f"  loaded in {catalog.load_seconds:.1f} s; {len(catalog.listed):,} listed videos;"
                  f" full trending refresh {catalog.refresh_seconds * 1000:.0f} ms")
            for label, plan in catalog.plans.items():
                print(f"  plan, {label}: {plan_summary(plan)}")
            runs = []
            for run in range(args.runs):
                result = await one_run(env, url, catalog, rng)
                runs.append(result)
                print(f"run {run + 1}/{args.runs}: search p50 {h.ms(result['search']['p50'])}"
                      f" p95 {h.ms(result['search']['p95'])}; trending p50 {h.ms(result['trending']['p50'])}"
                      f" p95 {h.ms(result['trending']['p95'])}; video page p50 {h.ms(result['video_page']['p50'])}"
                      f" p95 {h.ms(result['video_page']['p95'])}; GET /videos/{{id}} {result['rps']:.0f} req/s"
                      f" ({result['rps_tool']})", flush=True)
                for line in result["node_problems"]:
                    print(f"  node log: {line}")
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
    figures = {
        f"{kind}_{q}": h.spread([r[kind][q] for r in runs])
        for kind in ("search", "trending", "video_page") for q in ("p50", "p95")
    }
    figures["rps"] = h.spread([r["rps"] for r in runs])
    print(m.line())
    print(f"{args.videos:,} videos, {args.views:,} views; medians over {args.runs} runs (min–max):")
    for kind, label in (("search", "search"), ("trending", "trending"), ("video_page", "video page (3 calls)")):
        print(f"  {label}: p50 {h.fmt_spread(figures[kind + '_p50'], ' ms', 1000, 1)},"
              f" p95 {h.fmt_spread(figures[kind + '_p95'], ' ms', 1000, 1)}")
    print(f"  GET /api/v1/videos/{{id}}, one node process: {h.fmt_spread(figures['rps'], ' req/s')}"
          f" ({runs[0]['rps_tool']}, {RPS_CONNECTIONS} connections, {m.cores} cores shared with the load generator)")
    h.write_json(args.json, {"machine": m, "videos": args.videos, "views": args.views,
                             "load_seconds": catalog.load_seconds, "refresh_seconds": catalog.refresh_seconds,
                             "listed": len(catalog.listed),
                             "plans": {label: plan_summary(plan) for label, plan in catalog.plans.items()},
                             "figures": figures, "runs": runs})
    return 0


if __name__ == "__main__":
    raise SystemExit(h.run(main))
