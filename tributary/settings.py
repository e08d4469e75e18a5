"""The one typed settings model: environment variables, then an optional TOML file, then defaults.

Environment variables use the ``TRIBUTARY_`` prefix with ``__`` between nesting levels
(``TRIBUTARY_LIVE__PART_TARGET=0.25``); ``DATABASE_URL`` and ``REDIS_URL`` are also read bare
because every hosting platform sets them that way. The TOML file is named by
``TRIBUTARY_CONFIG`` (or ``--config``) and mirrors the same structure.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import limits
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


X264Preset = Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"]
"""libx264 presets offered for live encodes: slower ones cannot keep up in real time."""


class _Section(BaseModel):
    """A settings section: unknown keys are errors, so a typo in the TOML file is caught."""

    model_config = ConfigDict(extra="forbid")


class HttpSettings(_Section):
    host: str = "0.0.0.0"
    port: int = Field(8080, ge=0, le=65535)


class RtmpSettings(_Section):
    host: str = "0.0.0.0"
    port: int = Field(1935, ge=0, le=65535)
    handshake_timeout: float = Field(10.0, gt=0)
    idle_timeout: float = Field(30.0, gt=0, description="A publisher silent this long is dropped.")
    max_message_size: int = Field(8 * 1024 * 1024, gt=0)


class LadderSettings(_Section):
    """The live ABR ladder: renditions encoded next to the passthrough one."""

    heights: list[int] = Field(
        [720, 480, 360],
        description="Rung heights; those at or above the source's are skipped. Empty: passthrough only.",
    )
    preset: X264Preset = "veryfast"
    max_lag: float = Field(
        1.0, gt=0, description="Seconds a rung may fall behind real time before it is shed."
    )

    @field_validator("heights")
    @classmethod
    def _heights(cls, value: list[int]) -> list[int]:
        if any(not 90 <= height <= 4320 for height in value) or len(value) > 8:
            raise ValueError("at most 8 heights, each from 90 to 4320")
        return value


class WhipSettings(_Section):
    """WebRTC ingest (WHIP, RFC 9725) at ``/whip``: session bounds and the ingest encode.

    WebRTC delivers VP8 or H.264 in whatever shape the browser chose and Opus audio; the node
    re-encodes to the H.264 + AAC the packager takes, one worker thread per session.
    """

    max_sessions: int = Field(16, ge=0, le=1000, description="Concurrent WHIP publishers; more get 503.")
    max_sdp_size: int = Field(
        32 * 1024, ge=1024, le=1024 * 1024, description="Largest SDP offer or trickle fragment, bytes."
    )
    no_media_timeout: float = Field(
        10.0, gt=0, description="A session that receives no media this long (from its start) is closed."
    )
    keyframe_interval: float = Field(
        1.0, gt=0, le=10.0, description="Seconds between IDR frames; keep it at or below the segment target."
    )
    frame_rate: int = Field(
        30, ge=5, le=60, description="The ingest encode's constant frame rate (faster sources are decimated)."
    )
    video_bitrate: int = Field(2_500_000, ge=100_000, le=50_000_000, description="Ingest encode, bit/s.")
    audio_bitrate: int = Field(128_000, ge=32_000, le=512_000, description="AAC, bit/s.")
    preset: X264Preset = "veryfast"
    stun_servers: list[str] = Field(
        [], description="STUN URLs (stun:host:port) the node asks for its public address behind NAT."
    )

    @field_validator("stun_servers")
    @classmethod
    def _stun(cls, value: list[str]) -> list[str]:
        if any(not url.startswith("stun:") for url in value):
            raise ValueError("STUN server URLs look like stun:host:port")
        return value


class LiveSettings(_Section):
    part_target: float = Field(0.2, gt=0.05, le=2.0, description="LL-HLS part duration, seconds.")
    segment_target: float = Field(2.0, gt=0.2, le=20.0, description="Segments cut at the first keyframe after this.")
    window_segments: int = Field(12, ge=3, le=1000)
    reconnect_grace: float = Field(20.0, ge=0, description="How long a dropped publisher may take to come back.")
    ladder: LadderSettings = LadderSettings()


class TranscodeSettings(_Section):
    """Uploaded videos → HLS VOD (``vod/transcode``): the ladder, x264, segments and pictures.

    A transcode runs in a child process at lower CPU priority (``nice``), so live packaging on
    the same machine keeps its cores.
    """

    heights: list[Annotated[int, Field(ge=90, le=4320)]] = Field(
        [1080, 720, 480, 360],
        max_length=8,
        description="Rendition heights (the short side of a portrait video). The source's own "
        "size is the top rendition when it is below the largest; nothing is upscaled.",
    )
    preset: Literal[
        "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower"
    ] = Field(
        "fast",
        description="x264 preset. Measured on 2 busy cores, a 720p source to 3 renditions with "
        "audio and pictures: veryfast 1.6x real time, fast 1.0x, medium 0.85x.",
    )
    b_frames: int = Field(3, ge=1, le=16, description="x264 B-frames (a VOD has no latency to keep).")
    segment_duration: float = Field(4.0, ge=1.0, le=10.0, description="Seconds between keyframes and segments.")
    audio_bitrate: int = Field(128_000, ge=32_000, le=512_000, description="AAC, bit/s.")
    thumbnails: int = Field(4, ge=0, le=20, description="Thumbnails to choose from, besides the poster.")
    storyboard_interval: float = Field(2.0, ge=0.5, le=60.0, description="Seconds between storyboard frames.")
    storyboard_tile_width: int = Field(160, ge=32, le=640, description="Width of one storyboard frame, pixels.")
    storyboard_columns: int = Field(10, ge=1, le=20)
    storyboard_rows: int = Field(10, ge=1, le=20)
    nice: int = Field(10, ge=0, le=19, description="Added to the transcode process's niceness.")
    progress_interval: float = Field(
        1.0, gt=0, description="Seconds between progress writes to the catalog, at least."
    )
    work_dir: Path | None = Field(
        None, description="Scratch space for a source and its outputs; unset: <data_dir>/transcode."
    )


class ApiSettings(_Section):
    """The REST API (``/api/v1``): token lifetimes, body size, rate limits, password hashing."""

    access_token_ttl: float = Field(900, gt=0, le=86_400, description="JWT lifetime, seconds.")
    refresh_token_ttl: float = Field(30 * 86_400, gt=0, description="Refresh token lifetime, seconds.")
    playback_token_ttl: float = Field(
        4 * 3600, gt=0, description="Signed playback URL lifetime; must outlast a viewing session."
    )
    max_body_size: int = Field(64 * 1024, ge=1024, le=1024 * 1024, description="Largest JSON body, bytes.")
    auth_rate: str = Field(
        "10/minute", description="Log-in and register attempts per client address and per account."
    )
    write_rate: str = Field("120/minute", description="Writes per user (or client address).")
    # OWASP's argon2id baseline. argon2-cffi's default (RFC 9106 low-memory: 64 MiB, p=4) takes
    # 0.4 s per log-in on a 2-core machine, which makes log-in the cheapest way to load a node.
    argon2_time_cost: int = Field(2, ge=1, le=20)
    argon2_memory_kib: int = Field(19_456, ge=1024, le=4 * 1024 * 1024)
    argon2_parallelism: int = Field(1, ge=1, le=16)

    @field_validator("auth_rate", "write_rate")
    @classmethod
    def _rate(cls, value: str) -> str:
        limits.parse(value)  # "10/minute", "100 per hour", …; raises ValueError otherwise
        return value


S3_MIN_PART_SIZE = 5 * 1024 * 1024
"""S3 refuses smaller multipart parts (all but the last)."""


class S3Settings(_Section):
    """Object storage through the S3 API: AWS, or any S3-compatible store via ``endpoint_url``.

    Credentials left unset come from botocore's usual chain (environment, ~/.aws, instance
    role), so a node on AWS needs none in its settings.
    """

    bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    prefix: str = Field(
        "",
        pattern=r"^([A-Za-z0-9][A-Za-z0-9_.-]*/)*$",
        description="Put before every key so several deployments can share a bucket: empty, or "
        "segments ending in '/' (tributary/).",
    )
    endpoint_url: str | None = Field(None, description="Unset: AWS's endpoint for the region.")
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    addressing_style: Literal["auto", "path", "virtual"] = Field(
        "auto", description="`path` for stores without per-bucket host names (MinIO on one host)."
    )
    multipart_threshold: int = Field(
        8 * 1024 * 1024, ge=S3_MIN_PART_SIZE, description="Objects this large go up in parts."
    )
    multipart_part_size: int = Field(8 * 1024 * 1024, ge=S3_MIN_PART_SIZE, le=5 * 1024**3)
    connect_timeout: float = Field(5.0, gt=0, description="Seconds to connect before a retry.")
    read_timeout: float = Field(30.0, gt=0, description="Seconds a socket may stay silent.")
    attempts: int = Field(
        3, ge=1, le=20, description="Tries per request (throttling, 5xx, timeouts), backing off."
    )
    max_connections: int = Field(64, ge=1, le=10_000)

    @model_validator(mode="after")
    def _key_pair(self) -> S3Settings:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("set access_key_id and secret_access_key together, or neither")
        return self


class StorageSettings(_Section):
    """Where recordings (and, later, uploads) are kept: S3 when ``s3`` is set, else local disk."""

    local_root: Path | None = Field(None, description="Storage directory; unset: <data_dir>/storage.")
    s3: S3Settings | None = Field(None, description="Object storage instead of the local disk.")
    write_queue_bytes: int = Field(
        64 * 1024 * 1024,
        ge=1024 * 1024,
        description="Media one recording may hold in memory while storage catches up; past it, "
        "segments are dropped (and logged) rather than memory growing.",
    )


class UploadSettings(_Section):
    """Resumable uploads (tus 1.0 at ``/api/v1/uploads``): how large, how long they may sit
    unfinished, where their bytes wait until they are complete."""

    max_size: int = Field(
        20 * 1024**3, ge=1, description="Largest upload, bytes; announced as Tus-Max-Size, 413 beyond."
    )
    expiration: float = Field(
        24 * 3600.0,
        gt=0,
        description="Seconds an unfinished upload may go without a byte before it is deleted "
        "(its staged bytes, its row and its video).",
    )
    staging_dir: Path | None = Field(
        None, description="Where bytes wait until the upload is complete; unset: <data_dir>/uploads."
    )
    chunk_timeout: float = Field(
        30.0,
        gt=0,
        description="Seconds a request body may stay silent before it is cut off (what arrived is kept).",
    )
    sweep_interval: float = Field(
        60.0, gt=0, description="Seconds between sweeps for expired uploads and unfinished hand-overs."
    )


class EdgeSettings(_Section):
    """An edge cache node (``tributary serve edge``): where it listens, which origins it asks,
    and how much it may keep. Edges share the cluster's ``secret_key`` to check playback tokens."""

    host: str = "0.0.0.0"
    port: int = Field(8081, ge=0, le=65535)
    origins: list[str] = Field(
        [], description="Origin base URLs (http://host:port), tried in this order."
    )
    stream_origins: dict[str, list[str]] = Field(
        {}, description="Origins for particular live streams, by stream name, instead of `origins`."
    )
    cache_bytes: int = Field(256 * 1024 * 1024, ge=1024 * 1024, description="In-memory cache budget.")
    max_object_bytes: int = Field(
        64 * 1024 * 1024, ge=64 * 1024, description="Largest response the edge fetches and keeps."
    )
    disk_cache_dir: Path | None = Field(
        None, description="On-disk tier for VOD media (segments, thumbnails); unset: memory only."
    )
    disk_cache_bytes: int = Field(4 * 1024**3, ge=16 * 1024 * 1024)
    connect_timeout: float = Field(
        1.0, gt=0, description="Seconds to reach an origin before trying the next one."
    )
    upstream_timeout: float = Field(
        15.0, gt=0, description="Seconds an origin may take to answer; outlasts a blocking reload."
    )
    upstream_connections: int = Field(
        256, ge=1, le=10_000, description="Open connections to each origin, at most."
    )
    retry_after: float = Field(
        5.0, gt=0, description="Seconds a failed origin is passed over before it is tried again."
    )
    health_interval: float = Field(2.0, gt=0, description="Seconds between origin health checks.")
    storage_fallback: bool = Field(
        False, description="Serve VOD objects from `storage` when no origin answers."
    )

    @field_validator("origins")
    @classmethod
    def _origin_urls(cls, value: list[str]) -> list[str]:
        return [_origin_url(url) for url in value]

    @field_validator("stream_origins")
    @classmethod
    def _stream_origin_urls(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        if any(not urls for urls in value.values()):
            raise ValueError("every stream in stream_origins needs at least one origin")
        return {name: [_origin_url(url) for url in urls] for name, urls in value.items()}


class JobSettings(_Section):
    """Background jobs (transcodes, live-derived work) on Redis, run by workers
    (``tributary serve worker``, or one inside the all-in-one node): see ``vod/jobs/``.

    Retries, timeouts and heartbeats are stamped on a job when it is enqueued, so every node of
    a cluster should share this section.
    """

    queue_name: str = Field(
        "tributary",
        pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$",
        description="Prefix of the Redis queues, so deployments (or test runs) can share a Redis.",
    )
    concurrency: int = Field(
        1, ge=1, le=64, description="Upload jobs one worker runs at once (a transcode uses every core)."
    )
    live_concurrency: int = Field(
        1,
        ge=1,
        le=64,
        description="Live-derived jobs one worker runs at once, in slots of their own so they never "
        "wait behind uploads.",
    )
    job_timeout: int = Field(
        7200, ge=1, description="Seconds one try may run before it is cancelled (and retried)."
    )
    max_tries: int = Field(3, ge=1, le=10, description="Tries per job before it fails for good.")
    backoff_base: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="Seconds before the first retry; each further retry waits twice as long "
        "(half of it fixed, half random).",
    )
    dead_worker_timeout: int = Field(
        30,
        ge=3,
        le=3600,
        description="Seconds a running job may go without its worker's heartbeat before it is "
        "taken for dead and the job retried by another worker.",
    )
    shutdown_grace: float = Field(
        10.0,
        ge=0,
        description="On shutdown, seconds running jobs get to finish before they are cancelled and "
        "handed back to the queue.",
    )
    task_modules: list[str] = Field(
        [],
        description="Extra modules whose `TASKS` workers also run (plugins; the test suite registers "
        "its test jobs this way).",
    )
    http_host: str = "0.0.0.0"
    http_port: int = Field(8082, ge=0, le=65535, description="A worker's /healthz, /readyz, /metrics.")


