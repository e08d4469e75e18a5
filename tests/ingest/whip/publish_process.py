"""A WHIP publisher in a process of its own, for tests that kill it: SIGKILL sends no DELETE,
no RTCP BYE and no DTLS close, exactly like a crashed encoder or a pulled network cable.

    python -m tests.ingest.whip.publish_process ENDPOINT KEY

Prints the POST's status, then publishes until killed.
"""

from __future__ import annotations

import asyncio
import sys

import aiohttp

from tests.ingest.whip.client import WhipClient
from tests.ingest.whip.synthetic import BeepMicrophone, FlashCamera


async def main(endpoint: str, key: str) -> None:
    async with aiohttp.ClientSession() as http:
        client = WhipClient(http, endpoint, key, [FlashCamera(), BeepMicrophone()])
        answer = await client.publish()
        print(answer.status, flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
