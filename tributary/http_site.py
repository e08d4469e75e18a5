"""How every role listens: an aiohttp application on a socket bound before it serves.

Binding first gives the real port at once (port 0 in tests and on busy hosts), and one place
sets what every role shares: no access log (requests are counted in metrics instead), a short
shutdown grace, and, where a hung-up client's request should stop at once, handler
cancellation.
"""

from __future__ import annotations

import socket

from aiohttp import web


async def serve(
    app: web.Application,
    host: str,
    port: int,
    *,
    backlog: int = 128,
    handler_cancellation: bool = False,
) -> tuple[web.AppRunner, int]:
    """Serve ``app``; the runner (``cleanup()`` stops it) and the port it listens on."""
    runner = web.AppRunner(
        app, access_log=None, shutdown_timeout=2.0, handler_cancellation=handler_cancellation
    )
    await runner.setup()
    try:
        sock = socket.create_server((host, port), backlog=backlog)
        await web.SockSite(runner, sock).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner, sock.getsockname()[1]