class ChatSettings(_Section):
    """Live chat and real-time comments over Socket.IO at ``/socket.io`` (see ``chat/``).

    Room rules (rate, slow mode, subscribers-only, length) start from these defaults and are
    changed per room by its moderators; the state lives in Redis, shared by every chat node.
    """

    host: str = "0.0.0.0"
    port: int = Field(8083, ge=0, le=65535, description="A chat node's port (`tributary serve chat`).")
    rate: str = Field(
        "3 per 2 seconds", description="Messages one user may send in one room (a `limits` string)."
    )
    max_length: int = Field(500, ge=1, le=10_000, description="Longest message, characters.")
    history_messages: int = Field(50, ge=0, le=1000, description="Messages a joining client is sent.")
    history_age: float = Field(
        6 * 3600, gt=0, description="Seconds a live message stays in the history a joiner is sent."
    )
    max_event_bytes: int = Field(
        16 * 1024, ge=1024, le=1024 * 1024, description="Largest Socket.IO packet; bigger ones drop the client."
    )
    event_rate: float = Field(
        10.0, gt=0, description="Events per second one connection may send, on average."
    )
    event_burst: int = Field(30, ge=1, description="Events one connection may send at once.")
    flood_disconnect: int = Field(
        200, ge=1, description="Events refused for flooding after which the connection is dropped."
    )
    max_queued_packets: int = Field(
        1000,
        ge=10,
        description="Packets waiting for a client that does not read; beyond this it is dropped.",
    )
    ping_interval: float = Field(25.0, gt=0, description="Engine.IO heartbeat interval, seconds.")
    ping_timeout: float = Field(20.0, gt=0, description="Seconds a heartbeat may go unanswered.")
    max_rooms: int = Field(10, ge=1, le=1000, description="Rooms one connection may be in at once.")
    max_banned_words: int = Field(500, ge=0, le=10_000, description="Banned words per channel.")
    cors_origins: list[str] | Literal["*"] = Field(
        "*", description="Origins browsers may connect from."
    )
    profanity_filter: bool = Field(True, description="Mask profanity (glin-profanity) in messages.")

    @field_validator("rate")
    @classmethod
    def _rate(cls, value: str) -> str:
        limits.parse(value)
        return value


