"""The all-in-one node: catalog, ingest, packager, origin HTTP and the API wired together, in start order.

Each part is reached through its public face only: the catalog answers "whose key is this",
the packager's registry hands out publish sessions and live windows, the RTMP server only
knows an ``open_publish`` callback, the origin routes only a ``lookup`` function, and the API
only the pool, Redis, the signing secret and two callables (public URLs, live stream names).
"""

from __future__ import annotations

import asyncio
import random
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
import redis.asyncio as redis
import structlog
from aiohttp import web

from catalog.api.app import PREFIX as API_PREFIX
from catalog.api.app import create_api
from catalog.api.context import ApiContext, PublicUrls
from catalog.access_tokens import AccessTokens
from catalog.db import open_pool
from catalog.live_streams import LiveStreamCatalog
from catalog.recordings import Recordings
from chat import ChatServer, CommentAnnouncer
from ingest.live_directory import LiveDirectory
from ingest.publish_lease import PublishLease, PublishLeases
from ingest.publishing import BAD_NAME, PublishRejected
from ingest.rtmp.server import RtmpLimits, RtmpServer
from ingest.whip.routes import add_whip_routes
from ingest.whip.server import WhipServer
from origin.live_routes import add_live_routes
from origin.vod_routes import add_vod_routes
from packager.live.publish_session import PublishSession
from packager.live.registry import AlreadyPublishing, LiveRegistry
from packager.media import AudioConfig, MediaPacket, VideoConfig
from tributary.embedded import EmbeddedServices
from tributary.health_endpoints import add_health_routes, database_and_redis, storage_reachable
from tributary.metrics_endpoint import add_metrics_route
from tributary.redis_client import open_redis
from tributary.secret_key import load_secret_key
from tributary.settings import Settings
from vod.playback_manifest import PlaybackManifests
from vod.recording import Recorder
from vod.storage import Storage, open_storage
from vod.jobs import JobDeps, JobQueue, Worker, registry
from vod.uploads import UPLOADS_PATH, UploadedVideo, UploadStore, create_upload_app
from web.routes import add_web_routes
from webhooks.dispatcher import Dispatcher
from webhooks.outbox import Outbox
from webhooks.stream_events import StreamWebhooks

log = structlog.get_logger(__name__)

RTMP_APP = "live"


class _LeasedPublish:
    """A publish session that gives its cluster lease back when the publisher leaves."""

    def __init__(self, session: PublishSession, lease: PublishLease, node: Node) -> None:
        self._session = session
        self._lease = lease
        self._node = node

    @property
    def stream(self) -> str:
        return self._session.stream

    def on_metadata(self, metadata: dict[str, object]) -> None:
        self._session.on_metadata(metadata)

    def on_video_config(self, config: VideoConfig) -> None:
        self._session.on_video_config(config)

    def on_audio_config(self, config: AudioConfig) -> None:
        self._session.on_audio_config(config)

    def on_packet(self, packet: MediaPacket) -> None:
        self._session.on_packet(packet)

    def close(self) -> None:
        self._session.close()
        self._node.spawn(self._lease.release())


@dataclass(frozen=True, slots=True)
class Endpoints:
    http_port: int
    rtmp_port: int | None
    """None on an API node, which ingests nothing."""


