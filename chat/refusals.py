"""Why an event was refused: a machine-readable code, a sentence for people, and when a
retry could succeed. Sent as the ``error`` event, and as the event's acknowledgement."""

from __future__ import annotations

from typing import Any


class Refused(Exception):
    def __init__(self, code: str, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after

    def payload(self, event: str) -> dict[str, Any]:
        body: dict[str, Any] = {"event": event, "code": self.code, "message": self.message}
        if self.retry_after is not None:
            body["retry_after"] = self.retry_after
        return body


def bad_request(message: str) -> Refused:
    return Refused("bad_request", message)


def forbidden(message: str) -> Refused:
    return Refused("forbidden", message)
