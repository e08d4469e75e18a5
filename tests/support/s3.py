"""A real S3 HTTP API on loopback for tests: moto in server mode, in a thread of the test process.

The storage code talks to it exactly as to AWS (signed HTTP requests through aiobotocore), so
what is tested is the wire protocol, multipart limits (5 MiB parts) and error codes included.
Import the fixtures into a test module or conftest to use them.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import aioboto3
import pytest
from moto.server import ThreadedMotoServer
from pydantic import SecretStr

from tributary.settings import S3Settings

REGION = "us-east-1"
CREDENTIALS = {"access_key_id": "testing", "secret_access_key": SecretStr("testing")}


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of a moto S3 server on a free port, for the whole session."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def operator_client(endpoint: str) -> AbstractAsyncContextManager[Any]:
    """An S3 client of the store's own (``async with``): the bucket as an operator sees it,
    not through Tributary's storage code."""
    session = aioboto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    return session.client("s3", endpoint_url=endpoint)


def s3_settings(endpoint: str, bucket: str, **overrides: Any) -> S3Settings:
    return S3Settings(
        bucket=bucket, endpoint_url=endpoint, region=REGION, **{**CREDENTIALS, **overrides}
    )


@pytest.fixture
async def s3_bucket(moto_endpoint: str) -> str:
    """A new, empty bucket on the moto server (made as an operator would, outside Tributary)."""
    name = f"tributary-{uuid.uuid4().hex[:12]}"
    async with operator_client(moto_endpoint) as client:
        await client.create_bucket(Bucket=name)
    return name
