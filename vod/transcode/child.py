"""The transcode's child process: ``python -m vod.transcode.child REQUEST.json``.

Decoding and encoding are CPU work for minutes and libav code running on untrusted bytes, so
they run here rather than in the node: at a lower priority (``os.nice``) so live packaging keeps
its cores, where the parent can kill them (a job's timeout), and where a crash inside libav
costs this process only. It probes, plans, encodes, and reports on its stdout in the
:mod:`~vod.transcode.protocol`; logs and libav's own output go to stderr. The protocol has
stdout to itself: file descriptor 1 is pointed at stderr once the protocol holds a copy, so no
library can write a stray line into it.
"""

from __future__ import annotations

import os
import sys
from typing import BinaryIO

from tributary.logs import configure_logging
from vod.transcode.encode import encode_source
from vod.transcode.plan import plan_transcode
from vod.transcode.probe import NotPlayable, NotPlayableError, probe
from vod.transcode.protocol import (
    FileReady,
    Finished,
    Message,
    Probed,
    Progress,
    Refused,
    TranscodeRequest,
)


class _Channel:
    def __init__(self, out: BinaryIO) -> None:
        self._out = out

    def send(self, message: Message) -> None:
        self._out.write(message.model_dump_json().encode() + b"\n")
        self._out.flush()


def _protocol_channel() -> _Channel:
    """Keep the real stdout for the protocol; send anything else written to fd 1 to stderr."""
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return _Channel(protocol)


def run(request: TranscodeRequest, channel: _Channel) -> None:
    source = probe(request.source)
    if isinstance(source, NotPlayable):
        channel.send(Refused(reason=source.reason))
        return
    channel.send(Probed(source=source))
    plan = plan_transcode(source, request.settings)
    try:
        result = encode_source(
            request.source,
            source,
            plan,
            request.output_dir,
            file_ready=lambda name: channel.send(FileReady(name=name)),
            progress=lambda seconds: channel.send(Progress(seconds=seconds)),
        )
    except NotPlayableError as refused:
        channel.send(Refused(reason=refused.reason))
        return
    channel.send(Finished(result=result))


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m vod.transcode.child REQUEST.json", file=sys.stderr)
        return 2
    channel = _protocol_channel()
    with open(argv[1], "rb") as file:
        request = TranscodeRequest.model_validate_json(file.read())
    os.nice(request.settings.nice)
    configure_logging(request.log_level, "json")
    run(request, channel)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
