"""The one HTTP client: auth, organization header, timeouts, retries, error mapping and paging.

One pooled ``httpx.Client`` per process and per settings, shared by the plugin server's worker threads.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from . import __version__
from .config import Settings, logger, scrub

USER_AGENT = f"pulumi-openai-billing/{__version__} (+python; httpx/{httpx.__version__})"
_RETRY_STATUSES = frozenset({500, 502, 503, 504})
_MAX_RETRY_AFTER_SECONDS = 60.0
_PAGE_SIZE = 100
RETRY_COUNT_HEADER = "X-Retry-Count"
"""Sent on every re-send with the number of earlier attempts, so a server log can tell retries apart."""


class OpenAIError(Exception):
    """An error answer from the API, carrying OpenAI's error object and the request id."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str | None = None,
        code: str | None = None,
        param: str | None = None,
        request_id: str | None = None,
        method: str = "",
        path: str = "",
    ) -> None:
        self.status = status
        self.message = scrub(message)
        self.type = type
        self.code = code
        self.param = param
        self.request_id = request_id
        self.method = method
        self.path = path
        self.gave_up = ""
        super().__init__(str(self))

    def __str__(self) -> str:
        what = f" {self.code}" if self.code else f" {self.type}" if self.type else ""
        where = f" on {self.method} {self.path}" if self.method else ""
        rid = f" (request id {self.request_id})" if self.request_id else ""
        return f"OpenAI API error {self.status}{what}{where}: {self.message}{rid}{self.gave_up}"


class RequestFailed(Exception):
    """The request could not be completed (network failure after retries)."""


class OutcomeUnknown(RequestFailed):
    """A non-idempotent request was sent but no answer came back: it may or may not have taken effect."""


def transient(exc: Exception) -> bool:
    """A failure retries may have outlasted (429, 5xx, no answer), rather than a refusal of the request itself."""
    if isinstance(exc, OpenAIError):
        return exc.status == 429 or exc.status in _RETRY_STATUSES
    return isinstance(exc, RequestFailed)


class BillingClient:
    """Thin typed access to the Admin API with OpenAI's auth, errors and list paging."""

    def __init__(self, settings: Settings, *, transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        headers = {
            "Authorization": f"Bearer {settings.require_key()}",
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
        }
        if settings.organization:
            headers["OpenAI-Organization"] = settings.organization
        self._http = httpx.Client(
            base_url=settings.base_url + "/",
            headers=headers,
            timeout=httpx.Timeout(settings.timeout_seconds, connect=min(10.0, settings.timeout_seconds)),
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=8),
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self.request("GET", path, params=params)

    def delete(self, path: str) -> dict[str, Any]:
        return self.request("DELETE", path)

    def post(
        self, path: str, body: Mapping[str, Any], *, idempotent: bool, headers: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """POST; ``idempotent`` says whether sending it twice is harmless (upserts, full replaces, or a
        request carrying an ``Idempotency-Key`` the server honours)."""
        return self.request("POST", path, json=body, idempotent=idempotent, headers=headers)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Mapping[str, Any] | None = None,
        idempotent: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Send, retrying with backoff and jitter within ``maxRetries`` and ``retryBudgetSeconds``.

        A non-idempotent request is re-sent only when it surely was not processed (refused with 429, or the
        connection was never made); otherwise :class:`OutcomeUnknown` lets the caller reconcile first.
        """
        started = time.monotonic()
        attempt = 0
        while True:
            sent = {**(headers or {}), RETRY_COUNT_HEADER: str(attempt)} if attempt else headers
            try:
                response = self._http.request(method, path.lstrip("/"), params=params, json=json, headers=sent)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                failure: Exception = RequestFailed(
                    f"{method} {path}: could not connect to {self.settings.base_url}: {scrub(str(exc))}"
                )
                delay = _backoff(attempt)
            except httpx.TransportError as exc:
                detail = f"{method} {path}: the connection failed after the request was sent ({type(exc).__name__})"
                if not idempotent:
                    raise OutcomeUnknown(detail) from None
                failure = RequestFailed(detail)
                delay = _backoff(attempt)
            else:
                logger.debug(
                    "%s %s -> %s (%s)", method, path, response.status_code, response.headers.get("x-request-id")
                )
                if response.status_code < 400:
                    return _json(response)
                failure = _error(response, method, path)
                if response.status_code == 429:
                    delay = _retry_after(response) or _backoff(attempt)
                elif response.status_code in _RETRY_STATUSES:
                    if not idempotent:
                        raise OutcomeUnknown(f"{method} {path}: {failure}") from None
                    delay = _backoff(attempt)
                else:
                    raise failure
            elapsed = time.monotonic() - started
            if attempt >= self.settings.max_retries or elapsed + delay > self.settings.retry_budget_seconds:
                raise _gave_up(failure, attempt + 1, elapsed)
            attempt += 1
            logger.debug("retrying %s %s in %.2fs (attempt %d): %s", method, path, delay, attempt, failure)
            time.sleep(delay)

    def list_all(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a cursor-paged list, 100 a page, following ``after=last_id``."""
        query: dict[str, Any] = {**(params or {}), "limit": _PAGE_SIZE}
        while True:
            page = self.get(path, query)
            data = page.get("data") or []
            yield from data
            last_id = page.get("last_id") or (data[-1].get("id") if data else None)
            if not page.get("has_more") or not last_id:
                return
            query["after"] = last_id


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise RequestFailed(
            f"{response.request.method} {response.request.url.path}: "
            f"the answer is not JSON (status {response.status_code})"
        ) from None
    if not isinstance(body, dict):
        raise RequestFailed(f"{response.request.method} {response.request.url.path}: unexpected answer shape")
    return body


def _error(response: httpx.Response, method: str, path: str) -> OpenAIError:
    try:
        err = response.json().get("error") or {}
    except (ValueError, AttributeError):
        err = {}
    if not isinstance(err, dict):
        err = {"message": str(err)}
    return OpenAIError(
        response.status_code,
        str(err.get("message") or response.reason_phrase or "request failed"),
        type=err.get("type"),
        code=err.get("code"),
        param=err.get("param"),
        request_id=response.headers.get("x-request-id"),
        method=method,
        path="/" + path.lstrip("/"),
    )


def _gave_up(failure: Exception, attempts: int, elapsed: float) -> Exception:
    """The last failure, saying how hard the client tried."""
    note = f" (gave up after {attempts} attempt{'s' if attempts > 1 else ''} in {elapsed:.1f} s)"
    if isinstance(failure, OpenAIError):
        failure.gave_up = note if attempts > 1 else ""
        return failure
    return RequestFailed(f"{failure}{note}")


def _backoff(attempt: int) -> float:
    """Exponential (0.25 s doubling to at most 8 s) with "equal jitter": half fixed, half random."""
    return min(8.0, 0.25 * 2**attempt) * (0.5 + random.random() / 2)


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after")
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(raw) if raw else None
        seconds = parsed.timestamp() - time.time() if parsed else 0.0
    return max(0.0, min(seconds, _MAX_RETRY_AFTER_SECONDS))


_clients: dict[tuple[Any, ...], BillingClient] = {}
_clients_lock = threading.Lock()


def get_client(settings: Settings) -> BillingClient:
    """The process's pooled client for these settings, created on first use."""
    key = (
        settings.base_url,
        settings.admin_key,
        settings.organization,
        settings.timeout_seconds,
        settings.max_retries,
        settings.retry_budget_seconds,
    )
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = BillingClient(settings)
        return client
