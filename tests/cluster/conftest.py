"""A whole cluster on loopback, each role its own ``tributary serve ROLE`` process: the topology
of docker-compose.yml without Docker. Real PostgreSQL and Redis, moto's S3 API for the object
store, one origin, two edges, two chat nodes, two workers and the API node.

Settings reach every process through its environment, as in the compose file; the API node is
told where the edges and chat nodes are (``[public]``), the edges where the origin is.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.role_process import RoleProcess, start_role
from tests.support.s3 import REGION, moto_endpoint, operator_client  # noqa: F401 (fixture)


@dataclass
class Cluster:
    origin: RoleProcess
    edges: list[RoleProcess]
    chats: list[RoleProcess]
    workers: list[RoleProcess]
    api: RoleProcess
    bucket: str

    def roles(self) -> list[RoleProcess]:
        return [self.origin, *self.edges, *self.chats, *self.workers, self.api]


def _shared_env(moto: str, bucket: str) -> dict[str, str]:
    """What every node of the cluster shares, as the compose file's ``x-cluster`` block."""
    return {
        "TRIBUTARY_SECRET_KEY": secrets.token_hex(32),
        "TRIBUTARY_STORAGE__S3__BUCKET": bucket,
        "TRIBUTARY_STORAGE__S3__ENDPOINT_URL": moto,
        "TRIBUTARY_STORAGE__S3__REGION": REGION,
        "TRIBUTARY_STORAGE__S3__ADDRESSING_STYLE": "path",
        "TRIBUTARY_STORAGE__S3__ACCESS_KEY_ID": "testing",
        "TRIBUTARY_STORAGE__S3__SECRET_ACCESS_KEY": "testing",
        # Quick enough to watch within a test: a dead worker's job is taken back after 3 s.
        "TRIBUTARY_JOBS__QUEUE_NAME": f"cluster{uuid.uuid4().hex[:10]}",
        "TRIBUTARY_JOBS__DEAD_WORKER_TIMEOUT": "3",
        "TRIBUTARY_JOBS__BACKOFF_BASE": "0.5",
        "TRIBUTARY_TRANSCODE__HEIGHTS": "[240]",
        "TRIBUTARY_TRANSCODE__PRESET": "ultrafast",
        "TRIBUTARY_TRANSCODE__THUMBNAILS": "1",
        "TRIBUTARY_TRANSCODE__PROGRESS_INTERVAL": "0.2",
        "TRIBUTARY_LIVE__LADDER": '{"heights": [240]}',
        "TRIBUTARY_LIVE__RECONNECT_GRACE": "2",
        "TRIBUTARY_EDGE__HEALTH_INTERVAL": "0.5",
    }


@pytest.fixture(scope="module")
async def cluster(services, moto_endpoint, tmp_path_factory) -> AsyncIterator[Cluster]:
    bucket = f"cluster-{uuid.uuid4().hex[:12]}"
    async with operator_client(moto_endpoint) as s3:
        await s3.create_bucket(Bucket=bucket)
    root: Path = tmp_path_factory.mktemp("cluster")
    shared = _shared_env(moto_endpoint, bucket)
    started: list[RoleProcess] = []

    async def start(role: str, name: str, **env: str) -> RoleProcess:
        node = await start_role(role, services.database_url, services.redis_url, root / name,
                                {**shared, **env})
        started.append(node)
        return node

    try:
        origin = await start("origin", "origin")
        edges = [await start("edge", f"edge-{i}", TRIBUTARY_EDGE__ORIGINS=f'["{origin.http}"]')
                 for i in (1, 2)]
        chats = [await start("chat", f"chat-{i}") for i in (1, 2)]
        workers = [await start("worker", f"worker-{i}") for i in (1, 2)]
        api = await start(
            "api", "api",
            TRIBUTARY_PUBLIC__RTMP_URL=origin.rtmp,
            TRIBUTARY_PUBLIC__INGEST_URL=origin.http,
            TRIBUTARY_PUBLIC__PLAYBACK_URLS=str([edge.http for edge in edges]).replace("'", '"'),
            TRIBUTARY_PUBLIC__CHAT_URLS=str([chat.http for chat in chats]).replace("'", '"'),
        )
        yield Cluster(origin, edges, chats, workers, api, bucket)
    finally:
        for node in reversed(started):
            await node.stop(grace=10)
