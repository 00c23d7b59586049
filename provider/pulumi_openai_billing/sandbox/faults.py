"""Injected faults, for tests: one-shot failures matched by method and exact path, consumed in order
(``skip`` lets that many matching requests through first).

``kind="status"`` answers ``status`` (default 500) in OpenAI's error shape without running the request
(429 carries ``code: rate_limit_exceeded``; ``retry_after`` adds ``Retry-After`` in whole seconds and the
exact ``retry-after-ms``).
``kind="drop_after_commit"`` runs the request (its change is committed) and then cuts the connection
mid-response, so the client sees a transport error while the change exists: the "did my create happen?"
case. ``kind="stall_after_commit"`` runs the request and holds its answer back for ``stall_seconds``: a
test can kill the client in that window (a crash between the commit and the answer). Faults never apply
to ``/v1/sandbox/``.

Besides these one-shot faults, a :class:`RandomFaultsIn` plan answers a seeded share of requests with a
random fault (500, 503, 429 with ``Retry-After``, or a drop after commit) and adds latency to every
request. The random draws follow the order requests arrive in, so a run replays exactly when its requests
arrive in the same order (one client at a time).
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import threading
from collections import Counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import INVALID_REQUEST, ApiError
from .models import FaultIn, RandomFaultsIn


class DroppedConnection(Exception):
    """Raised after a deliberately truncated response so the server closes the connection."""


class Faults:
    """The installed faults, shared by the gateway (which consumes them) and the control endpoints."""

    def __init__(self, plan: RandomFaultsIn | None = None) -> None:
        self._items: list[FaultIn] = []
        self._lock = threading.Lock()
        self.configure(plan or RandomFaultsIn())

    def configure(self, plan: RandomFaultsIn) -> None:
        """Install a random-fault plan; its seed restarts the draws and the counters start again."""
        with self._lock:
            self.plan = plan.model_copy(update={"methods": [m.upper() for m in plan.methods]})
            self._rng = random.Random(plan.seed)
            self._injected: Counter[str] = Counter()
            self._seen = 0

    @property
    def latency(self) -> float:
        """Seconds added to every request outside ``/v1/sandbox/``."""
        return self.plan.latency_ms / 1000

    def stats(self) -> dict[str, object]:
        with self._lock:
            return {
                **self.plan.model_dump(),
                "requests": self._seen,
                "injected": dict(sorted(self._injected.items())),
                "injected_total": sum(self._injected.values()),
            }

    def install(self, faults: list[FaultIn]) -> None:
        with self._lock:
            self._items.extend(f.model_copy(update={"method": f.method.upper()}) for f in faults)

    def take(self, method: str, path: str) -> FaultIn | None:
        """Consume one use of the first fault matching this request, else draw from the random plan."""
        method = method.upper()
        with self._lock:
            self._seen += 1
            for fault in self._items:
                if fault.method == method and fault.path == path:
                    if fault.skip:
                        fault.skip -= 1
                        continue
                    fault.times -= 1
                    if fault.times <= 0:
                        self._items.remove(fault)
                    self._injected[fault.kind if fault.kind != "status" else str(fault.status)] += 1
                    return fault.model_copy()
            plan = self.plan
            if plan.rate <= 0 or method not in plan.methods or self._rng.random() >= plan.rate:
                return None
            kind = self._rng.choice(plan.kinds)
            self._injected[kind] += 1
        if kind == "drop_after_commit":
            return FaultIn(method=method, path=path, kind="drop_after_commit")
        status = int(kind)
        return FaultIn(
            method=method,
            path=path,
            kind="status",
            status=status,
            retry_after=plan.retry_after if status == 429 else None,
        )

    def remaining(self) -> list[dict[str, object]]:
        with self._lock:
            return [f.model_dump() for f in self._items]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def refusal(fault: FaultIn) -> ApiError:
    """The error answer of a ``status`` fault. ``Retry-After`` is whole seconds, at least 1, as OpenAI's spec
    says; ``retry-after-ms`` (which the official SDK reads first) carries the exact wait."""
    headers = (
        {}
        if fault.retry_after is None
        else {
            "Retry-After": str(max(1, math.ceil(fault.retry_after))),
            "retry-after-ms": f"{fault.retry_after * 1000:.0f}",
        }
    )
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


async def stall_after_commit(app: ASGIApp, scope: Scope, receive: Receive, send: Send, seconds: float) -> None:
    """Run the request, then hold the answer back for ``seconds``, or drop it once the client is gone."""
    stalled = False

    async def disconnected() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    async def late(message: Message) -> None:
        nonlocal stalled
        if not stalled:
            stalled = True
            try:
                await asyncio.wait_for(disconnected(), seconds)
            except asyncio.TimeoutError:
                pass
            else:
                raise DroppedConnection
        await send(message)

    await app(scope, receive, late)


class _HideDroppedConnections(logging.Filter):
    """Keeps uvicorn from logging a deliberate drop as an application error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DroppedConnection))


def quiet_dropped_connections() -> None:
    """Install the filter on uvicorn's error logger, once per process."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _HideDroppedConnections) for f in logger.filters):
        logger.addFilter(_HideDroppedConnections())