class PublicSettings(_Section):
    """Where clients reach a cluster, when that is not this node: what the API returns and the
    pages use. Each unset URL falls back to this node's own (``public_host`` and the bound
    ports), which is right for one box.

    In a cluster the API/web node returns edges for playback and origins for publishing, and
    pages connect chat to chat nodes; each list is spread over by picking one entry per
    request (viewers land on the edges evenly without a load balancer in front).
    """

    site_url: str | None = Field(None, description="The web UI and API, e.g. https://tv.example.")
    rtmp_url: str | None = Field(None, description="Where OBS publishes, e.g. rtmp://ingest.example/live.")
    ingest_url: str | None = Field(
        None, description="An origin's HTTP base for WHIP publishing (<ingest_url>/whip/STREAM)."
    )
    playback_urls: list[str] = Field(
        [], description="Edge (or origin) HTTP bases that serve /live and /vod to viewers."
    )
    chat_urls: list[str] = Field(
        [], description="Chat node HTTP bases for Socket.IO; empty: the page's own host."
    )

    @field_validator("site_url", "ingest_url")
    @classmethod
    def _http_base(cls, value: str | None) -> str | None:
        return None if value is None else _origin_url(value)

    @field_validator("playback_urls", "chat_urls")
    @classmethod
    def _http_bases(cls, value: list[str]) -> list[str]:
        return [_origin_url(url) for url in value]

    @field_validator("rtmp_url")
    @classmethod
    def _rtmp(cls, value: str | None) -> str | None:
        if value is not None and (urlsplit(value).scheme not in ("rtmp", "rtmps") or not urlsplit(value).netloc):
            raise ValueError(f"an RTMP URL looks like rtmp://host:1935/live, not {value!r}")
        return value.rstrip("/") if value is not None else None


