"""Storage in an S3 bucket (AWS, or any S3-compatible store), through aioboto3.

One client is opened by :meth:`S3Storage.open` and kept until :meth:`S3Storage.close`: it owns
the connection pool, so requests reuse warm connections instead of paying a TCP (and TLS)
handshake each, and the pool's size bounds what one node asks of the store at once. Timeouts and
retries (botocore's ``standard`` mode: throttling, 5xx and dropped connections, with backoff)
come from :class:`~tributary.settings.S3Settings`; what still fails is a
:class:`~vod.storage.base.StorageError`, so callers never see botocore's exceptions.

Objects at or above ``multipart_threshold`` go up in parts of ``multipart_part_size``: a single
PUT is capped at 5 GiB, and a failed part is retried alone rather than the whole object. A
multipart upload that fails is aborted; one cut short by a crash leaves parts that only a bucket
lifecycle rule (``AbortIncompleteMultipartUpload``) removes, so buckets should have one.

Local files go up the same way, their parts read one at a time in a worker thread, and come
down in 1 MiB reads written by a worker thread to a temporary file renamed into place: memory
holds one part (or one read) whatever the size of the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, BinaryIO

import aioboto3
import structlog
from aiobotocore.config import AioConfig
from botocore.exceptions import BotoCoreError, ClientError

from tributary.settings import S3Settings
from vod.storage.base import (
    ObjectInfo,
    ObjectNotFound,
    StorageError,
    check_key,
    check_prefix,
    is_key,
)

log = structlog.get_logger(__name__)

_NOT_FOUND = frozenset({"NoSuchKey", "404", "NotFound"})
"""Error codes for a missing object (HEAD has no body, so its code is the bare status)."""
_DOWNLOAD_READ = 1024 * 1024


@contextlib.asynccontextmanager
async def _storage_errors(key: str) -> AsyncIterator[None]:
    try:
        yield
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _NOT_FOUND:
            raise ObjectNotFound(key) from None
        raise StorageError(f"{key}: {exc}") from exc
    except BotoCoreError as exc:  # connection refused, timeouts after the last retry, …
        raise StorageError(f"{key}: {exc}") from exc


class S3Storage:
    def __init__(self, settings: S3Settings) -> None:
        self._settings = settings
        self._bucket = settings.bucket
        self._prefix = settings.prefix
        self._client: Any = None  # aiobotocore's S3 client: generated at run time, untyped
        self._exit_stack: AsyncExitStack | None = None

    async def open(self) -> None:
        """Create the client (and its connection pool); connections are made on first use."""
        s = self._settings
        secret = s.secret_access_key
        session = aioboto3.Session(
            aws_access_key_id=s.access_key_id,
            aws_secret_access_key=secret.get_secret_value() if secret else None,
            region_name=s.region,
        )
        config = AioConfig(
            connect_timeout=s.connect_timeout,
            read_timeout=s.read_timeout,
            retries={"mode": "standard", "total_max_attempts": s.attempts},
            max_pool_connections=s.max_connections,
            s3={"addressing_style": s.addressing_style},
        )
        async with AsyncExitStack() as stack:
            self._client = await stack.enter_async_context(
                session.client("s3", endpoint_url=s.endpoint_url, config=config)
            )
            self._exit_stack = stack.pop_all()
        log.debug("storage.s3_opened", bucket=self._bucket, endpoint=s.endpoint_url)

    async def close(self) -> None:
        if self._exit_stack is not None:
            await self._exit_stack.aclose()
            self._exit_stack = None
            self._client = None

    def _key(self, key: str) -> str:
        return self._prefix + check_key(key)

    async def put(self, key: str, data: bytes) -> None:
        name = self._key(key)
        async with _storage_errors(key):
            if len(data) < self._settings.multipart_threshold:
                await self._client.put_object(Bucket=self._bucket, Key=name, Body=data)
            else:
                await self._put_multipart(name, _slices(data, self._settings.multipart_part_size))

    async def put_file(self, key: str, path: Path) -> None:
        name = self._key(key)
        file = await asyncio.to_thread(path.open, "rb")  # the caller's file: its errors are theirs
        try:
            size = os.fstat(file.fileno()).st_size
            async with _storage_errors(key):
                if size < self._settings.multipart_threshold:
                    data = await asyncio.to_thread(file.read)
                    await self._client.put_object(Bucket=self._bucket, Key=name, Body=data)
                else:
                    await self._put_multipart(name, _file_parts(file, self._settings.multipart_part_size))
        finally:
            await asyncio.to_thread(file.close)

    async def get_file(self, key: str, path: Path) -> None:
        name = self._key(key)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        file = await asyncio.to_thread(temporary.open, "wb")
        try:
            async with _storage_errors(key):
                response = await self._client.get_object(Bucket=self._bucket, Key=name)
                body = response["Body"]  # read through botocore's wrapper, which checks the length
                async with body:
                    async for chunk in body.iter_chunks(_DOWNLOAD_READ):
                        await asyncio.to_thread(file.write, chunk)
            await asyncio.to_thread(file.close)
            await asyncio.to_thread(os.replace, temporary, path)
        finally:
            await asyncio.to_thread(_discard, file, temporary)

    async def get(self, key: str) -> bytes:
        name = self._key(key)
        async with _storage_errors(key):
            response = await self._client.get_object(Bucket=self._bucket, Key=name)
            async with response["Body"] as body:
                return await body.read()

    async def get_range(self, key: str, start: int, end: int) -> bytes:
        if start < 0 or end < start:
            raise ValueError(f"bad byte range [{start}, {end})")
        if start == end:  # S3 cannot express an empty range; the object must still exist
            await self.head(key)
            return b""
        name = self._key(key)
        async with _storage_errors(key):
            try:
                response = await self._client.get_object(
                    Bucket=self._bucket, Key=name, Range=f"bytes={start}-{end - 1}"
                )
            except ClientError as exc:
                # A range starting at or past the end: S3 found the object but has no bytes
                # for it, which the interface answers with no bytes (as for a clamped range).
                if exc.response.get("Error", {}).get("Code") == "InvalidRange":
                    return b""
                raise
            async with response["Body"] as body:
                return await body.read()

    async def head(self, key: str) -> ObjectInfo:
        name = self._key(key)
        async with _storage_errors(key):
            response = await self._client.head_object(Bucket=self._bucket, Key=name)
        return ObjectInfo(key, response["ContentLength"])

    async def list(self, prefix: str) -> list[ObjectInfo]:
        check_prefix(prefix)
        found = []
        async with _storage_errors(prefix):
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self._bucket, Prefix=self._prefix + prefix
            )
            async for page in pages:
                for item in page.get("Contents", ()):
                    key = item["Key"].removeprefix(self._prefix)
                    if is_key(key):  # objects others put in the bucket are not ours to list
                        found.append(ObjectInfo(key, item["Size"]))
        return found  # S3 lists in UTF-8 byte order, which is key order for ASCII keys

    async def delete(self, key: str) -> None:
        name = self._key(key)
        async with _storage_errors(key):
            await self._client.delete_object(Bucket=self._bucket, Key=name)

    async def _put_multipart(self, name: str, chunks: AsyncIterator[bytes]) -> None:
        """Parts go up one after another, each read from ``chunks`` only when the one before it
        is stored: memory stays at one part."""
        created = await self._client.create_multipart_upload(Bucket=self._bucket, Key=name)
        upload_id = created["UploadId"]
        try:
            parts: list[dict[str, Any]] = []
            async for chunk in chunks:
                number = len(parts) + 1
                uploaded = await self._client.upload_part(
                    Bucket=self._bucket, Key=name, UploadId=upload_id, PartNumber=number, Body=chunk
                )
                parts.append({"PartNumber": number, "ETag": uploaded["ETag"]})
            await self._client.complete_multipart_upload(
                Bucket=self._bucket, Key=name, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            try:
                await self._client.abort_multipart_upload(
                    Bucket=self._bucket, Key=name, UploadId=upload_id
                )
            except (BotoCoreError, ClientError) as exc:
                log.warning("storage.s3_abort_failed", key=name, upload=upload_id, error=repr(exc))
            raise


async def _slices(data: bytes, size: int) -> AsyncIterator[bytes]:
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]


async def _file_parts(file: BinaryIO, size: int) -> AsyncIterator[bytes]:
    while part := await asyncio.to_thread(file.read, size):
        yield part


def _discard(file: BinaryIO, temporary: Path) -> None:
    """After a download: close the temporary file and remove it unless it was renamed into place."""
    file.close()
    temporary.unlink(missing_ok=True)
