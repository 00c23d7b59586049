"""The ASGI layer in front of every route: request id, admin-key auth, organization check, OpenAI's throttle,
body size limit, the request log and injected faults.

Pure ASGI (not ``BaseHTTPMiddleware``) so a fault can cut a connection after the response has started.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
import threading
from collections.abc import Iterator

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .deps import Settings
from .errors import ApiError
from .faults import DroppedConnection, Faults, drop_after_commit, refusal, stall_after_commit
from .throttle import Throttle

MAX_BODY_BYTES = 1024 * 1024
_DRAIN_BYTES = 16 * MAX_BODY_BYTES
_SANDBOX_PREFIX = "/v1/sandbox"
DASHBOARD_HEADER = "x-sandbox-dashboard"
"""``X-Sandbox-Dashboard: true`` marks a request as a person's edit in the dashboard, which OpenAI's Admin API
throttle does not count (tests and demos edit the account that way)."""
logger = logging.getLogger("pulumi_openai_billing.sandbox")


class RequestLog:
    """Method, path, query, status and client (User-Agent, organization header, ``X-Retry-Count``) of every
    request outside ``/v1/sandbox/``; never credentials or bodies."""

    def __init__(self) -> None:
        self._entries: list[dict[str, object]] = []
        self._lock = threading.Lock()
        self._in_flight = self._peak = 0

    @contextlib.contextmanager
    def serving(self) -> Iterator[None]:
        """Around one API request: how many are served at once, and the most so far (how parallel a client is)."""
        with self._lock:
            self._in_flight += 1
            self._peak = max(self._peak, self._in_flight)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    def in_flight(self) -> dict[str, int]:
        with self._lock:
            return {"now": self._in_flight, "peak": self._peak}

    def add(self, method: str, path: str, query: str, status: int, headers: Headers) -> None:
        entry = {
            "method": method,
            "path": path,
            "query": query,
            "status": status,
            "user_agent": headers.get("user-agent"),
            "organization": headers.get("openai-organization"),
            "retry": _retry_count(headers),
        }
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[dict[str, object]]:
        with self._lock:
            return [dict(e) for e in self._entries]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._peak = self._in_flight


def _retry_count(headers: Headers) -> int:
    """The client's ``X-Retry-Count`` (0 on a first attempt, or when absent or malformed)."""
    raw = headers.get("x-retry-count", "")
    return int(raw) if raw.isdigit() and len(raw) < 6 else 0


def is_sandbox_path(path: str) -> bool:
    return path == _SANDBOX_PREFIX or path.startswith(_SANDBOX_PREFIX + "/")


def _redacted(key: str) -> str:
    """At most the first 6 characters of a presented key (fewer for short ones), then stars."""
    return key[: min(6, len(key) // 3)] + "****"


class Gateway:
    """Checks and records each request before the routes see it; see the module docstring."""

    def __init__(
        self, app: ASGIApp, *, settings: Settings, faults: Faults, throttle: Throttle, log: RequestLog
    ) -> None:
        self.app = app
        self.settings = settings
        self.faults = faults
        self.throttle = throttle
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        request_id = f"req_{secrets.token_hex(16)}".encode()
        recorded = not is_sandbox_path(path)
        if not recorded:
            await self._serve(scope, receive, send, method, path, request_id, recorded)
            return
        with self.log.serving():
            await self._serve(scope, receive, send, method, path, request_id, recorded)

    async def _serve(
        self, scope: Scope, receive: Receive, send: Send, method: str, path: str, request_id: bytes, recorded: bool
    ) -> None:
        started = False

        async def respond(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if recorded:
                    query = scope.get("query_string", b"").decode("latin-1")
                    self.log.add(method, path, query, message["status"], Headers(scope=scope))
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", request_id)]}
            await send(message)

        headers = Headers(scope=scope)
        error = self._refusal(headers)
        if error is None and recorded and headers.get(DASHBOARD_HEADER) != "true":
            error = self.throttle.take(method, path)
        body = b""
        if error is None:
            body, error = await _read_body(scope, receive)
        if recorded and self.faults.latency:
            await asyncio.sleep(self.faults.latency)
        fault = self.faults.take(method, path) if error is None and recorded else None
        if fault is not None and fault.kind == "status":
            error = refusal(fault)
        if error is not None:
            await error.response()(scope, receive, respond)
            return
        replay = _replay(body, receive)
        try:
            if fault is not None and fault.kind == "stall_after_commit":
                await stall_after_commit(self.app, scope, replay, respond, fault.stall_seconds)
            elif fault is not None:
                await drop_after_commit(self.app, scope, replay, respond)
            else:
                await self.app(scope, replay, respond)
        except DroppedConnection:
            raise
        except Exception:
            if started:
                raise
            logger.exception("sandbox: unhandled error on %s %s", method, path)
            failure = ApiError(500, "The sandbox failed to process the request.", type="server_error")
            await failure.response()(scope, receive, respond)

    def _refusal(self, headers: Headers) -> ApiError | None:
        """401 for a missing or wrong admin key, or an ``OpenAI-Organization`` naming another organization."""
        scheme, _, key = headers.get("authorization", "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            return ApiError(
                401,
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                code="invalid_api_key",
            )
        if not hmac.compare_digest(key.encode(), self.settings.admin_key.encode()):
            return ApiError(
                401,
                f"Incorrect API key provided: {_redacted(key)}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                code="invalid_api_key",
            )
        organization = headers.get("openai-organization", "").strip()
        if organization and organization != self.settings.org_id:
            return ApiError(
                401, "OpenAI-Organization header should match organization for API key.", code="mismatched_organization"
            )
        return None


async def _read_body(scope: Scope, receive: Receive) -> tuple[bytes, ApiError | None]:
    """The whole request body, or a 413 when it exceeds 1 MiB (the excess is drained, not kept)."""
    declared = Headers(scope=scope).get("content-length", "")
    too_large = declared.isdigit() and int(declared) > MAX_BODY_BYTES
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if not too_large and size <= MAX_BODY_BYTES:
            chunks.append(chunk)
        if not message.get("more_body", False) or size > _DRAIN_BYTES:
            break
    if too_large or size > MAX_BODY_BYTES:
        return b"", ApiError(
            413, f"Request body too large: the limit is {MAX_BODY_BYTES} bytes.", code="request_too_large"
        )
    return b"".join(chunks), None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the already-read body to the app once, then defers to the real one."""
    delivered = False

    async def replayed() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