class WebhookSettings(_Section):
    """Webhooks (``webhooks/``): events POSTed, signed, to the operator's endpoints by the
    workers (``serve worker``, or the all-in-one node's), with retries; see docs/webhooks.md.

    Events are recorded in the catalog whether or not endpoints are set; with none, they are
    only kept for ``retention`` and then deleted. Every worker of a cluster should share this
    section: an event is handed to the endpoints of the worker that takes it first.
    """

    urls: list[HttpUrl] = Field(
        [], max_length=20, description="Endpoints every event is sent to (http or https)."
    )
    secret: SecretStr | None = Field(
        None, description="Signs every request (Tributary-Signature); required with `urls`."
    )
    request_timeout: float = Field(
        10.0, gt=0, le=120, description="Seconds one request may take, answer included."
    )
    max_attempts: int = Field(12, ge=1, le=30, description="Tries per event and endpoint.")
    backoff_base: float = Field(
        30.0, gt=0, le=3600, description="Seconds before the first retry; doubled for each further one."
    )
    backoff_cap: float = Field(
        6 * 3600.0, gt=0, le=7 * 86_400, description="Longest wait between two tries, seconds."
    )
    concurrency: int = Field(
        4, ge=1, le=64, description="Requests in flight to one endpoint at once (per worker)."
    )
    retention: float = Field(
        7 * 86_400.0,
        ge=1,
        description="Seconds an event is kept after it was recorded, once its deliveries are done.",
    )
    poll_interval: float = Field(
        5.0,
        gt=0,
        le=300,
        description="Seconds between looks for due retries and missed wake-ups (new events wake "
        "workers at once through PostgreSQL notifications).",
    )

    @field_validator("urls")
    @classmethod
    def _distinct(cls, value: list[HttpUrl]) -> list[HttpUrl]:
        if len({str(url) for url in value}) != len(value):
            raise ValueError("an endpoint URL is listed twice")
        return value

    @model_validator(mode="after")
    def _signed(self) -> WebhookSettings:
        if self.urls and self.secret is None:
            raise ValueError("webhook urls need a secret to sign requests with")
        if self.secret is not None and len(self.secret.get_secret_value()) < 32:
            raise ValueError("the webhook secret must be at least 32 characters")
        if self.backoff_cap < self.backoff_base:
            raise ValueError("backoff_cap must be at least backoff_base")
        return self


