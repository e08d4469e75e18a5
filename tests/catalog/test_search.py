"""Search: relevance, typo tolerance, filters, sorts, paging, privacy, and index use; live
streams (``type=live``/``all``) through the data module with chosen live names, and through the
API with streams published over real RTMP into the real node.

The catalog's database is shared by every test, so each test searches for words of its own
(a random token) and looks only at its own videos in the results.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

import aiohttp
import asyncpg
import pytest

from catalog.access import Role
from catalog.migrations_runner import apply_migrations
from catalog.search import LiveSearch, SearchFilters, SearchSort, VideoSearch
from catalog.videos import Privacy
from tests.support.databases import scratch_database
from tests.support.ffmpeg import Source, start_publish
from tests.support.llhls import wait_playlist
from tests.support.social import walk
from tests.support.videos import cursor_of, ids_of, publish, upload


def token() -> str:
    """A word no other test uses: letters only, so the stemmer leaves it alone."""
    return "zq" + "".join(chr(ord("a") + int(c, 16) % 26) for c in uuid.uuid4().hex[:10])


def typo(word: str) -> str:
    """Two neighbouring letters in the middle of ``word`` swapped."""
    i = len(word) // 2
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


async def results(api, q, account=None, **params) -> list[dict]:
    got = await api.call("GET", "/search", account=account, params={"q": q, **params})
    assert got.status == 200, got.body
    return got.body["items"]


async def search(api, q, account=None, **params) -> list[str]:
    """The ids of the videos found (live results, which have none, left out)."""
    return [item["id"] for item in await results(api, q, account, **params) if item["kind"] == "video"]


@pytest.fixture
async def owner(api):
    return await api.register(creator=True)


async def test_title_beats_tags_beats_description(api, owner):
    word = token()
    in_description = await publish(api, owner, "Something else", description=f"all about {word} here")
    in_title = await publish(api, owner, f"The {word} show")
    in_tags = await publish(api, owner, "Another thing", tags=[word, "misc"])
    assert await search(api, word) == [in_title, in_tags, in_description]
    # Stemming: the plural finds the singular.
    assert in_title in await search(api, f"{word}s")
    # Web search syntax: exclusion and phrases.
    assert await search(api, f"{word} -show") == [in_tags, in_description]
    assert await search(api, f'"the {word} show"') == [in_title]


async def test_typos_find_titles(api, owner):
    suffix = token()
    video = await publish(api, owner, f"Tributary live server {suffix}")
    unrelated = await publish(api, owner, f"Completely unrelated {suffix}")
    for typo in ("tributray", "tribuatry", f"tributray server {suffix}"):
        assert video in await search(api, typo), typo
    assert unrelated not in await search(api, "tributray")
    # With exact hits there are no fuzzy ones: "{suffix}x" would be a typo of both titles.
    assert set(await search(api, f"{suffix} server")) == {video}
    assert set(await search(api, f"{suffix}x")) == {video, unrelated}


async def test_only_public_ready_videos_are_found(api, owner):
    word = token()
    admin = await api.register()
    await api.set_role(admin, Role.ADMIN)
    public = await publish(api, owner, f"{word} public")
    for privacy in (Privacy.UNLISTED, Privacy.PRIVATE):
        await publish(api, owner, f"{word} {privacy.value}", privacy=privacy)
    await upload(api, owner, f"{word} uploading", privacy="public")
    for account in (None, owner, admin):
        assert await search(api, word, account) == [public]
        assert await search(api, f"{word[:-1]}x", account) == [public]  # the typo path too


async def test_filters(api, owner):
    word = token()
    short = await publish(api, owner, f"{word} short", duration=30, category="music")
    long = await publish(api, owner, f"{word} long", duration=3600, category="music", age=timedelta(days=3))
    old = await publish(api, owner, f"{word} old", duration=600, category="news", age=timedelta(days=200))
    ancient = await publish(api, owner, f"{word} ancient", duration=600, age=timedelta(days=800))
    assert set(await search(api, word, min_duration="60")) == {long, old, ancient}
    assert set(await search(api, word, max_duration="600")) == {short, old, ancient}
    assert set(await search(api, word, min_duration="60", max_duration="600")) == {old, ancient}
    assert set(await search(api, word, category="music")) == {short, long}
    assert set(await search(api, word, uploaded="today")) == {short}
    assert set(await search(api, word, uploaded="week")) == {short, long}
    assert set(await search(api, word, uploaded="month")) == {short, long}
    assert set(await search(api, word, uploaded="year")) == {short, long, old}
    assert set(await search(api, word, uploaded="week", category="news")) == set()
    assert set(await search(api, word, type="video")) == {short, long, old, ancient}
    assert [item["kind"] for item in await results(api, word)] == ["video"] * 4  # type=all
    assert await results(api, word, type="live", category="music") == []  # no stream has one


async def test_sorts_and_paging(api, owner):
    word = token()
    ages = [timedelta(days=d) for d in (5, 1, 3, 2, 4)]
    ids = [await publish(api, owner, f"{word} number {n}", age=age) for n, age in enumerate(ages)]
    pool = api.node.node.pool
    views = [30, 10, 50, 20, 40]
    for video, count in zip(ids, views, strict=True):
        await pool.execute("UPDATE videos SET view_count = $2 WHERE public_id = $1", video, count)
    by_date = [ids[i] for i in (1, 3, 2, 4, 0)]
    by_views = [ids[i] for i in (2, 4, 0, 3, 1)]
    assert await search(api, word, sort="date") == by_date
    assert await search(api, word, sort="views") == by_views
    for sort, expected in (("date", by_date), ("views", by_views), ("relevance", await search(api, word))):
        assert await ids_of(api, "/search", q=word, sort=sort, limit="2") == expected, sort
    # A cursor belongs to its sort.
    first = await api.call("GET", "/search", params={"q": word, "sort": "date", "limit": "1"})
    other = await api.call("GET", "/search", params={"q": word, "sort": "views",
                                                      "cursor": first.body["next_cursor"]})
    assert (other.status, other.body["error"]) == (400, "invalid_cursor")


async def test_typo_results_page_too(api, owner):
    stem = token()
    ids = {await publish(api, owner, f"{stem}abc episode {n}") for n in range(5)}
    seen = await ids_of(api, "/search", q=f"{stem}acb", limit="2")
    assert set(seen) == ids and len(seen) == 5


@pytest.mark.parametrize("params", [
    {}, {"q": ""}, {"q": "x" * 101}, {"q": "a\x01b"}, {"q": "x", "sort": "popular"},
    {"q": "x", "uploaded": "decade"}, {"q": "x", "min_duration": "-1"}, {"q": "x", "max_duration": "abc"},
    {"q": "x", "category": ""}, {"q": "x", "type": "vod"}, {"q": "x", "limit": "101"},
    {"q": "x", "cursor": cursor_of([1.5])}, {"q": "x", "cursor": cursor_of(["x", 1])},
    {"q": "x", "cursor": cursor_of([1.5, 1])}, {"q": "x", "cursor": cursor_of(["video", -1.0, 1])},
    {"q": "x", "sort": "views", "cursor": cursor_of(["video", -1, 1])},
    {"q": "x", "sort": "date", "cursor": cursor_of(["video", "2026-01-01T00:00:00", 1])},
    {"q": "x", "type": "live", "cursor": cursor_of(["video", 0.5, 1])},
    {"q": "x", "type": "video", "cursor": cursor_of(["live", 0.5, "abc"])},
    {"q": "x", "type": "live", "cursor": cursor_of(["live", 0.5, "Not a stream name"])},
    {"q": "x", "type": "live", "category": "music", "cursor": cursor_of(["x"])},
    {"q": "x", "uploaded": "week", "cursor": cursor_of(["live", 0.5, "abc"])},  # no live block
])
async def test_bad_searches(api, params):
    got = await api.call("GET", "/search", params=params)
    assert got.status in (400, 422), (params, got.body)


@pytest.mark.parametrize("q", ["the", "Robert'); DROP TABLE videos; --", "a & b | !c <-> d", "\"", "-",
                               "or", "🎥🔥", "%_\\", "مرحبا"])
async def test_odd_queries_are_just_text(api, q):
    assert (await api.call("GET", "/search", params={"q": q})).status == 200


@pytest.fixture(scope="module")
async def catalog_of_25k(services):
    """A scratch catalog of 25,000 videos (15,000 listed; 1 % of titles say "tributary"): big
    enough for the planner to choose plans as it would in production."""
    async with scratch_database(services.database_url) as url:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        try:
            async with pool.acquire() as conn:
                await apply_migrations(conn)
                await conn.execute(_CATALOG_OF_25K)
            yield pool
        finally:
            await pool.close()


_CATALOG_OF_25K = """
    INSERT INTO users (email, username, display_name, password_hash) VALUES ('a@b.c', 'abc', 'A', '-');
    INSERT INTO channels (owner_id, handle, title) SELECT id, 'abc', 'A' FROM users;
    INSERT INTO videos (public_id, channel_id, title, description, tags, category, privacy, status,
                        duration_seconds)
    SELECT lpad(to_hex(i), 11, '0'), (SELECT id FROM channels),
           CASE WHEN i % 100 = 0 THEN 'tributary ' ELSE '' END || md5(i::text),
           'about ' || md5((i * 7)::text), ARRAY['tag' || i % 50], (ARRAY['music', 'news'])[1 + i % 2],
           (ARRAY['public', 'public', 'public', 'unlisted', 'private'])[1 + i % 5]::video_privacy,
           'ready', i % 3600
    FROM generate_series(1, 25000) i;
    INSERT INTO live_streams (name, title)
    SELECT 's' || i, CASE WHEN i % 100 = 0 THEN 'tributary ' ELSE '' END || md5(i::text)
    FROM generate_series(1, 5000) i;
    ANALYZE videos;
    ANALYZE live_streams;"""


@pytest.mark.parametrize("typo", [False, True])
@pytest.mark.parametrize("sort", list(SearchSort))
async def test_queries_use_the_indexes(catalog_of_25k, typo, sort):
    filters = SearchFilters(category="music", published_within=timedelta(days=7))
    plan = await VideoSearch(catalog_of_25k).plan("tributary", filters, sort=sort, typo=typo)
    index = "videos_title_trigrams" if typo else "videos_search_document"
    assert f"Bitmap Index Scan on {index}" in plan, plan
    assert "Seq Scan on videos" not in plan, plan


async def test_live_stream_plan_uses_the_name_index(catalog_of_25k):
    plan = await LiveSearch(catalog_of_25k).plan("tributary", ["s100", "s7", "s4000"])
    assert "live_streams_name_key" in plan, plan
    assert "Seq Scan on live_streams" not in plan, plan


# ------------------------------------------------------------------------------------ live streams


async def test_live_search_matches_title_channel_and_typos(api):
    """The data module, with the names of the streams live given: what matches, and how."""
    word, studio = token(), token()
    creator = await api.register(creator=True, display_name=f"{studio} Studio")
    names = {}
    for label, title in (("titled", f"The {word} launch party"), ("other", "Something else"),
                         ("offline", f"{word} rehearsal")):
        names[label] = f"{label}-{creator.username[1:]}"
        got = await api.call("POST", "/live-streams", json={"name": names[label], "title": title},
                             account=creator)
        assert got.status == 201, got.body
    # Made on the command line: no channel, still searchable by its title.
    names["cli"] = f"cli-{creator.username[1:]}"
    await api.node.node.streams.create(names["cli"], f"{word} from the command line")
    live = [names["titled"], names["other"], names["cli"], "not-a-stream-at-all"]
    search = LiveSearch(api.node.node.pool)

    async def found(q, after=None, limit=20):
        return [(hit.stream.name, hit.channel_handle, hit.channel_title)
                for hit in await search.search(q, live, after=after, limit=limit)]

    by_title = await found(word)
    assert sorted(by_title) == sorted([(names["titled"], creator.channel, f"{studio} Studio"),
                                       (names["cli"], None, None)])
    assert {name for name, _, _ in await found(typo(word))} == {names["titled"], names["cli"]}
    assert {name for name, _, _ in await found(f"{word}s")} == {names["titled"], names["cli"]}  # stems
    assert {name for name, _, _ in await found(studio)} == {names["titled"], names["other"]}
    assert {name for name, _, _ in await found(creator.channel)} == {names["titled"], names["other"]}
    assert {name for name, _, _ in await found(typo(studio))} == {names["titled"], names["other"]}
    assert await found(f"{word} -launch") == [(names["cli"], None, None)]  # web search syntax
    assert await found(token()) == []
    assert await search.search(word, [], after=None, limit=20) == []  # nothing live: no query
    for odd in ("the", "Robert'); DROP TABLE live_streams; --", "a & b | !c <-> d", "\"", "-", "🎥🔥",
                "%_\\", "مرحبا"):
        assert isinstance(await found(odd), list), odd  # just text, never an SQL error
    # Paging: (relevance, name) keys, each stream once.
    hits = await search.search(word, live, after=None, limit=20)
    first = await search.search(word, live, after=None, limit=1)
    rest = await search.search(word, live, after=(first[0].relevance, first[0].stream.name), limit=5)
    assert [h.stream.name for h in first + rest] == [h.stream.name for h in hits]


async def _wait_until(check, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.2)


async def test_live_streams_in_search_published_for_real(api):
    """Streams published over RTMP into the node are found while live, first, and not after."""
    word, studio = token(), token()
    creator = await api.register(creator=True, display_name=f"{studio} Studio")
    name = f"srch-{creator.username[1:]}"
    created = await api.call("POST", "/live-streams", json={"name": name, "title": f"{word} launch"},
                             account=creator)
    assert created.status == 201, created.body
    cli_name = f"srchcli-{creator.username[1:]}"
    cli = await api.node.node.streams.create(cli_name, f"{word} on the command line")
    video = await publish(api, creator, f"{word} replay", duration=60)
    source = Source(seconds=60, width=320, height=180, fps=15, gop=30)
    publishers = [await start_publish(f"{api.node.rtmp}/{created.body['stream_key']}", source),
                  await start_publish(f"{api.node.rtmp}/{cli.key}", source)]
    try:
        async with aiohttp.ClientSession() as http:
            for stream in (name, cli_name):
                await wait_playlist(http, f"{api.node.http}/live/{stream}/master.m3u8", timeout=30)
        live_card = {
            "kind": "live", "name": name, "title": f"{word} launch", "channel": creator.channel,
            "channel_title": f"{studio} Studio", "watch_url": f"{api.node.http}/watch/{name}",
            "playlist_url": f"{api.node.http}/live/{name}/master.m3u8",
        }
        cli_card = {**live_card, "name": cli_name, "title": f"{word} on the command line",
                    "channel": None, "channel_title": None, "watch_url": f"{api.node.http}/watch/{cli_name}",
                    "playlist_url": f"{api.node.http}/live/{cli_name}/master.m3u8"}

        def by_name(items):
            return sorted(items, key=lambda item: item.get("name", ""))

        assert by_name(await results(api, word, type="live")) == [live_card, cli_card]
        assert by_name(await results(api, typo(word), type="live")) == [live_card, cli_card]
        assert await results(api, studio, type="live") == [live_card]  # the channel's title
        assert await results(api, creator.channel, type="live") == [live_card]  # its handle
        assert [(i["kind"], i["id"]) for i in await results(api, word, type="video")] == [("video", video)]
        everything = await results(api, word)  # type=all: live first, whatever the sort
        assert [item["kind"] for item in everything] == ["live", "live", "video"]
        assert [item["kind"] for item in await results(api, word, sort="date")] == ["live", "live", "video"]
        # Paged one by one across the two kinds: each result once, in the same order.
        assert await walk(api, "/search", q=word, limit="1") == everything
        assert await walk(api, "/search", q=word, limit="2") == everything
        assert await walk(api, "/search", q=word, limit="1", type="live") == everything[:2]
        # A video filter: no stream has a duration.
        assert [i["kind"] for i in await results(api, word, min_duration="30")] == ["video"]
    finally:
        for publisher in publishers:
            publisher.kill()
            await publisher.wait()

    async def ended() -> bool:
        return await results(api, word, type="live") == []

    await _wait_until(ended)  # after the reconnect grace the streams are over
    # ... and become videos themselves (their recordings), which may be catalogued by now.
    after = [(i["kind"], i["id"]) for i in await results(api, word)]
    assert {kind for kind, _ in after} == {"video"} and ("video", video) in after
