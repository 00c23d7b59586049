"""Injected faults, for tests: one-shot failures matched by method and exact path, consumed in order.

``kind="status"`` answers ``status`` (default 500) in OpenAI's error shape without running the request
(429 carries ``code: rate_limit_exceeded``; ``retry_after`` adds a ``Retry-After`` header).
``kind="drop_after_commit"`` runs the request (its change is committed) and then cuts the connection
mid-response, so the client sees a transport error while the change exists: the "did my create happen?"
case. Faults never apply to ``/v1/sandbox/``.
"""

from __future__ import annotations

import logging
import threading

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import INVALID_REQUEST, ApiError
from .models import FaultIn


class DroppedConnection(Exception):
    """Raised after a deliberately truncated response so the server closes the connection."""


class Faults:
    """The installed faults, shared by the gateway (which consumes them) and the control endpoints."""

    def __init__(self) -> None:
        self._items: list[FaultIn] = []
        self._lock = threading.Lock()

    def install(self, faults: list[FaultIn]) -> None:
        with self._lock:
            self._items.extend(f.model_copy(update={"method": f.method.upper()}) for f in faults)

    def take(self, method: str, path: str) -> FaultIn | None:
        """Consume one use of the first fault matching this request, if any."""
        with self._lock:
            for fault in self._items:
                if fault.method == method.upper() and fault.path == path:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._items.remove(fault)
                    return fault.model_copy()
        return None

    def remaining(self) -> list[dict[str, object]]:
        with self._lock:
            return [f.model_dump() for f in self._items]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def refusal(fault: FaultIn) -> ApiError:
    """The error answer of a ``status`` fault."""
    headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
    if fault.status == 429:
        return ApiError(
            429,
            "Rate limit reached for requests (a fault injected in the sandbox).",
            type="requests",
            code="rate_limit_exceeded",
            headers=headers,
        )
    kind = "server_error" if fault.status >= 500 else INVALID_REQUEST
    return ApiError(
        fault.status, f"The sandbox answered {fault.status} because a fault was injected.", type=kind, headers=headers
    )


async def drop_after_commit(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Run the request, then send its headers with a larger Content-Length than the half body that follows,
    and abort: the server closes the connection and the client gets a transport error."""
    start: Message | None = None

    async def truncate(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
            return
        if message["type"] != "http.response.body" or start is None:
            await send(message)
            return
        body = message.get("body", b"")
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body) + 1024).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
        raise DroppedConnection

    await app(scope, receive, truncate)


class _HideDroppedConnections(logging.Filter):
    """Keeps uvicorn from logging a deliberate drop as an application error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DroppedConnection))


def quiet_dropped_connections() -> None:
    """Install the filter on uvicorn's error logger, once per process."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _HideDroppedConnections) for f in logger.filters):
        logger.addFilter(_HideDroppedConnections())