def _origin_url(url: str) -> str:
    parsed = urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.query or parsed.fragment:
        raise ValueError(f"expected a base URL like http://host:8080, not {url!r}")
    return url.rstrip("/")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TRIBUTARY_", env_nested_delimiter="__", extra="forbid"
    )

    data_dir: Path = Field(default_factory=lambda: Path.home() / ".local" / "share" / "tributary")
    database_url: str | None = Field(
        None, validation_alias=AliasChoices("TRIBUTARY_DATABASE_URL", "DATABASE_URL")
    )
    redis_url: str | None = Field(
        None, validation_alias=AliasChoices("TRIBUTARY_REDIS_URL", "REDIS_URL")
    )
    public_host: str = Field("127.0.0.1", description="Host name printed in RTMP and watch URLs.")
    secret_key: SecretStr | None = Field(
        None,
        description="Signs access and playback tokens; every node of a cluster needs the same one. "
        "Unset: generated once and kept in the data directory (see tributary/secret_key.py).",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["auto", "console", "json"] = "auto"
    http: HttpSettings = HttpSettings()
    rtmp: RtmpSettings = RtmpSettings()
    live: LiveSettings = LiveSettings()
    transcode: TranscodeSettings = TranscodeSettings()
    api: ApiSettings = ApiSettings()
    whip: WhipSettings = WhipSettings()
    storage: StorageSettings = StorageSettings()
    edge: EdgeSettings = EdgeSettings()
    uploads: UploadSettings = UploadSettings()
    jobs: JobSettings = JobSettings()
    chat: ChatSettings = ChatSettings()
    public: PublicSettings = PublicSettings()
    webhooks: WebhookSettings = WebhookSettings()

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("secret_key must be at least 32 characters")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_path = _config_file.get() or os.environ.get("TRIBUTARY_CONFIG")
        if toml_path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(toml_path)))
        return tuple(sources)

    @property
    def rtmp_url(self) -> str:
        return f"rtmp://{self.public_host}:{self.rtmp.port}/live"

    def watch_url(self, stream: str) -> str:
        return f"http://{self.public_host}:{self.http.port}/watch/{stream}"


_config_file: ContextVar[Path | None] = ContextVar("tributary_config_file", default=None)


def load_settings(config_file: Path | None = None) -> Settings:
    """Load settings; an explicit ``config_file`` wins over ``TRIBUTARY_CONFIG``."""
    path = config_file or (Path(p) if (p := os.environ.get("TRIBUTARY_CONFIG")) else None)
    if path is not None and not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    token = _config_file.set(path)
    try:
        return Settings()
    finally:
        _config_file.reset(token)