class Node:
    def __init__(self, settings: Settings, *, worker: bool = True, ingest: bool = True) -> None:
        """``worker``: run a job worker in this process (the all-in-one node); cluster origins
        leave the jobs to ``tributary serve worker`` processes. ``ingest``: take publishers
        (RTMP, WHIP) and serve their live streams; an API node (``serve api``) does not, and
        learns what is live anywhere in the cluster from the publish leases in Redis."""
        self.settings = settings
        self._run_worker = worker
        self._ingest = ingest
        self.node_id = f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        self.embedded = EmbeddedServices()
        self.pool: asyncpg.Pool | None = None
        self.redis: redis.Redis | None = None
        self.streams: LiveStreamCatalog | None = None
        self.api: ApiContext | None = None
        self.registry = LiveRegistry(settings.live)
        self.recorder: Recorder | None = None
        self.storage: Storage | None = None
        self.uploads: UploadStore | None = None
        self.jobs: JobQueue | None = None
        self.worker: Worker | None = None
        self.webhooks: Dispatcher | None = None
        self.rtmp: RtmpServer | None = None
        self.whip: WhipServer | None = None
        self.chat: ChatServer | None = None
        self.live_directory: LiveDirectory | None = None
        self._runner: web.AppRunner | None = None
        self._leases: PublishLeases | None = None
        self._tasks: set[asyncio.Task[object]] = set()
        self.endpoints: Endpoints | None = None

    async def start(self) -> Endpoints:
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise
        assert self.endpoints is not None
        return self.endpoints

    async def start_catalog_only(self) -> None:
        """For command-line tools that only touch the catalog (``tributary stream create``)."""
        try:
            await self._start_catalog()
        except BaseException:
            await self.stop()
            raise

    async def _start_catalog(self) -> None:
        s = self.settings
        s.data_dir.mkdir(parents=True, exist_ok=True)
        database_url = s.database_url or await self.embedded.start_postgres(s.data_dir)
        self.pool = await open_pool(database_url)
        self.streams = LiveStreamCatalog(self.pool)

    async def _start(self) -> None:
        s = self.settings
        await self._start_catalog()
        redis_url = s.redis_url or await self.embedded.start_redis(s.data_dir)
        self.redis = open_redis(redis_url)
        await self.redis.ping()
        self._leases = PublishLeases(self.redis, self.node_id)
        assert self.pool is not None
        self.registry.listener = StreamWebhooks(Outbox(self.pool), self.spawn)
        storage = self.storage = await open_storage(s.storage, s.data_dir)
        recordings = Recordings(self.pool)
        self.recorder = Recorder(storage, recordings, queue_bytes=s.storage.write_queue_bytes)
        self.jobs = JobQueue(redis_url, s.jobs)
        if self._run_worker:
            self.worker = Worker(
                redis_url, s.jobs, registry(s.jobs.task_modules), JobDeps(s, self.pool, storage, self.redis)
            )
            await self.worker.start()

        app = web.Application(client_max_size=1024 * 1024)
        add_metrics_route(app)
        add_health_routes(app, (*database_and_redis(self.pool, self.redis), storage_reachable(storage)))
        if self._ingest:
            live_now, is_live = await self._start_ingest(app)
        else:
            self.live_directory = LiveDirectory(self.redis)
            await self.live_directory.start()
            live_now, is_live = self.live_directory.names, self.live_directory.is_live
        add_web_routes(app, is_live, s.public)
        secret_key = load_secret_key(s)
        self.chat = ChatServer(
            s.chat, redis_url=redis_url, redis_client=self.redis, pool=self.pool,
            access_tokens=AccessTokens.of_secret(secret_key, s.api.access_token_ttl),
            node_id=self.node_id,
        )
        self.chat.attach(app)
        await self.chat.start()
        self.api = ApiContext.create(
            s.api,
            pool=self.pool,
            redis_client=self.redis,
            secret_key=secret_key,
            public_urls=self.public_urls,
            live_now=live_now,
            playback_change=PlaybackManifests(storage, recordings).changing,
            comment_feed=CommentAnnouncer(self.chat.broadcast),
        )
        add_vod_routes(app, storage, recordings.stored_video, self.api.playback_key)
        app.add_subapp(API_PREFIX, create_api(self.api))
        self.uploads = UploadStore(
            s.uploads, s.data_dir, pool=self.pool, storage=storage, on_uploaded=self._transcode
        )
        app.add_subapp(UPLOADS_PATH, create_upload_app(self.uploads, self.api))
        # handler_cancellation: a viewer that hangs up while its playlist request is blocked
        # frees its waiter at once instead of at the blocking timeout.
        self._runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=2.0, handler_cancellation=True
        )
        await self._runner.setup()
        # Bind first, serve second: the ports are known before the first request can ask the
        # API for URLs that name them.
        sock = socket.create_server((s.http.host, s.http.port))
        rtmp_port = self.rtmp.port if self.rtmp is not None else None
        self.endpoints = Endpoints(http_port=sock.getsockname()[1], rtmp_port=rtmp_port)
        await web.SockSite(self._runner, sock).start()
        if self._run_worker:  # after the endpoints: event bodies link to the site
            self.webhooks = Dispatcher(s.webhooks, self.pool, site_url=lambda: self.public_urls().http)
            await self.webhooks.start()
        http_port = self.endpoints.http_port
        log.info("node.started", http_port=http_port, rtmp_port=rtmp_port, node=self.node_id)

    async def _start_ingest(
        self, app: web.Application
    ) -> tuple[Callable[[], list[str]], Callable[[str], bool]]:
        """RTMP, WHIP and the live routes; what is live, as the API and pages ask it. RTMP
        first: the API builds URLs that name both ports."""
        s = self.settings
        self.rtmp = RtmpServer(
            self.open_publish,
            RtmpLimits(
                handshake_timeout=s.rtmp.handshake_timeout,
                idle_timeout=s.rtmp.idle_timeout,
                max_message_size=s.rtmp.max_message_size,
            ),
        )
        await self.rtmp.start(s.rtmp.host, s.rtmp.port)
        add_live_routes(app, self.registry.lookup)
        self.whip = WhipServer(self._open_whip_publish, s.whip)
        add_whip_routes(app, self.whip)
        return self.registry.live_names, lambda name: self.registry.lookup(name) is not None

    async def _transcode(self, uploaded: UploadedVideo) -> None:
        """A finished upload becomes a transcode job (a repeat for one video is a no-op)."""
        assert self.jobs is not None
        await self.jobs.enqueue_transcode(uploaded.public_id, uploaded.raw_key)

    def public_urls(self) -> PublicUrls:
        """Where clients reach the service: the ``[public]`` settings where set (a cluster),
        else this node's public host name and the ports actually bound. Playback goes to one
        of the edges, picked per call, so viewers spread over them."""
        assert self.endpoints is not None
        public = self.settings.public
        host = self.settings.public_host
        own = f"http://{host}:{self.endpoints.http_port}"
        rtmp_port = self.endpoints.rtmp_port or self.settings.rtmp.port
        return PublicUrls(
            http=public.site_url or own,
            rtmp=public.rtmp_url or f"rtmp://{host}:{rtmp_port}/{RTMP_APP}",
            ingest=public.ingest_url or own,
            playback=random.choice(public.playback_urls) if public.playback_urls else own,
        )

    async def open_publish(self, app: str, key: str, *, stream_name: str | None = None) -> _LeasedPublish:
        """The RTMP and WHIP gate: a known key (of ``stream_name``, when the publisher named
        the stream), and nobody else publishing that stream."""
        assert self.streams is not None and self._leases is not None
        if app != RTMP_APP:
            raise PublishRejected(BAD_NAME, f"unknown application {app!r}; publish to /{RTMP_APP}")
        stream = await self.streams.stream_for_key(key)
        if stream is None or (stream_name is not None and stream_name != stream.name):
            raise PublishRejected(BAD_NAME, "unknown or revoked stream key")
        session_id = uuid.uuid4().hex[:12]
        lease = await self._leases.acquire(stream.name, session_id)
        if lease is None:
            raise PublishRejected(
                BAD_NAME, f"stream {stream.name!r} is already being published", busy=True
            )
        recorder = self.recorder
        assert recorder is not None
        # Read at every publish, but used only when the publish starts a new stream.
        record = (lambda _name: recorder.start(stream)) if stream.record else None
        try:
            session = await self.registry.publish(stream.name, new_recorder=record)
        except AlreadyPublishing as exc:
            await lease.release()
            raise PublishRejected(BAD_NAME, str(exc), busy=True) from None
        except BaseException:
            await lease.release()
            raise
        log.info("ingest.publish_started", stream=stream.name, session=session_id)
        return _LeasedPublish(session, lease, self)

    async def _open_whip_publish(self, key: str, stream_name: str | None) -> _LeasedPublish:
        return await self.open_publish(RTMP_APP, key, stream_name=stream_name)

    def spawn(self, coro: object) -> None:
        """Run a short background job owned by the node (awaited at shutdown)."""
        task = asyncio.get_running_loop().create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        if self.rtmp is not None:
            await self.rtmp.close()
            self.rtmp = None
        if self.live_directory is not None:
            await self.live_directory.close()
            self.live_directory = None
        if self.whip is not None:
            await self.whip.close()
            self.whip = None
        await self.registry.close()
        if self.chat is not None:
            await self.chat.stop()
            self.chat = None
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.worker is not None:  # a running job is handed back to the queue
            await self.worker.stop()
            self.worker = None
        if self.webhooks is not None:  # after the tasks that record the last streams' ends
            await self.webhooks.stop()
            self.webhooks = None
        if self.jobs is not None:
            await self.jobs.close()
            self.jobs = None
        if self.storage is not None:  # after the registry: closing streams finish recordings
            await self.storage.close()
            self.storage = None
        if self.redis is not None:
            await self.redis.aclose(close_connection_pool=True)
            self.redis = None
        if self.pool is not None:
            await self.pool.close()
            self.pool = None
        await self.embedded.stop()
        log.info("node.stopped", node=self.node_id)
